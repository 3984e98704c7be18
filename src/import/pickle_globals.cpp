#include "import/pickle_globals.h"

#include <array>

namespace starface::import {

namespace {

constexpr std::array kAllowed = {
    AllowedGlobal{"collections", "OrderedDict", GlobalKind::kOrderedDict, DType::kFloat32},
    AllowedGlobal{"collections", "Counter", GlobalKind::kCounter, DType::kFloat32},
    AllowedGlobal{"torch._utils", "_rebuild_tensor_v2", GlobalKind::kRebuildTensorV2,
                  DType::kFloat32},
    AllowedGlobal{"torch", "FloatStorage", GlobalKind::kStorageType, DType::kFloat32},
    AllowedGlobal{"torch", "HalfStorage", GlobalKind::kStorageType, DType::kFloat16},
    AllowedGlobal{"torch", "BFloat16Storage", GlobalKind::kStorageType, DType::kBFloat16},
    AllowedGlobal{"torch", "DoubleStorage", GlobalKind::kStorageType, DType::kFloat64},
    AllowedGlobal{"torch", "LongStorage", GlobalKind::kStorageType, DType::kInt64},
    AllowedGlobal{"torch", "IntStorage", GlobalKind::kStorageType, DType::kInt32},
    AllowedGlobal{"torch", "ByteStorage", GlobalKind::kStorageType, DType::kUInt8},
    AllowedGlobal{"torch", "BoolStorage", GlobalKind::kStorageType, DType::kBool},
};

struct UnsupportedStorage {
  const char* name;
  const char* element;
};

constexpr std::array kUnsupportedStorages = {
    UnsupportedStorage{"ShortStorage", "int16"},
    UnsupportedStorage{"CharStorage", "int8"},
    UnsupportedStorage{"ComplexFloatStorage", "complex64"},
    UnsupportedStorage{"ComplexDoubleStorage", "complex128"},
    UnsupportedStorage{"QInt8Storage", "qint8"},
    UnsupportedStorage{"QUInt8Storage", "quint8"},
    UnsupportedStorage{"QInt32Storage", "qint32"},
};

}  // namespace

const AllowedGlobal* find_allowed_global(std::string_view module, std::string_view name) {
  for (const AllowedGlobal& global : kAllowed) {
    if (module == global.module && name == global.name) return &global;
  }
  return nullptr;
}

std::string unsupported_storage_reason(std::string_view module, std::string_view name) {
  if (module != "torch") return {};
  for (const UnsupportedStorage& storage : kUnsupportedStorages) {
    if (name == storage.name) {
      return std::string("torch.") + storage.name + " holds " + storage.element +
             " elements, which starface does not support";
    }
  }
  return {};
}

std::string allowed_globals_list() {
  return "collections.OrderedDict, collections.Counter, torch._utils._rebuild_tensor_v2 and "
         "the torch.*Storage type tags (Float, Half, BFloat16, Double, Long, Int, Byte, Bool)";
}

}  // namespace starface::import
