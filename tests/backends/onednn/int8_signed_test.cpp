// int8 convs whose input may be negative (the network input, a conv without ReLU, a
// residual sum): int8 x int8 at a symmetric scale, q in -128..127. On their grid they are
// exact up to float32 rounding with VNNI (without it, up to oneDNN's halved weights) (padding
// included: oneDNN's +128 shift and its compensation must leave the zero padding at zero); off the
// grid within half a quantization step per input, carried through the weights. And the graph rule
// that tells signed from unsigned.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "backends/onednn/onednn_testing.h"
#include "graph/int8.h"

namespace starface::backends::onednn::testing {
namespace {

const std::string& producer_name(const Graph& g, ValueId v) {
  return g.nodes()[g.value(v).producer].name;
}

// Conv `y`'s weights on their int8 grid (sw[o] * q, the largest |w| at 127).
void snap_weights(Graph& g, ValueId y) {
  Tensor& w = g.mutable_values()[g.nodes()[g.value(y).producer].inputs[1]].constant;
  w = graph::int8_rounded_weights(w);
}

// max over output channels of sw[o] = max |w[o]| / 127.
double max_weight_step(const Graph& g, ValueId y) {
  const Tensor& w = g.value(g.nodes()[g.value(y).producer].inputs[1]).constant;
  const std::vector<float> sw = graph::int8_weight_scales(w);
  return *std::max_element(sw.begin(), sw.end());
}

double fan_in(const Graph& g, ValueId y) {
  const Tensor& w = g.value(g.nodes()[g.value(y).producer].inputs[1]).constant;
  return static_cast<double>(w.numel() / w.dim(0));
}

// step * k, k in -127..127: the grid of a signed input at `step`.
Tensor signed_grid_input(const Shape& shape, float step, uint32_t seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(-127, 127);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = step * level(rng);
  return t;
}

struct Runs {
  TensorMap got, want;
  int int8_convs = 0;
};

Runs run_both(const Graph& g, const Tensor& input, const std::vector<std::string>& outputs,
              const std::map<std::string, float>& scales) {
  Runs r;
  r.want = ref::compile(g)->run(input, outputs);
  OnednnPlan plan(g, 1, graph::ConvPrecisions::int8_at(scales));
  r.got = plan.run(input, outputs);
  r.int8_convs = plan.last_program_stats().int8_convs;
  return r;
}

// The stem's 7x7 / stride 2 / pad 3 conv on the image among them.
TEST(Int8Signed, OnTheGridEveryGeometryIsExact) {
  constexpr float kStep = 0.01f;
  struct Geometry {
    int64_t channels;
    int kernel, stride, pad;
  };
  for (const Geometry geo : {Geometry{16, 1, 1, 0}, Geometry{13, 3, 1, 1}, Geometry{3, 7, 2, 3}}) {
    for (int epilogue = 0; epilogue < 4; ++epilogue) {
      const bool relu = epilogue & 1, bias_map = epilogue & 2;
      const std::string what =
          "kernel " + std::to_string(geo.kernel) + " epilogue " + std::to_string(epilogue);
      Net net({1, geo.channels, 14, 12});
      const int64_t oh = (14 + 2 * geo.pad - geo.kernel) / geo.stride + 1;
      const int64_t ow = (12 + 2 * geo.pad - geo.kernel) / geo.stride + 1;
      const ValueId map = bias_map ? net.constant({1, 24, oh, ow}, -2.0f, 2.0f) : -1;
      const ValueId y = net.conv(net.x, 24, geo.kernel, geo.stride, geo.pad, relu, map);
      ASSERT_TRUE(graph::int8_input_signed(net.g, net.g.nodes()[net.g.value(y).producer]));
      snap_weights(net.g, y);
      const std::string name = net.output(y);
      const Runs run =
          run_both(net.g, signed_grid_input({2, geo.channels, 14, 12}, kStep, epilogue), {name},
                   {{producer_name(net.g, y), kStep}});
      EXPECT_EQ(run.int8_convs, 1) << what;
      const Tensor& want = run.want.at(name);
      double bound = 2e-5 * std::max(1.0, max_abs(want));
      // Without VNNI oneDNN halves int8 x int8 weights (its vpmaddubsw pairs would overflow
      // int16 after the +128 shift): each weight may then move by one step sw[o].
      if (!has_vnni()) bound += max_weight_step(net.g, y) * fan_in(net.g, y) * 127 * kStep;
      EXPECT_LE(max_abs_diff(run.got.at(name), want), bound) << what;
    }
  }
}

// A signed map computed inside the network (a conv without ReLU plus a residual), off any
// grid: each input rounds by at most half a step (|x| stays inside the clip).
TEST(Int8Signed, OffTheGridWithinHalfAStepThroughTheWeights) {
  Net net({1, 12, 10, 10});
  const ValueId a = net.conv(net.x, 16, 3, 1, 1);            // float32, signed
  const ValueId b = net.conv(a, 16, 1, 1, 0, false, -1, a);  // signed residual sum
  const ValueId c = net.conv(b, 8, 3, 1, 1, true);
  snap_weights(net.g, c);
  const std::string nb = net.output(b), nc = net.output(c);
  const Tensor input = starface::testing::random_tensor({1, 12, 10, 10}, 5, -1.0f, 1.0f);
  const double clip = max_abs(ref::compile(net.g)->run(input, {nb}).at(nb));
  const float step = static_cast<float>(clip / 127);
  const Runs run = run_both(net.g, input, {nc}, {{producer_name(net.g, c), step}});
  EXPECT_EQ(run.int8_convs, 1);
  const double err = max_abs_diff(run.got.at(nc), run.want.at(nc));
  EXPECT_LE(err, weight_gain(net.g, c) * step / 2 + 1e-4);
  EXPECT_GT(err, 0.0) << "the input was rounded";
}

// A conv with a LeakyReLU (RetinaFace's) runs in int8; its output keeps negative values, so
// an int8 conv reading it takes it as a signed input and never as uint8.
TEST(Int8Signed, LeakyReluConvsRunInt8AndPassNegativeValuesOn) {
  constexpr float kStep = 0.01f;
  Net net({1, 8, 9, 9});
  graph::ConvAttrs leaky;
  leaky.kernel = 3, leaky.stride = 1, leaky.pad = 1, leaky.relu = true, leaky.slope = 0.1f;
  const ValueId y = net.op(
      OpKind::kConv2d, {net.x, net.constant({8, 8, 3, 3}, -0.2f, 0.2f), net.constant({8})}, leaky);
  const ValueId z = net.conv(y, 8, 1, 1, 0);
  snap_weights(net.g, y);
  snap_weights(net.g, z);
  ASSERT_TRUE(graph::int8_candidate(net.g, net.g.nodes()[net.g.value(y).producer]));
  ASSERT_TRUE(graph::int8_input_signed(net.g, net.g.nodes()[net.g.value(z).producer]));
  const std::string ny = net.output(y), nz = net.output(z);
  const Tensor input = signed_grid_input({1, 8, 9, 9}, kStep, 3);
  const Tensor exact_y = ref::compile(net.g)->run(input, {ny}).at(ny);
  ASSERT_LT(*std::min_element(exact_y.data<float>(), exact_y.data<float>() + exact_y.numel()),
            0.0f);
  const float step_z = static_cast<float>(max_abs(exact_y) / 127);
  const std::map<std::string, float> scales{{producer_name(net.g, y), kStep},
                                            {producer_name(net.g, z), step_z}};
  // y alone, on the grid: exact but for float32 sums (and no VNNI's halved weights).
  const Runs first = run_both(net.g, input, {ny}, scales);
  double bound = 2e-5 * std::max(1.0, max_abs(first.want.at(ny)));
  if (!has_vnni()) bound += max_weight_step(net.g, y) * fan_in(net.g, y) * 127 * kStep;
  EXPECT_LE(max_abs_diff(first.got.at(ny), first.want.at(ny)), bound);
  // z through y stored as its int8 reader wants it: y's values round by half a step.
  const Runs chain = run_both(net.g, input, {nz}, scales);
  EXPECT_EQ(chain.int8_convs, 2);
  EXPECT_LE(max_abs_diff(chain.got.at(nz), chain.want.at(nz)),
            weight_gain(net.g, z) * (step_z / 2 + bound) + 1e-4);
}

TEST(Int8Signed, TheGraphTellsWhichValuesMayBeNegative) {
  Net net({1, 8, 8, 8});
  const ValueId relu = net.op(OpKind::kRelu, {net.x});
  const ValueId conv_relu = net.conv(net.x, 8, 1, 1, 0, true);
  const ValueId conv_plain = net.conv(net.x, 8, 1, 1, 0);
  const ValueId sigmoid = net.op(OpKind::kSigmoid, {conv_plain});
  const ValueId pooled = net.op(OpKind::kMaxPool2x2, {relu});
  const ValueId up = net.op(OpKind::kUpsample2x, {pooled});
  const ValueId sum = net.op(OpKind::kAdd, {relu, conv_relu});
  const ValueId mixed_sum = net.op(OpKind::kAdd, {relu, conv_plain});
  const ValueId cat = net.op(OpKind::kConcat, {relu, sigmoid});
  const ValueId mixed_cat = net.op(OpKind::kConcat, {relu, net.x});
  for (ValueId v : {relu, conv_relu, sigmoid, pooled, up, sum, cat}) {
    EXPECT_FALSE(graph::may_be_negative(net.g, v)) << net.g.value(v).name;
  }
  for (ValueId v : {net.x, conv_plain, mixed_sum, mixed_cat}) {
    EXPECT_TRUE(graph::may_be_negative(net.g, v)) << net.g.value(v).name;
  }
  EXPECT_EQ(graph::int8_input_levels(true), 127);
  EXPECT_EQ(graph::int8_input_levels(false), 255);
}

}  // namespace
}  // namespace starface::backends::onednn::testing
