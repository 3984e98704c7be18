#include "core/tensor.h"

#include <gtest/gtest.h>

#include <cmath>

namespace starface {
namespace {

TEST(Tensor, NewTensorIsContiguousAndZero) {
  Tensor t(DType::kFloat32, {2, 3});
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, TransposedViewCopiesInLogicalOrder) {
  Tensor base = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor t = Tensor::view(base.storage(), DType::kFloat32, {3, 2}, {1, 3}, 0);
  EXPECT_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  const std::vector<float> want{0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.data<float>()[i], want[i]);
}

TEST(Tensor, ViewPastStorageIsRefused) {
  Tensor base(DType::kFloat32, {10});
  EXPECT_THROW(Tensor::view(base.storage(), DType::kFloat32, {2, 3}, {3, 1}, 5), Error);
  EXPECT_THROW(Tensor::view(base.storage(), DType::kFloat32, {11}, {1}, 0), Error);
  EXPECT_NO_THROW(Tensor::view(base.storage(), DType::kFloat32, {2, 3}, {3, 1}, 4));
}

TEST(Tensor, HugeShapeIsAnErrorNotAnAllocation) {
  EXPECT_THROW(Tensor(DType::kFloat32, {int64_t{1} << 40, int64_t{1} << 30}), Error);
}

TEST(Tensor, HalfAndBFloat16Widen) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x0001), 5.960464477539063e-08f);  // smallest subnormal
  EXPECT_EQ(bfloat16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16_to_float(0x4049), 3.140625f);
}

TEST(Float16, EveryHalfSurvivesTheRoundTripAndRoundingIsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << h;
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << h;
  }
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00u);     // tie: to even (down)
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02u);     // tie: to even (up)
  EXPECT_EQ(float_to_half(1.0f + 1.5f / 2048), 0x3c01u);     // above the tie
  EXPECT_EQ(float_to_half(65519.0f), 0x7bffu);               // rounds down to 65504
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00u);               // rounds to infinity
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000u);  // tie below the subnormals
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001u);
  EXPECT_EQ(float_to_half(-std::ldexp(3.0f, -25)), 0x8002u);  // tie: to even
}

TEST(Tensor, Int8Widens) {
  const Tensor t = Tensor::from_vector<int8_t>({3}, {-128, 0, 127}).to_float32();
  EXPECT_EQ(t.data<float>()[0], -128.0f);
  EXPECT_EQ(t.data<float>()[2], 127.0f);
  EXPECT_EQ(dtype_size(DType::kInt8), 1u);
  EXPECT_STREQ(dtype_name(DType::kInt8), "int8");
}

TEST(Tensor, DataOfWrongDtypeThrows) {
  Tensor t(DType::kInt64, {2});
  EXPECT_THROW(t.data<float>(), Error);
}

}  // namespace
}  // namespace starface
