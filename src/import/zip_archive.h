// Read access to a zip archive held in memory (libzip), with the checks a loader of
// untrusted files needs: exact record sizes, CRCs, and a bound on what a record may
// decompress to before anything is allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct zip;

namespace starface::import {

class ZipArchive {
 public:
  // Opens the archive in `bytes`, which must outlive this object. `path` names it in
  // errors. Throws kTruncatedArchive when the archive is cut short or inconsistent.
  ZipArchive(std::span<const std::byte> bytes, std::string path);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const;
  // The index of the record called `name`, if there is one.
  std::optional<uint64_t> find(const std::string& name) const;
  // The uncompressed size of a record. Throws kTruncatedArchive when the size is
  // implausible for the record's stored bytes.
  uint64_t size(uint64_t index) const;
  // Reads a whole record into `out`, which must hold exactly size(index) bytes; checks
  // the length and the CRC. Throws kTruncatedArchive.
  void read(uint64_t index, std::span<std::byte> out) const;
  std::vector<std::byte> read(uint64_t index) const;

 private:
  std::string record_name(uint64_t index) const;
  [[noreturn]] void fail(uint64_t index, const std::string& what) const;

  std::string path_;
  zip* archive_ = nullptr;
};

}  // namespace starface::import
