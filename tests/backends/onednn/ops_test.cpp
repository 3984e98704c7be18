// Graphs whose values are both requested and read later, outputs that are the input or a
// constant, and STAR's blocks raw and fused. Each op alone, on the dense input and on the
// layout oneDNN's convolutions leave, is in the op table every backend runs
// (tests/backends/backend_ops_test.cpp).
#include <gtest/gtest.h>

#include "backends/onednn/onednn_testing.h"

namespace starface::backends::onednn::testing {
namespace {

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
