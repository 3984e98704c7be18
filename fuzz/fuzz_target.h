// What every fuzz target shares. A target is one file defining LLVMFuzzerTestOneInput; the
// same file links either with libFuzzer (clang, STARFACE_FUZZ=ON) or with replay_main.cpp
// (any compiler, the `fuzz-replay` tests), so CI replays the corpus without clang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace starface::fuzz {

inline std::span<const std::byte> as_bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

// Runs `body` on one input. A starface::Error is the loader refusing the input, which is
// the expected outcome for almost every input; anything else escapes and is a finding
// (libFuzzer reports an uncaught exception as a crash, replay_main exits non-zero). An
// error with an empty message or an internal-error code is a finding too: every refusal
// must say what it refused.
template <typename Body>
int run_one(Body&& body) {
  try {
    body();
  } catch (const starface::Error& e) {
    if (e.code() == ErrorCode::kInternal || std::string(e.what()).empty()) throw;
  }
  return 0;
}

}  // namespace starface::fuzz
