#include "import/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

#include "core/error.h"
#include "import/little_endian.h"
#include "import/mapped_file.h"
#include "import/printable.h"

namespace starface::import {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kAlignment = 64;  // numpy pads the header so the data starts aligned

struct NpyType {
  const char* code;  // descr without the byte-order character
  DType dtype;
};

constexpr NpyType kTypes[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"f2", DType::kFloat16},
    {"i8", DType::kInt64},   {"i4", DType::kInt32},   {"u1", DType::kUInt8},
    {"b1", DType::kBool},    {"i1", DType::kInt8},
};

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Parses the Python dict literal of an .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 256, 256), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        header.descr = parse_string();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        seen_shape = true;
      } else {
        fail("unexpected key '" + printable(key) + "'");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    if (!seen_descr || !seen_order || !seen_shape) {
      fail("descr, fortran_order or shape is missing");
    }
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kBadInput, path_ + ": bad .npy header: " + what);
  }

  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }

  bool consume(char c) {
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "' at character " + std::to_string(pos_));
  }

  std::string parse_string() {
    skip_spaces();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail("expected a quoted string at character " + std::to_string(pos_));
    }
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_spaces();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("fortran_order is not True or False");
  }

  Shape parse_shape() {
    Shape shape;
    expect('(');
    while (!consume(')')) {
      shape.push_back(parse_dim());
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  int64_t parse_dim() {
    skip_spaces();
    int64_t value = 0;
    size_t digits = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("a dimension is too large");
      value = value * 10 + (text_[pos_++] - '0');
      ++digits;
    }
    if (digits == 0) fail("a dimension is not a non-negative integer");
    return value;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

DType dtype_from_descr(const std::string& descr, const std::string& path) {
  auto fail = [&](const std::string& what) -> DType {
    throw Error(ErrorCode::kBadInput, path + ": .npy dtype '" + descr + "' " + what);
  };
  if (descr.size() < 2) return fail("is not supported");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (code.starts_with("O")) return fail("holds Python objects, which cannot be read");
  for (const NpyType& type : kTypes) {
    if (code != type.code) continue;
    const bool single_byte = dtype_size(type.dtype) == 1;
    if (order == '>' && !single_byte) return fail("is big-endian; only little-endian is supported");
    if (order == '<' || order == '=' || (order == '|' && single_byte) ||
        (order == '>' && single_byte)) {
      return type.dtype;
    }
    return fail("has an unknown byte order");
  }
  return fail("is not supported (f4, f8, f2, i8, i4, u1, b1 are)");
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kFloat16:
      return "<f2";
    case DType::kInt64:
      return "<i8";
    case DType::kInt32:
      return "<i4";
    case DType::kUInt8:
      return "|u1";
    case DType::kBool:
      return "|b1";
    case DType::kInt8:
      return "|i1";
    case DType::kBFloat16:
      return nullptr;
  }
  return nullptr;
}

// Element count, or throws when the shape cannot fit in `available` bytes.
int64_t checked_numel(const Shape& shape, size_t element, size_t available,
                      const std::string& path) {
  uint64_t numel = 1;
  for (int64_t dim : shape) {
    if (dim != 0 && numel > available / static_cast<uint64_t>(dim)) {
      numel = std::numeric_limits<uint64_t>::max();
      break;
    }
    numel *= static_cast<uint64_t>(dim);
  }
  if (numel > available / element || numel * element != available) {
    throw Error(ErrorCode::kBadInput, path + ": .npy shape " + shape_str(shape) +
                                          " does not match the " + std::to_string(available) +
                                          " data bytes in the file (truncated?)");
  }
  // An empty array's other dimensions still multiply into its strides: bound them as well
  // (a fuzz-found (0, 2230, 98692, 23923692, 23923) overflowed them).
  constexpr uint64_t kMaxVolume = uint64_t{1} << 40;
  uint64_t volume = 1;
  for (int64_t dim : shape) {
    const uint64_t factor = std::max<uint64_t>(static_cast<uint64_t>(dim), 1);
    if (volume > kMaxVolume / factor) {
      throw Error(ErrorCode::kBadInput,
                  path + ": .npy shape " + shape_str(shape) + " is too large");
    }
    volume *= factor;
  }
  return static_cast<int64_t>(numel);
}

std::string shape_repr(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

Tensor read_npy(const std::string& path) {
  const MappedFile file(path);
  return read_npy_bytes(file.bytes(), path);
}

Tensor read_npy_bytes(std::span<const std::byte> bytes, const std::string& path) {
  const auto fail = [&path](const std::string& what) {
    throw Error(ErrorCode::kBadInput, path + ": " + what);
  };
  if (bytes.size() < kMagic.size() + 2 ||
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    fail("not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  if (major < 1 || major > 3) fail(".npy format version " + std::to_string(major) + " is unknown");
  const size_t width = major == 1 ? 2 : 4;
  const size_t preamble = kMagic.size() + 2 + width;
  if (bytes.size() < preamble) fail("the .npy header is cut short");
  const size_t header_size = read_le(bytes, kMagic.size() + 2, width);
  if (bytes.size() - preamble < header_size) fail("the .npy header is cut short");

  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + preamble, header_size);
  const NpyHeader header = HeaderParser(text, path).parse();
  if (header.fortran_order) fail(".npy data in Fortran order is not supported");
  const DType dtype = dtype_from_descr(header.descr, path);

  const size_t data_start = preamble + header_size;
  checked_numel(header.shape, dtype_size(dtype), bytes.size() - data_start, path);
  Tensor tensor(dtype, header.shape);
  if (tensor.nbytes() > 0) std::memcpy(tensor.bytes(), bytes.data() + data_start, tensor.nbytes());
  return tensor;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  check_internal(tensor.defined(), "write_npy of an undefined tensor");
  const char* descr = descr_of(tensor.dtype());
  if (!descr) {
    throw Error(ErrorCode::kBadDtype, path + ": NumPy has no " +
                                          std::string(dtype_name(tensor.dtype())) +
                                          " dtype; convert the tensor with to_float32() first");
  }
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape_repr(tensor.shape()) + ", }";
  // Version 1.0 stores the header length in 2 bytes; longer headers need 2.0.
  const bool v2 = header.size() + 1 + kMagic.size() + 4 > 0xffff;
  const size_t preamble = kMagic.size() + 2 + (v2 ? 4 : 2);
  header.append(kAlignment - (preamble + header.size() + 1) % kAlignment, ' ');
  header += '\n';

  std::string prefix(kMagic);
  prefix += static_cast<char>(v2 ? 2 : 1);
  prefix += '\0';
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) {
    prefix += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  const Tensor data = tensor.contiguous();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if (data.nbytes() > 0) {
    out.write(reinterpret_cast<const char*>(data.bytes()),
              static_cast<std::streamsize>(data.nbytes()));
  }
  out.close();
  if (!out) throw Error(ErrorCode::kIo, "cannot write '" + path + "'");
}

}  // namespace starface::import
