#include "import/weight_reader.h"

namespace starface::import {

const Tensor* WeightReader::find_checked(const std::string& key, const Shape& expected) {
  auto it = sd_.find(key);
  if (it == sd_.end()) return nullptr;
  seen_.insert(key);
  if (it->second.shape() != expected) {
    throw Error(ErrorCode::kShapeMismatch, "key '" + key + "': expected shape " +
                                               shape_str(expected) + ", found " +
                                               shape_str(it->second.shape()));
  }
  return &it->second;
}

Tensor WeightReader::take(const std::string& key, const Shape& expected) {
  const Tensor* t = find_checked(key, expected);
  if (!t) {
    throw Error(ErrorCode::kMissingKey,
                "missing key '" + key + "' (expected shape " + shape_str(expected) + ")");
  }
  if (!dtype_is_floating(t->dtype())) {
    throw Error(
        ErrorCode::kBadDtype,
        "key '" + key + "': expected a floating-point tensor, found " + dtype_name(t->dtype()));
  }
  return t->to_float32();
}

void WeightReader::allow_unused(const std::string& key, const Shape& expected) {
  find_checked(key, expected);
}

void WeightReader::check_all_used() const {
  for (const auto& [key, tensor] : sd_) {
    if (seen_.count(key)) continue;
    throw Error(ErrorCode::kUnexpectedKey, "unexpected key '" + key + "' with shape " +
                                               shape_str(tensor.shape()) + " (not part of this " +
                                               network_ + " network)");
  }
}

}  // namespace starface::import
