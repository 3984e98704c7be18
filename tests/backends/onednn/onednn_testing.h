// Shared by the oneDNN backend tests: a small graph builder with random weights, and the
// comparison with the reference backend.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "graph/graph.h"
#include "support/fixtures.h"

namespace starface::backends::onednn::testing {

using graph::ConvAttrs;
using graph::Graph;
using graph::OpKind;
using graph::ValueId;
using starface::testing::max_abs_diff;
using starface::testing::random_tensor;

// The tolerance of every op test: float32 results agree with the reference (which
// accumulates in double) to 1e-5 of the output's magnitude, max(1, max |reference|).
// oneDNN's float32 accumulation over at most a few thousand terms stays near 1e-6.
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

  const Shape& shape(ValueId v) const { return g.value(v).shape; }

  ValueId constant(const Shape& shape, float lo = -0.5f, float hi = 0.5f) {
    const uint32_t seed = seed_++;
    return g.add_constant("const" + std::to_string(seed), random_tensor(shape, seed, lo, hi));
  }

  // A conv with random weights scaled to keep outputs near unit size. `bias_map` and
  // `residual` are optional inputs (-1 for none).
  ValueId conv(ValueId in, int64_t out_channels, int kernel, int stride, int pad, bool relu = false,
               ValueId bias_map = -1, ValueId residual = -1) {
    const int64_t in_channels = shape(in)[1];
    const float bound = 1.5f / std::sqrt(static_cast<float>(in_channels * kernel * kernel));
    ConvAttrs a;
    a.kernel = kernel;
    a.stride = stride;
    a.pad = pad;
    a.relu = relu;
    std::vector<ValueId> inputs{
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
    return op(OpKind::kConv2d, inputs, a);
  }

  ValueId op(OpKind kind, std::vector<ValueId> inputs, graph::OpAttrs a = {}) {
    return g.add_node(kind, "node" + std::to_string(nodes_++), "stage", std::move(inputs),
                      std::move(a));
  }

  // Publishes `v` as "out<k>" and returns the name.
  std::string output(ValueId v) {
    const std::string name = "out" + std::to_string(outputs_++);
    g.mark_output(name, v);
    return name;
  }

  Graph g;
  ValueId x = -1;

 private:
  uint32_t seed_;
  int nodes_ = 0;
  int outputs_ = 0;
};

// Conv `y`'s weights: max over output channels of sum |w[o]|, how far an input error of 1
// moves an output (the int8 tests' bounds).
inline double weight_gain(const Graph& g, ValueId y) {
  const Tensor& w = g.value(g.nodes()[g.value(y).producer].inputs[1]).constant;
  const int64_t per = w.numel() / w.dim(0);
  double gain = 0.0;
  for (int64_t o = 0; o < w.dim(0); ++o) {
    double sum = 0.0;
    for (int64_t i = 0; i < per; ++i) sum += std::fabs(double{w.data<float>()[o * per + i]});
    gain = std::max(gain, sum);
  }
  return gain;
}

// Runs `graph` on both backends and expects every output within kRelativeTolerance.
inline void expect_matches_reference(const Graph& graph, const Tensor& input,
                                     const std::vector<std::string>& outputs,
                                     const std::string& what = "") {
  const TensorMap want = ref::compile(graph)->run(input, outputs);
  const TensorMap got = compile(graph)->run(input, outputs);
  for (const std::string& name : outputs) {
    const Tensor& w = want.at(name);
    const Tensor& o = got.at(name);
    ASSERT_EQ(o.shape(), w.shape()) << what << " " << name;
    ASSERT_TRUE(o.is_contiguous()) << what << " " << name;
    const double tol = kRelativeTolerance * std::max(1.0, max_abs(w));
    EXPECT_LE(max_abs_diff(o, w), tol) << what << " output " << name;
  }
}

}  // namespace starface::backends::onednn::testing
