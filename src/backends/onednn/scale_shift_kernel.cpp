#include "backends/onednn/scale_shift_kernel.h"

#include <algorithm>
#include <cmath>

#include "core/cpu.h"

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
STARFACE_ISA_CLONES void affine_pixels(const float* x, float* y, const float* scale,
                                       const float* shift, int64_t pixels, int64_t pixel_stride,
                                       int64_t lanes, bool relu) {
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
STARFACE_ISA_CLONES void affine_plane(const float* x, float* y, float scale, float shift,
                                      int64_t pixels, bool relu) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float v = std::fma(x[p], scale, shift);
    y[p] = relu && v < 0.0f ? 0.0f : v;
  }
}

// As affine_pixels with ReLU, quantized: rounded half up (the reorder it replaces rounds
// half to even; the two differ only at exact ties), saturated at 255. Through an int32
// buffer of 64 lanes: GCC vectorizes float -> int32 and int32 -> uint8 as two loops, not
// float -> uint8 as one (1.0 against 0.18 ms for 256x64x64 on one thread, measured).
STARFACE_ISA_CLONES void affine_pixels_u8(const float* x, uint8_t* q, const float* scale,
                                          const float* shift, int64_t pixels, int64_t pixel_stride,
                                          int64_t lanes) {
  constexpr int64_t kChunk = 64;
  int32_t rounded[kChunk];
  for (int64_t p = 0; p < pixels; ++p) {
    const float* in = x + p * pixel_stride;
    uint8_t* out = q + p * pixel_stride;
    for (int64_t i0 = 0; i0 < lanes; i0 += kChunk) {
      const int64_t n = std::min(kChunk, lanes - i0);
      for (int64_t i = 0; i < n; ++i) {
        const float v = std::fma(in[i0 + i], scale[i0 + i], shift[i0 + i]);
        rounded[i] = static_cast<int32_t>(std::min(255.0f, std::max(v, 0.0f)) + 0.5f);
      }
      for (int64_t i = 0; i < n; ++i) out[i0 + i] = static_cast<uint8_t>(rounded[i]);
    }
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

namespace starface::backends::onednn {

void scale_shift_relu_u8(const ChannelView& v, const float* x, uint8_t* q, const float* scale,
                         const float* shift) {
  // One plane per channel (nchw) is a block of 1 with a pixel stride of 1.
  const int64_t block = v.block == 1 ? 1 : v.block;
  const int64_t blocks = (v.padded_channels + block - 1) / block;
  const int64_t rows = v.batch * blocks * v.height;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r % v.height;
    const int64_t c0 = (r / v.height) % blocks * block;
    const int64_t n = r / (v.height * blocks);
    const int64_t at = v.offset(n, c0, h, 0);
    const int64_t lanes = std::min(block, v.padded_channels - c0);
    affine_pixels_u8(x + at, q + at, scale + c0, shift + c0, v.width, v.pixel, lanes);
  }
}

}  // namespace starface::backends::onednn
