// Shared by the oneDNN backend tests: a small graph builder with random weights, and the
// comparison with the reference backend.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/onednn/onednn_backend.h"
#include "backends/op_table.h"
#include "backends/ref/ref_backend.h"
#include "graph/graph.h"
#include "support/fixtures.h"

namespace starface::backends::onednn::testing {

using graph::ConvAttrs;
using graph::Graph;
using graph::OpKind;
using graph::ValueId;
using starface::testing::batch_norm;
using starface::testing::kRelativeTolerance;
using starface::testing::max_abs;
using starface::testing::max_abs_diff;
using starface::testing::Net;
using starface::testing::random_tensor;
using starface::testing::scale_shift;

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
