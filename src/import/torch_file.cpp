#include "import/torch_file.h"

#include <cstdio>

#include "core/error.h"
#include "import/mapped_file.h"
#include "import/torch_containers.h"

namespace starface::import {

namespace {

bool starts_with_zip_header(std::span<const std::byte> head) {
  static constexpr unsigned char kLocalHeader[] = {'P', 'K', 3, 4};
  if (head.size() < sizeof(kLocalHeader)) return false;
  for (size_t i = 0; i < sizeof(kLocalHeader); ++i) {
    if (static_cast<unsigned char>(head[i]) != kLocalHeader[i]) return false;
  }
  return true;
}

std::string first_bytes(std::span<const std::byte> head) {
  std::string out;
  char hex[4];
  for (size_t i = 0; i < std::min<size_t>(head.size(), 8); ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned>(head[i]));
    if (i) out += ' ';
    out += hex;
  }
  return out;
}

}  // namespace

TorchFormat detect_torch_format(std::span<const std::byte> head) {
  if (starts_with_zip_header(head)) return TorchFormat::kZip;
  if (legacy_magic_end(head) != 0) return TorchFormat::kLegacy;
  return TorchFormat::kUnknown;
}

PyObject load_torch_file(const std::string& path) {
  const MappedFile file(path);
  return load_torch_bytes(file.bytes(), path);
}

PyObject load_torch_bytes(std::span<const std::byte> bytes, const std::string& path) {
  switch (detect_torch_format(bytes)) {
    case TorchFormat::kZip:
      return load_torch_zip(bytes, path);
    case TorchFormat::kLegacy:
      return load_torch_legacy(bytes, path);
    case TorchFormat::kUnknown:
      break;
  }
  if (bytes.empty()) {
    throw Error(ErrorCode::kNotACheckpoint, path + ": not a PyTorch checkpoint: the file is empty");
  }
  throw Error(ErrorCode::kNotACheckpoint,
              path + ": not a PyTorch checkpoint: it starts with bytes " + first_bytes(bytes) +
                  ", neither a zip archive (PK 03 04) nor a legacy torch.save pickle");
}

}  // namespace starface::import
