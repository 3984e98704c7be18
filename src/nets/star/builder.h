// Builds STAR's inference graph from a state dict (fixtures/star/README.md §2).
//
// Graph outputs: "stem" [N,C,64,64]; for every stack s: "stack_landmarks.s" [N,P,2],
// "heatmaps.s", "fusion.s" [N,P,64,64] and, with AAM, "pointmaps.s" [N,P,64,64] and
// "edgemaps.s" [N,E,64,64]; "landmarks" = the last stack's landmarks.
#pragma once

#include <string>

#include "graph/graph.h"
#include "nets/star/config.h"

namespace starface::star {

// Validates every key against `config` (missing, mis-shaped and unknown keys are errors
// naming the key) and returns the graph. Unused skip convs may be present or absent.
graph::Graph build_graph(const TensorMap& state_dict, const Config& config);

// The constant CoordConv planes [1, 3, size, size]: rows 2i/(size-1)-1, columns
// 2j/(size-1)-1, and their radius normalised by its maximum; computed in double.
Tensor coordinate_planes(int size);

// Graph output names.
std::string stack_output(const std::string& kind, int stack);  // "heatmaps.2", ...

}  // namespace starface::star
