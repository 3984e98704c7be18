#include "import/raw_zip.h"

#include <zlib.h>

namespace starface::testing {

namespace {

void le(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

struct Placed {
  RawZipEntry entry;
  uint32_t crc;
  uint32_t offset;
};

std::string local_header(const RawZipEntry& e, uint32_t crc) {
  const uint32_t size = e.declared_size.value_or(static_cast<uint32_t>(e.data.size()));
  std::string h = "PK\x03\x04";
  le(h, 20, 2);  // version needed
  le(h, 0, 2);   // flags
  le(h, e.method, 2);
  le(h, 0, 4);  // time, date
  le(h, crc, 4);
  le(h, e.compressed_size.value_or(e.data.size()), 4);  // what is there
  le(h, size, 4);                                       // uncompressed size: what it claims
  le(h, e.name.size(), 2);
  le(h, 0, 2);
  return h + e.name;
}

std::string central_directory(const std::vector<Placed>& placed, uint32_t start) {
  std::string cd;
  for (const Placed& p : placed) {
    const RawZipEntry& e = p.entry;
    const uint32_t size = e.declared_size.value_or(static_cast<uint32_t>(e.data.size()));
    cd += "PK\x01\x02";
    le(cd, 20, 2);
    le(cd, 20, 2);
    le(cd, 0, 2);
    le(cd, e.method, 2);
    le(cd, 0, 4);
    le(cd, p.crc, 4);
    le(cd, e.compressed_size.value_or(e.data.size()), 4);
    le(cd, size, 4);
    le(cd, e.name.size(), 2);
    le(cd, 0, 2);  // extra
    le(cd, 0, 2);  // comment
    le(cd, 0, 2);  // disk
    le(cd, 0, 2);  // internal attributes
    le(cd, 0, 4);  // external attributes
    le(cd, p.offset, 4);
    cd += e.name;
  }
  std::string end = "PK\x05\x06";
  le(end, 0, 4);
  le(end, placed.size(), 2);
  le(end, placed.size(), 2);
  le(end, cd.size(), 4);
  le(end, start, 4);
  le(end, 0, 2);
  return cd + end;
}

}  // namespace

uint32_t crc32(const std::string& data) {
  return static_cast<uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

std::string raw_zip(const std::vector<RawZipEntry>& entries) {
  std::string out;
  std::vector<Placed> placed;
  for (const RawZipEntry& e : entries) {
    const uint32_t crc = crc32(e.data);
    placed.push_back({e, crc, static_cast<uint32_t>(out.size())});
    out += local_header(e, crc) + e.data;
  }
  return out + central_directory(placed, static_cast<uint32_t>(out.size()));
}

std::string nested_zip(const RawZipEntry& first, const std::string& prefix, int count,
                       const std::string& core) {
  // From the innermost record out: data(i) = header(i+1) + data(i+1). Only sizes and CRCs
  // are kept (zlib combines CRCs), so building a bomb does not take its extracted size.
  std::vector<RawZipEntry> nested(count);
  std::vector<std::string> headers(count);
  std::vector<uint32_t> crcs(count);
  uint64_t size = core.size();
  uint32_t crc = crc32(core);
  for (int i = count - 1; i >= 0; --i) {
    nested[i] = RawZipEntry{prefix + std::to_string(i), "", static_cast<uint32_t>(size)};
    nested[i].compressed_size = static_cast<uint32_t>(size);
    crcs[i] = crc;
    headers[i] = local_header(nested[i], crc);
    const uint32_t header_crc = crc32(headers[i]);
    crc = static_cast<uint32_t>(crc32_combine(header_crc, crc, static_cast<z_off_t>(size)));
    size += headers[i].size();
  }
  std::string out;
  std::vector<Placed> placed;
  const uint32_t first_crc = crc32(first.data);
  placed.push_back({first, first_crc, 0});
  out += local_header(first, first_crc) + first.data;
  for (int i = 0; i < count; ++i) {
    placed.push_back({nested[i], crcs[i], static_cast<uint32_t>(out.size())});
    out += headers[i];
  }
  out += core;
  return out + central_directory(placed, static_cast<uint32_t>(out.size()));
}

}  // namespace starface::testing
