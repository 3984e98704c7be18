#include "graph/passes/passes.h"

#include <gtest/gtest.h>

#include <cmath>

#include "backends/ref/ref_backend.h"
#include "graph/cost.h"
#include "import/checkpoint.h"
#include "import/npy.h"
#include "nets/star/builder.h"
#include "support/fixtures.h"

namespace starface::graph::passes {
namespace {

using starface::testing::star_fixture;

const Graph& tiny_star() {
  static const Graph graph = [] {
    const TensorMap sd = import::load_state_dict(star_fixture("models/star_wflw_tiny.pth"));
    return star::build_graph(sd, star::detect_config(sd));
  }();
  return graph;
}

const Tensor& face() {
  static const Tensor input = import::read_npy(star_fixture("cases/inputs/input_a.npy"));
  return input;
}

std::vector<std::string> output_names(const Graph& g) {
  std::vector<std::string> names;
  for (const auto& [name, v] : g.outputs()) names.push_back(name);
  return names;
}

TensorMap run(const Graph& g) { return backends::ref::compile(g)->run(face(), output_names(g)); }

int count(const Graph& g, const std::string& op) {
  const auto h = compute_cost(g).op_histogram;
  return h.count(op) ? h.at(op) : 0;
}

int fused_convs(const Graph& g, bool ConvAttrs::*flag) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.op == OpKind::kConv2d && node.conv().*flag;
  return n;
}

// Every output of `after` equals the same output of `before` within float32 rounding of
// values of that size.
void expect_same_outputs(const Graph& before, const Graph& after) {
  static const TensorMap tiny_outputs = run(tiny_star());
  const TensorMap want = &before == &tiny_star() ? tiny_outputs : run(before);
  const TensorMap got = run(after);
  ASSERT_FALSE(got.empty());
  for (const auto& [name, t] : got) {
    const Tensor& ref = want.at(name);
    double scale = 1.0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      scale = std::max(scale, static_cast<double>(std::fabs(ref.data<float>()[i])));
    }
    EXPECT_LE(starface::testing::max_abs_diff(t, ref), 4e-6 * scale) << name;
  }
}

TEST(DeadCode, KeepsOnlyWhatTheFinalLandmarksNeed) {
  const Graph g = dead_code(tiny_star(), {"landmarks"});
  EXPECT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(count(tiny_star(), "SoftArgmax"), 4);
  EXPECT_EQ(count(g, "SoftArgmax"), 1);
  // The heat, point and edge heads of earlier stacks still feed the merges.
  EXPECT_EQ(count(g, "Sigmoid"), 8);
  EXPECT_EQ(run(g).at("landmarks").numel(), 98 * 2);
  EXPECT_EQ(
      starface::testing::max_abs_diff(run(g).at("landmarks"), run(tiny_star()).at("landmarks")),
      0.0);
  EXPECT_THROW(dead_code(tiny_star(), {"no_such_output"}), Error);
}

TEST(CoordBias, ConstantPlanesBecomeBiasMaps) {
  const Graph g = coord_bias(tiny_star());
  EXPECT_EQ(fused_convs(g, &ConvAttrs::bias_map), 5);  // the stem and every stack's CoordConv
  EXPECT_EQ(count(tiny_star(), "Concat"), 5);
  EXPECT_EQ(count(g, "Concat"), 3);  // stacks 1-3 still concat their boundary planes
  EXPECT_LT(compute_cost(g).macs, compute_cost(tiny_star()).macs);
  expect_same_outputs(tiny_star(), g);
}

TEST(FoldBn, BatchNormAfterConvFoldsIntoIt) {
  const Graph g = fold_bn(tiny_star());
  EXPECT_EQ(count(tiny_star(), "BatchNorm"), 182);
  EXPECT_EQ(count(g, "BatchNorm"), 59);  // the pre-activation ones stay
  expect_same_outputs(tiny_star(), g);
}

TEST(ScaleShift, PreActivationBatchNormAndReluBecomeOneOp) {
  const Graph g = scale_shift(fold_bn(tiny_star()));
  EXPECT_EQ(count(g, "BatchNorm"), 0);
  EXPECT_EQ(count(g, "ScaleShift"), 59);
  int with_relu = 0;
  for (const Node& n : g.nodes()) with_relu += n.op == OpKind::kScaleShift && n.scale_shift().relu;
  EXPECT_EQ(with_relu, 59);
  expect_same_outputs(tiny_star(), g);
}

TEST(FuseConvActAdd, ReluAndResidualMoveIntoConvs) {
  const Graph base = scale_shift(fold_bn(tiny_star()));
  const Graph g = fuse_conv_act_add(base);
  EXPECT_EQ(count(base, "Add") - count(g, "Add"), 71);  // 59 residual blocks + 12 merges
  EXPECT_EQ(fused_convs(g, &ConvAttrs::residual), 71);
  EXPECT_EQ(fused_convs(g, &ConvAttrs::relu), 123);
  EXPECT_EQ(count(g, "Relu"), 4);  // after the instance norms
  expect_same_outputs(tiny_star(), g);
}

TEST(Optimize, AllPassesTogether) {
  const Graph g = optimize(tiny_star(), {"landmarks", "fusion.3"});
  EXPECT_EQ(count(g, "BatchNorm"), 0);
  EXPECT_EQ(count(g, "Add"), 16);  // only the hourglass joins (top + upsampled) remain
  EXPECT_EQ(g.outputs().size(), 2u);
  expect_same_outputs(tiny_star(), g);
}

// ---- edge cases on small graphs ----

ValueId constant(Graph& g, const std::string& name, Shape shape, uint32_t seed) {
  return g.add_constant(name, starface::testing::random_tensor(shape, seed, 0.5f, 1.5f));
}

ValueId conv(Graph& g, const std::string& name, ValueId x, int64_t cout, uint32_t seed) {
  const int64_t cin = g.value(x).shape[1];
  return g.add_node(OpKind::kConv2d, name, "s",
                    {x, constant(g, name + ".w", {cout, cin, 1, 1}, seed),
                     constant(g, name + ".b", {cout}, seed + 1)});
}

ValueId bn(Graph& g, const std::string& name, ValueId x, uint32_t seed) {
  const int64_t c = g.value(x).shape[1];
  return g.add_node(
      OpKind::kBatchNorm, name, "s",
      {x, constant(g, name + ".g", {c}, seed), constant(g, name + ".b", {c}, seed + 1),
       constant(g, name + ".m", {c}, seed + 2), constant(g, name + ".v", {c}, seed + 3)});
}

TEST(FoldBn, ConvReadTwiceOrPublishedIsLeftAlone) {
  Graph g;
  ValueId x = g.add_input("x", {1, 3, 256, 256});
  ValueId a = conv(g, "a", x, 4, 1);
  ValueId a_bn = bn(g, "a_bn", a, 10);
  ValueId b = conv(g, "b", a_bn, 4, 20);
  g.mark_output("a", a);  // a is published: its BN cannot fold
  g.mark_output("out", g.add_node(OpKind::kAdd, "sum", "s", {bn(g, "b_bn", b, 30), b}));
  const Graph folded = fold_bn(g);
  EXPECT_EQ(count(folded, "BatchNorm"), 2);
  expect_same_outputs(g, folded);
}

TEST(FuseConvActAdd, ResidualGoesIntoTheLaterConvSoOrderStaysTopological) {
  Graph g;  // out = conv_a(x) + conv_b(x): conv_b comes later and absorbs the add
  ValueId x = g.add_input("x", {1, 3, 256, 256});
  ValueId a = conv(g, "a", x, 4, 1);
  ValueId b = conv(g, "b", x, 4, 5);
  g.mark_output("out", g.add_node(OpKind::kRelu, "relu", "s",
                                  {g.add_node(OpKind::kAdd, "sum", "s", {a, b})}));
  const Graph fused = fuse_conv_act_add(g);
  ASSERT_EQ(fused.nodes().size(), 2u);
  EXPECT_EQ(fused.nodes()[1].name, "b");
  EXPECT_TRUE(fused.nodes()[1].conv().residual);
  EXPECT_TRUE(fused.nodes()[1].conv().relu);
  expect_same_outputs(g, fused);
}

}  // namespace
}  // namespace starface::graph::passes
