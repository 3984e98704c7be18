// The pickle globals a checkpoint may name. Everything else is refused at the GLOBAL opcode,
// before anything is built; nothing on this list is ever called either: the unpickler
// builds the object each one stands for itself.
#pragma once

#include <string>
#include <string_view>

#include "core/tensor.h"

namespace starface::import {

enum class GlobalKind {
  kOrderedDict,      // collections.OrderedDict: REDUCE with () gives an empty dict
  kCounter,          // collections.Counter: REDUCE with (dict,) gives that dict
  kRebuildTensorV2,  // torch._utils._rebuild_tensor_v2: REDUCE builds a tensor view
  kStorageType,      // torch.FloatStorage and friends: a dtype tag inside a persistent id
};

struct AllowedGlobal {
  const char* module;
  const char* name;
  GlobalKind kind;
  DType dtype;  // element type of a storage type tag; unused otherwise
};

// The allow-list entry for module.name, or nullptr.
const AllowedGlobal* find_allowed_global(std::string_view module, std::string_view name);

// For torch storage types whose element type starface has no dtype for (int16, complex, ...):
// why they cannot be loaded. Empty for any other name.
std::string unsupported_storage_reason(std::string_view module, std::string_view name);

// "collections.OrderedDict, collections.Counter, ...", for error messages.
std::string allowed_globals_list();

}  // namespace starface::import
