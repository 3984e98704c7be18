// torch.save files: the zip container (torch >= 1.6) and the legacy stream of pickles.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "import/py_object.h"

namespace starface::import {

enum class TorchFormat { kZip, kLegacy, kUnknown };

// Tells the containers apart by their first bytes: a zip local-file header, or a pickle
// of the legacy magic number 0x1950a86a20f9469cfc6c.
TorchFormat detect_torch_format(std::span<const std::byte> head);

// Reads a whole torch.save file into an object tree. Tensors keep their saved dtype, shape,
// strides and storage offset, and views of one storage share one Storage.
// Throws starface::Error naming the file: kIo (cannot read), kNotACheckpoint (neither
// container), kTruncatedArchive, kTruncatedLegacy, kUnsafePickle, kMalformedPickle,
// kBadDtype (a storage type starface has no dtype for), kBadInput (big-endian data).
PyObject load_torch_file(const std::string& path);

// The same for a file already in memory (`name` stands for its path in errors). Allocates
// at most 2x bytes.size() + 64 MiB on the heap, whatever the bytes say (docs/SECURITY.md).
PyObject load_torch_bytes(std::span<const std::byte> bytes, const std::string& name);

}  // namespace starface::import
