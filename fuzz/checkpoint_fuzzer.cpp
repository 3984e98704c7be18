// The whole checkpoint import, bytes -> TensorMap, exactly as `starface` loads a model file:
// format detection, zip or legacy container, pickle VM, storages, state dict lookup.
#include "fuzz_target.h"
#include "import/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return starface::fuzz::run_one([&] {
    const starface::TensorMap tensors =
        starface::import::load_state_dict_bytes(starface::fuzz::as_bytes(data, size), "fuzz.pth");
    // Densify what came out, as the network builder will: every view must lie in its
    // storage, and none may cost more than its storage.
    for (const auto& [name, tensor] : tensors) {
      const starface::Tensor dense = tensor.contiguous();
      starface::check_internal(dense.nbytes() <= tensor.storage()->nbytes(),
                               "a loaded tensor is larger than its storage");
    }
  });
}
