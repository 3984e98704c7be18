// The annotation and face-list files `starface eval` and `starface landmarks --faces` read:
// WFLW lists, STAR .tsv metadata, "IMAGE x1,y1,x2,y2" lists. The readers take a path, so
// each input goes through one scratch file per process.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "eval/dataset.h"
#include "fuzz_target.h"

namespace {

std::string scratch;  // the scratch file, removed at exit

void remove_scratch() { unlink(scratch.c_str()); }

const std::string& scratch_path() {
  if (scratch.empty()) {
    std::string pattern = "/tmp/starface_fuzz_annotations_XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd >= 0) close(fd);
    scratch = pattern;
    std::atexit(remove_scratch);
  }
  return scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starface::eval;
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  starface::fuzz::run_one([] { read_wflw(scratch_path()); });
  starface::fuzz::run_one([] { read_tsv(scratch_path()); });
  return starface::fuzz::run_one([] { read_face_list(scratch_path()); });
}
