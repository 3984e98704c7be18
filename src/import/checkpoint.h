// The state dict of a checkpoint, whatever layout wraps it.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/tensor.h"
#include "import/py_object.h"

namespace starface::import {

struct LoadOptions {
  // The top-level entry holding the weights: "net" (STAR's layout; falls back to a
  // "state_dict" entry or a bare state dict when absent) or "net_ema" (must be present).
  std::string weights = "net";
};

// Reads the state dict of a torch.save file: {"net": sd} (or options.weights),
// {"state_dict": sd}, or a bare {name: tensor} dict. "module." prefixes (nn.DataParallel)
// are stripped. Tensors keep their saved dtype, shape, strides and storage offset; views
// keep sharing one Storage. Besides the errors of load_torch_file, throws kMissingKey when
// the requested entry is absent, kNotACheckpoint when no state dict can be found, and
// kBadInput for a state dict entry that is not a tensor, naming the key.
TensorMap load_state_dict(const std::string& path, const LoadOptions& options = {});

// The same for a file already in memory; `name` stands for its path in errors.
TensorMap load_state_dict_bytes(std::span<const std::byte> bytes, const std::string& name,
                                const LoadOptions& options = {});

// The same, from an already loaded object tree (`path` names it in errors).
TensorMap state_dict_from(const PyObject& root, const std::string& path,
                          const LoadOptions& options = {});

}  // namespace starface::import
