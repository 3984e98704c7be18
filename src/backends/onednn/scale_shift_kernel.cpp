// The ScaleShift kernels: per-target code (compiled once per Highway target by
// foreach_target.h re-including this file, for the targets core/simd_targets.h names) and
// the drivers that split a map over the threads.
#include "core/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/onednn/scale_shift_kernel.cpp"
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hwy/foreach_target.h"  // IWYU pragma: keep; must come before highway.h
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace starface::backends::onednn::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
// Whether MulAdd is one fused multiply-add here. Highway's portable targets compute it as a
// multiply and an add, rounded twice; there every element goes through std::fma instead, so
// each target rounds once, as the reference does, and all give the same bits.
constexpr bool kFusedMulAdd = !(HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128);
constexpr int64_t kVector = kFusedMulAdd ? static_cast<int64_t>(HWY_LANES(float)) : 0;

// x86's max / min return their second operand when the first does not win (NaN, or both
// zero), so Max(0, v) is exactly v < 0 ? 0 : v and Min(v, t) exactly v < t ? v : t, -0 and
// NaN included, in one instruction. Elsewhere the compare and select say so explicitly.
#if HWY_ARCH_X86
template <class V>
HWY_INLINE V ZeroIfBelow(V v, V zero) {
  return hn::Max(zero, v);
}
template <class V>
HWY_INLINE V CapAt(V v, V top) {
  return hn::Min(v, top);
}
#else
template <class V>
HWY_INLINE V ZeroIfBelow(V v, V zero) {
  return hn::IfThenElse(hn::Lt(v, zero), zero, v);
}
template <class V>
HWY_INLINE V CapAt(V v, V top) {
  return hn::IfThenElse(hn::Lt(v, top), v, top);
}
#endif

// v < 0 ? 0 : v, as the scalar form.
HWY_INLINE VF Relu(VF v) { return ZeroIfBelow(v, hn::Zero(DF())); }

// `count` adjacent channels starting at channel `c0` of the parameters.
template <bool kRelu>
HWY_INLINE void AffineRun(const float* x, float* y, const float* scale, const float* shift,
                          int64_t count) {
  const DF d;
  int64_t i = 0;
  if constexpr (kVector > 0) {
    for (; i + kVector <= count; i += kVector) {
      const VF v =
          hn::MulAdd(hn::LoadU(d, x + i), hn::LoadU(d, scale + i), hn::LoadU(d, shift + i));
      hn::StoreU(kRelu ? Relu(v) : v, d, y + i);
    }
  }
  if constexpr (kVector > 8) {  // a block of nChw8c on a 16-lane target
    const hn::CappedTag<float, 8> d8;
    for (; i + 8 <= count; i += 8) {
      const auto v =
          hn::MulAdd(hn::LoadU(d8, x + i), hn::LoadU(d8, scale + i), hn::LoadU(d8, shift + i));
      hn::StoreU(kRelu ? ZeroIfBelow(v, hn::Zero(d8)) : v, d8, y + i);
    }
  }
  for (; i < count; ++i) {
    const float v = std::fma(x[i], scale[i], shift[i]);
    y[i] = kRelu && v < 0.0f ? 0.0f : v;
  }
}

// A run of pixels whose channels are exactly one vector (a block of nChw16c on AVX-512, of
// nChw8c on AVX2): scale and shift stay in registers.
template <bool kRelu>
HWY_INLINE void AffineBlockPixels(const float* x, float* y, const float* scale, const float* shift,
                                  int64_t pixels, int64_t pixel_stride) {
  const DF d;
  const VF scales = hn::LoadU(d, scale), shifts = hn::LoadU(d, shift);
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t at = p * pixel_stride;
    const VF v = hn::MulAdd(hn::LoadU(d, x + at), scales, shifts);
    hn::StoreU(kRelu ? Relu(v) : v, d, y + at);
  }
}

// One pixel's channels (nhwc) or one pixel of a channel block (nChw8c / nChw16c).
void AffinePixels(const float* x, float* y, const float* scale, const float* shift, int64_t pixels,
                  int64_t pixel_stride, int64_t lanes, bool relu) {
  if (kVector > 0 && lanes == kVector) {
    if (relu) {
      AffineBlockPixels<true>(x, y, scale, shift, pixels, pixel_stride);
    } else {
      AffineBlockPixels<false>(x, y, scale, shift, pixels, pixel_stride);
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t at = p * pixel_stride;
    if (relu) {
      AffineRun<true>(x + at, y + at, scale, shift, lanes);
    } else {
      AffineRun<false>(x + at, y + at, scale, shift, lanes);
    }
  }
}

// One channel's plane (nchw): a single scale and shift.
void AffinePlane(const float* x, float* y, float scale, float shift, int64_t pixels, bool relu) {
  const DF d;
  const VF scales = hn::Set(d, scale), shifts = hn::Set(d, shift);
  int64_t p = 0;
  if constexpr (kVector > 0) {
    for (; p + kVector <= pixels; p += kVector) {
      const VF v = hn::MulAdd(hn::LoadU(d, x + p), scales, shifts);
      hn::StoreU(relu ? Relu(v) : v, d, y + p);
    }
  }
  for (; p < pixels; ++p) {
    const float v = std::fma(x[p], scale, shift);
    y[p] = relu && v < 0.0f ? 0.0f : v;
  }
}

// min(255, max(v, 0)) + 0.5 truncated: rounded half up, saturated at 255.
HWY_INLINE int32_t QuantizeOne(float v) {
  return static_cast<int32_t>(std::min(255.0f, std::max(v, 0.0f)) + 0.5f);
}

// As AffinePixels with ReLU, quantized: rounded half up (the reorder it replaces rounds
// half to even; the two differ only at exact ties), saturated at 255. The comparisons mirror
// std::max / std::min above, NaN included.
void AffinePixelsU8(const float* x, uint8_t* q, const float* scale, const float* shift,
                    int64_t pixels, int64_t pixel_stride, int64_t lanes) {
  const DF d;
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<uint8_t, DF> du8;
  const VF zero = hn::Zero(d), top = hn::Set(d, 255.0f), half = hn::Set(d, 0.5f);
  for (int64_t p = 0; p < pixels; ++p) {
    const float* in = x + p * pixel_stride;
    uint8_t* out = q + p * pixel_stride;
    int64_t i = 0;
    if constexpr (kVector > 0) {
      for (; i + kVector <= lanes; i += kVector) {
        const VF v =
            hn::MulAdd(hn::LoadU(d, in + i), hn::LoadU(d, scale + i), hn::LoadU(d, shift + i));
        const VF high = CapAt(ZeroIfBelow(v, zero), top);  // std::min(255, std::max(v, 0))
        const auto rounded = hn::ConvertTo(di, hn::Add(high, half));  // truncates
        hn::StoreU(hn::DemoteTo(du8, rounded), du8, out + i);
      }
    }
    for (; i < lanes; ++i) {
      out[i] = static_cast<uint8_t>(QuantizeOne(std::fma(in[i], scale[i], shift[i])));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace starface::backends::onednn::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "backends/onednn/scale_shift_kernel.h"
#include "core/cpu.h"
#include "core/simd_dispatch.h"

namespace starface::backends::onednn {

namespace detail {
HWY_EXPORT(AffinePixels);
HWY_EXPORT(AffinePlane);
HWY_EXPORT(AffinePixelsU8);
}  // namespace detail

void scale_shift(const ChannelView& v, const float* x, float* y, const float* scale,
                 const float* shift, bool relu) {
  const int64_t plane = v.height * v.width;
  if (v.block == 1) {
    const int64_t planes = v.batch * v.padded_channels;
    const auto affine_plane = STARFACE_SIMD_FUNCTION(detail::AffinePlane, selected_simd_target());
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
  const auto affine_pixels = STARFACE_SIMD_FUNCTION(detail::AffinePixels, selected_simd_target());
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

void scale_shift_relu_u8(const ChannelView& v, const float* x, uint8_t* q, const float* scale,
                         const float* shift) {
  // One plane per channel (nchw) is a block of 1 with a pixel stride of 1.
  const int64_t block = v.block == 1 ? 1 : v.block;
  const int64_t blocks = (v.padded_channels + block - 1) / block;
  const int64_t rows = v.batch * blocks * v.height;
  const auto affine_pixels_u8 =
      STARFACE_SIMD_FUNCTION(detail::AffinePixelsU8, selected_simd_target());
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

#endif  // HWY_ONCE
