// Writes zip archives byte by byte (stored records only), so tests can make the archives
// no zip library would: duplicated or escaping names, sizes that lie, records nested in
// each other's data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace starface::testing {

struct RawZipEntry {
  RawZipEntry() = default;
  RawZipEntry(std::string name, std::string data, std::optional<uint32_t> declared_size = {},
              uint16_t method = 0)
      : name(std::move(name)),
        data(std::move(data)),
        declared_size(declared_size),
        method(method) {}

  std::string name;
  std::string data;
  // A size for both headers other than data.size() (a lie), and a method other than
  // stored (8: deflate) with data taken as already compressed.
  std::optional<uint32_t> declared_size;
  uint16_t method = 0;
  // The compressed size both headers give, when data is not written with the entry.
  std::optional<uint32_t> compressed_size;
};

// Local headers and data one after the other, then the central directory.
std::string raw_zip(const std::vector<RawZipEntry>& entries);

// Records 0..count-1 where record i's data is the local header and data of record i+1, the
// innermost holding `core`: a stored archive of about core.size() bytes from which
// count x core.size() bytes can be extracted. Records are named prefix + "0", "1", ...
// and listed after `first` (a normal record).
std::string nested_zip(const RawZipEntry& first, const std::string& prefix, int count,
                       const std::string& core);

uint32_t crc32(const std::string& data);

}  // namespace starface::testing
