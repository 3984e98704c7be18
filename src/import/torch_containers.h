// The two torch.save containers, each read from a mapped file. Internal to torch_file.cpp.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "import/py_object.h"

namespace starface::import {

// Both read a whole file already in memory; `path` names it in errors.

// A zip archive with one top folder: <name>/data.pkl, <name>/data/<key> per storage.
PyObject load_torch_zip(std::span<const std::byte> bytes, const std::string& path);

// Five pickles (magic, protocol version, sys_info, the object, the storage keys), then each
// storage in key order as an int64 element count and its raw little-endian bytes.
PyObject load_torch_legacy(std::span<const std::byte> bytes, const std::string& path);

// The position just after the legacy magic-number pickle, or 0 when `bytes` has none.
size_t legacy_magic_end(std::span<const std::byte> bytes);

}  // namespace starface::import
