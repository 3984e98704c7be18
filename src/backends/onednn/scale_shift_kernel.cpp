#include "backends/onednn/scale_shift_kernel.h"

#include <algorithm>
#include <cmath>

namespace starface::backends::onednn {
namespace {

// `count` adjacent channels starting at channel `c0` of the parameters.
template <bool kRelu>
[[gnu::always_inline]] inline void affine_run(const float* x, float* y, const float* scale,
                                              const float* shift, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float v = std::fma(x[i], scale[i], shift[i]);
    y[i] = kRelu && v < 0.0f ? 0.0f : v;
  }
}

// One pixel's channels (nhwc) or one pixel of a channel block (nChw8c / nChw16c).
__attribute__((target_clones("avx512f", "avx2", "default"))) void affine_pixels(
    const float* x, float* y, const float* scale, const float* shift, int64_t pixels,
    int64_t pixel_stride, int64_t lanes, bool relu) {
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t at = p * pixel_stride;
    if (relu) {
      affine_run<true>(x + at, y + at, scale, shift, lanes);
    } else {
      affine_run<false>(x + at, y + at, scale, shift, lanes);
    }
  }
}

// One channel's plane (nchw): a single scale and shift.
__attribute__((target_clones("avx512f", "avx2", "default"))) void affine_plane(
    const float* x, float* y, float scale, float shift, int64_t pixels, bool relu) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float v = std::fma(x[p], scale, shift);
    y[p] = relu && v < 0.0f ? 0.0f : v;
  }
}

}  // namespace

void scale_shift(const ChannelView& v, const float* x, float* y, const float* scale,
                 const float* shift, bool relu) {
  const int64_t plane = v.height * v.width;
  if (v.block == 1) {
    const int64_t planes = v.batch * v.padded_channels;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < planes; ++i) {
      const int64_t n = i / v.padded_channels, c = i % v.padded_channels;
      const int64_t at = v.offset(n, c, 0, 0);
      affine_plane(x + at, y + at, scale[c], shift[c], plane, relu);
    }
    return;
  }
  // Rows of pixels: enough work items for the threads at any batch and block count.
  const int64_t blocks = (v.padded_channels + v.block - 1) / v.block;
  const int64_t rows = v.batch * blocks * v.height;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r % v.height;
    const int64_t c0 = (r / v.height) % blocks * v.block;
    const int64_t n = r / (v.height * blocks);
    const int64_t at = v.offset(n, c0, h, 0);
    const int64_t lanes = std::min(v.block, v.padded_channels - c0);
    affine_pixels(x + at, y + at, scale + c0, shift + c0, v.width, v.pixel, lanes, relu);
  }
}

}  // namespace starface::backends::onednn
