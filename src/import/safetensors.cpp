#include "import/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "import/little_endian.h"
#include "import/mapped_file.h"

namespace starface::import {

namespace {

using nlohmann::json;

constexpr size_t kLengthBytes = 8;
// A tensor entry is {"shape": [dims]}: nothing in a valid header nests deeper than 3 or
// holds longer arrays than a shape, so deeper or longer input is refused while parsing,
// before it costs memory.
constexpr int kMaxDepth = 3;
constexpr size_t kMaxArrayLength = 64;

struct DTypeName {
  const char* name;
  DType dtype;
};

constexpr DTypeName kDTypes[] = {
    {"F32", DType::kFloat32}, {"F16", DType::kFloat16}, {"BF16", DType::kBFloat16},
    {"F64", DType::kFloat64}, {"I64", DType::kInt64},   {"I32", DType::kInt32},
    {"U8", DType::kUInt8},    {"I8", DType::kInt8},     {"BOOL", DType::kBool},
};

[[noreturn]] void malformed(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kNotACheckpoint, source + ": malformed safetensors header: " + what);
}

[[noreturn]] void inconsistent(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kTruncatedArchive, source + ": inconsistent safetensors data: " + what);
}

// Refuses, while parsing, what no valid header holds: nesting deeper than a shape, arrays
// longer than a shape, and a name repeated within one object (the DOM would keep the last
// one silently).
class HeaderGuard {
 public:
  explicit HeaderGuard(std::string source) : source_(std::move(source)) {}

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxDepth) malformed(source_, "nested deeper than a tensor's shape");
        count_element();
        open_.push_back({event == json::parse_event_t::array_start, 0, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        open_.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& name = parsed.get_ref<const std::string&>();
        if (!open_.back().keys.insert(name).second) {
          malformed(source_, "duplicate name '" + name + "'");
        }
        break;
      }
      case json::parse_event_t::value:
        count_element();
        break;
    }
    return true;
  }

 private:
  struct Open {
    bool is_array;
    size_t length;
    std::set<std::string> keys;
  };

  void count_element() {
    if (open_.empty() || !open_.back().is_array) return;
    if (++open_.back().length > kMaxArrayLength) {
      malformed(source_, "an array longer than " + std::to_string(kMaxArrayLength));
    }
  }

  std::string source_;
  std::vector<Open> open_;
};

json parse_header(std::string_view text, const std::string& source) {
  HeaderGuard guard(source);
  json header;
  try {
    header = json::parse(text.begin(), text.end(), std::ref(guard));
  } catch (const json::exception& e) {  // syntax, and numbers too large for any type
    malformed(source, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) malformed(source, "not a JSON object");
  return header;
}

DType parse_dtype(const json& entry, const std::string& source, const std::string& name) {
  const json& dtype = entry.at("dtype");
  if (!dtype.is_string()) malformed(source, "tensor '" + name + "': dtype is not a string");
  const std::string& text = dtype.get_ref<const std::string&>();
  for (const DTypeName& d : kDTypes) {
    if (text == d.name) return d.dtype;
  }
  throw Error(ErrorCode::kBadDtype, source + ": tensor '" + name + "': unsupported dtype '" + text +
                                        "' (supported: F32 F16 BF16 F64 I64 I32 U8 I8 BOOL)");
}

uint64_t non_negative_integer(const json& v, const std::string& source, const std::string& what) {
  if (!v.is_number_unsigned()) malformed(source, what + " is not a non-negative integer");
  return v.get<uint64_t>();
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The shape, with the byte size it implies checked for overflow (a zero dim makes any
// other dim harmless, so zero counts are handled before multiplying).
Shape parse_shape(const json& entry, const std::string& source, const std::string& name,
                  DType dtype, uint64_t* nbytes) {
  const json& dims = entry.at("shape");
  const std::string at = "tensor '" + name + "': ";
  if (!dims.is_array()) malformed(source, at + "shape is not an array");
  Shape shape;
  for (const json& d : dims) {
    const uint64_t dim = non_negative_integer(d, source, at + "a shape dimension");
    if (dim > static_cast<uint64_t>(INT64_MAX)) malformed(source, at + "shape dimension overflows");
    shape.push_back(static_cast<int64_t>(dim));
  }
  // A zero dimension counts as one here, as for every tensor (core's check_shape): an empty
  // tensor's strides are still products of its other dimensions, which must not overflow.
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  uint64_t bytes = dtype_size(dtype);
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(std::max<int64_t>(dim, 1)), &bytes) ||
        bytes > static_cast<uint64_t>(INT64_MAX)) {
      malformed(source, at + "shape " + shape_str(shape) + " overflows");
    }
  }
  *nbytes = empty ? 0 : bytes;
  return shape;
}

Entry parse_entry(const std::string& name, const json& entry, const std::string& source,
                  uint64_t data_size) {
  const std::string at = "tensor '" + name + "': ";
  if (!entry.is_object()) malformed(source, at + "entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(field)) malformed(source, at + "no '" + field + "'");
  }
  if (entry.size() != 3) malformed(source, at + "fields other than dtype, shape, data_offsets");
  Entry e;
  e.name = name;
  e.dtype = parse_dtype(entry, source, name);
  uint64_t nbytes = 0;
  e.shape = parse_shape(entry, source, name, e.dtype, &nbytes);
  const json& offsets = entry.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) {
    malformed(source, at + "data_offsets is not [begin, end]");
  }
  e.begin = non_negative_integer(offsets[0], source, at + "data_offsets[0]");
  e.end = non_negative_integer(offsets[1], source, at + "data_offsets[1]");
  const std::string range = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ")";
  if (e.begin > e.end)
    inconsistent(source, at + "data_offsets " + range + " end before they begin");
  if (e.end > data_size) {
    throw Error(ErrorCode::kTruncatedArchive, source + ": truncated safetensors file: " + at +
                                                  "data_offsets " + range + " reach past the " +
                                                  std::to_string(data_size) + "-byte data area");
  }
  if (e.end - e.begin != nbytes) {
    inconsistent(source, at + std::to_string(e.end - e.begin) + " bytes for " +
                             dtype_name(e.dtype) + " " + shape_str(e.shape) + ", which needs " +
                             std::to_string(nbytes));
  }
  return e;
}

Metadata parse_metadata(const json& entry, const std::string& source) {
  if (!entry.is_object()) malformed(source, "__metadata__ is not an object");
  Metadata metadata;
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string()) malformed(source, "__metadata__ '" + key + "' is not a string");
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// The spec's rule: the ranges tile the data area exactly, without overlaps or holes (so no
// bytes can hide in a file, and none is read twice).
void check_ranges_tile(std::vector<const Entry*> entries, uint64_t data_size,
                       const std::string& source) {
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : entries) {
    if (e->begin < covered) {
      inconsistent(source, "tensors '" + previous->name + "' and '" + e->name + "' overlap");
    }
    if (e->begin > covered) {
      inconsistent(source, "bytes " + std::to_string(covered) + " to " + std::to_string(e->begin) +
                               " of the data area belong to no tensor");
    }
    covered = e->end;
    previous = e;
  }
  if (covered != data_size) {
    inconsistent(source, std::to_string(data_size - covered) +
                             " bytes at the end of the data area belong to no tensor");
  }
}

Tensor copy_tensor(const Entry& e, const std::byte* data) {
  Tensor t(e.dtype, e.shape);
  if (e.end > e.begin) std::memcpy(t.bytes(), data + e.begin, e.end - e.begin);
  return t;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const DTypeName& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

bool looks_like_safetensors(std::span<const std::byte> head) {
  if (head.size() < kLengthBytes + 1) return false;
  const uint64_t length = read_le(head, 0, kLengthBytes);
  return length >= 2 && length <= kMaxSafetensorsHeader &&
         static_cast<char>(head[kLengthBytes]) == '{';
}

bool is_safetensors_file(const std::string& path) {
  if (path.ends_with(".safetensors")) return true;
  std::ifstream in(path, std::ios::binary);
  std::byte head[kLengthBytes + 1];
  if (!in.read(reinterpret_cast<char*>(head), sizeof(head))) return false;
  return looks_like_safetensors(head);
}

namespace {

// The header's JSON text, after checking its length against the limit and the bytes.
std::string_view header_text(std::span<const std::byte> bytes, const std::string& source) {
  if (bytes.size() < kLengthBytes) {
    throw Error(ErrorCode::kTruncatedArchive,
                source + ": truncated safetensors file: " + std::to_string(bytes.size()) +
                    " bytes, shorter than the 8-byte header length");
  }
  const uint64_t header_size = read_le(bytes, 0, kLengthBytes);
  if (header_size > kMaxSafetensorsHeader) {
    malformed(source, "header length " + std::to_string(header_size) + " exceeds the " +
                          std::to_string(kMaxSafetensorsHeader) + "-byte limit");
  }
  if (header_size > bytes.size() - kLengthBytes) {
    throw Error(ErrorCode::kTruncatedArchive,
                source + ": truncated safetensors file: the header length says " +
                    std::to_string(header_size) + " bytes, but only " +
                    std::to_string(bytes.size() - kLengthBytes) + " follow");
  }
  return {reinterpret_cast<const char*>(bytes.data()) + kLengthBytes, header_size};
}

}  // namespace

SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& source) {
  const std::string_view text = header_text(bytes, source);
  const json header = parse_header(text, source);
  const uint64_t data_start = kLengthBytes + text.size();
  const uint64_t data_size = bytes.size() - data_start;

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      file.metadata = parse_metadata(entry, source);
    } else {
      entries.push_back(parse_entry(name, entry, source, data_size));
    }
  }
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  check_ranges_tile(order, data_size, source);
  for (const Entry& e : entries) file.tensors[e.name] = copy_tensor(e, bytes.data() + data_start);
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const MappedFile file(path);
  return parse_safetensors(file.bytes(), path);
}

Metadata read_safetensors_metadata(const std::string& path) {
  const MappedFile file(path);  // mapped: only the header's pages are read
  const json header = parse_header(header_text(file.bytes(), path), path);
  const auto it = header.find("__metadata__");
  return it == header.end() ? Metadata{} : parse_metadata(*it, path);
}

std::string safetensors_bytes(const TensorMap& tensors, const Metadata& metadata) {
  // Widest elements first: with the 8-byte aligned header every tensor then starts at a
  // multiple of its element size, so a reader may use the bytes in place.
  std::vector<std::pair<std::string, Tensor>> order;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") {
      throw Error(ErrorCode::kBadArgument, "safetensors: a tensor cannot be named __metadata__");
    }
    order.emplace_back(name, t.contiguous());
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return dtype_size(a.second.dtype()) > dtype_size(b.second.dtype());
  });
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    json shape = json::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype())},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(kLengthBytes + text.size() + offset);
  for (size_t i = 0; i < kLengthBytes; ++i) {
    out += static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
  }
  out += text;
  for (const auto& [name, t] : order) {
    out.append(reinterpret_cast<const char*>(t.bytes()), t.nbytes());
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata) {
  const std::string bytes = safetensors_bytes(tensors, metadata);
  const std::string temp = path + ".tmp";
  std::ofstream out(temp, std::ios::binary | std::ios::trunc);
  if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    throw Error(ErrorCode::kIo, "cannot write '" + path + "': " + reason);
  }
}

}  // namespace starface::import
