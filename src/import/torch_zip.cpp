#include <string>

#include "core/error.h"
#include "import/pickle.h"
#include "import/printable.h"
#include "import/storage_table.h"
#include "import/torch_containers.h"
#include "import/zip_archive.h"

namespace starface::import {

namespace {

// torch.save writes every record under one folder named after the file it first saved to;
// the pickle is <folder>/data.pkl. Returns "<folder>/".
std::string find_record_folder(const ZipArchive& zip, const std::string& path) {
  std::string folder;
  int found = 0;
  for (const std::string& name : zip.names()) {
    const size_t slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      folder = name.substr(0, slash + 1);
      ++found;
    }
  }
  if (found != 1) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": a zip archive, but not a torch.save file: it has " +
                    std::to_string(found) + " <folder>/data.pkl records instead of one");
  }
  return folder;
}

// Newer torch versions record the byte order of the storages; older ones were little-endian.
void require_little_endian(const ZipArchive& zip, const std::string& folder,
                           const std::string& path) {
  const auto index = zip.find(folder + "byteorder");
  if (!index) return;
  if (zip.size(*index) > 16) {
    throw Error(ErrorCode::kBadInput, path + ": the byteorder record is not 'little' or 'big'");
  }
  const std::vector<std::byte> bytes = zip.read(*index);
  const std::string order(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (order != "little") {
    throw Error(ErrorCode::kBadInput, path + ": storages are stored in '" + order +
                                          "' byte order; only little-endian is supported");
  }
}

// Reads storage <folder>/data/<key>, whose size must be exactly what the pickle says.
std::shared_ptr<Storage> read_storage(const ZipArchive& zip, const std::string& folder,
                                      const std::string& path, const StorageRequest& request,
                                      uint64_t nbytes) {
  const std::string record = folder + "data/" + request.key;
  const auto index = zip.find(record);
  if (!index) {
    throw Error(ErrorCode::kTruncatedArchive,
                path + ": storage record '" + printable(record) + "' is missing from the archive");
  }
  const uint64_t size = zip.claim(*index);
  if (size != nbytes) {
    throw Error(ErrorCode::kTruncatedArchive,
                path + ": storage record '" + printable(record) + "' holds " +
                    std::to_string(size) + " bytes, but the pickle describes " +
                    std::to_string(request.numel) + " " + dtype_name(request.dtype) +
                    " elements (" + std::to_string(nbytes) + " bytes)");
  }
  auto storage = std::make_shared<Storage>(static_cast<size_t>(nbytes));
  zip.read(*index, {storage->data(), storage->nbytes()});
  return storage;
}

}  // namespace

PyObject load_torch_zip(std::span<const std::byte> bytes, const std::string& path) {
  const ZipArchive zip(bytes, path);
  const std::string folder = find_record_folder(zip, path);
  require_little_endian(zip, folder, path);

  const auto pickle_index = zip.find(folder + "data.pkl");
  check_internal(pickle_index.has_value(), "a listed data.pkl record cannot be found");
  const std::vector<std::byte> pickle = zip.read(*pickle_index);
  StorageTable storages(path, [&](const StorageRequest& request, uint64_t nbytes) {
    return read_storage(zip, folder, path, request, nbytes);
  });
  UnpickleOptions options;
  options.source = path + " [" + folder + "data.pkl]";
  options.resolve_storage = storages.resolver();
  return unpickle(pickle, options);
}

}  // namespace starface::import
