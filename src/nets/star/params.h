// Parameter counts of a STAR state dict, stored and actually executed, per stage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "nets/common/landmark_net.h"

namespace starface::star {

// used: not the idle skip convs; buffers: BN running statistics and the fixed E2H matrix.
using nets::ParamCount;
using nets::ParamReport;

// The cost-report stage of a state-dict key: "stem", "hourglass[2]", "heads[0]", ...
std::string stage_of_key(const std::string& key);

ParamReport count_parameters(const TensorMap& state_dict, const graph::Graph& graph);

// The counts of a stored (optimized) graph, where the checkpoint is not at hand: every
// constant a node reads is stored and used, in the stage of its first reader. BatchNorm
// statistics are folded into the conv weights by then; the E2H matrix still counts as a
// buffer, and the coordinate bias maps, derived from the weights, are not counted.
ParamReport count_graph_parameters(const graph::Graph& graph);

}  // namespace starface::star
