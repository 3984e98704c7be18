// Widening of stored 16-bit floats to float32 for whole arrays: the weights of a float16
// model file and bfloat16 checkpoints go through here at load (Tensor::to_float32). Compiled
// by Highway for each SimdTarget (F16C on the x86 targets, NEON's conversion on aarch64) and
// picked per call with selected_simd_target(); every target gives the bits half_to_float /
// bfloat16_to_float give, so loading is as exact as the scalar code and about as fast as
// reading float32.
#pragma once

#include <cstdint>

namespace starface {

// dst[i] = half_to_float(src[i]) for i < n (NaNs stay NaNs of the same sign; F16C may set
// the quiet bit of a signalling one).
void widen_float16(const uint16_t* src, float* dst, int64_t n);
// dst[i] = bfloat16_to_float(src[i]) for i < n, exactly.
void widen_bfloat16(const uint16_t* src, float* dst, int64_t n);

}  // namespace starface
