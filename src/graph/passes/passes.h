// Graph passes: each returns a new graph that computes the same outputs (within float32
// rounding) with less work. One pass per file; optimize() runs them in order.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::graph::passes {

// Keeps only the outputs named (and the nodes and constants they need): e.g. the landmark
// decode of stacks 0..S-2 goes when only the final landmarks are asked for. Unknown names
// are kBadArgument listing the graph's outputs.
Graph dead_code(const Graph& graph, const std::vector<std::string>& outputs);

// Conv(Concat(x, constant planes [, ...])) -> Conv(x [, ...]) + a precomputed per-pixel bias
// map: the constant CoordConv channels cost nothing at run time.
Graph coord_bias(const Graph& graph);

// Conv -> BatchNorm (the conv's only reader) becomes one Conv with scaled weights and bias.
Graph fold_bn(const Graph& graph);

// A BatchNorm that follows no conv (pre-activation), and the ReLU after it, become one
// ScaleShift(+ReLU).
Graph scale_shift(const Graph& graph);

// Conv -> Add (residual) and Conv -> ReLU / LeakyReLU become attributes of the conv (a
// LeakyReLU's slope goes with it).
Graph fuse_conv_act_add(const Graph& graph);

// All of the above, in order, keeping `outputs` (all outputs when empty).
Graph optimize(const Graph& graph, const std::vector<std::string>& outputs = {});

}  // namespace starface::graph::passes
