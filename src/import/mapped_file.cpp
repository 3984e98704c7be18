#include "import/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace starface::import {

namespace {

[[noreturn]] void throw_io(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kIo, "cannot read '" + path + "': " + what);
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
  FileDescriptor file{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw_io(path_, std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) throw_io(path_, std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw_io(path_, "not a regular file");
  size_ = static_cast<size_t>(info.st_size);
  if (size_ == 0) return;  // mmap refuses empty files; an empty span is the right answer
  // MAP_POPULATE faults every page in one pass instead of one fault per page later.
  void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file.fd, 0);
  if (mapped == MAP_FAILED) throw_io(path_, std::strerror(errno));
  data_ = static_cast<const std::byte*>(mapped);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace starface::import
