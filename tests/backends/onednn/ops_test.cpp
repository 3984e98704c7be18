// Every other op against the reference, on the dense input and on the layout oneDNN's
// convolutions leave, at batch 1 and 3; plus graphs whose values are both requested and
// read later, and outputs that are the input or a constant.
#include <gtest/gtest.h>

#include <functional>

#include "backends/onednn/onednn_testing.h"

namespace starface::backends::onednn::testing {
namespace {

// Builds the op under test on `in` (the dense input or a conv's output) and returns it.
using OpBuilder = std::function<ValueId(Net&, ValueId in)>;

struct OpCase {
  const char* name;
  Shape input;  // batch 1
  OpBuilder build;
};

ValueId batch_norm(Net& n, ValueId in) {
  const int64_t c = n.shape(in)[1];
  return n.op(OpKind::kBatchNorm, {in, n.constant({c}, 0.5f, 1.5f), n.constant({c}),
                                   n.constant({c}, -1.0f, 1.0f), n.constant({c}, 0.2f, 2.0f)});
}

ValueId scale_shift(Net& n, ValueId in, bool relu) {
  const int64_t c = n.shape(in)[1];
  graph::ScaleShiftAttrs a;
  a.relu = relu;
  return n.op(OpKind::kScaleShift, {in, n.constant({c}, -2.0f, 2.0f), n.constant({c})}, a);
}

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = {
      {"BatchNorm", {1, 20, 9, 7}, batch_norm},
      {"ScaleShift", {1, 20, 9, 7}, [](Net& n, ValueId in) { return scale_shift(n, in, false); }},
      {"ScaleShiftRelu",
       {1, 33, 8, 8},
       [](Net& n, ValueId in) { return scale_shift(n, in, true); }},
      {"Relu", {1, 17, 6, 10}, [](Net& n, ValueId in) { return n.op(OpKind::kRelu, {in}); }},
      {"Sigmoid", {1, 98, 8, 8}, [](Net& n, ValueId in) { return n.op(OpKind::kSigmoid, {in}); }},
      {"Add",
       {1, 24, 8, 8},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kAdd, {in, n.op(OpKind::kRelu, {in})});
       }},
      {"Mul",
       {1, 9, 12, 12},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kMul, {n.op(OpKind::kSigmoid, {in}), in});
       }},
      {"MaxPoolEven",
       {1, 32, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kMaxPool2x2, {in}); }},
      {"MaxPoolOdd",
       {1, 5, 15, 13},
       [](Net& n, ValueId in) { return n.op(OpKind::kMaxPool2x2, {in}); }},
      {"Upsample",
       {1, 19, 5, 7},
       [](Net& n, ValueId in) { return n.op(OpKind::kUpsample2x, {in}); }},
      {"ConcatWithBroadcastConstant",
       {1, 16, 8, 8},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat, {in, n.constant({1, 3, 8, 8}), n.op(OpKind::kRelu, {in})});
       }},
      {"ConcatUnaligned",
       {1, 13, 6, 6},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat, {n.constant({1, 2, 6, 6}), in, n.op(OpKind::kSigmoid, {in})});
       }},
      {"BoundaryPlanes",
       {1, 9, 16, 16},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kBoundaryPlanes, {in}, graph::BoundaryAttrs(0.05f));
       }},
      {"BoundaryPlanesConcat",
       {1, 20, 16, 16},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kConcat,
                     {in, n.op(OpKind::kBoundaryPlanes, {in}, graph::BoundaryAttrs(0.05f))});
       }},
      {"InstanceNorm",
       {1, 98, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kInstanceNorm, {in}); }},
      {"InstanceNormOddChannels",
       {1, 5, 7, 9},
       [](Net& n, ValueId in) { return n.op(OpKind::kInstanceNorm, {in}); }},
      {"SoftArgmax",
       {1, 98, 16, 16},
       [](Net& n, ValueId in) { return n.op(OpKind::kSoftArgmax, {n.op(OpKind::kRelu, {in})}); }},
      {"SoftArgmaxSmall",
       {1, 3, 5, 4},
       [](Net& n, ValueId in) {
         return n.op(OpKind::kSoftArgmax, {n.op(OpKind::kSigmoid, {in})});
       }},
  };
  return cases;
}

class Ops : public ::testing::TestWithParam<std::tuple<int, bool, int64_t>> {};

TEST_P(Ops, MatchReference) {
  const auto& [index, after_conv, batch] = GetParam();
  const OpCase& c = op_cases()[index];
  Net net(c.input);
  // A conv first puts the activation in oneDNN's layout (nhwc, nChw8c or nChw16c).
  const ValueId in = after_conv ? net.conv(net.x, c.input[1], 1, 1, 0) : net.x;
  const ValueId y = c.build(net, in);
  const std::vector<std::string> outs{net.output(y)};
  Shape shape = c.input;
  shape[0] = batch;
  // Values spread over [-1, 1.2] put boundary guides on both sides of the threshold.
  const Tensor input = random_tensor(shape, 5, -1.0f, 1.2f);
  expect_matches_reference(net.g, input, outs, c.name);
}

INSTANTIATE_TEST_SUITE_P(All, Ops,
                         ::testing::Combine(::testing::Range(0,
                                                             static_cast<int>(op_cases().size())),
                                            ::testing::Bool(), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return std::string(op_cases()[std::get<0>(info.param)].name) +
                                  (std::get<1>(info.param) ? "_AfterConv" : "_OnInput") + "_batch" +
                                  std::to_string(std::get<2>(info.param));
                         });

// A requested value that later ops overwrite in place must come back as it was computed.
TEST(OnednnOutputs, RequestedValueReadLaterIsKept) {
  Net net({1, 16, 8, 8});
  const ValueId a = net.conv(net.x, 16, 3, 1, 1);
  const ValueId b = net.op(OpKind::kRelu, {a});              // in place over a
  const ValueId c = net.conv(b, 16, 1, 1, 0, false, -1, b);  // residual in place over b
  const ValueId d = net.op(OpKind::kSigmoid, {c});
  const std::vector<std::string> outs{net.output(a), net.output(b), net.output(c), net.output(d)};
  for (int64_t batch : {1, 3}) {
    expect_matches_reference(net.g, random_tensor({batch, 16, 8, 8}, 3), outs);
  }
}

// Add(x, Upsample2x(y)) runs as one resampling accumulating onto x when the upsampled map
// has no other use; every variant must still match.
TEST(OnednnOutputs, UpsampleAddFusionVariants) {
  for (int variant = 0; variant < 5; ++variant) {
    Net net({1, 12, 8, 8});
    const ValueId x = net.conv(net.x, 12, 3, 1, 1, true);
    const ValueId low = net.conv(net.op(OpKind::kMaxPool2x2, {x}), 12, 1, 1, 0);
    const ValueId up = net.op(OpKind::kUpsample2x, {low});
    // 0: fused in place; 1: upsample first; 2: x read later (fused onto a copy);
    // 3: upsampled map requested (not fused); 4: upsampled map read twice (not fused).
    const ValueId sum =
        variant == 1 ? net.op(OpKind::kAdd, {up, x}) : net.op(OpKind::kAdd, {x, up});
    std::vector<std::string> outs{net.output(sum)};
    if (variant == 2) outs.push_back(net.output(net.op(OpKind::kMul, {x, sum})));
    if (variant == 3) outs.push_back(net.output(up));
    if (variant == 4) outs.push_back(net.output(net.op(OpKind::kRelu, {up})));
    for (int64_t batch : {1, 3}) {
      expect_matches_reference(net.g, random_tensor({batch, 12, 8, 8}, 31), outs,
                               "variant " + std::to_string(variant));
    }
  }
}

TEST(OnednnOutputs, InputConstantsAndValueNames) {
  Net net({1, 4, 6, 6});
  const ValueId w = net.constant({3, 4, 1, 1});
  ConvAttrs a;
  const ValueId y =
      net.g.add_node(OpKind::kConv2d, "the_conv", "stage", {net.x, w, net.constant({3})}, a);
  net.op(OpKind::kRelu, {y});
  const Tensor input = random_tensor({2, 4, 6, 6}, 9);
  const TensorMap got = compile(net.g)->run(input, {"input", "the_conv", net.g.value(w).name});
  EXPECT_EQ(max_abs_diff(got.at("input"), input), 0.0);
  EXPECT_EQ(max_abs_diff(got.at(net.g.value(w).name), net.g.value(w).constant), 0.0);
  const TensorMap want = ref::compile(net.g)->run(input, {"the_conv"});
  EXPECT_LE(max_abs_diff(got.at("the_conv"), want.at("the_conv")), 1e-5);
}

// STAR's pre-activation bottleneck, raw (BatchNorm, ReLU, Add) and as the passes fuse it
// (ScaleShift+ReLU, convs with folded BN, ReLU and the residual).
Net res_block(int64_t channels, int64_t height) {
  Net net({1, channels, height, height});
  auto bn_relu = [&](ValueId v) { return net.op(OpKind::kRelu, {batch_norm(net, v)}); };
  ValueId t = net.conv(bn_relu(net.x), channels / 2, 1, 1, 0);
  t = net.conv(bn_relu(t), channels / 2, 3, 1, 1);
  t = net.conv(bn_relu(t), channels, 1, 1, 0);
  net.output(net.op(OpKind::kAdd, {t, net.x}));
  return net;
}

TEST(OnednnSubgraphs, ResBlock) {
  Net net = res_block(32, 16);
  for (int64_t batch : {1, 3}) {
    expect_matches_reference(net.g, random_tensor({batch, 32, 16, 16}, 21), {"out0"});
  }
}

TEST(OnednnSubgraphs, FusedResBlock) {
  // What the passes make of a ResBlock: ScaleShift+ReLU, then convs carrying ReLU and the
  // residual.
  Net net({1, 32, 16, 16});
  ValueId t = scale_shift(net, net.x, true);
  t = net.conv(t, 16, 1, 1, 0, true);
  t = net.conv(t, 16, 3, 1, 1, true);
  t = net.conv(t, 32, 1, 1, 0, false, -1, net.x);
  net.output(t);
  for (int64_t batch : {1, 3}) {
    expect_matches_reference(net.g, random_tensor({batch, 32, 16, 16}, 22), {"out0"});
  }
}

TEST(OnednnSubgraphs, HourglassLevel) {
  // up1 + upsample(low(maxpool(x))), with the hourglass's own residual adds.
  Net net({1, 24, 16, 16});
  const ValueId up1 = net.conv(net.x, 24, 3, 1, 1, true, -1, net.x);
  ValueId low = net.op(OpKind::kMaxPool2x2, {net.x});
  low = net.conv(low, 24, 3, 1, 1, true, -1, low);
  low = net.op(OpKind::kMaxPool2x2, {low});
  low = net.conv(low, 24, 1, 1, 0, true);
  low = net.op(OpKind::kUpsample2x, {low});
  low = net.conv(low, 24, 3, 1, 1);
  const ValueId y = net.op(OpKind::kAdd, {up1, net.op(OpKind::kUpsample2x, {low})});
  const std::vector<std::string> outs{net.output(y), net.output(up1)};
  for (int64_t batch : {1, 3}) {
    expect_matches_reference(net.g, random_tensor({batch, 24, 16, 16}, 23), outs);
  }
}

}  // namespace
}  // namespace starface::backends::onednn::testing
