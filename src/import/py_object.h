// The Python object tree a restricted unpickler builds: None, bool, int, float, str, bytes,
// list, tuple, dict and tensor. Nothing else can be represented, so nothing else can come out
// of a checkpoint.
//
// Copies are cheap and share: containers, strings and tensors are held by shared_ptr, as
// Python holds references, because a pickle refers back to earlier objects through its memo
// and fills a list or dict after it has been memoised.
//
// The tree is acyclic and at most kMaxNesting deep by construction: a list or dict that has
// been put into another container is frozen (a pickler never fills it after that), and a
// container cannot be put into itself. Freeing a tree therefore never recurses deeper than
// kMaxNesting, and comparing dict keys never loops.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace starface::import {

// Deepest container nesting a tree may have; real checkpoints nest fewer than 10 levels.
inline constexpr int kMaxNesting = 1000;
// Largest tuple (counting nested tuple elements) accepted as a dict key, which bounds the
// cost of hashing and comparing keys.
inline constexpr int64_t kMaxKeyElements = 256;

class PySequence;
class PyDict;

struct PyObject {
 public:
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kBytes,
    kList,
    kTuple,
    kDict,
    kTensor
  };

  PyObject() = default;  // None
  static PyObject from_bool(bool value);
  static PyObject from_int(int64_t value);
  static PyObject from_float(double value);
  static PyObject from_str(std::string value);
  static PyObject from_bytes(std::string value);
  static PyObject from_tensor(Tensor tensor);
  static PyObject new_list();
  static PyObject new_dict();
  // Throws kMalformedPickle when the tuple would nest deeper than kMaxNesting.
  static PyObject make_tuple(std::vector<PyObject> items);

  Kind kind() const { return kind_; }
  bool is(Kind kind) const { return kind_ == kind; }
  // Python's name for the type ("NoneType", "int", "dict", ...; "Tensor" for tensors).
  const char* type_name() const;

  // Accessors check the kind (kInternal on a mismatch: callers test kind() first).
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;
  const std::string& as_str() const;
  const std::string& as_bytes() const;
  const std::vector<PyObject>& items() const;  // list or tuple
  const PyDict& as_dict() const;
  const Tensor& as_tensor() const;

  // Python's `is`: the same container, string or tensor object (scalars compare by value).
  bool same_object(const PyObject& other) const;
  // 0 for scalars and tensors, 1 + the deepest element for containers.
  int depth() const;

  // Mutation, as the unpickler fills containers. Each throws kMalformedPickle when the
  // target is frozen, when the item is the target itself, when the nesting would pass
  // kMaxNesting, or (set_item) when the key is unhashable.
  void append(PyObject item);
  void set_item(PyObject key, PyObject value);

  // Hashing and equality of dict keys, with Python's rules where they matter here:
  // True == 1 == 1.0, 'a' != b'a', tuples compare elementwise. NaN, lists, dicts, tensors
  // and oversized tuples are not hashable.
  bool hashable() const;
  size_t key_hash() const;
  bool key_equals(const PyObject& other) const;

 private:
  using Payload = std::variant<std::monostate, int64_t, double, std::shared_ptr<const std::string>,
                               std::shared_ptr<PySequence>, std::shared_ptr<PyDict>,
                               std::shared_ptr<const Tensor>>;

  PyObject(Kind kind, Payload payload) : kind_(kind), payload_(std::move(payload)) {}
  // Marks a list or dict as nested in a container, so it can no longer change.
  void freeze() const;
  bool frozen() const;
  int64_t key_elements() const;

  Kind kind_ = Kind::kNone;
  Payload payload_;
};

// The elements of a list or tuple, plus the bookkeeping that keeps trees finite.
class PySequence {
 public:
  const std::vector<PyObject>& items() const { return items_; }

 private:
  friend struct PyObject;
  std::vector<PyObject> items_;
  int depth_ = 1;
  bool frozen_ = false;
  // Cached for tuples, which never change once made.
  bool hashable_ = false;
  size_t hash_ = 0;
  int64_t key_elements_ = 1;
};

// An insertion-ordered dict with hashed lookup.
class PyDict {
 public:
  using Item = std::pair<PyObject, PyObject>;

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<Item>& items() const { return items_; }
  // The value under a str key, or nullptr.
  const PyObject* find(std::string_view key) const;
  // The value under any hashable key, or nullptr.
  const PyObject* find(const PyObject& key) const;

 private:
  friend struct PyObject;
  // Python's rule: an equal key keeps its position and takes the new value.
  void set(PyObject key, PyObject value);

  std::vector<Item> items_;
  std::unordered_multimap<size_t, size_t> index_;  // key hash -> position in items_
  int depth_ = 1;
  bool frozen_ = false;
};

}  // namespace starface::import
