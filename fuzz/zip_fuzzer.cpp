// The zip container reader: opens any bytes as an archive, then sizes and extracts every
// record, as the torch loader would.
#include "fuzz_target.h"
#include "import/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using starface::import::ZipArchive;
  return starface::fuzz::run_one([&] {
    const ZipArchive zip(starface::fuzz::as_bytes(data, size), "fuzz.zip");
    for (const std::string& name : zip.names()) {
      const auto index = zip.find(name);
      // Names are unique once the archive opened, so each finds itself.
      starface::check_internal(index.has_value(), "a listed zip record cannot be found");
      zip.read(*index);
    }
  });
}
