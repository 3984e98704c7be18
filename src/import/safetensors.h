// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
// "__metadata__": {str: str}}, then the data area the offsets index. The reader trusts
// nothing in the header: every count, offset and size is checked against the file before
// a byte is copied, so a hostile file gives an Error, never a crash or a huge allocation.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "core/tensor.h"

namespace starface::import {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // contiguous, each with storage of its own
  Metadata metadata;  // the "__metadata__" entry, empty when absent
};

// The largest header accepted (the limit the reference implementation uses): a header is
// parsed in memory, so its size must be bounded before anything is allocated for it.
constexpr uint64_t kMaxSafetensorsHeader = 100u << 20;

// Reads a safetensors file. Errors name the file and the tensor or field at fault:
// kIo when it cannot be read; kNotACheckpoint for a header that is not safetensors (too
// short, longer than kMaxSafetensorsHeader, not JSON, wrong field types, duplicate names,
// non-string metadata, a shape that overflows); kBadDtype for an unknown dtype;
// kTruncatedArchive when the file ends before the header or the data it announces, or the
// data ranges are inconsistent (begin > end, byte size != shape x dtype size, overlaps,
// bytes no tensor covers).
SafetensorsFile read_safetensors(const std::string& path);
// The same for bytes in memory; `source` names them in errors.
SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& source);
// The "__metadata__" of a file alone (empty when it has none), without reading its tensors;
// the header's errors as read_safetensors.
Metadata read_safetensors_metadata(const std::string& path);

// Whether bytes starting a file look like safetensors: a header length no larger than
// kMaxSafetensorsHeader followed by '{'. Torch zips ("PK..") and pickles (0x80 ..) never do.
bool looks_like_safetensors(std::span<const std::byte> head);
// The same for a file: by content, or by a ".safetensors" name (so a truncated or empty
// one gets a safetensors error rather than "not a checkpoint"). False when unreadable.
bool is_safetensors_file(const std::string& path);

// The file's bytes: header padded with spaces to a multiple of 8, then the data, largest
// element size first so every tensor is aligned to its element size. Throws kBadArgument
// for a tensor named "__metadata__".
std::string safetensors_bytes(const TensorMap& tensors, const Metadata& metadata = {});
// Writes them through a temporary file and a rename: a failed write leaves no file behind.
// Throws kIo naming `path` when it cannot be written.
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const Metadata& metadata = {});

// The safetensors dtype name ("F32", "BF16", "BOOL", ...) of a dtype.
const char* safetensors_dtype_name(DType dtype);

}  // namespace starface::import
