// int8 calibration: runs the float32 network over calibration crops, records each conv
// input's range and power, and decides per conv whether int8 keeps its error small.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "graph/int8.h"

namespace starface {

struct CalibrationRules {
  // A conv stays float32 when its estimated int8 error, relative to its output's RMS,
  // is above this: sqrt(input noise / input power + weight noise / weight power), with
  // uniform rounding noise step^2 / 12 (input step = max / 255, weight step per channel
  // = max |w| / 127).
  double max_relative_error = 0.05;
};

// `optimized`: the graph after the passes (names as the backend sees them). `inputs`:
// float32 [N, 3, H, W] crops as the network takes them. kBadArgument without inputs.
graph::Int8Calibration calibrate_int8(const graph::Graph& optimized,
                                      const std::vector<Tensor>& inputs,
                                      const CalibrationRules& rules = {});

}  // namespace starface
