// The Highway targets every own kernel is compiled for; include it first in a kernel's .cpp,
// before any hwy header (foreach_target.h reads it). AVX3 (AVX-512 F/VL/DQ/BW), AVX2 (with
// FMA) and the portable target (EMU128, or SCALAR where Highway deems EMU128 broken on the
// compiler, as on GCC 12) on x86; the NEON baseline on aarch64. SSSE3 / SSE4 would add code
// nobody runs, AVX3_DL gives float kernels nothing over AVX3, and the SVE targets' sizeless
// vectors cannot be held in the arrays the kernels keep their accumulators in. Every kernel
// has the same set, so a SimdTarget means the same code in each (core/simd_dispatch.h).
#pragma once

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS \
  (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
