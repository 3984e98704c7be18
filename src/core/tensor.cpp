#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "core/float_convert.h"

namespace starface {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat16:
      return 2;
    case DType::kBFloat16:
      return 2;
    case DType::kFloat64:
      return 8;
    case DType::kInt64:
      return 8;
    case DType::kInt32:
      return 4;
    case DType::kUInt8:
      return 1;
    case DType::kBool:
      return 1;
    case DType::kInt8:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kFloat64:
      return "float64";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kUInt8:
      return "uint8";
    case DType::kBool:
      return "bool";
    case DType::kInt8:
      return "int8";
  }
  return "unknown";
}

bool dtype_is_floating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 || dtype == DType::kBFloat16 ||
         dtype == DType::kFloat64;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  constexpr size_t kAlign = 64;
  size_t rounded = (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign;
  data_ = static_cast<std::byte*>(std::aligned_alloc(kAlign, rounded));
  if (!data_) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
}

Storage::~Storage() { std::free(data_); }

namespace {

// Validates a shape for allocation: non-negative dims, element count that fits in memory.
// A zero dimension counts as one: an empty tensor's strides are still products of its other
// dimensions, which must not overflow.
void check_shape(const Shape& shape, DType dtype) {
  constexpr int64_t kMaxBytes = int64_t{1} << 40;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error(ErrorCode::kShapeMismatch, "negative dimension in shape " + shape_str(shape));
    const int64_t factor = std::max<int64_t>(d, 1);
    if (n > kMaxBytes / factor) {
      throw Error(ErrorCode::kShapeMismatch, "shape " + shape_str(shape) + " is too large");
    }
    n *= factor;
  }
  if (n > kMaxBytes / static_cast<int64_t>(dtype_size(dtype))) {
    throw Error(ErrorCode::kShapeMismatch, "shape " + shape_str(shape) + " is too large");
  }
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  check_shape(shape_, dtype_);
  strides_ = contiguous_strides(shape_);
  storage_ = std::make_shared<Storage>(static_cast<size_t>(numel()) * dtype_size(dtype_));
}

Tensor Tensor::view(std::shared_ptr<Storage> storage, DType dtype, Shape shape,
                    std::vector<int64_t> strides, int64_t offset) {
  check_internal(storage != nullptr, "Tensor::view without storage");
  if (strides.size() != shape.size()) {
    throw Error(ErrorCode::kShapeMismatch, "tensor with shape " + shape_str(shape) + " has " +
                                               std::to_string(strides.size()) + " strides");
  }
  check_shape(shape, dtype);
  const int64_t capacity = static_cast<int64_t>(storage->nbytes() / dtype_size(dtype));
  if (offset < 0) throw Error(ErrorCode::kShapeMismatch, "negative storage offset");
  // The furthest element is offset + sum((d - 1) * stride); every term must stay in bounds.
  int64_t last = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (strides[i] < 0) throw Error(ErrorCode::kShapeMismatch, "negative stride in tensor view");
    if (shape[i] == 0) empty = true;
    if (shape[i] > 0) {
      if (strides[i] > 0 && (shape[i] - 1) > (capacity - last) / strides[i]) {
        throw Error(ErrorCode::kShapeMismatch, "tensor view shape " + shape_str(shape) +
                                                   " with offset " + std::to_string(offset) +
                                                   " reaches past its storage of " +
                                                   std::to_string(capacity) + " elements");
      }
      last += (shape[i] - 1) * strides[i];
    }
  }
  if (!empty && last >= capacity) {
    throw Error(ErrorCode::kShapeMismatch,
                "tensor view shape " + shape_str(shape) + " with offset " + std::to_string(offset) +
                    " reaches past its storage of " + std::to_string(capacity) + " elements");
  }
  Tensor t;
  t.storage_ = std::move(storage);
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = std::move(strides);
  t.offset_ = offset;
  return t;
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void Tensor::require_data(DType want) const {
  // Called on every data() access: build no message unless something is wrong.
  if (defined() && dtype_ == want && is_contiguous()) return;
  check_internal(defined(), "data() of an undefined tensor");
  if (dtype_ != want) {
    throw Error(ErrorCode::kBadDtype,
                std::string("tensor is ") + dtype_name(dtype_) + ", expected " + dtype_name(want));
  }
  check_internal(false, "data() of a non-contiguous tensor");
}

const std::byte* Tensor::bytes() const {
  check_internal(defined() && is_contiguous(), "bytes() of an undefined or strided tensor");
  return storage_->data() + offset_ * dtype_size(dtype_);
}

std::byte* Tensor::bytes() {
  check_internal(defined() && is_contiguous(), "bytes() of an undefined or strided tensor");
  return storage_->data() + offset_ * dtype_size(dtype_);
}

Tensor Tensor::clone() const {
  Tensor out(dtype_, shape_);
  const size_t esize = dtype_size(dtype_);
  const int64_t n = numel();
  if (n == 0) return out;
  if (is_contiguous()) {
    std::memcpy(out.bytes(), bytes(), out.nbytes());
    return out;
  }
  // Walk the strided index in row-major order.
  std::vector<int64_t> index(shape_.size(), 0);
  const std::byte* base = storage_->data();
  std::byte* dst = out.bytes();
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = offset_;
    for (size_t i = 0; i < index.size(); ++i) src += index[i] * strides_[i];
    std::memcpy(dst + k * esize, base + src * esize, esize);
    for (size_t i = index.size(); i-- > 0;) {
      if (++index[i] < shape_[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

float half_to_float(uint16_t bits) {
  const uint32_t sign = (bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1f) {
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else {
    // Subnormal half: normalise the mantissa.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    out = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;   // NaN: a quiet NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // rounds past 65504: infinity
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half: the result is subnormal (or zero), a multiple of
    // 2^-24; adding 0.5 lets the float adder round the magnitude to that grid (ties to even).
    float abs_value;
    std::memcpy(&abs_value, &magnitude, 4);
    const float shifted = abs_value + 0.5f;
    uint32_t shifted_bits;
    std::memcpy(&shifted_bits, &shifted, 4);
    return sign | static_cast<uint16_t>(shifted_bits - 0x3f000000u);
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even.
  const uint32_t odd = (magnitude >> 13) & 1u;
  const uint32_t rounded = magnitude + 0xfffu + odd;
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

float bfloat16_to_float(uint16_t bits) {
  const uint32_t out = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

Tensor Tensor::to_float32() const {
  const Tensor src = contiguous();
  if (dtype_ == DType::kFloat32) return src;
  Tensor out(DType::kFloat32, shape_);
  float* dst = out.data<float>();
  const int64_t n = numel();
  const std::byte* raw = src.bytes();
  if (dtype_ == DType::kFloat16 || dtype_ == DType::kBFloat16) {
    const auto* bits = reinterpret_cast<const uint16_t*>(raw);
    if (dtype_ == DType::kFloat16) {
      widen_float16(bits, dst, n);
    } else {
      widen_bfloat16(bits, dst, n);
    }
    return out;
  }
  auto load = [raw](int64_t i, auto type_tag) {
    decltype(type_tag) v;
    std::memcpy(&v, raw + i * sizeof(v), sizeof(v));
    return v;
  };
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype_) {
      case DType::kFloat64:
        dst[i] = static_cast<float>(load(i, double{}));
        break;
      case DType::kInt64:
        dst[i] = static_cast<float>(load(i, int64_t{}));
        break;
      case DType::kInt32:
        dst[i] = static_cast<float>(load(i, int32_t{}));
        break;
      case DType::kUInt8:
        dst[i] = static_cast<float>(load(i, uint8_t{}));
        break;
      case DType::kBool:
        dst[i] = load(i, uint8_t{}) ? 1.0f : 0.0f;
        break;
      case DType::kInt8:
        dst[i] = static_cast<float>(load(i, int8_t{}));
        break;
      case DType::kFloat32:  // returned above, as are the 16-bit floats
      case DType::kFloat16:
      case DType::kBFloat16:
        break;
    }
  }
  return out;
}

Tensor Tensor::reshape(Shape shape) const {
  if (shape_numel(shape) != numel()) {
    throw Error(ErrorCode::kShapeMismatch,
                "cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  }
  Tensor src = contiguous();
  src.strides_ = contiguous_strides(shape);
  src.shape_ = std::move(shape);
  return src;
}

}  // namespace starface
