// A restricted unpickler: a small pickle VM that executes only the opcodes and globals a
// torch checkpoint needs, and builds every object itself. It never imports or calls
// anything named by the input, never recurses as deep as the input asks, and never
// allocates more than the input could describe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "import/py_object.h"

namespace starface::import {

// What a torch persistent id ('storage', <type>, key, location, numel[, view]) asks for.
struct StorageRequest {
  std::string key;
  DType dtype;
  int64_t numel;
  std::string location;  // "cpu", "cuda:0", ...: a tag only, storages always load to CPU
};

// Returns the storage for a request: numel elements of dtype. Must return the same Storage
// for the same key, so views share it.
using StorageResolver = std::function<std::shared_ptr<Storage>(const StorageRequest&)>;

// Heap the objects of one pickle may take beyond the pickle's own size. Real checkpoint
// pickles need a few MiB at most (a few hundred bytes per tensor).
inline constexpr uint64_t kPickleMemorySlack = uint64_t{48} << 20;

// Bytes of heap that unpickling may still take; several pickles of one file can share one.
struct PickleBudget {
  uint64_t left;
};

struct UnpickleOptions {
  // Names the file (and record) in every error message.
  std::string source;
  // Byte position of the pickle within `source`, so messages give file offsets.
  size_t base_offset = 0;
  // Resolves persistent ids; without one, BINPERSID is refused.
  StorageResolver resolve_storage;
  // The error code when the input ends before STOP (kTruncatedLegacy inside a legacy file).
  ErrorCode truncated_code = ErrorCode::kMalformedPickle;
  // Most objects the pickle may push. Bounds memory on inputs made of millions of tiny
  // objects; the largest real checkpoints push a few hundred thousand.
  size_t max_objects = size_t{1} << 24;
  // Where the memory of the objects is charged, conservatively and with nothing refunded,
  // as each is built: every stack slot, string, container, item and memo entry. Null: a
  // budget of this pickle's size plus kPickleMemorySlack. Past it, kMalformedPickle.
  PickleBudget* budget = nullptr;
};

// Runs the pickle that starts at data[0] up to its STOP and returns its object. `end`, when
// given, receives the position just after STOP. Throws kUnsafePickle for an opcode or global
// outside the allow-list, kMalformedPickle for a pickle that breaks its own rules, and
// options.truncated_code when the data ends first; every message names the source, the
// opcode and its byte offset.
PyObject unpickle(std::span<const std::byte> data, const UnpickleOptions& options,
                  size_t* end = nullptr);

}  // namespace starface::import
