// The legacy torch.save reader (magic, protocol, sys_info, object, key list, raw storages),
// fed any bytes, with or without the magic number.
#include "fuzz_target.h"
#include "import/torch_containers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return starface::fuzz::run_one([&] {
    starface::import::load_torch_legacy(starface::fuzz::as_bytes(data, size), "fuzz.pth");
  });
}
