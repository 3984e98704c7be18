// One Storage per persistent-id key, as torch keeps one per key: views of a storage share it.
// Internal to the torch file readers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/tensor.h"
#include "import/pickle.h"

namespace starface::import {

class StorageTable {
 public:
  struct Entry {
    std::shared_ptr<Storage> storage;
    DType dtype;
    int64_t numel;
  };
  // Makes the storage the first time a key is seen.
  using Loader = std::function<std::shared_ptr<Storage>(const StorageRequest&, uint64_t nbytes)>;

  StorageTable(std::string path, Loader loader)
      : path_(std::move(path)), loader_(std::move(loader)) {}

  // The storage for a request. Throws kMalformedPickle when a key is used again with another
  // type or size, or when numel x element size overflows.
  std::shared_ptr<Storage> get(const StorageRequest& request);
  const Entry* find(const std::string& key) const;
  size_t size() const { return entries_.size(); }
  const std::unordered_map<std::string, Entry>& entries() const { return entries_; }

  // A resolver for UnpickleOptions that forwards to get().
  StorageResolver resolver() {
    return [this](const StorageRequest& request) { return get(request); };
  }

 private:
  std::string path_;
  Loader loader_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace starface::import
