// --precision int8: calibrated convs run as uint8 x int8 convolutions inside the oneDNN
// backend's programs. With inputs and weights already on their int8 grids the int8 conv
// is exact up to float32 rounding, which checks the plumbing (bias rescale, per-channel
// output scales, residual, bias map, ReLU, layouts, batches) tightly; chains whose
// intermediate maps are stored as uint8 stay within the rounding bound of those maps.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "backends/onednn/onednn_testing.h"
#include "core/error.h"

namespace starface::backends::onednn::testing {
namespace {

using Scales = std::map<std::string, float>;

const std::string& node_name(const Graph& g, ValueId v) {
  return g.nodes()[g.value(v).producer].name;
}

// Per output channel o of conv `y`'s weights: max |w[o]| / 127.
std::vector<double> weight_scales(const Graph& g, ValueId y) {
  const Tensor& w = g.value(g.nodes()[g.value(y).producer].inputs[1]).constant;
  const int64_t per = w.numel() / w.dim(0);
  std::vector<double> scales(w.dim(0), 0.0);
  for (int64_t i = 0; i < w.numel(); ++i) {
    scales[i / per] = std::max(scales[i / per], std::fabs(double{w.data<float>()[i]}) / 127.0);
  }
  return scales;
}

// Puts conv `y`'s weights on their int8 grid, sw[o] * q with q in -127..127 (the largest
// stays at 127, so the backend derives the same sw).
void snap_weights(Graph& g, ValueId y) {
  const std::vector<double> sw = weight_scales(g, y);
  Tensor& w = g.mutable_values()[g.nodes()[g.value(y).producer].inputs[1]].constant;
  const int64_t per = w.numel() / w.dim(0);
  float* data = w.data<float>();
  for (int64_t i = 0; i < w.numel(); ++i) {
    data[i] = static_cast<float>(std::nearbyint(data[i] / sw[i / per]) * sw[i / per]);
  }
}

// Random values s * k on the grid the backend quantizes a calibrated `scale` to: s =
// int8_input_scale(scale), k in 0..255 (0..127 without VNNI, where s is twice `scale`).
Tensor grid_input(const Shape& shape, float scale, uint32_t seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(0, has_vnni() ? 255 : 127);
  const float step = int8_input_scale(scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = step * level(rng);
  return t;
}

struct BothRuns {
  TensorMap got, want;
  int int8_convs = 0;
  int reorders = 0;  // activations converted on the way (quantized, or back to float32)
};

BothRuns run_both(const Graph& g, const Tensor& input, const std::vector<std::string>& outputs,
                  const Scales& scales) {
  BothRuns r;
  r.want = ref::compile(g)->run(input, outputs);
  OnednnPlan plan(g, 1, graph::ConvPrecisions::int8_at(scales));
  r.got = plan.run(input, outputs);
  r.int8_convs = plan.last_program_stats().int8_convs;
  r.reorders = plan.last_program_stats().layout_reorders;
  return r;
}

TEST(Int8Plans, OneConvOnGridValuesIsExactForEveryEpilogueAndGeometry) {
  constexpr float kInputScale = 0.01f;
  for (int64_t batch : {1, 2}) {
    for (int geometry = 0; geometry < 3; ++geometry) {
      const int kernel = geometry == 0 ? 1 : 3, stride = geometry == 2 ? 2 : 1;
      for (int epilogue = 0; epilogue < 8; ++epilogue) {
        const bool relu = epilogue & 1, bias_map = epilogue & 2;
        const bool residual = (epilogue & 4) && stride == 1;
        const std::string what = "batch " + std::to_string(batch) + " kernel " +
                                 std::to_string(kernel) + " stride " + std::to_string(stride) +
                                 " epilogue " + std::to_string(epilogue);
        Net net({1, 13, 11, 9});
        const Shape out{1, 20, stride == 1 ? 11 : 6, stride == 1 ? 9 : 5};
        const ValueId r = residual ? net.conv(net.x, 20, 1, 1, 0) : -1;  // stays float32
        const ValueId map = bias_map ? net.constant(out, -2.0f, 2.0f) : -1;
        // The ReLU (a no-op on these inputs) makes the input unsigned, so uint8.
        const ValueId in = net.op(OpKind::kRelu, {net.x});
        const ValueId y = net.conv(in, 20, kernel, stride, kernel / 2, relu, map, r);
        snap_weights(net.g, y);
        const std::string name = net.output(y);
        const BothRuns run = run_both(net.g, grid_input({batch, 13, 11, 9}, kInputScale, epilogue),
                                      {name}, {{node_name(net.g, y), kInputScale}});
        EXPECT_EQ(run.int8_convs, 1) << what;
        const Tensor& want = run.want.at(name);
        EXPECT_LE(max_abs_diff(run.got.at(name), want), 2e-5 * std::max(1.0, max_abs(want)))
            << what;
      }
    }
  }
}

// a -> b -> c, all int8: a and b are stored as uint8 at the scales b and c take them at,
// so c's error is the rounding of those two maps carried through the weights.
TEST(Int8Plans, ChainsStoreUint8MapsWithinTheirRoundingBound) {
  for (bool request_a : {false, true}) {
    Net net({1, 16, 12, 10});
    const ValueId in = net.op(OpKind::kRelu, {net.x});  // unsigned: uint8 all along
    const ValueId a = net.conv(in, 24, 1, 1, 0, true);
    const ValueId b = net.conv(a, 24, 3, 1, 1, true);
    const ValueId c = net.conv(b, 8, 1, 1, 0, false, -1, -1);
    for (ValueId v : {a, b, c}) snap_weights(net.g, v);
    const float sx = 0.02f;
    const Tensor input = grid_input({2, 16, 12, 10}, sx, 7);
    const std::string na = net.output(a), nb = net.output(b), nc = net.output(c);
    // Scales from the float32 maps, as calibration would set them.
    const TensorMap exact = ref::compile(net.g)->run(input, {na, nb});
    const double sa = max_abs(exact.at(na)) / 255, sb = max_abs(exact.at(nb)) / 255;
    const Scales scales{{node_name(net.g, a), sx},
                        {node_name(net.g, b), static_cast<float>(sa)},
                        {node_name(net.g, c), static_cast<float>(sb)}};
    std::vector<std::string> outputs{nc};
    if (request_a) outputs.push_back(na);
    const BothRuns run = run_both(net.g, input, outputs, scales);
    EXPECT_EQ(run.int8_convs, 3);
    // Only the ReLU of the input is quantized on the way; a requested a is float32 for b too.
    EXPECT_EQ(run.reorders, request_a ? 2 : 1);
    // Rounding a to sa moves b by at most gain(b) * sa / 2; b's own rounding adds sb / 2.
    const double b_error =
        weight_gain(net.g, b) * int8_input_scale(sa) / 2 + int8_input_scale(sb) / 2;
    const double bound = weight_gain(net.g, c) * b_error + 1e-4;
    const double err = max_abs_diff(run.got.at(nc), run.want.at(nc));
    EXPECT_LE(err, bound) << "request a " << request_a;
    EXPECT_GT(err, 0.0) << "the maps were rounded, so c cannot be exact";
    if (request_a) {  // a requested: kept in float32, exact
      EXPECT_LE(max_abs_diff(run.got.at(na), run.want.at(na)), 2e-5 * max_abs(run.want.at(na)));
    }
  }
}

// A map read by something other than an int8 conv stays float32, and the uncalibrated
// conv runs in float32.
TEST(Int8Plans, OtherReadersAndUncalibratedConvsKeepFloat32) {
  Net net({1, 8, 10, 10});
  const ValueId in = net.op(OpKind::kRelu, {net.x});  // unsigned: uint8
  const ValueId a = net.conv(in, 8, 1, 1, 0, true);
  const ValueId pooled = net.op(OpKind::kMaxPool2x2, {a});
  const ValueId b = net.conv(a, 8, 3, 1, 1, true);
  const ValueId c = net.conv(b, 8, 3, 1, 1);  // not calibrated
  for (ValueId v : {a, b, c}) snap_weights(net.g, v);
  const std::string np = net.output(pooled), nb = net.output(b), nc = net.output(c);
  const std::string na = net.output(a);
  const float sx = 0.01f;
  const Tensor input = grid_input({1, 8, 10, 10}, sx, 3);
  const float sa = static_cast<float>(max_abs(ref::compile(net.g)->run(input, {na}).at(na)) / 255);
  const BothRuns run =
      run_both(net.g, input, {np, nb, nc}, {{node_name(net.g, a), sx}, {node_name(net.g, b), sa}});
  EXPECT_EQ(run.int8_convs, 2);
  // x and a quantized for their convs (on AVX2, b also goes from int8 nhwc to nChw8c for c)
  EXPECT_GE(run.reorders, 2);
  // a stays float32 (the pool reads it), so the pool is exact.
  EXPECT_LE(max_abs_diff(run.got.at(np), run.want.at(np)), 2e-5 * max_abs(run.want.at(np)));
  EXPECT_LE(max_abs_diff(run.got.at(nb), run.want.at(nb)), weight_gain(net.g, b) * sa / 2 + 1e-4);
}

// A pre-activation ScaleShift + ReLU read only by int8 convs writes uint8 at their scale
// (no quantizing reorder): within half a step of its exact value, carried through the
// weights; requested, it stays float32 and exact.
TEST(Int8Plans, ScaleShiftReluForInt8ReadersIsStoredAsUint8) {
  std::map<std::pair<bool, int64_t>, int> reorders;
  for (bool request_ss : {false, true}) {
    for (int64_t channels : {16, 40}) {  // 40: padded channel blocks on AVX2
      Net net({1, channels, 12, 10});
      const ValueId a = net.conv(net.x, channels, 1, 1, 0);  // float32, signed
      graph::ScaleShiftAttrs relu;
      relu.relu = true;
      const ValueId ss =
          net.op(OpKind::kScaleShift,
                 {a, net.constant({channels}, 0.5f, 1.5f), net.constant({channels})}, relu);
      const ValueId c = net.conv(ss, 8, 3, 1, 1);
      snap_weights(net.g, c);
      const std::string nss = net.output(ss), nc = net.output(c);
      const Tensor input = starface::testing::random_tensor({2, channels, 12, 10}, 9);
      const float s =
          static_cast<float>(max_abs(ref::compile(net.g)->run(input, {nss}).at(nss)) / 255);
      std::vector<std::string> outputs{nc};
      if (request_ss) outputs.push_back(nss);
      const BothRuns run = run_both(net.g, input, outputs, {{node_name(net.g, c), s}});
      EXPECT_EQ(run.int8_convs, 1);
      reorders[{request_ss, channels}] = run.reorders;
      EXPECT_LE(max_abs_diff(run.got.at(nc), run.want.at(nc)),
                weight_gain(net.g, c) * int8_input_scale(s) / 2 + 1e-4)
          << request_ss << " " << channels;
      if (request_ss) {
        EXPECT_LE(max_abs_diff(run.got.at(nss), run.want.at(nss)),
                  2e-5 * std::max(1.0, max_abs(run.want.at(nss))));
      }
    }
  }
  // With AVX-512 both sides agree on nhwc: the uint8 map goes straight into the conv, one
  // quantizing reorder fewer than when the map must stay float32 for the caller.
  if (isa_name().find("avx512") != std::string::npos) {
    for (int64_t channels : {16, 40}) {
      const int fused = reorders[{false, channels}], kept = reorders[{true, channels}];
      EXPECT_EQ(fused + 1, kept) << channels;
    }
  }
}

TEST(Int8Plans, Int8WithoutScalesIsAClearError) {
  Net net({1, 4, 6, 6});
  net.output(net.conv(net.x, 4, 1, 1, 0));
  try {
    compile(net.g, graph::ConvPrecisions::uniform(graph::Precision::kInt8));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("--calibrate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace starface::backends::onednn::testing
