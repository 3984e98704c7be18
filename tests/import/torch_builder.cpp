#include "import/torch_builder.h"

#include <zip.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace starface::testing {

PickleBuilder& PickleBuilder::proto(int version) {
  return op(0x80).u8(static_cast<uint8_t>(version));
}

PickleBuilder& PickleBuilder::op(uint8_t opcode) {
  bytes_ += static_cast<char>(opcode);
  return *this;
}

PickleBuilder& PickleBuilder::raw(std::string_view bytes) {
  bytes_ += bytes;
  return *this;
}

PickleBuilder& PickleBuilder::u8(uint8_t value) { return op(value); }

PickleBuilder& PickleBuilder::u32(uint32_t value) {
  for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(value >> (8 * i)));
  return *this;
}

PickleBuilder& PickleBuilder::u64(uint64_t value) {
  for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(value >> (8 * i)));
  return *this;
}

PickleBuilder& PickleBuilder::integer(int64_t value) {
  if (value >= 0 && value < 256) return op('K').u8(static_cast<uint8_t>(value));
  if (value >= 0 && value < 65536) {
    return op('M').u8(static_cast<uint8_t>(value)).u8(static_cast<uint8_t>(value >> 8));
  }
  if (value >= INT32_MIN && value <= INT32_MAX) return op('J').u32(static_cast<uint32_t>(value));
  return op(0x8a).u8(8).u64(static_cast<uint64_t>(value));
}

PickleBuilder& PickleBuilder::binfloat(double value) {
  const uint64_t bits = std::bit_cast<uint64_t>(value);
  op('G');
  for (int i = 7; i >= 0; --i) u8(static_cast<uint8_t>(bits >> (8 * i)));
  return *this;
}

PickleBuilder& PickleBuilder::str(std::string_view text) {
  return op('X').u32(static_cast<uint32_t>(text.size())).raw(text);
}

PickleBuilder& PickleBuilder::global(std::string_view module, std::string_view name) {
  return op('c').raw(module).raw("\n").raw(name).raw("\n");
}

PickleBuilder& PickleBuilder::stack_global(std::string_view module, std::string_view name) {
  op(0x8c).u8(static_cast<uint8_t>(module.size())).raw(module);
  op(0x8c).u8(static_cast<uint8_t>(name.size())).raw(name);
  return op(0x93);
}

PickleBuilder& PickleBuilder::tuple(int count) {
  switch (count) {
    case 0:
      return op(')');
    case 1:
      return op(0x85);
    case 2:
      return op(0x86);
    case 3:
      return op(0x87);
    default:
      return op('t');
  }
}

PickleBuilder& PickleBuilder::put(uint32_t index) {
  if (index < 256) return op('q').u8(static_cast<uint8_t>(index));
  return op('r').u32(index);
}

PickleBuilder& PickleBuilder::get(uint32_t index) {
  if (index < 256) return op('h').u8(static_cast<uint8_t>(index));
  return op('j').u32(index);
}

PickleBuilder& PickleBuilder::ordered_dict() {
  return global("collections", "OrderedDict").tuple(0).reduce();
}

PickleBuilder& PickleBuilder::int_tuple(const std::vector<int64_t>& values) {
  mark();
  for (int64_t v : values) integer(v);
  return op('t');
}

PickleBuilder& PickleBuilder::tensor(std::string_view key, std::string_view storage_type,
                                     int64_t numel, int64_t offset,
                                     const std::vector<int64_t>& size,
                                     const std::vector<int64_t>& stride, bool legacy,
                                     std::string_view location) {
  global("torch._utils", "_rebuild_tensor_v2");
  mark();
  mark().str("storage").global("torch", storage_type).str(key).str(location).integer(numel);
  if (legacy) none();
  op('t').op('Q');
  integer(offset).int_tuple(size).int_tuple(stride).boolean(false).ordered_dict();
  return op('t').reduce();
}

std::string dict_pickle(const std::vector<std::pair<std::string, PickleBuilder>>& entries) {
  PickleBuilder out;
  out.proto().empty_dict().mark();
  for (const auto& [name, value] : entries) out.str(name).raw(value.bytes());
  return out.op('u').stop().bytes();
}

void write_torch_zip(const std::filesystem::path& path, const std::string& pickle,
                     const std::map<std::string, std::string>& storages,
                     const ZipRecordOptions& options) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("zip_open failed for " + path.string());
  auto add = [&](const std::string& name, const std::string& data) {
    zip_source_t* source = zip_source_buffer(archive, data.data(), data.size(), 0);
    const zip_int64_t index =
        zip_file_add(archive, (options.folder + "/" + name).c_str(), source, ZIP_FL_OVERWRITE);
    if (index < 0) throw std::runtime_error("zip_file_add failed");
    zip_set_file_compression(archive, index, options.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  };
  add("data.pkl", pickle);
  for (const auto& [key, data] : storages) add("data/" + key, data);
  for (const auto& [name, data] : options.extra_records) add(name, data);
  const std::string version = "3\n";
  add("version", version);
  // libzip reads every buffer only in zip_close, so all of them must still be alive here.
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close failed");
}

std::string legacy_file_bytes(const std::string& pickle,
                              const std::vector<LegacyStorage>& storages) {
  PickleBuilder head;
  head.proto().op(0x8a).u8(10).raw("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19").stop();
  head.proto().integer(1001).stop();
  head.proto().empty_dict().mark();
  head.str("protocol_version").integer(1001).str("little_endian").boolean(true);
  head.str("type_sizes").empty_dict().mark().str("short").integer(2).str("int").integer(4);
  head.str("long").integer(4).op('u').op('u').stop();
  PickleBuilder keys;
  keys.proto().empty_list().mark();
  for (const LegacyStorage& storage : storages) keys.str(storage.key);
  keys.op('e').stop();
  std::string out = head.bytes() + pickle + keys.bytes();
  for (const LegacyStorage& storage : storages) {
    PickleBuilder count;
    count.u64(static_cast<uint64_t>(storage.numel));
    out += count.bytes() + storage.data;
  }
  return out;
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string float_bytes(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace starface::testing
