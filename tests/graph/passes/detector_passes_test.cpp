// The passes on what RetinaFace adds: BatchNorm folds into grouped (depthwise) convs,
// LeakyReLU fuses into a conv with its slope, a LeakyReLU after a lone BatchNorm is not
// taken for a ReLU, dead_code keeps a resize's size reference, and on the real network
// optimize() leaves only convs (plus resize, add, concat, ReLU) computing the same heads.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/ref/ref_backend.h"
#include "graph/cost.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "nets/retinaface/builder.h"
#include "support/fixtures.h"

namespace starface::graph::passes {
namespace {

using starface::testing::random_tensor;

int count(const Graph& g, const std::string& op) {
  const auto h = compute_cost(g).op_histogram;
  return h.count(op) ? h.at(op) : 0;
}

std::vector<std::string> output_names(const Graph& g) {
  std::vector<std::string> names;
  for (const auto& [name, v] : g.outputs()) names.push_back(name);
  return names;
}

// The outputs of `after` equal those of `before` on the ref backend within float32
// rounding of their magnitude.
void expect_same_outputs(const Graph& before, const Graph& after, const Tensor& input,
                         double relative = 4e-6) {
  const std::vector<std::string> names = output_names(after);
  ASSERT_FALSE(names.empty());
  const TensorMap want = backends::ref::compile(before)->run(input, names);
  const TensorMap got = backends::ref::compile(after)->run(input, names);
  for (const std::string& name : names) {
    const Tensor& w = want.at(name);
    double scale = 1.0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>(w.data<float>()[i])));
    }
    EXPECT_LE(starface::testing::max_abs_diff(got.at(name), w), relative * scale) << name;
  }
}

// conv(groups) -> BatchNorm -> LeakyReLU(0.1), with random weights and statistics.
Graph depthwise_block(int groups) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 8, 9, 11});
  ConvAttrs a;
  a.kernel = 3;
  a.stride = 2;
  a.pad = 1;
  a.groups = groups;
  const ValueId conv = g.add_node(OpKind::kConv2d, "dw", "s",
                                  {x, g.add_constant("w", random_tensor({8, 8 / groups, 3, 3}, 1)),
                                   g.add_constant("b", random_tensor({8}, 2))},
                                  a);
  const ValueId bn = g.add_node(
      OpKind::kBatchNorm, "bn", "s",
      {conv, g.add_constant("gamma", random_tensor({8}, 3, 0.5f, 2.0f)),
       g.add_constant("beta", random_tensor({8}, 4)), g.add_constant("mean", random_tensor({8}, 5)),
       g.add_constant("var", random_tensor({8}, 6, 0.1f, 3.0f))});
  const LeakyReluAttrs leaky(0.1f);
  g.mark_output("y", g.add_node(OpKind::kLeakyRelu, "leaky", "s", {bn}, leaky));
  return g;
}

TEST(DetectorPasses, FoldBnIntoGroupedConvKeepsGroups) {
  for (int groups : {8, 2}) {
    const Graph before = depthwise_block(groups);
    const Graph g = fold_bn(before);
    EXPECT_EQ(count(g, "BatchNorm"), 0);
    ASSERT_EQ(count(g, "Conv2d"), 1);
    for (const Node& n : g.nodes()) {
      if (n.op == OpKind::kConv2d) {
        EXPECT_EQ(n.conv().groups, groups);
        EXPECT_EQ(g.value(n.inputs[1]).shape, (Shape{8, 8 / groups, 3, 3}));
      }
    }
    expect_same_outputs(before, g, random_tensor({2, 8, 9, 11}, 7));
  }
}

TEST(DetectorPasses, LeakyReluFusesIntoConvWithItsSlope) {
  const Graph before = depthwise_block(8);
  const Graph g = optimize(before);
  EXPECT_EQ(count(g, "LeakyRelu"), 0);
  ASSERT_EQ(g.nodes().size(), 1u);
  const Node& conv = g.nodes()[0];
  EXPECT_EQ(conv.op, OpKind::kConv2d);
  EXPECT_TRUE(conv.conv().relu);
  EXPECT_EQ(conv.conv().slope, 0.1f);
  EXPECT_EQ(conv.conv().groups, 8);
  EXPECT_EQ(node_kind(conv), "Conv2d+LeakyRelu");
  expect_same_outputs(before, g, random_tensor({1, 8, 9, 11}, 8, -3.0f, 3.0f));
}

TEST(DetectorPasses, PlainReluFusionKeepsSlopeZero) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 3, 5, 5});
  ConvAttrs a;
  a.kernel = 1;
  const ValueId c = g.add_node(OpKind::kConv2d, "c", "s",
                               {x, g.add_constant("w", random_tensor({4, 3, 1, 1}, 1)),
                                g.add_constant("b", random_tensor({4}, 2))},
                               a);
  g.mark_output("y", g.add_node(OpKind::kRelu, "relu", "s", {c}));
  const Graph fused = fuse_conv_act_add(g);
  ASSERT_EQ(fused.nodes().size(), 1u);
  EXPECT_TRUE(fused.nodes()[0].conv().relu);
  EXPECT_EQ(fused.nodes()[0].conv().slope, 0.0f);
}

// BatchNorm -> LeakyReLU with no conv before it: ScaleShift takes the BatchNorm only (its
// fused activation is a plain ReLU), and the LeakyReLU stays.
TEST(DetectorPasses, ScaleShiftDoesNotSwallowLeakyRelu) {
  Graph before;
  const ValueId x = before.add_input("x", {1, 4, 3, 3});
  const ValueId bn =
      before.add_node(OpKind::kBatchNorm, "bn", "s",
                      {x, before.add_constant("gamma", random_tensor({4}, 3, 0.5f, 2.0f)),
                       before.add_constant("beta", random_tensor({4}, 4)),
                       before.add_constant("mean", random_tensor({4}, 5)),
                       before.add_constant("var", random_tensor({4}, 6, 0.1f, 3.0f))});
  const LeakyReluAttrs leaky(0.1f);
  before.mark_output("y", before.add_node(OpKind::kLeakyRelu, "leaky", "s", {bn}, leaky));
  const Graph g = optimize(before);
  EXPECT_EQ(count(g, "ScaleShift"), 1);
  EXPECT_EQ(count(g, "LeakyRelu"), 1);
  for (const Node& n : g.nodes()) {
    if (n.op == OpKind::kScaleShift) {
      EXPECT_FALSE(n.scale_shift().relu) << n.name;
    }
  }
  expect_same_outputs(before, g, random_tensor({1, 4, 3, 3}, 9, -3.0f, 3.0f));
}

const TensorMap& retinaface_weights() {
  static const TensorMap sd = import::load_state_dict(
      (starface::testing::shared_dir() / "models" / "retinaface_mobilenet0.25.pth").string());
  return sd;
}

TEST(DetectorPasses, DeadCodeKeepsTheResizeReference) {
  const Graph g = retinaface::build_graph(retinaface_weights(), 40, 56);
  const Graph p2 = dead_code(g, {"p2"});
  EXPECT_EQ(count(p2, "UpsampleNearest"), 1);
  EXPECT_EQ(count(p2, "Concat"), 0);  // no SSH module feeds p2
  expect_same_outputs(g, p2, random_tensor({1, 3, 40, 56}, 10, -100.0f, 100.0f));
}

TEST(DetectorPasses, OptimizedRetinaFaceComputesTheSameHeads) {
  const Graph g = retinaface::build_graph(retinaface_weights(), 45, 61);
  const Graph opt = optimize(g, retinaface::head_outputs());
  EXPECT_EQ(count(g, "BatchNorm"), 47);
  EXPECT_EQ(count(opt, "BatchNorm"), 0);
  EXPECT_EQ(count(opt, "LeakyRelu"), 0);
  EXPECT_EQ(count(opt, "Conv2d"), count(g, "Conv2d"));
  EXPECT_EQ(opt.outputs().size(), 9u);
  int depthwise = 0, leaky = 0;
  for (const Node& n : opt.nodes()) {
    if (n.op != OpKind::kConv2d) continue;
    depthwise += n.conv().groups > 1;
    leaky += n.conv().relu && n.conv().slope == 0.1f;
  }
  EXPECT_EQ(depthwise, 13);
  EXPECT_EQ(leaky, count(g, "LeakyRelu"));
  expect_same_outputs(g, opt, random_tensor({1, 3, 45, 61}, 11, -120.0f, 130.0f), 2e-5);
}

}  // namespace
}  // namespace starface::graph::passes
