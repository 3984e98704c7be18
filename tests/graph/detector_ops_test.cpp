// The IR pieces RetinaFace needs: grouped convs, LeakyReLU and the legacy nearest resize.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/graph.h"

namespace starface::graph {
namespace {

ValueId constant(Graph& g, const std::string& name, Shape shape) {
  return g.add_constant(name, Tensor(DType::kFloat32, std::move(shape)));
}

ConvAttrs conv_attrs(int kernel, int stride, int groups) {
  ConvAttrs a;
  a.kernel = kernel;
  a.stride = stride;
  a.pad = kernel / 2;
  a.groups = groups;
  return a;
}

TEST(DetectorOps, GroupedConvShapes) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 8, 23, 40});
  // Depthwise 3x3 stride 2: ceil(n / 2) on each axis.
  const ValueId dw =
      g.add_node(OpKind::kConv2d, "dw", "s",
                 {x, constant(g, "w", {8, 1, 3, 3}), constant(g, "b", {8})}, conv_attrs(3, 2, 8));
  EXPECT_EQ(g.value(dw).shape, (Shape{1, 8, 12, 20}));
  const ValueId grouped =
      g.add_node(OpKind::kConv2d, "g2", "s",
                 {x, constant(g, "w2", {6, 4, 1, 1}), constant(g, "b2", {6})}, conv_attrs(1, 1, 2));
  EXPECT_EQ(g.value(grouped).shape, (Shape{1, 6, 23, 40}));
}

TEST(DetectorOps, GroupedConvMismatchesNameTheNode) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 8, 8, 8});
  auto add = [&](Shape w, int groups) {
    g.add_node(OpKind::kConv2d, "bad_conv", "s", {x, constant(g, "w", w), constant(g, "b", {w[0]})},
               conv_attrs(3, 1, groups));
  };
  for (const auto& [w, groups] : {std::pair<Shape, int>{{8, 8, 3, 3}, 8},  // dense weight
                                  std::pair<Shape, int>{{8, 1, 3, 3}, 3},  // 3 does not divide 8
                                  std::pair<Shape, int>{{6, 2, 3, 3}, 4},  // 6 outputs, 4 groups
                                  std::pair<Shape, int>{{8, 1, 3, 3}, 0}}) {
    try {
      add(w, groups);
      ADD_FAILURE() << "accepted weight " << shape_str(w) << " with " << groups << " groups";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
      EXPECT_NE(std::string(e.what()).find("bad_conv"), std::string::npos) << e.what();
    }
  }
}

TEST(DetectorOps, UpsampleNearestTakesTheReferenceSize) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 64, 23, 40});
  const ValueId like = constant(g, "like", {1, 64, 45, 80});
  const ValueId up = g.add_node(OpKind::kUpsampleNearest, "up", "s", {x, like});
  EXPECT_EQ(g.value(up).shape, (Shape{1, 64, 45, 80}));
  EXPECT_THROW(g.add_node(OpKind::kUpsampleNearest, "up1", "s", {x}), Error);
  const LeakyReluAttrs leaky(0.1f);
  const ValueId l = g.add_node(OpKind::kLeakyRelu, "leaky", "s", {up}, leaky);
  EXPECT_EQ(g.value(l).shape, g.value(up).shape);
  check_well_formed(g, "test");
  EXPECT_STREQ(op_name(OpKind::kLeakyRelu), "LeakyRelu");
  EXPECT_STREQ(op_name(OpKind::kUpsampleNearest), "UpsampleNearest");
}

TEST(DetectorOps, FusedLeakyActivationIsNamed) {
  ConvAttrs a;
  a.relu = true;
  Node n{OpKind::kConv2d, "c", "s", {}, -1, a};
  EXPECT_EQ(node_kind(n), "Conv2d+Relu");
  a.slope = 0.1f;
  n.attrs = a;
  EXPECT_EQ(node_kind(n), "Conv2d+LeakyRelu");
}

// PyTorch's nearest_idx, written out independently: identity, exact halving for 2x, else
// floorf(dst * (float)in / out) clamped to in - 1.
int64_t torch_nearest(int64_t dst, int64_t in, int64_t out) {
  if (in == out) return dst;
  if (out == 2 * in) return dst >> 1;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const int64_t src = static_cast<int64_t>(floorf(static_cast<float>(dst) * scale));
  return src < in - 1 ? src : in - 1;
}

TEST(DetectorOps, NearestSourceIndexIsPytorchLegacyNearest) {
  // 23 -> 45 (720p's 1/32 -> 1/16 level) happens to equal dst / 2; 5 -> 7 does not, and
  // there rounding the centre (oneDNN's nearest) would pick cell 1 for output 1.
  for (int64_t d = 0; d < 45; ++d) EXPECT_EQ(nearest_source_index(d, 23, 45), d / 2) << d;
  const int64_t want[7] = {0, 0, 1, 2, 2, 3, 4};
  for (int64_t d = 0; d < 7; ++d) EXPECT_EQ(nearest_source_index(d, 5, 7), want[d]) << d;
  for (int64_t in = 1; in <= 40; ++in) {
    for (int64_t out : {in, 2 * in, 2 * in - 1, in + 1, (in + 1) / 2, 3 * in + 2}) {
      for (int64_t d = 0; d < out; ++d) {
        const int64_t s = nearest_source_index(d, in, out);
        ASSERT_EQ(s, torch_nearest(d, in, out)) << in << "->" << out << " at " << d;
        ASSERT_GE(s, 0);
        ASSERT_LT(s, in);
      }
    }
  }
}

}  // namespace
}  // namespace starface::graph
