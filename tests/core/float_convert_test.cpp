// The 16-bit float widening on every SIMD target this CPU runs, against the scalar
// conversions, over all 65536 bit patterns (array lengths off the vector widths too).
#include "core/float_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/cpu.h"
#include "core/tensor.h"

namespace starface {
namespace {

std::vector<uint16_t> every_pattern() {
  std::vector<uint16_t> bits(65536);
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = static_cast<uint16_t>(i);
  return bits;
}

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

std::vector<SimdTarget> targets_here() {
  std::vector<SimdTarget> targets;
  for (SimdTarget t : {SimdTarget::kAvx512, SimdTarget::kAvx2, SimdTarget::kScalar}) {
    if (simd_target_supported(t)) targets.push_back(t);
  }
  return targets;
}

TEST(FloatConvert, Float16MatchesTheScalarConversionOnEveryTarget) {
  const std::vector<uint16_t> src = every_pattern();
  for (SimdTarget target : targets_here()) {
    set_max_simd_target(target);
    // 65536 values, then a length that leaves a tail after the last full vector.
    for (size_t n : {src.size(), size_t{37}}) {
      std::vector<float> dst(n, 7.0f);
      widen_float16(src.data(), dst.data(), static_cast<int64_t>(n));
      for (size_t i = 0; i < n; ++i) {
        const float want = half_to_float(src[i]);
        if (std::isnan(want)) {
          // F16C sets the quiet bit of a signalling NaN; the sign and NaN-ness stay.
          ASSERT_TRUE(std::isnan(dst[i]) && std::signbit(dst[i]) == std::signbit(want))
              << simd_target_name(target) << " " << i;
        } else {
          ASSERT_EQ(bits_of(dst[i]), bits_of(want)) << simd_target_name(target) << " " << i;
        }
      }
    }
  }
  set_max_simd_target(std::nullopt);
}

TEST(FloatConvert, Bfloat16IsExactOnEveryTarget) {
  const std::vector<uint16_t> src = every_pattern();
  for (SimdTarget target : targets_here()) {
    set_max_simd_target(target);
    std::vector<float> dst(src.size(), 7.0f);
    widen_bfloat16(src.data(), dst.data(), static_cast<int64_t>(src.size()) - 3);
    for (size_t i = 0; i + 3 < src.size(); ++i) {
      ASSERT_EQ(bits_of(dst[i]), bits_of(bfloat16_to_float(src[i])))
          << simd_target_name(target) << " " << i;
    }
    EXPECT_EQ(dst.back(), 7.0f) << "wrote past n";
  }
  set_max_simd_target(std::nullopt);
}

TEST(FloatConvert, TensorsWidenThroughIt) {
  Tensor half(DType::kFloat16, {3});
  Tensor brain(DType::kBFloat16, {3});
  const float values[] = {1.5f, -0.25f, 4096.0f};  // exact in both formats
  for (int i = 0; i < 3; ++i) {
    const uint16_t h = float_to_half(values[i]);
    const uint16_t top = static_cast<uint16_t>(bits_of(values[i]) >> 16);
    std::memcpy(half.bytes() + 2 * i, &h, 2);
    std::memcpy(brain.bytes() + 2 * i, &top, 2);
  }
  const Tensor a = half.to_float32(), b = brain.to_float32();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.data<float>()[i], values[i]);
    EXPECT_EQ(b.data<float>()[i], values[i]);
  }
}

}  // namespace
}  // namespace starface
