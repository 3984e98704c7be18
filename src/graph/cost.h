// What a graph costs at batch 1: multiply-adds per stage and an op histogram, and what the
// optimizer could fold or fuse.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::graph {

struct Cost {
  int64_t macs = 0;  // multiply-adds of every convolution executed
  std::vector<std::pair<std::string, int64_t>> macs_by_stage;  // in graph order
  std::map<std::string, int> op_histogram;                     // op name -> node count
  int nodes = 0;
  int constants = 0;
  int64_t constant_elements = 0;
};

Cost compute_cost(const Graph& graph);
// Multiply-adds of one node at batch 1 (convolutions; 0 for every other op).
int64_t node_macs(const Graph& graph, const Node& node);

// Patterns the passes can remove, counted on the graph as built.
struct Opportunities {
  int bn_after_conv = 0;            // BatchNorm whose input is a conv read by no one else: foldable
  int relu_after_conv = 0;          // ReLU right after a conv (or a conv + foldable BN): fusable
  int add_after_conv = 0;           // residual Add of a conv output: fusable into the conv
  int preact_bn_relu = 0;           // BN + ReLU not after a conv: one scale-shift-ReLU
  int64_t constant_input_macs = 0;  // conv MACs spent on constant (coordinate) channels
  int constant_input_convs = 0;
};

Opportunities find_opportunities(const Graph& graph);

}  // namespace starface::graph
