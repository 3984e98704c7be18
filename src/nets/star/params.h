// Parameter counts of a STAR state dict, stored and actually executed, per stage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace starface::star {

struct ParamCount {
  int64_t stored = 0;  // learnable weights, biases, BN gamma and beta in the file
  int64_t used = 0;    // of those, the ones the graph executes (not the idle skip convs)
};

struct ParamReport {
  ParamCount total;
  int64_t buffers = 0;  // BN running statistics and the fixed E2H matrix
  std::vector<std::pair<std::string, ParamCount>> by_stage;  // in network order
};

// The cost-report stage of a state-dict key: "stem", "hourglass[2]", "heads[0]", ...
std::string stage_of_key(const std::string& key);

ParamReport count_parameters(const TensorMap& state_dict, const graph::Graph& graph);

// The counts of a stored (optimized) graph, where the checkpoint is not at hand: every
// constant a node reads is stored and used, in the stage of its first reader. BatchNorm
// statistics are folded into the conv weights by then; the E2H matrix still counts as a
// buffer, and the coordinate bias maps, derived from the weights, are not counted.
ParamReport count_graph_parameters(const graph::Graph& graph);

}  // namespace starface::star
