// STAR's configuration, read off the tensors of a state dict (fixtures/star/README.md §5).
#pragma once

#include <string>

#include "core/tensor.h"

namespace starface::star {

struct Config {
  int nstack = 4;
  int nlevels = 4;
  int channels = 256;  // trunk width C
  int points = 98;     // P
  int edges = 9;       // E (0 without AAM)
  bool aam = true;     // point and edge attention heads present
  int input_size = 256;
  int map_size = 64;  // side of the heat maps: input_size / nstack, as STAR sizes them

  // "WFLW", "300W", "COFW" for their point counts, else "custom".
  std::string layout() const;
};

// Reads the configuration; throws kMissingKey / kShapeMismatch naming the key when the
// state dict is not a STAR network.
Config detect_config(const TensorMap& state_dict);

}  // namespace starface::star
