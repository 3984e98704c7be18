#include "import/checkpoint.h"

#include "core/error.h"
#include "import/printable.h"
#include "import/torch_file.h"

namespace starface::import {

namespace {

constexpr std::string_view kDataParallelPrefix = "module.";
constexpr size_t kKeysShown = 8;

std::string key_list(const PyDict& dict) {
  std::string out;
  size_t shown = 0;
  for (const auto& [key, value] : dict.items()) {
    if (shown == kKeysShown) return out + ", ... (" + std::to_string(dict.size()) + " in all)";
    if (shown++) out += ", ";
    out += key.is(PyObject::Kind::kStr) ? "'" + printable(key.as_str()) + "'" : key.type_name();
  }
  return out.empty() ? "none" : out;
}

bool holds_tensors(const PyDict& dict) {
  for (const auto& [key, value] : dict.items()) {
    if (value.is(PyObject::Kind::kTensor)) return true;
  }
  return dict.empty();
}

// Where the weights are: the requested entry, or for "net" the usual alternatives.
const PyObject& find_state_dict(const PyObject& root, const std::string& path,
                                const LoadOptions& options, std::string* where) {
  if (!root.is(PyObject::Kind::kDict)) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": holds a " + root.type_name() + ", not a dict with a state dict");
  }
  const PyDict& top = root.as_dict();
  if (const PyObject* entry = top.find(options.weights)) {
    *where = "entry '" + options.weights + "'";
    return *entry;
  }
  if (options.weights != "net") {
    throw Error(ErrorCode::kMissingKey, path + ": has no '" + options.weights +
                                            "' entry; its top-level keys are " + key_list(top));
  }
  if (const PyObject* entry = top.find("state_dict")) {
    *where = "entry 'state_dict'";
    return *entry;
  }
  // A bare state dict; any entry in it that is not a tensor is reported by name later.
  if (!holds_tensors(top)) {
    throw Error(ErrorCode::kNotACheckpoint,
                path +
                    ": no state dict found: no 'net' or 'state_dict' entry, and no tensors "
                    "at the top level (keys " +
                    key_list(top) + ")");
  }
  *where = "top level";
  return root;
}

std::string strip_data_parallel(const std::string& key) {
  if (key.starts_with(kDataParallelPrefix)) return key.substr(kDataParallelPrefix.size());
  return key;
}

}  // namespace

TensorMap state_dict_from(const PyObject& root, const std::string& path,
                          const LoadOptions& options) {
  std::string where;
  const PyObject& state = find_state_dict(root, path, options, &where);
  if (!state.is(PyObject::Kind::kDict)) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": the " + where + " is a " + state.type_name() + ", not a state dict");
  }
  TensorMap tensors;
  for (const auto& [key, value] : state.as_dict().items()) {
    if (!key.is(PyObject::Kind::kStr)) {
      throw Error(ErrorCode::kBadInput, path + ": the state dict in the " + where +
                                            " has a key of type " + key.type_name());
    }
    if (!value.is(PyObject::Kind::kTensor)) {
      throw Error(ErrorCode::kBadInput, path + ": state dict entry '" + printable(key.as_str()) +
                                            "' is a " + value.type_name() + ", not a tensor");
    }
    const std::string name = strip_data_parallel(key.as_str());
    if (!tensors.emplace(name, value.as_tensor()).second) {
      throw Error(ErrorCode::kBadInput, path + ": state dict key '" + printable(name) +
                                            "' appears both with and without 'module.'");
    }
  }
  return tensors;
}

TensorMap load_state_dict(const std::string& path, const LoadOptions& options) {
  return state_dict_from(load_torch_file(path), path, options);
}

TensorMap load_state_dict_bytes(std::span<const std::byte> bytes, const std::string& name,
                                const LoadOptions& options) {
  return state_dict_from(load_torch_bytes(bytes, name), name, options);
}

}  // namespace starface::import
