#include "core/tensor.h"

#include <gtest/gtest.h>

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

TEST(Tensor, DataOfWrongDtypeThrows) {
  Tensor t(DType::kInt64, {2});
  EXPECT_THROW(t.data<float>(), Error);
}

}  // namespace
}  // namespace starface
