#include "import/storage_table.h"

#include <limits>

#include "import/printable.h"

namespace starface::import {

std::shared_ptr<Storage> StorageTable::get(const StorageRequest& request) {
  if (auto it = entries_.find(request.key); it != entries_.end()) {
    const Entry& entry = it->second;
    if (entry.dtype != request.dtype || entry.numel != request.numel) {
      throw Error(ErrorCode::kMalformedPickle,
                  path_ + ": storage '" + printable(request.key) + "' is used as " +
                      std::to_string(entry.numel) + " " + dtype_name(entry.dtype) +
                      " elements and as " + std::to_string(request.numel) + " " +
                      dtype_name(request.dtype) + " elements");
    }
    return entry.storage;
  }
  const uint64_t element = dtype_size(request.dtype);
  const uint64_t limit = std::numeric_limits<int64_t>::max() / element;
  if (request.numel < 0 || static_cast<uint64_t>(request.numel) > limit) {
    throw Error(ErrorCode::kMalformedPickle, path_ + ": storage '" + printable(request.key) +
                                                 "' claims an impossible " +
                                                 std::to_string(request.numel) + " elements");
  }
  const uint64_t nbytes = static_cast<uint64_t>(request.numel) * element;
  std::shared_ptr<Storage> storage = loader_(request, nbytes);
  entries_.emplace(request.key, Entry{storage, request.dtype, request.numel});
  return storage;
}

const StorageTable::Entry* StorageTable::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace starface::import
