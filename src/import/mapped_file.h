// A whole file mapped read-only: checkpoints are parsed in place and each storage record is
// copied once, straight from the page cache into its tensor storage.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace starface::import {

class MappedFile {
 public:
  // Throws kIo naming `path` when it is missing, not a regular file or cannot be mapped.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace starface::import
