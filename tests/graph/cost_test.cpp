#include "graph/cost.h"

#include <gtest/gtest.h>

namespace starface::graph {
namespace {

ValueId weight(Graph& g, const std::string& name, Shape shape) {
  return g.add_constant(name, Tensor(DType::kFloat32, std::move(shape)));
}

// x -> concat(x, coords) -> conv3x3 -> BN -> ReLU -> (+ x') ; a pre-activation BN -> ReLU
Graph small_graph() {
  Graph g;
  ValueId x = g.add_input("x", {1, 2, 8, 8});
  ValueId cat = g.add_node(OpKind::kConcat, "cat", "a", {x, weight(g, "coords", {1, 3, 8, 8})});
  ConvAttrs k3;
  k3.kernel = 3;
  k3.pad = 1;
  ValueId conv = g.add_node(OpKind::kConv2d, "conv", "a",
                            {cat, weight(g, "w", {4, 5, 3, 3}), weight(g, "b", {4})}, k3);
  auto bn = [&](ValueId in, const std::string& name) {
    const int64_t c = g.value(in).shape[1];
    return g.add_node(OpKind::kBatchNorm, name, "b",
                      {in, weight(g, name + ".g", {c}), weight(g, name + ".b", {c}),
                       weight(g, name + ".m", {c}), weight(g, name + ".v", {c})});
  };
  ValueId y = g.add_node(OpKind::kRelu, "relu", "b", {bn(conv, "bn")});
  ValueId pre = g.add_node(OpKind::kRelu, "relu2", "b", {bn(x, "bn_pre")});
  ValueId conv2 = g.add_node(OpKind::kConv2d, "conv2", "b",
                             {pre, weight(g, "w2", {4, 2, 1, 1}), weight(g, "b2", {4})});
  g.mark_output("out", g.add_node(OpKind::kAdd, "add", "b", {y, conv2}));
  return g;
}

TEST(Cost, CountsConvMacsPerStageAndOps) {
  const Cost c = compute_cost(small_graph());
  const int64_t conv1 = 4 * 8 * 8 * 5 * 9;
  const int64_t conv2 = 4 * 8 * 8 * 2;
  EXPECT_EQ(c.macs, conv1 + conv2);
  ASSERT_EQ(c.macs_by_stage.size(), 2u);
  EXPECT_EQ(c.macs_by_stage[0], (std::pair<std::string, int64_t>{"a", conv1}));
  EXPECT_EQ(c.macs_by_stage[1], (std::pair<std::string, int64_t>{"b", conv2}));
  EXPECT_EQ(c.op_histogram.at("Conv2d"), 2);
  EXPECT_EQ(c.op_histogram.at("BatchNorm"), 2);
  EXPECT_EQ(c.op_histogram.at("Relu"), 2);
  EXPECT_EQ(c.nodes, 8);
}

TEST(Cost, FindsFoldAndFuseOpportunities) {
  const Opportunities o = find_opportunities(small_graph());
  EXPECT_EQ(o.bn_after_conv, 1);
  EXPECT_EQ(o.preact_bn_relu, 1);
  EXPECT_EQ(o.relu_after_conv, 1);  // conv -> BN -> ReLU
  EXPECT_EQ(o.add_after_conv, 1);   // the add reads conv2 directly
  EXPECT_EQ(o.constant_input_convs, 1);
  EXPECT_EQ(o.constant_input_macs, 4 * 8 * 8 * 3 * 9);
}

}  // namespace
}  // namespace starface::graph
