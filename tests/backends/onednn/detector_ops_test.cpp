// What RetinaFace adds, against the reference: grouped and depthwise convs (strides 1 and
// 2, odd sizes, fused LeakyReLU, residual), standalone LeakyReLU, the legacy nearest resize
// to another value's size (23 -> 45 and sizes where it is not dst / 2, shrinking), and the
// FPN's lateral + resize add, on the dense input and on the layouts convs leave.
#include <gtest/gtest.h>

#include "backends/onednn/onednn_testing.h"

namespace starface::backends::onednn::testing {
namespace {

ValueId grouped_conv(Net& net, ValueId in, int64_t out_channels, int kernel, int stride, int groups,
                     bool leaky, ValueId residual = -1) {
  const int64_t per_group = net.shape(in)[1] / groups;
  const float bound = 1.5f / std::sqrt(static_cast<float>(per_group * kernel * kernel));
  ConvAttrs a;
  a.kernel = kernel;
  a.stride = stride;
  a.pad = kernel / 2;
  a.groups = groups;
  a.relu = leaky;
  a.slope = leaky ? 0.1f : 0.0f;
  std::vector<ValueId> inputs{
      in, net.constant({out_channels, per_group, kernel, kernel}, -bound, bound),
      net.constant({out_channels})};
  if (residual >= 0) {
    a.residual = true;
    inputs.push_back(residual);
  }
  return net.op(OpKind::kConv2d, inputs, a);
}

struct GroupedShape {
  int64_t channels, out_channels;
  int kernel, stride, groups;
  int64_t height, width;
};

class GroupedConvs : public ::testing::TestWithParam<int64_t> {};

TEST_P(GroupedConvs, MatchReference) {
  const int64_t batch = GetParam();
  const GroupedShape shapes[] = {
      {8, 8, 3, 1, 8, 23, 40},     {16, 16, 3, 2, 16, 45, 80}, {64, 64, 3, 2, 64, 23, 41},
      {256, 256, 3, 1, 256, 7, 7}, {12, 18, 3, 1, 6, 9, 11},   {12, 8, 1, 1, 4, 10, 10},
      {24, 24, 3, 2, 3, 13, 17},
  };
  for (const GroupedShape& s : shapes) {
    for (bool leaky : {false, true}) {
      SCOPED_TRACE(std::to_string(s.channels) + "->" + std::to_string(s.out_channels) + " g" +
                   std::to_string(s.groups) + " s" + std::to_string(s.stride) + " " +
                   std::to_string(s.height) + "x" + std::to_string(s.width) +
                   (leaky ? " leaky" : ""));
      Net net({1, s.channels, s.height, s.width});
      const ValueId direct =
          grouped_conv(net, net.x, s.out_channels, s.kernel, s.stride, s.groups, leaky);
      // After a dense conv, so the grouped conv reads oneDNN's own layout, then a pointwise
      // conv as in MobileNet's depthwise-separable blocks.
      const ValueId mid = net.conv(net.x, s.channels, 1, 1, 0);
      ValueId chain = grouped_conv(net, mid, s.out_channels, s.kernel, s.stride, s.groups, leaky);
      chain = net.conv(chain, 16, 1, 1, 0);
      const std::vector<std::string> outs{net.output(direct), net.output(chain)};
      const Tensor input = random_tensor({batch, s.channels, s.height, s.width}, 3);
      expect_matches_reference(net.g, input, outs);
    }
  }
}

TEST_P(GroupedConvs, WithResidualAndLeakyRelu) {
  const int64_t batch = GetParam();
  Net net({1, 16, 11, 13});
  const ValueId pre = net.conv(net.x, 16, 1, 1, 0, true);
  const ValueId y = grouped_conv(net, pre, 16, 3, 1, 16, true, net.conv(pre, 16, 1, 1, 0));
  const Tensor input = random_tensor({batch, 16, 11, 13}, 4);
  expect_matches_reference(net.g, input, {net.output(y)});
}

INSTANTIATE_TEST_SUITE_P(Batch, GroupedConvs, ::testing::Values(1, 3));

ValueId leaky_relu(Net& net, ValueId in, float slope) {
  const graph::LeakyReluAttrs a(slope);
  return net.op(OpKind::kLeakyRelu, {in}, a);
}

struct ResizeCase {
  const char* name;
  Shape input;
  int64_t out_h, out_w;
};

const ResizeCase kResizes[] = {
    {"23x40_to_45x80", {1, 64, 23, 40}, 45, 80}, {"5x7_to_7x10", {1, 19, 5, 7}, 7, 10},
    {"7x7_to_14x14", {1, 64, 7, 7}, 14, 14},     {"9x8_to_4x3", {1, 10, 9, 8}, 4, 3},
    {"1x1_to_3x2", {1, 8, 1, 1}, 3, 2},
};

class Resizes : public ::testing::TestWithParam<std::tuple<int, bool, int64_t>> {};

TEST_P(Resizes, MatchReference) {
  const auto& [index, after_conv, batch] = GetParam();
  const ResizeCase& c = kResizes[index];
  Net net(c.input);
  const ValueId in = after_conv ? net.conv(net.x, c.input[1], 1, 1, 0) : net.x;
  const ValueId like = net.constant({1, 1, c.out_h, c.out_w});
  const ValueId up = net.op(OpKind::kUpsampleNearest, {in, like});
  const ValueId leaky = leaky_relu(net, up, 0.1f);
  Shape shape = c.input;
  shape[0] = batch;
  expect_matches_reference(net.g, random_tensor(shape, 6), {net.output(up), net.output(leaky)},
                           c.name);
}

INSTANTIATE_TEST_SUITE_P(All, Resizes,
                         ::testing::Combine(::testing::Range(0,
                                                             static_cast<int>(std::size(kResizes))),
                                            ::testing::Bool(), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return std::string(kResizes[std::get<0>(info.param)].name) +
                                  (std::get<1>(info.param) ? "_AfterConv" : "_OnInput") + "_batch" +
                                  std::to_string(std::get<2>(info.param));
                         });

// The FPN step: lateral 1x1 conv + LeakyReLU, plus the coarser map resized to it, then the
// 3x3 merge conv with LeakyReLU; and SSH's concat of three branches and ReLU.
TEST(DetectorSubgraphs, FpnMergeAndContextModule) {
  for (int64_t batch : {1, 2}) {
    Net net({1, 16, 45, 80});
    const ValueId coarse = grouped_conv(net, net.x, 16, 3, 2, 16, true);  // 23x40
    ValueId lateral = net.conv(net.x, 16, 1, 1, 0);
    lateral = leaky_relu(net, lateral, 0.1f);
    const ValueId sum =
        net.op(OpKind::kAdd, {lateral, net.op(OpKind::kUpsampleNearest, {coarse, lateral})});
    const ValueId merged = leaky_relu(net, net.conv(sum, 16, 3, 1, 1), 0.1f);
    const ValueId a = net.conv(merged, 8, 3, 1, 1);
    const ValueId t = leaky_relu(net, net.conv(merged, 4, 3, 1, 1), 0.1f);
    const ValueId b = net.conv(t, 4, 3, 1, 1);
    const ValueId ssh = net.op(OpKind::kRelu, {net.op(OpKind::kConcat, {a, b, t})});
    expect_matches_reference(net.g, random_tensor({batch, 16, 45, 80}, 8),
                             {net.output(merged), net.output(ssh)});
  }
}

}  // namespace
}  // namespace starface::backends::onednn::testing
