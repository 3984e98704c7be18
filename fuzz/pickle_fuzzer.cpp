// The restricted pickle VM on any bytes, with persistent ids resolved to zeroed storages
// (at most 1 MiB each), and its result read as a checkpoint's state dict.
#include <memory>

#include "fuzz_target.h"
#include "import/checkpoint.h"
#include "import/pickle.h"
#include "import/storage_table.h"

namespace {

constexpr uint64_t kMaxStorageBytes = uint64_t{1} << 20;

std::shared_ptr<starface::Storage> zeroed_storage(const starface::import::StorageRequest& request,
                                                  uint64_t nbytes) {
  if (nbytes > kMaxStorageBytes) {
    throw starface::Error(starface::ErrorCode::kTruncatedArchive,
                          "storage '" + request.key + "' is larger than the fuzzer's 1 MiB");
  }
  return std::make_shared<starface::Storage>(static_cast<size_t>(nbytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starface::import;
  return starface::fuzz::run_one([&] {
    StorageTable storages("fuzz.pkl", zeroed_storage);
    UnpickleOptions options;
    options.source = "fuzz.pkl";
    options.resolve_storage = storages.resolver();
    const PyObject root = unpickle(starface::fuzz::as_bytes(data, size), options);
    state_dict_from(root, "fuzz.pkl");
  });
}
