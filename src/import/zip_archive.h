// Read access to a zip archive held in memory (libzip), with the checks a loader of
// untrusted files needs: exact record sizes, CRCs, record names that are plain relative
// paths and unique, and a bound on what the records may decompress to, checked before
// anything is allocated for them.
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
  // Everything extracted from one archive together may exceed the archive's own size by
  // this much (deflate savings); more would let overlapping or compressed records multiply
  // the file's size in memory.
  static constexpr uint64_t kExtractSlack = uint64_t{8} << 20;
  // Most records an archive may declare: libzip keeps about 100 bytes per record before any
  // check of ours runs. Checkpoints hold one record per storage, a few hundred for STAR.
  static constexpr uint64_t kMaxRecords = 32768;

  // Opens the archive in `bytes`, which must outlive this object. `path` names it in
  // errors. Throws kTruncatedArchive when the archive is cut short or inconsistent, or
  // when a record name is absolute, climbs out with "..", or appears twice.
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
  // size(index) for a record about to be extracted, charged against the archive's budget of
  // bytes.size() + kExtractSlack. Throws kTruncatedArchive when the budget would be passed.
  uint64_t claim(uint64_t index) const;
  // Reads a whole record into `out`, which must hold exactly size(index) bytes; checks
  // the length and the CRC. Throws kTruncatedArchive.
  void read(uint64_t index, std::span<std::byte> out) const;
  // Claims and reads a whole record.
  std::vector<std::byte> read(uint64_t index) const;

 private:
  std::string record_name(uint64_t index) const;
  [[noreturn]] void fail(uint64_t index, const std::string& what) const;
  void check_names() const;

  std::string path_;
  zip* archive_ = nullptr;
  uint64_t extract_limit_ = 0;
  mutable uint64_t extracted_ = 0;
};

}  // namespace starface::import
