// int8 calibration: runs the float32 network over calibration crops, chooses each conv
// input's int8 range, estimates each conv's int8 error, decides per conv whether int8 keeps
// it small, and measures the bias correction of every int8 conv.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "graph/int8.h"

namespace starface {

// How a conv input's int8 range is chosen from its values on the calibration crops.
enum class Clipping {
  kMse,         // the clip with the least quantization error (rounding + clipping) on the
                // histogram of the values: outliers are clipped when that costs less than
                // the coarser step keeping them would
  kPercentile,  // the 99.99th percentile of |x| (zeros aside)
  kMax,         // the largest |x|: nothing clipped (before MSE clipping, the only choice)
};
// "mse", "percentile", "max".
const char* clipping_name(Clipping clipping);
const std::vector<std::string>& clipping_names();

struct CalibrationRules {
  // A conv stays float32 when its estimated int8 error, relative to its output's RMS,
  // is above this: sqrt(input error / input power + weight noise / weight power), with the
  // input error the rounding and clipping error measured on the histogram and uniform
  // weight rounding noise step^2 / 12 (step per channel = max |w| / 127).
  double max_relative_error = 0.05;
  Clipping clipping = Clipping::kMse;
  // Shift each int8 conv's bias by minus its mean output error per channel.
  bool bias_correction = true;
  // Convs that stay float32 whatever their error (the user's choice, e.g. from the
  // sensitivity report); measured and listed like the others.
  std::set<std::string> keep_fp32;
};

// `optimized`: the graph after the passes (names as the backend sees them). `inputs`:
// float32 [N, 3, H, W] crops as the network takes them. kBadArgument without inputs.
// Every int8 candidate (graph::int8_candidate) gets a layers entry; the int8 ones a scale
// and, with rules.bias_correction, a bias correction (graph::apply_bias_corrections).
graph::Int8Calibration calibrate_int8(const graph::Graph& optimized,
                                      const std::vector<Tensor>& inputs,
                                      const CalibrationRules& rules = {});

// The clip of one input's values under `clipping`, from a histogram of |x| with `counts`
// bins of equal width over (0, largest] (zeros are exact and left out), for `levels` steps
// above zero (graph::int8_input_levels); `error` receives the mean squared quantization
// error over the histogram's values (zeros excluded) at that clip. Exposed for tests.
double choose_clip(const std::vector<double>& counts, double largest, int levels, Clipping clipping,
                   double* error = nullptr);

}  // namespace starface
