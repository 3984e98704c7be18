// float16 / bfloat16 -> float32: per-target code (compiled once per Highway target by
// foreach_target.h re-including this file, for the targets core/simd_targets.h names).
#include "core/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/float_convert.cpp"
#include <cstdint>

#include "core/tensor.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep; must come before highway.h
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace starface::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;

// Whether the float16 conversion is the CPU's own instruction here (F16C, NEON). Highway's
// portable targets convert in software and turn float16 infinities and NaNs into finite
// numbers (Highway 1.0.3), so there every value goes through half_to_float.
constexpr bool kHardwareFloat16 = !(HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128);

void WidenFloat16(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  if constexpr (kHardwareFloat16) {
    const DF df;
    const hn::Rebind<hwy::float16_t, DF> dh;
    const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
    const auto* halves = reinterpret_cast<const hwy::float16_t*>(src);
    for (; i + lanes <= n; i += lanes)
      hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, halves + i)), df, dst + i);
  }
  for (; i < n; ++i) dst[i] = half_to_float(src[i]);
}

// A bfloat16 is the top half of a float32: widen the bits and shift them up.
void WidenBfloat16(const uint16_t* src, float* dst, int64_t n) {
  const DF df;
  const hn::RebindToUnsigned<DF> du;
  const hn::Rebind<uint16_t, DF> d16;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto bits = hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(d16, src + i)));
    hn::StoreU(hn::BitCast(df, bits), df, dst + i);
  }
  for (; i < n; ++i) dst[i] = bfloat16_to_float(src[i]);
}

}  // namespace HWY_NAMESPACE
}  // namespace starface::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include "core/cpu.h"
#include "core/float_convert.h"
#include "core/simd_dispatch.h"

namespace starface {

namespace detail {
HWY_EXPORT(WidenFloat16);
HWY_EXPORT(WidenBfloat16);
}  // namespace detail

void widen_float16(const uint16_t* src, float* dst, int64_t n) {
  STARFACE_SIMD_FUNCTION(detail::WidenFloat16, selected_simd_target())(src, dst, n);
}

void widen_bfloat16(const uint16_t* src, float* dst, int64_t n) {
  STARFACE_SIMD_FUNCTION(detail::WidenBfloat16, selected_simd_target())(src, dst, n);
}

}  // namespace starface

#endif  // HWY_ONCE
