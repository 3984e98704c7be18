#include <cstring>
#include <string>
#include <unordered_set>

#include "core/error.h"
#include "import/pickle.h"
#include "import/printable.h"
#include "import/storage_table.h"
#include "import/torch_containers.h"

namespace starface::import {

namespace {

// torch.serialization's MAGIC_NUMBER 0x1950a86a20f9469cfc6c, little-endian as LONG1 writes it.
constexpr unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;

uint8_t byte_at(std::span<const std::byte> bytes, size_t pos) {
  return static_cast<uint8_t>(bytes[pos]);
}

// Runs the pickle at `*pos` and moves `*pos` past it.
PyObject next_pickle(std::span<const std::byte> bytes, size_t* pos, UnpickleOptions options) {
  options.base_offset = *pos;
  size_t used = 0;
  PyObject object = unpickle(bytes.subspan(*pos), options, &used);
  *pos += used;
  return object;
}

void check_header(const PyObject& protocol, const PyObject& sys_info, const std::string& path) {
  if (!protocol.is(PyObject::Kind::kInt) || protocol.as_int() != kLegacyProtocolVersion) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": legacy torch file with an unknown protocol version (expected 1001)");
  }
  // The type sizes in sys_info describe Python's struct module, not the data; only the
  // byte order matters.
  if (sys_info.is(PyObject::Kind::kDict)) {
    const PyObject* little = sys_info.as_dict().find("little_endian");
    if (little && little->is(PyObject::Kind::kBool) && !little->as_bool()) {
      throw Error(ErrorCode::kBadInput,
                  path + ": a big-endian legacy torch file; only little-endian is supported");
    }
  }
}

std::vector<std::string> storage_keys(const PyObject& list, const std::string& path) {
  if (!list.is(PyObject::Kind::kList)) {
    throw Error(ErrorCode::kMalformedPickle,
                path + ": the storage key list is a " + list.type_name() + ", not a list");
  }
  std::vector<std::string> keys;
  for (const PyObject& key : list.items()) {
    if (!key.is(PyObject::Kind::kStr)) {
      throw Error(ErrorCode::kMalformedPickle,
                  path + ": a storage key is a " + key.type_name() + ", not a str");
    }
    keys.push_back(key.as_str());
  }
  return keys;
}

// Storages are allocated while the object pickle is read, but filled only afterwards from
// the raw section; what they may claim in all is bounded by the bytes left in the file.
class LegacyStorageBudget {
 public:
  LegacyStorageBudget(std::string path, uint64_t available)
      : path_(std::move(path)), available_(available) {}

  std::shared_ptr<Storage> allocate(const StorageRequest& request, uint64_t nbytes) {
    if (nbytes > available_ - claimed_) {
      throw Error(ErrorCode::kTruncatedLegacy,
                  path_ + ": truncated or corrupt: storage '" + printable(request.key) +
                      "' claims " + std::to_string(nbytes) +
                      " bytes, and with the storages before it that " + "is more than the " +
                      std::to_string(available_) + " bytes left in the file after its header");
    }
    claimed_ += nbytes;
    return std::make_shared<Storage>(static_cast<size_t>(nbytes));
  }

 private:
  std::string path_;
  uint64_t available_;
  uint64_t claimed_ = 0;
};

// Fills each storage from the raw section: an int64 element count, then the bytes.
void read_storage_section(std::span<const std::byte> bytes, size_t pos,
                          const std::vector<std::string>& keys, const StorageTable& storages,
                          const std::string& path) {
  std::unordered_set<std::string> filled;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    const StorageTable::Entry* entry = storages.find(key);
    if (!entry || !filled.insert(key).second) {
      throw Error(ErrorCode::kMalformedPickle, path + ": storage key '" + printable(key) +
                                                   "' is listed " +
                                                   (entry ? "twice" : "but no tensor uses it"));
    }
    const std::string which = "storage '" + printable(key) + "' (" + std::to_string(i + 1) +
                              " of " + std::to_string(keys.size()) + ")";
    if (bytes.size() - pos < 8) {
      throw Error(ErrorCode::kTruncatedLegacy, path + ": the file ends at byte " +
                                                   std::to_string(bytes.size()) +
                                                   ", before the element count of " + which);
    }
    int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, 8);  // little-endian, as is every target we build for
    pos += 8;
    if (count != entry->numel) {
      throw Error(ErrorCode::kMalformedPickle, path + ": " + which + " has " +
                                                   std::to_string(count) +
                                                   " elements in the file but " +
                                                   std::to_string(entry->numel) + " in the pickle");
    }
    const size_t nbytes = entry->storage->nbytes();
    if (bytes.size() - pos < nbytes) {
      throw Error(ErrorCode::kTruncatedLegacy, path + ": the file ends at byte " +
                                                   std::to_string(bytes.size()) + ", " +
                                                   std::to_string(nbytes - (bytes.size() - pos)) +
                                                   " bytes short of the end of " + which);
    }
    std::memcpy(entry->storage->data(), bytes.data() + pos, nbytes);
    pos += nbytes;
  }
  if (filled.size() != storages.size()) {
    for (const auto& [key, entry] : storages.entries()) {
      if (!filled.count(key)) {
        throw Error(ErrorCode::kMalformedPickle, path + ": storage '" + printable(key) +
                                                     "' is used by a tensor but has no data");
      }
    }
  }
}

}  // namespace

size_t legacy_magic_end(std::span<const std::byte> bytes) {
  constexpr uint8_t kProto = 0x80, kFrame = 0x95, kLong1 = 0x8a, kStop = '.';
  size_t pos = 0;
  auto has = [&](size_t count) { return bytes.size() - pos >= count; };
  if (!has(2) || byte_at(bytes, 0) != kProto || byte_at(bytes, 1) < 2) return 0;
  pos = 2;
  if (has(9) && byte_at(bytes, pos) == kFrame) pos += 9;  // protocol 4+ frames the pickle
  if (!has(2 + sizeof(kMagic) + 1)) return 0;
  if (byte_at(bytes, pos) != kLong1 || byte_at(bytes, pos + 1) != sizeof(kMagic)) return 0;
  pos += 2;
  if (std::memcmp(bytes.data() + pos, kMagic, sizeof(kMagic)) != 0) return 0;
  pos += sizeof(kMagic);
  return byte_at(bytes, pos) == kStop ? pos + 1 : 0;
}

PyObject load_torch_legacy(std::span<const std::byte> bytes, const std::string& path) {
  size_t pos = legacy_magic_end(bytes);

  // The four pickles of the file share one memory budget, as the file's objects all live
  // until the end.
  PickleBudget pickle_budget{bytes.size() + kPickleMemorySlack};
  UnpickleOptions options;
  options.budget = &pickle_budget;
  options.source = path + " [legacy header]";
  options.truncated_code = ErrorCode::kTruncatedLegacy;
  const PyObject protocol = next_pickle(bytes, &pos, options);
  const PyObject sys_info = next_pickle(bytes, &pos, options);
  check_header(protocol, sys_info, path);

  LegacyStorageBudget budget(path, bytes.size() - pos);
  StorageTable storages(path, [&budget](const StorageRequest& request, uint64_t nbytes) {
    return budget.allocate(request, nbytes);
  });
  options.source = path + " [legacy object pickle]";
  options.resolve_storage = storages.resolver();
  PyObject object = next_pickle(bytes, &pos, options);

  options.source = path + " [legacy storage keys]";
  options.resolve_storage = nullptr;
  const std::vector<std::string> keys = storage_keys(next_pickle(bytes, &pos, options), path);
  read_storage_section(bytes, pos, keys, storages, path);
  return object;
}

}  // namespace starface::import
