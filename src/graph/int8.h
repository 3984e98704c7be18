// What int8 calibration decided for a network's convolutions (--precision int8): the
// scale of each int8 conv's input (x ~ scale * q, q in 0..255) and, for the convs that
// stay float32, why. Keyed by conv node name in the optimized graph; a model file made by
// `starface convert --precision int8` carries it in its metadata. Also the two rules every
// int8 user must share: which convs may run in int8, and how their weights are scaled.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::graph {

struct Int8Calibration {
  std::map<std::string, float> input_scales;
  std::map<std::string, std::string> fp32_layers;
  int crops = 0;  // calibration crops the statistics came from
};

// Convs the int8 path takes: dense, ReLU or none, a computed input, constant weights.
bool int8_candidate(const Graph& graph, const Node& node);

// Per output channel o of weights [Co, ...]: max |w[o]| / 127 (1 for an all-zero channel),
// so q = round(w / scale) spans -127..127. The backend and the model file's int8 storage
// both use it, so stored weights quantize again to the same q.
std::vector<float> int8_weight_scales(const Tensor& weights);

}  // namespace starface::graph
