// The safetensors reader (header length, JSON header, dtypes, shapes, data offsets).
#include "fuzz_target.h"
#include "import/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return starface::fuzz::run_one([&] {
    const starface::import::SafetensorsFile file = starface::import::parse_safetensors(
        starface::fuzz::as_bytes(data, size), "fuzz.safetensors");
    size_t total = 0;
    for (const auto& [name, tensor] : file.tensors) total += tensor.nbytes();
    starface::check_internal(total <= size, "safetensors tensors larger than their file");
  });
}
