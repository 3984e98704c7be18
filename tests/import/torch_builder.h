// Builds pickles and torch.save containers byte by byte, so tests can feed the loader
// files that torch would never write: malicious, malformed, truncated or oversized ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace starface::testing {

class PickleBuilder {
 public:
  PickleBuilder& proto(int version = 2);
  PickleBuilder& op(uint8_t opcode);
  PickleBuilder& raw(std::string_view bytes);
  PickleBuilder& u8(uint8_t value);
  PickleBuilder& u32(uint32_t value);
  PickleBuilder& u64(uint64_t value);
  PickleBuilder& mark() { return op('('); }
  PickleBuilder& none() { return op('N'); }
  PickleBuilder& boolean(bool value) { return op(value ? 0x88 : 0x89); }
  // The shortest of BININT1, BININT2, BININT and LONG1 that holds the value.
  PickleBuilder& integer(int64_t value);
  PickleBuilder& binfloat(double value);
  PickleBuilder& str(std::string_view text);  // BINUNICODE
  PickleBuilder& global(std::string_view module, std::string_view name);
  PickleBuilder& stack_global(std::string_view module, std::string_view name);
  // EMPTY_TUPLE, TUPLE1-3 for up to 3 items already pushed; TUPLE (needs a MARK) above.
  PickleBuilder& tuple(int count);
  PickleBuilder& put(uint32_t index);
  PickleBuilder& get(uint32_t index);
  PickleBuilder& empty_list() { return op(']'); }
  PickleBuilder& empty_dict() { return op('}'); }
  PickleBuilder& append() { return op('a'); }
  PickleBuilder& setitem() { return op('s'); }
  PickleBuilder& reduce() { return op('R'); }
  PickleBuilder& stop() { return op('.'); }
  // collections.OrderedDict(), as torch writes it.
  PickleBuilder& ordered_dict();
  // A tuple of ints (shape or stride).
  PickleBuilder& int_tuple(const std::vector<int64_t>& values);
  // _rebuild_tensor_v2(('storage', torch.<type>, key, location, numel[, None]), offset,
  // size, stride, False, OrderedDict()): a tensor, as torch.save writes it.
  PickleBuilder& tensor(std::string_view key, std::string_view storage_type, int64_t numel,
                        int64_t offset, const std::vector<int64_t>& size,
                        const std::vector<int64_t>& stride, bool legacy = false,
                        std::string_view location = "cpu");

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// A pickle of {"name": <tensor>, ...} for tensors made by `add(builder)` calls.
std::string dict_pickle(const std::vector<std::pair<std::string, PickleBuilder>>& entries);

// Records of a torch zip: data.pkl holds `pickle`, data/<key> holds each storage.
struct ZipRecordOptions {
  std::string folder = "archive";
  bool deflate = false;
  std::map<std::string, std::string> extra_records;  // e.g. {"byteorder", "big"}
};
void write_torch_zip(const std::filesystem::path& path, const std::string& pickle,
                     const std::map<std::string, std::string>& storages,
                     const ZipRecordOptions& options = {});

// A legacy torch file: magic, protocol, sys_info, `pickle`, the key list, then each
// storage as (element count, bytes) in key order.
struct LegacyStorage {
  std::string key;
  int64_t numel;
  std::string data;
};
std::string legacy_file_bytes(const std::string& pickle,
                              const std::vector<LegacyStorage>& storages);
void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

// Little-endian bytes of float values, for storage records.
std::string float_bytes(const std::vector<float>& values);

}  // namespace starface::testing
