// Winograd F(4x4, 3x3) convolution for 3x3 / stride 1 / pad 1 layers (--precision fp32-fast).
//
// Each 6x6 input tile (4x4 outputs plus a 1-pixel halo) is transformed once (V = B^T d B),
// the 3x3 weights once at construction (U = G g G^T, in double, rounded to float), and the
// convolution becomes 36 independent GEMMs in the transformed domain, M[xi] = V[xi] * U[xi]
// over the input channels: 36 multiply-adds per 16 outputs instead of 144, where the time
// goes. The output transform (Y = A^T M A) applies the epilogue as it stores: bias, the
// per-pixel bias map, the residual already in dst, ReLU.
//
// Kernels are compiled for each SimdTarget (core/cpu.h; Google Highway: its AVX3, AVX2 and
// EMU128 / SCALAR targets, NEON on aarch64); a layer runs the target it was built for,
// selected_simd_target() at the caller. They
// read and write activations in place in any of the layouts ActivationView describes (nhwc,
// nchw, nChw8c, nChw16c): channels are processed a vector at a time where they are
// adjacent in memory, one by one where not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/activation_view.h"
#include "core/cpu.h"

namespace starface::backends::x86 {

// One 3x3 convolution layer with its weights transformed for one ISA.
class Winograd3x3 {
 public:
  // weights: dense [out_channels, in_channels, 3, 3]; bias: [out_channels]; bias_map: null
  // or dense [out_channels, map_height, map_width], added at every output pixel of every
  // image (then the output must be map_height x map_width). Throws kBadArgument for
  // non-positive channel counts or an ISA this CPU cannot run.
  Winograd3x3(const float* weights, const float* bias, int64_t out_channels, int64_t in_channels,
              bool relu, SimdTarget isa, const float* bias_map = nullptr, int64_t map_height = 0,
              int64_t map_width = 0);

  SimdTarget isa() const { return isa_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  // Bytes of transformed weights, bias and bias map this layer holds.
  size_t weight_bytes() const {
    return (weights_.size() + bias_.size() + map_.size()) * sizeof(float);
  }

  // Floats of scratch run() needs for `batch` images of height x width on as many threads
  // as OpenMP offers now.
  size_t scratch_floats(int64_t batch, int64_t height, int64_t width) const;

  // dst = ReLU?(conv3x3(src, stride 1, pad 1) + bias [+ bias map] [+ dst if accumulate]).
  // src and dst views must agree on batch, height and width, with in_channels /
  // out_channels channels; src and dst must not overlap (dst may hold the residual).
  // `scratch` holds `scratch_size` floats, scratch_floats() for the threads OpenMP offers
  // (with less, fewer threads run). Throws kShapeMismatch when the views do not fit the
  // layer, kBadArgument when the scratch is too small even for one thread.
  void run(const float* src, const ActivationView& in, float* dst, const ActivationView& out,
           bool accumulate, float* scratch, size_t scratch_size) const;

 private:
  SimdTarget isa_;
  int64_t in_channels_, out_channels_;
  int64_t in_stride_, out_stride_;  // padded channel counts of the transformed matrices
  int64_t panel_;                   // output channels per GEMM panel for isa_
  bool relu_;
  std::vector<float> weights_;  // U: [36][out_stride / panel][in_channels][panel]
  std::vector<float> bias_;     // [out_stride], zero padded
  std::vector<float> map_;      // [map_height][map_width][out_stride], or empty
  int64_t map_height_ = 0, map_width_ = 0;
};

}  // namespace starface::backends::x86
