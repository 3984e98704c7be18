// The reference kernels RetinaFace adds (grouped / depthwise conv, LeakyReLU, legacy nearest
// resize) against naive definitions written here, and the ref backend running them as
// graph nodes (a conv with a fused LeakyReLU).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "backends/ref/kernels.h"
#include "backends/ref/ref_backend.h"
#include "graph/graph.h"
#include "support/fixtures.h"

namespace starface::backends::ref {
namespace {

using starface::testing::random_tensor;

float at(const Tensor& t, int64_t n, int64_t c, int64_t i, int64_t j) {
  return t.data<float>()[((n * t.dim(1) + c) * t.dim(2) + i) * t.dim(3) + j];
}

struct GroupedCase {
  int64_t n, ci, co, h, w;
  int kernel, stride, pad, groups;
};

// y[n,o,r,c] = b[o] + sum over the ci/g inputs of o's group (o / (co/g)) of w * x.
void check_grouped_against_naive(const GroupedCase& c, uint32_t seed) {
  SCOPED_TRACE("ci" + std::to_string(c.ci) + " co" + std::to_string(c.co) + " g" +
               std::to_string(c.groups) + " s" + std::to_string(c.stride) + " " +
               std::to_string(c.h) + "x" + std::to_string(c.w));
  const int64_t per_group = c.ci / c.groups;
  const Tensor x = random_tensor({c.n, c.ci, c.h, c.w}, seed);
  const Tensor w = random_tensor({c.co, per_group, c.kernel, c.kernel}, seed + 1);
  const Tensor b = random_tensor({c.co}, seed + 2);
  const Tensor y = conv2d(x, w, b, c.stride, c.pad, Tensor(), c.groups);
  const int64_t oh = (c.h + 2 * c.pad - c.kernel) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - c.kernel) / c.stride + 1;
  ASSERT_EQ(y.shape(), (Shape{c.n, c.co, oh, ow}));
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t o = 0; o < c.co; ++o) {
      const int64_t first = (o / (c.co / c.groups)) * per_group;
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t col = 0; col < ow; ++col) {
          double sum = b.data<float>()[o];
          for (int64_t i = 0; i < per_group; ++i) {
            for (int ky = 0; ky < c.kernel; ++ky) {
              for (int kx = 0; kx < c.kernel; ++kx) {
                const int64_t iy = r * c.stride - c.pad + ky;
                const int64_t ix = col * c.stride - c.pad + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                sum += static_cast<double>(at(w, o, i, ky, kx)) * at(x, n, first + i, iy, ix);
              }
            }
          }
          ASSERT_NEAR(at(y, n, o, r, col), sum, 1e-6 * std::max(1.0, std::fabs(sum)))
              << n << "," << o << "," << r << "," << col;
        }
      }
    }
  }
}

TEST(RefGroupedConv, MatchesNaive) {
  check_grouped_against_naive({2, 8, 8, 11, 9, 3, 1, 1, 8}, 1);      // depthwise
  check_grouped_against_naive({1, 16, 16, 23, 40, 3, 2, 1, 16}, 2);  // depthwise stride 2
  check_grouped_against_naive({2, 6, 9, 7, 7, 3, 1, 1, 3}, 3);       // 2 in, 3 out per group
  check_grouped_against_naive({1, 12, 4, 5, 6, 1, 1, 0, 4}, 4);      // 1x1 grouped
  check_grouped_against_naive({1, 5, 5, 9, 9, 3, 1, 1, 1}, 5);       // groups 1 unchanged
}

TEST(RefGroupedConv, RejectsGroupsThatDoNotFit) {
  const Tensor x = random_tensor({1, 6, 5, 5}, 1);
  const Tensor b = random_tensor({6}, 2);
  EXPECT_THROW(conv2d(x, random_tensor({6, 2, 3, 3}, 3), b, 1, 1, Tensor(), 4), Error);
  EXPECT_THROW(conv2d(x, random_tensor({6, 6, 3, 3}, 3), b, 1, 1, Tensor(), 6), Error);
  EXPECT_THROW(conv2d(x, random_tensor({6, 1, 3, 3}, 3), b, 1, 1, Tensor(), 0), Error);
}

TEST(RefLeakyRelu, NegativeSideScaledInFloat) {
  const Tensor x = Tensor::from_vector<float>({5}, {-2.0f, -0.3f, 0.0f, 1.5f, NAN});
  const Tensor y = leaky_relu(x, 0.1f);
  EXPECT_EQ(y.data<float>()[0], -2.0f * 0.1f);
  EXPECT_EQ(y.data<float>()[1], -0.3f * 0.1f);
  EXPECT_EQ(y.data<float>()[2], 0.0f);
  EXPECT_EQ(y.data<float>()[3], 1.5f);
  EXPECT_TRUE(std::isnan(y.data<float>()[4]));
}

// The legacy rule written out: src = min(floor(dst * (float)in / out), in - 1).
int64_t legacy_nearest(int64_t dst, int64_t in, int64_t out) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  return std::min<int64_t>(static_cast<int64_t>(floorf(static_cast<float>(dst) * scale)), in - 1);
}

TEST(RefUpsampleNearest, PicksLegacyNearestCells) {
  for (const auto& [ih, iw, oh, ow] :
       {std::array<int64_t, 4>{23, 40, 45, 80}, std::array<int64_t, 4>{5, 3, 7, 10},
        std::array<int64_t, 4>{9, 8, 4, 8}}) {
    const Tensor x = random_tensor({2, 3, ih, iw}, 9);
    const Tensor y = upsample_nearest(x, oh, ow);
    ASSERT_EQ(y.shape(), (Shape{2, 3, oh, ow}));
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t c = 0; c < 3; ++c) {
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            ASSERT_EQ(at(y, n, c, i, j),
                      at(x, n, c, legacy_nearest(i, ih, oh), legacy_nearest(j, iw, ow)))
                << ih << "x" << iw << "->" << oh << "x" << ow << " at " << i << "," << j;
          }
        }
      }
    }
  }
  EXPECT_THROW(upsample_nearest(random_tensor({1, 1, 2, 2}, 1), 0, 3), Error);
}

TEST(RefBackend, RunsGroupedConvWithLeakyReluAndResize) {
  graph::Graph g;
  const graph::ValueId x = g.add_input("x", {1, 4, 7, 9});
  graph::ConvAttrs a;
  a.kernel = 3;
  a.pad = 1;
  a.groups = 4;
  a.relu = true;
  a.slope = 0.1f;
  const Tensor w = random_tensor({4, 1, 3, 3}, 3);
  const Tensor b = random_tensor({4}, 4);
  const graph::ValueId y = g.add_node(graph::OpKind::kConv2d, "dw", "s",
                                      {x, g.add_constant("w", w), g.add_constant("b", b)}, a);
  const graph::LeakyReluAttrs leaky(0.25f);
  const graph::ValueId l = g.add_node(graph::OpKind::kLeakyRelu, "leaky", "s", {x}, leaky);
  const graph::ValueId like = g.add_constant("like", random_tensor({1, 1, 13, 5}, 5));
  const graph::ValueId up = g.add_node(graph::OpKind::kUpsampleNearest, "up", "s", {l, like});
  g.mark_output("y", y);
  g.mark_output("up", up);
  const Tensor input = random_tensor({2, 4, 7, 9}, 6);
  const TensorMap out = compile(g)->run(input, {"y", "up"});
  const Tensor want_y = leaky_relu(conv2d(input, w, b, 1, 1, Tensor(), 4), 0.1f);
  EXPECT_EQ(starface::testing::max_abs_diff(out.at("y"), want_y), 0.0);
  bool negative = false;
  for (int64_t i = 0; i < want_y.numel(); ++i) negative |= want_y.data<float>()[i] < 0.0f;
  EXPECT_TRUE(negative) << "the slope must have been exercised";
  const Tensor want_up = upsample_nearest(leaky_relu(input, 0.25f), 13, 5);
  EXPECT_EQ(starface::testing::max_abs_diff(out.at("up"), want_up), 0.0);
}

}  // namespace
}  // namespace starface::backends::ref
