#include "import/zip_archive.h"

#include <zip.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "core/error.h"
#include "import/little_endian.h"
#include "import/printable.h"

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

// Why a record name is not a plain relative path, or nullptr. starface never writes records
// to disk, but a name that would escape an extraction folder marks a hostile archive, and
// torch.save writes none.
const char* unsafe_name_reason(std::string_view name) {
  if (name.empty()) return "has an empty name";
  if (name.front() == '/') return "has an absolute path";
  if (name.find('\\') != std::string_view::npos) return "has a backslash in its path";
  if (name.size() >= 2 && name[1] == ':') return "has a drive letter";
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    if (name.substr(start, slash - start) == "..") return "climbs out of the archive with '..'";
    start = slash + 1;
  }
  return nullptr;
}

bool signature_at(std::span<const std::byte> bytes, size_t pos, uint8_t a, uint8_t b) {
  return pos + 4 <= bytes.size() && static_cast<uint8_t>(bytes[pos]) == 'P' &&
         static_cast<uint8_t>(bytes[pos + 1]) == 'K' && static_cast<uint8_t>(bytes[pos + 2]) == a &&
         static_cast<uint8_t>(bytes[pos + 3]) == b;
}

// The record count the end-of-directory record declares (its zip64 twin's when there is
// one, as torch.save writes), or nullopt when there is none (libzip then reports the
// damage). libzip allocates its directory from this count before reading any record.
std::optional<uint64_t> declared_record_count(std::span<const std::byte> bytes) {
  constexpr size_t kEndSize = 22, kLocatorSize = 20, kMaxComment = 0xffff;
  if (bytes.size() < kEndSize) return std::nullopt;
  const size_t lowest = bytes.size() - kEndSize - std::min(bytes.size() - kEndSize, kMaxComment);
  for (size_t pos = bytes.size() - kEndSize + 1; pos-- > lowest;) {
    if (!signature_at(bytes, pos, 5, 6)) continue;
    if (pos >= kLocatorSize && signature_at(bytes, pos - kLocatorSize, 6, 7)) {
      const uint64_t end64 = read_le(bytes, pos - kLocatorSize + 8, 8);
      constexpr size_t kEnd64Size = 56;
      if (bytes.size() >= kEnd64Size && end64 <= bytes.size() - kEnd64Size &&
          signature_at(bytes, end64, 6, 6)) {
        return read_le(bytes, end64 + 32, 8);
      }
    }
    return read_le(bytes, pos + 10, 2);
  }
  return std::nullopt;
}

}  // namespace

ZipArchive::ZipArchive(std::span<const std::byte> bytes, std::string path)
    : path_(std::move(path)) {
  const std::optional<uint64_t> records = declared_record_count(bytes);
  if (records && *records > kMaxRecords) {
    throw Error(ErrorCode::kTruncatedArchive,
                path_ + ": the zip directory declares " + std::to_string(*records) +
                    " records; a checkpoint has one per storage, at most " +
                    std::to_string(kMaxRecords) + " are read");
  }
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
    if (zip_error_code_zip(&guard.error) == ZIP_ER_EXISTS) {
      // libzip finds duplicated names while reading the directory, before we see any name.
      throw Error(ErrorCode::kTruncatedArchive,
                  path_ +
                      ": two zip records have the same name, so which one is read would be "
                      "ambiguous (refused)");
    }
    throw Error(ErrorCode::kTruncatedArchive, path_ +
                                                  ": the zip container is cut short or damaged (" +
                                                  zip_error_strerror(&guard.error) + ")");
  }
  extract_limit_ = bytes.size() + kExtractSlack;
  try {
    check_names();
  } catch (...) {
    zip_discard(archive_);
    throw;
  }
}

void ZipArchive::check_names() const {
  const zip_int64_t count = zip_get_num_entries(archive_, 0);
  std::unordered_set<std::string> seen;
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* raw = zip_get_name(archive_, i, ZIP_FL_ENC_RAW);
    if (!raw) fail(i, "has no readable name");
    const std::string name(raw);
    if (const char* reason = unsafe_name_reason(name)) fail(i, reason);
    if (!seen.insert(name).second) fail(i, "appears twice in the archive");
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
              path_ + ": zip record '" + printable(record_name(index)) + "' " + what);
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

uint64_t ZipArchive::claim(uint64_t index) const {
  const uint64_t bytes = size(index);
  if (bytes > extract_limit_ - extracted_) {
    fail(index, "would take the bytes extracted from the archive to " +
                    std::to_string(extracted_ + bytes) + ", more than its " +
                    std::to_string(extract_limit_ - kExtractSlack) + " bytes plus " +
                    std::to_string(kExtractSlack >> 20) +
                    " MiB (overlapping or over-compressed records: a zip bomb)");
  }
  extracted_ += bytes;
  return bytes;
}

std::vector<std::byte> ZipArchive::read(uint64_t index) const {
  std::vector<std::byte> bytes(static_cast<size_t>(claim(index)));
  read(index, bytes);
  return bytes;
}

}  // namespace starface::import
