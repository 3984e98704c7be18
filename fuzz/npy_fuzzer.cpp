// The .npy reader (header dict literal, dtype, shape against the data size).
#include "fuzz_target.h"
#include "import/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return starface::fuzz::run_one([&] {
    const starface::Tensor tensor =
        starface::import::read_npy_bytes(starface::fuzz::as_bytes(data, size), "fuzz.npy");
    starface::check_internal(tensor.nbytes() <= size, ".npy tensor larger than its file");
  });
}
