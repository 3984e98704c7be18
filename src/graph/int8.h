// What int8 calibration decided for a network's convolutions (--precision int8): the
// scale of each int8 conv's input (x ~ scale * q, q in 0..255) and, for the convs that
// stay float32, why. Keyed by conv node name in the optimized graph; a model file made by
// `starface convert --precision int8` carries it in its metadata.
#pragma once

#include <map>
#include <string>

namespace starface::graph {

struct Int8Calibration {
  std::map<std::string, float> input_scales;
  std::map<std::string, std::string> fp32_layers;
  int crops = 0;  // calibration crops the statistics came from
};

}  // namespace starface::graph
