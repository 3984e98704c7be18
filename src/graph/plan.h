// What a backend compiles a graph into: run it on a batch, get the requested outputs.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace starface::graph {

class Plan {
 public:
  virtual ~Plan() = default;
  // Runs the graph on `input` (float32 [N, ...] matching the graph input's shape apart
  // from N) and returns the graph outputs named in `outputs`.
  virtual TensorMap run(const Tensor& input, const std::vector<std::string>& outputs) = 0;
};

}  // namespace starface::graph
