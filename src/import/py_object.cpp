#include "import/py_object.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <type_traits>

#include "core/error.h"

namespace starface::import {

namespace {

constexpr size_t kStrTag = 0x5354;
constexpr size_t kBytesTag = 0x4259;
constexpr size_t kTupleTag = 0x5455;
constexpr size_t kNoneHash = 0x4e4f4e45;

size_t combine(size_t seed, size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2));
}

size_t str_hash(std::string_view text) {
  return combine(kStrTag, std::hash<std::string_view>{}(text));
}

// An integral float in int64 range hashes and compares as that int, as in Python.
bool float_as_int(double value, int64_t* out) {
  if (!std::isfinite(value) || value != std::floor(value)) return false;
  if (value < -9.2233720368547758e18 || value >= 9.2233720368547758e18) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

bool is_numeric(PyObject::Kind kind) {
  return kind == PyObject::Kind::kBool || kind == PyObject::Kind::kInt ||
         kind == PyObject::Kind::kFloat;
}

[[noreturn]] void malformed(const std::string& message) {
  throw Error(ErrorCode::kMalformedPickle, message);
}

void check_nesting(int depth) {
  if (depth > kMaxNesting) {
    malformed("containers nest deeper than " + std::to_string(kMaxNesting) + " levels");
  }
}

}  // namespace

PyObject PyObject::from_bool(bool value) { return {Kind::kBool, int64_t{value ? 1 : 0}}; }
PyObject PyObject::from_int(int64_t value) { return {Kind::kInt, value}; }
PyObject PyObject::from_float(double value) { return {Kind::kFloat, value}; }

PyObject PyObject::from_str(std::string value) {
  return {Kind::kStr, std::make_shared<const std::string>(std::move(value))};
}

PyObject PyObject::from_bytes(std::string value) {
  return {Kind::kBytes, std::make_shared<const std::string>(std::move(value))};
}

PyObject PyObject::from_tensor(Tensor tensor) {
  return {Kind::kTensor, std::make_shared<const Tensor>(std::move(tensor))};
}

PyObject PyObject::new_list() { return {Kind::kList, std::make_shared<PySequence>()}; }
PyObject PyObject::new_dict() { return {Kind::kDict, std::make_shared<PyDict>()}; }

PyObject PyObject::make_tuple(std::vector<PyObject> items) {
  auto tuple = std::make_shared<PySequence>();
  int deepest = 0;
  bool hashable = true;
  size_t hash = combine(kTupleTag, items.size());
  int64_t elements = 1;
  for (const PyObject& item : items) {
    deepest = std::max(deepest, item.depth());
    hashable = hashable && item.hashable();
    if (hashable) hash = combine(hash, item.key_hash());
    // Saturate: only "over the limit" matters, and the sum must not overflow.
    elements = std::min(elements + item.key_elements(), kMaxKeyElements + 1);
  }
  check_nesting(deepest + 1);
  for (const PyObject& item : items) item.freeze();
  tuple->items_ = std::move(items);
  tuple->depth_ = deepest + 1;
  tuple->frozen_ = true;
  tuple->hashable_ = hashable && elements <= kMaxKeyElements;
  tuple->hash_ = hash;
  tuple->key_elements_ = elements;
  return {Kind::kTuple, std::move(tuple)};
}

const char* PyObject::type_name() const {
  switch (kind_) {
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kStr:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kDict:
      return "dict";
    case Kind::kTensor:
      return "Tensor";
  }
  return "unknown";
}

namespace {

void check_kind(const PyObject& object, bool ok, const char* wanted) {
  check_internal(ok, std::string("PyObject is ") + object.type_name() + ", not " + wanted);
}

}  // namespace

bool PyObject::as_bool() const {
  check_kind(*this, kind_ == Kind::kBool, "bool");
  return std::get<int64_t>(payload_) != 0;
}

int64_t PyObject::as_int() const {
  check_kind(*this, kind_ == Kind::kInt, "int");
  return std::get<int64_t>(payload_);
}

double PyObject::as_float() const {
  check_kind(*this, kind_ == Kind::kFloat, "float");
  return std::get<double>(payload_);
}

const std::string& PyObject::as_str() const {
  check_kind(*this, kind_ == Kind::kStr, "str");
  return *std::get<std::shared_ptr<const std::string>>(payload_);
}

const std::string& PyObject::as_bytes() const {
  check_kind(*this, kind_ == Kind::kBytes, "bytes");
  return *std::get<std::shared_ptr<const std::string>>(payload_);
}

const std::vector<PyObject>& PyObject::items() const {
  check_kind(*this, kind_ == Kind::kList || kind_ == Kind::kTuple, "list or tuple");
  return std::get<std::shared_ptr<PySequence>>(payload_)->items_;
}

const PyDict& PyObject::as_dict() const {
  check_kind(*this, kind_ == Kind::kDict, "dict");
  return *std::get<std::shared_ptr<PyDict>>(payload_);
}

const Tensor& PyObject::as_tensor() const {
  check_kind(*this, kind_ == Kind::kTensor, "Tensor");
  return *std::get<std::shared_ptr<const Tensor>>(payload_);
}

bool PyObject::same_object(const PyObject& other) const {
  if (kind_ != other.kind_) return false;
  return std::visit(
      [&other](const auto& mine) {
        using T = std::decay_t<decltype(mine)>;
        const T& theirs = std::get<T>(other.payload_);
        if constexpr (std::is_same_v<T, double>) {
          return std::memcmp(&mine, &theirs, sizeof(double)) == 0;
        } else {
          return mine == theirs;  // pointer identity for shared payloads
        }
      },
      payload_);
}

int PyObject::depth() const {
  if (kind_ == Kind::kList || kind_ == Kind::kTuple) {
    return std::get<std::shared_ptr<PySequence>>(payload_)->depth_;
  }
  if (kind_ == Kind::kDict) return std::get<std::shared_ptr<PyDict>>(payload_)->depth_;
  return 0;
}

void PyObject::freeze() const {
  if (kind_ == Kind::kList) std::get<std::shared_ptr<PySequence>>(payload_)->frozen_ = true;
  if (kind_ == Kind::kDict) std::get<std::shared_ptr<PyDict>>(payload_)->frozen_ = true;
}

bool PyObject::frozen() const {
  if (kind_ == Kind::kList) return std::get<std::shared_ptr<PySequence>>(payload_)->frozen_;
  if (kind_ == Kind::kDict) return std::get<std::shared_ptr<PyDict>>(payload_)->frozen_;
  return true;
}

namespace {

// The checks shared by append and set_item; returns the container's new depth.
int checked_insert_depth(const PyObject& target, int target_depth, const PyObject& item,
                         bool target_frozen) {
  if (target_frozen) {
    malformed(std::string("a ") + target.type_name() +
              " is changed after it was put into another container (not something a "
              "pickler writes)");
  }
  if (item.same_object(target)) {
    malformed(std::string("a ") + target.type_name() + " is put into itself");
  }
  const int depth = std::max(target_depth, item.depth() + 1);
  check_nesting(depth);
  return depth;
}

}  // namespace

void PyObject::append(PyObject item) {
  check_kind(*this, kind_ == Kind::kList, "list");
  PySequence& list = *std::get<std::shared_ptr<PySequence>>(payload_);
  list.depth_ = checked_insert_depth(*this, list.depth_, item, list.frozen_);
  item.freeze();
  list.items_.push_back(std::move(item));
}

void PyObject::set_item(PyObject key, PyObject value) {
  check_kind(*this, kind_ == Kind::kDict, "dict");
  PyDict& dict = *std::get<std::shared_ptr<PyDict>>(payload_);
  if (!key.hashable()) {
    const char* why = key.is(Kind::kTuple)   ? " (too large, or holding unhashable items)"
                      : key.is(Kind::kFloat) ? " (NaN)"
                                             : "";
    malformed(std::string("unhashable dict key of type ") + key.type_name() + why);
  }
  int depth = checked_insert_depth(*this, dict.depth_, key, dict.frozen_);
  depth = std::max(depth, checked_insert_depth(*this, dict.depth_, value, dict.frozen_));
  dict.depth_ = depth;
  key.freeze();
  value.freeze();
  dict.set(std::move(key), std::move(value));
}

bool PyObject::hashable() const {
  switch (kind_) {
    case Kind::kNone:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kStr:
    case Kind::kBytes:
      return true;
    case Kind::kFloat:
      // Every NaN is a distinct key with the same hash: many of them would make each insert
      // compare against all the others. No checkpoint keys anything by NaN.
      return !std::isnan(std::get<double>(payload_));
    case Kind::kTuple:
      return std::get<std::shared_ptr<PySequence>>(payload_)->hashable_;
    case Kind::kList:
    case Kind::kDict:
    case Kind::kTensor:
      return false;
  }
  return false;
}

int64_t PyObject::key_elements() const {
  if (kind_ == Kind::kTuple) return std::get<std::shared_ptr<PySequence>>(payload_)->key_elements_;
  return 1;
}

size_t PyObject::key_hash() const {
  switch (kind_) {
    case Kind::kNone:
      return kNoneHash;
    case Kind::kBool:
    case Kind::kInt:
      return std::hash<int64_t>{}(std::get<int64_t>(payload_));
    case Kind::kFloat: {
      const double value = std::get<double>(payload_);
      int64_t as_int = 0;
      if (float_as_int(value, &as_int)) return std::hash<int64_t>{}(as_int);
      return std::hash<double>{}(value);
    }
    case Kind::kStr:
      return str_hash(as_str());
    case Kind::kBytes:
      return combine(kBytesTag, std::hash<std::string>{}(as_bytes()));
    case Kind::kTuple:
      return std::get<std::shared_ptr<PySequence>>(payload_)->hash_;
    case Kind::kList:
    case Kind::kDict:
    case Kind::kTensor:
      break;
  }
  return 0;
}

bool PyObject::key_equals(const PyObject& other) const {
  if (is_numeric(kind_) && is_numeric(other.kind_)) {
    if (kind_ != Kind::kFloat && other.kind_ != Kind::kFloat) {
      return std::get<int64_t>(payload_) == std::get<int64_t>(other.payload_);
    }
    if (kind_ == Kind::kFloat && other.kind_ == Kind::kFloat) {
      return std::get<double>(payload_) == std::get<double>(other.payload_);
    }
    const PyObject& f = kind_ == Kind::kFloat ? *this : other;
    const PyObject& i = kind_ == Kind::kFloat ? other : *this;
    int64_t as_int = 0;
    return float_as_int(std::get<double>(f.payload_), &as_int) &&
           as_int == std::get<int64_t>(i.payload_);
  }
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNone:
      return true;
    case Kind::kStr:
    case Kind::kBytes:
      return *std::get<std::shared_ptr<const std::string>>(payload_) ==
             *std::get<std::shared_ptr<const std::string>>(other.payload_);
    case Kind::kTuple: {
      if (same_object(other)) return true;
      const PySequence& a = *std::get<std::shared_ptr<PySequence>>(payload_);
      const PySequence& b = *std::get<std::shared_ptr<PySequence>>(other.payload_);
      if (a.hash_ != b.hash_ || a.items_.size() != b.items_.size()) return false;
      // Bounded: both are hashable keys, so at most kMaxKeyElements elements deep and wide.
      for (size_t i = 0; i < a.items_.size(); ++i) {
        if (!a.items_[i].key_equals(b.items_[i])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const PyObject* PyDict::find(std::string_view key) const {
  auto [begin, end] = index_.equal_range(str_hash(key));
  for (auto it = begin; it != end; ++it) {
    const PyObject& candidate = items_[it->second].first;
    if (candidate.is(PyObject::Kind::kStr) && candidate.as_str() == key) {
      return &items_[it->second].second;
    }
  }
  return nullptr;
}

const PyObject* PyDict::find(const PyObject& key) const {
  if (!key.hashable()) return nullptr;
  auto [begin, end] = index_.equal_range(key.key_hash());
  for (auto it = begin; it != end; ++it) {
    if (items_[it->second].first.key_equals(key)) return &items_[it->second].second;
  }
  return nullptr;
}

void PyDict::set(PyObject key, PyObject value) {
  const size_t hash = key.key_hash();
  auto [begin, end] = index_.equal_range(hash);
  for (auto it = begin; it != end; ++it) {
    if (items_[it->second].first.key_equals(key)) {
      items_[it->second].second = std::move(value);
      return;
    }
  }
  index_.emplace(hash, items_.size());
  items_.emplace_back(std::move(key), std::move(value));
}

}  // namespace starface::import
