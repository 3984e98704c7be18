#include "import/zip_archive.h"

#include <zip.h>

#include <algorithm>
#include <memory>

#include "core/error.h"

namespace starface::import {

namespace {

// Deflate cannot expand data by more than about 1032:1; anything claiming more is lying
// about its size, and must not make us allocate it.
constexpr uint64_t kMaxDeflateRatio = 1032;

struct ZipErrorGuard {
  zip_error_t error;
  ZipErrorGuard() { zip_error_init(&error); }
  ~ZipErrorGuard() { zip_error_fini(&error); }
};

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

}  // namespace

ZipArchive::ZipArchive(std::span<const std::byte> bytes, std::string path)
    : path_(std::move(path)) {
  ZipErrorGuard guard;
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &guard.error);
  if (!source) {
    throw Error(ErrorCode::kInternal,
                path_ + ": cannot wrap the file for libzip: " + zip_error_strerror(&guard.error));
  }
  // ZIP_CHECKCONS compares each local header with the central directory, which catches
  // archives whose records were cut or spliced.
  archive_ = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &guard.error);
  if (!archive_) {
    zip_source_free(source);
    throw Error(ErrorCode::kTruncatedArchive, path_ +
                                                  ": the zip container is cut short or damaged (" +
                                                  zip_error_strerror(&guard.error) + ")");
  }
}

ZipArchive::~ZipArchive() { zip_discard(archive_); }

std::vector<std::string> ZipArchive::names() const {
  const zip_int64_t count = zip_get_num_entries(archive_, 0);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(std::max<zip_int64_t>(count, 0)));
  for (zip_int64_t i = 0; i < count; ++i) names.push_back(record_name(i));
  return names;
}

std::string ZipArchive::record_name(uint64_t index) const {
  const char* name = zip_get_name(archive_, index, ZIP_FL_ENC_RAW);
  return name ? name : "";
}

std::optional<uint64_t> ZipArchive::find(const std::string& name) const {
  const zip_int64_t index = zip_name_locate(archive_, name.c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) return std::nullopt;
  return static_cast<uint64_t>(index);
}

void ZipArchive::fail(uint64_t index, const std::string& what) const {
  throw Error(ErrorCode::kTruncatedArchive,
              path_ + ": zip record '" + record_name(index) + "' " + what);
}

uint64_t ZipArchive::size(uint64_t index) const {
  zip_stat_t stat;
  if (zip_stat_index(archive_, index, ZIP_FL_ENC_RAW, &stat) != 0) {
    fail(index, std::string("cannot be read: ") + zip_strerror(archive_));
  }
  const uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if ((stat.valid & need) != need) fail(index, "has no size in the directory");
  if (stat.comp_method == ZIP_CM_STORE && stat.size != stat.comp_size) {
    fail(index, "is stored with " + std::to_string(stat.comp_size) + " bytes but claims " +
                    std::to_string(stat.size));
  }
  if (stat.comp_method != ZIP_CM_STORE && stat.size / kMaxDeflateRatio > stat.comp_size) {
    fail(index, "claims " + std::to_string(stat.size) + " bytes from only " +
                    std::to_string(stat.comp_size) + " compressed bytes");
  }
  return stat.size;
}

void ZipArchive::read(uint64_t index, std::span<std::byte> out) const {
  std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive_, index, 0));
  if (!file) fail(index, std::string("cannot be opened: ") + zip_strerror(archive_));
  const zip_int64_t got = zip_fread(file.get(), out.data(), out.size());
  if (got < 0 || static_cast<uint64_t>(got) != out.size()) {
    fail(index, "ends after " + std::to_string(std::max<zip_int64_t>(got, 0)) + " of " +
                    std::to_string(out.size()) + " bytes (" + zip_file_strerror(file.get()) + ")");
  }
  // Reading past the end is what makes libzip check the CRC, and proves the exact length.
  std::byte extra;
  const zip_int64_t tail = zip_fread(file.get(), &extra, 1);
  if (tail != 0) {
    fail(index, tail < 0 ? std::string("is damaged (") + zip_file_strerror(file.get()) + ")"
                         : "is longer than its directory entry says");
  }
}

std::vector<std::byte> ZipArchive::read(uint64_t index) const {
  std::vector<std::byte> bytes(static_cast<size_t>(size(index)));
  read(index, bytes);
  return bytes;
}

}  // namespace starface::import
