// Unsigned little-endian integers inside a byte buffer (zip records, .npy and safetensors
// headers). Callers check that [pos, pos + width) lies inside `bytes`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace starface::import {

inline uint64_t read_le(std::span<const std::byte> bytes, size_t pos, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[pos + i])) << (8 * i);
  }
  return value;
}

}  // namespace starface::import
