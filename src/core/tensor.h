// Tensor: a dtype, a shape, element strides and an offset into shared, 64-byte aligned
// storage. Checkpoints hold views (transposes, slices, tensors sharing one storage), so a
// tensor can be strided; kernels ask for contiguous float32 through `contiguous()` and
// `to_float32()`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace starface {

enum class DType : uint8_t {
  kFloat32,
  kFloat16,
  kBFloat16,
  kFloat64,
  kInt64,
  kInt32,
  kUInt8,
  kBool,
  kInt8,  // last, so the values above keep their numbers
};

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", "bfloat16", ... as torch and numpy name them
bool dtype_is_floating(DType dtype);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[1, 3, 256, 256]"
int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

// Bytes with 64-byte alignment, zero-initialised.
class Storage {
 public:
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

 private:
  std::byte* data_ = nullptr;
  size_t nbytes_ = 0;
};

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kFloat32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kFloat64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kInt64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kInt32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::kUInt8;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::kInt8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::kBool;
}

class Tensor {
 public:
  Tensor() = default;
  // A new contiguous, zero-filled tensor.
  Tensor(DType dtype, Shape shape);

  // A view of existing storage. Throws kShapeMismatch when any element would fall outside
  // the storage (negative strides are refused).
  static Tensor view(std::shared_ptr<Storage> storage, DType dtype, Shape shape,
                     std::vector<int64_t> strides, int64_t offset);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(i < 0 ? i + rank() : i); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Element pointers; the tensor must be contiguous and of dtype T (checked).
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  // Raw bytes of a contiguous tensor.
  const std::byte* bytes() const;
  std::byte* bytes();

  Tensor contiguous() const;  // itself when already contiguous, else a dense copy
  // Contiguous float32 (widened from float16/bfloat16/float64/ints); shares storage when
  // the tensor already is contiguous float32.
  Tensor to_float32() const;
  Tensor clone() const;               // a dense copy with storage of its own
  Tensor reshape(Shape shape) const;  // same elements, new shape (contiguous tensors)

 private:
  void require_data(DType want) const;

  std::shared_ptr<Storage> storage_;
  DType dtype_ = DType::kFloat32;
  Shape shape_;
  std::vector<int64_t> strides_;
  int64_t offset_ = 0;
};

// Named tensors in name order: a state dict.
using TensorMap = std::map<std::string, Tensor>;

float half_to_float(uint16_t bits);
// IEEE binary16 nearest to `value` (ties to even); overflow gives infinity, NaN stays NaN.
uint16_t float_to_half(float value);
float bfloat16_to_float(uint16_t bits);

template <typename T>
T* Tensor::data() {
  require_data(dtype_of<T>());
  return reinterpret_cast<T*>(storage_->data()) + offset_;
}

template <typename T>
const T* Tensor::data() const {
  require_data(dtype_of<T>());
  return reinterpret_cast<const T*>(storage_->data()) + offset_;
}

template <typename T>
Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel()) {
    throw Error(ErrorCode::kShapeMismatch, "from_vector: " + std::to_string(values.size()) +
                                               " values for shape " + shape_str(t.shape()));
  }
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace starface
