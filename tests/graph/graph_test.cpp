#include "graph/graph.h"

#include <gtest/gtest.h>

#include "graph/grid.h"

namespace starface::graph {
namespace {

ValueId weight(Graph& g, const std::string& name, Shape shape) {
  return g.add_constant(name, Tensor(DType::kFloat32, std::move(shape)));
}

TEST(Graph, InfersConvPoolConcatShapes) {
  Graph g;
  ValueId x = g.add_input("x", {1, 3, 32, 32});
  ConvAttrs a;
  a.kernel = 7;
  a.stride = 2;
  a.pad = 3;
  ValueId y = g.add_node(OpKind::kConv2d, "conv", "s",
                         {x, weight(g, "w", {8, 3, 7, 7}), weight(g, "b", {8})}, a);
  EXPECT_EQ(g.value(y).shape, (Shape{1, 8, 16, 16}));
  ValueId p = g.add_node(OpKind::kMaxPool2x2, "pool", "s", {y});
  EXPECT_EQ(g.value(p).shape, (Shape{1, 8, 8, 8}));
  ValueId u = g.add_node(OpKind::kUpsample2x, "up", "s", {p});
  EXPECT_EQ(g.value(u).shape, (Shape{1, 8, 16, 16}));
  ValueId c = g.add_node(OpKind::kConcat, "cat", "s", {y, u, weight(g, "k", {1, 2, 16, 16})});
  EXPECT_EQ(g.value(c).shape, (Shape{1, 18, 16, 16}));
  ValueId b = g.add_node(OpKind::kBoundaryPlanes, "bnd", "s", {c}, BoundaryAttrs(0.05f));
  EXPECT_EQ(g.value(b).shape, (Shape{1, 2, 16, 16}));
  ValueId s = g.add_node(OpKind::kSoftArgmax, "sa", "s", {c});
  EXPECT_EQ(g.value(s).shape, (Shape{1, 18, 2}));
  EXPECT_EQ(g.value(y).producer, 0);
}

// The error's code, and whether its message names every one of `parts`.
template <typename F>
void expect_internal_naming(F f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal) << e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
}

TEST(Graph, EachOpTakesItsOwnAttributes) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 2, 4, 4});
  // No neutral threshold or slope exists: the builder must say which it means.
  expect_internal_naming([&] { g.add_node(OpKind::kBoundaryPlanes, "gate", "s", {x}); },
                         {"gate", "BoundaryPlanes"});
  expect_internal_naming([&] { g.add_node(OpKind::kLeakyRelu, "leaky", "s", {x}); },
                         {"leaky", "LeakyRelu"});
  expect_internal_naming([&] { g.add_node(OpKind::kRelu, "relu", "s", {x}, NormAttrs{}); },
                         {"relu", "another op"});
  expect_internal_naming(
      [&] { g.add_node(OpKind::kInstanceNorm, "norm", "s", {x}, BoundaryAttrs(0.5f)); },
      {"norm", "another op"});
  // Ops whose attributes have a neutral value take it when given none.
  const ValueId n = g.add_node(OpKind::kInstanceNorm, "in", "s", {x});
  const Node& norm = g.nodes().at(g.value(n).producer);
  EXPECT_EQ(norm.norm().eps, 1e-5f);
  expect_internal_naming([&] { (void)norm.conv(); }, {"in", "ConvAttrs"});
  const ValueId gate = g.add_node(OpKind::kBoundaryPlanes, "gate", "s", {x}, BoundaryAttrs(0.3f));
  EXPECT_EQ(g.nodes().at(g.value(gate).producer).boundary().threshold, 0.3f);
}

TEST(Graph, ConvWeightMismatchNamesNodeAndShapes) {
  Graph g;
  ValueId x = g.add_input("x", {1, 4, 8, 8});
  try {
    g.add_node(OpKind::kConv2d, "layer.conv", "s",
               {x, weight(g, "w", {8, 3, 1, 1}), weight(g, "b", {8})});
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(what.find("layer.conv"), std::string::npos) << what;
    EXPECT_NE(what.find("[8, 4, 1, 1]"), std::string::npos) << what;
    EXPECT_NE(what.find("[8, 3, 1, 1]"), std::string::npos) << what;
  }
}

TEST(Graph, ElementwiseAndNormMismatchesThrow) {
  Graph g;
  ValueId x = g.add_input("x", {1, 4, 8, 8});
  ValueId other = weight(g, "o", {1, 4, 8, 4});
  EXPECT_THROW(g.add_node(OpKind::kAdd, "add", "s", {x, other}), Error);
  EXPECT_THROW(g.add_node(OpKind::kMul, "mul", "s", {x}), Error);
  EXPECT_THROW(g.add_node(OpKind::kBatchNorm, "bn", "s",
                          {x, weight(g, "g", {3}), weight(g, "b", {4}), weight(g, "m", {4}),
                           weight(g, "v", {4})}),
               Error);
  EXPECT_THROW(g.add_node(OpKind::kConcat, "cat", "s", {x, other}), Error);
}

TEST(Graph, OutputsAreNamed) {
  Graph g;
  ValueId x = g.add_input("x", {1, 1, 2, 2});
  ValueId r = g.add_node(OpKind::kRelu, "relu", "s", {x});
  g.mark_output("out", r);
  EXPECT_EQ(g.output("out"), r);
  try {
    g.output("missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("out"), std::string::npos);
  }
}

TEST(Grid, EndCellsAreMinusAndPlusOne) {
  EXPECT_EQ(grid_coordinate(0, 64), -1.0);
  EXPECT_EQ(grid_coordinate(63, 64), 1.0);
  EXPECT_EQ(grid_coordinate(2, 5), 0.0);
  EXPECT_EQ(grid_coordinate(0, 1), 0.0);
}

}  // namespace
}  // namespace starface::graph
