// The op test table every registered backend is checked with (backend_ops_test.cpp), and
// the small-graph builder the backend tests share: each case builds one op, with small
// shapes and the attributes that reach its distinct code paths, on an input that is either
// the graph input or a conv's output (a fast backend's own layout).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "support/fixtures.h"

namespace starface::testing {

// The tolerance of every op test: float32 results agree with the reference (which
// accumulates in double) to 1e-5 of the output's magnitude, max(1, max |reference|).
// A float32 accumulation over at most a few thousand terms stays near 1e-6.
constexpr double kRelativeTolerance = 1e-5;

inline double max_abs(const Tensor& t) {
  double m = 0.0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(double{t.data<float>()[i]}));
  return m;
}

// A graph under construction with deterministic random constants.
class Net {
 public:
  explicit Net(const Shape& input, uint32_t seed = 1) : seed_(seed) {
    x = g.add_input("input", input);
  }

  const Shape& shape(graph::ValueId v) const { return g.value(v).shape; }

  graph::ValueId constant(const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    const uint32_t seed = seed_++;
    return g.add_constant("const" + std::to_string(seed), random_tensor(shape, seed, lo, hi));
  }

  // A conv with random weights scaled to keep outputs near unit size. `bias_map` and
  // `residual` are optional inputs (-1 for none).
  graph::ValueId conv(graph::ValueId in, int64_t out_channels, int kernel, int stride, int pad,
                      bool relu = false, graph::ValueId bias_map = -1,
                      graph::ValueId residual = -1) {
    const int64_t in_channels = shape(in)[1];
    const float bound = 1.5f / std::sqrt(static_cast<float>(in_channels * kernel * kernel));
    graph::ConvAttrs a;
    a.kernel = kernel;
    a.stride = stride;
    a.pad = pad;
    a.relu = relu;
    std::vector<graph::ValueId> inputs{
        in, constant({out_channels, in_channels, kernel, kernel}, -bound, bound),
        constant({out_channels})};
    if (bias_map >= 0) {
      a.bias_map = true;
      inputs.push_back(bias_map);
    }
    if (residual >= 0) {
      a.residual = true;
      inputs.push_back(residual);
    }
    return op(graph::OpKind::kConv2d, inputs, a);
  }

  graph::ValueId op(graph::OpKind kind, std::vector<graph::ValueId> inputs, graph::OpAttrs a = {}) {
    return g.add_node(kind, "node" + std::to_string(nodes_++), "stage", std::move(inputs),
                      std::move(a));
  }

  // Publishes `v` as "out<k>" and returns the name.
  std::string output(graph::ValueId v) {
    const std::string name = "out" + std::to_string(outputs_++);
    g.mark_output(name, v);
    return name;
  }

  graph::Graph g;
  graph::ValueId x = -1;

 private:
  uint32_t seed_;
  int nodes_ = 0;
  int outputs_ = 0;
};

// BatchNorm with random statistics, and ScaleShift (with a fused ReLU or not) on `in`.
graph::ValueId batch_norm(Net& n, graph::ValueId in);
graph::ValueId scale_shift(Net& n, graph::ValueId in, bool relu);

// Builds the op under test on `in` (the graph input or a conv's output) and returns it.
using OpBuilder = std::function<graph::ValueId(Net&, graph::ValueId in)>;

struct OpCase {
  const char* name;
  Shape input;  // batch 1
  OpBuilder build;
};

// Every op of the IR, each fused conv epilogue, and the shapes that reach padded channel
// blocks, odd sizes and broadcasts.
const std::vector<OpCase>& op_cases();

}  // namespace starface::testing
