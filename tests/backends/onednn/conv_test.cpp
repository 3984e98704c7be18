// Convolutions against the reference: kernel sizes 1/3/7, strides 1/2, padding, channel
// counts that are not multiples of the SIMD width, each fused epilogue (ReLU, residual in
// place and copied, bias map) and their combinations, at batch 1 and 3.
#include <gtest/gtest.h>

#include "backends/onednn/onednn_testing.h"

namespace starface::backends::onednn::testing {
namespace {

struct ConvShape {
  int64_t in_channels, out_channels;
  int kernel, stride, pad;
  int64_t height, width;
};

std::string describe(const ConvShape& s) {
  return std::to_string(s.in_channels) + "->" + std::to_string(s.out_channels) + " k" +
         std::to_string(s.kernel) + " s" + std::to_string(s.stride) + " p" + std::to_string(s.pad) +
         " " + std::to_string(s.height) + "x" + std::to_string(s.width);
}

const ConvShape kShapes[] = {
    {3, 5, 1, 1, 0, 9, 7},     {16, 32, 1, 1, 0, 8, 8},   {98, 9, 1, 1, 0, 16, 16},
    {9, 98, 1, 1, 0, 16, 16},  {5, 7, 3, 1, 1, 11, 13},   {32, 16, 3, 1, 1, 16, 16},
    {3, 64, 7, 2, 3, 37, 41},  {6, 16, 7, 2, 3, 32, 32},  {8, 24, 3, 2, 1, 15, 17},
    {20, 12, 3, 1, 0, 10, 10}, {64, 64, 1, 2, 0, 12, 12}, {261, 256, 1, 1, 0, 8, 8},
};

class ConvShapes : public ::testing::TestWithParam<int64_t> {};

// Straight from the dense input, and after a conv that leaves oneDNN's own layout.
TEST_P(ConvShapes, MatchReferenceOnDenseAndConvLayouts) {
  const int64_t batch = GetParam();
  for (const ConvShape& s : kShapes) {
    Net net({1, s.in_channels, s.height, s.width});
    const ValueId first = net.conv(net.x, s.out_channels, s.kernel, s.stride, s.pad);
    const ValueId mid = net.conv(net.x, s.in_channels, 1, 1, 0);
    const ValueId second = net.conv(mid, s.out_channels, s.kernel, s.stride, s.pad);
    const std::vector<std::string> outs{net.output(first), net.output(second)};
    const Tensor input = random_tensor({batch, s.in_channels, s.height, s.width}, 7);
    expect_matches_reference(net.g, input, outs, describe(s));
  }
}

INSTANTIATE_TEST_SUITE_P(Batch, ConvShapes, ::testing::Values(1, 3));

enum class Residual { kNone, kInPlace, kCopied, kGraphInput };

struct Fusion {
  const char* name;
  bool relu;
  bool bias_map;
  Residual residual;
};

const Fusion kFusions[] = {
    {"relu", true, false, Residual::kNone},
    {"residual_in_place", false, false, Residual::kInPlace},
    {"residual_in_place_relu", true, false, Residual::kInPlace},
    {"residual_copied", false, false, Residual::kCopied},
    {"residual_copied_relu", true, false, Residual::kCopied},
    {"residual_graph_input", true, false, Residual::kGraphInput},
    {"bias_map", false, true, Residual::kNone},
    {"bias_map_relu", true, true, Residual::kNone},
    {"bias_map_residual_relu", true, true, Residual::kInPlace},
    {"bias_map_residual_copied", false, true, Residual::kCopied},
};

class ConvFusions : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(ConvFusions, MatchReference) {
  const Fusion& f = kFusions[std::get<0>(GetParam())];
  const int64_t batch = std::get<1>(GetParam());
  // Same width in and out so the graph input can be a residual; 7x7 s2 like STAR's stem
  // and 1x1 like its CoordConvs.
  for (const ConvShape& s : {ConvShape{12, 12, 3, 1, 1, 13, 11}, ConvShape{5, 5, 1, 1, 0, 16, 16},
                             ConvShape{3, 3, 7, 2, 3, 20, 20}}) {
    if (f.residual == Residual::kGraphInput && s.stride != 1) continue;
    Net net({1, s.in_channels, s.height, s.width});
    const ValueId pre = net.conv(net.x, s.in_channels, 1, 1, 0, true);
    const int64_t oh = (s.height + 2 * s.pad - s.kernel) / s.stride + 1;
    const int64_t ow = (s.width + 2 * s.pad - s.kernel) / s.stride + 1;
    const ValueId map = f.bias_map ? net.constant({1, s.out_channels, oh, ow}, -2.0f, 2.0f) : -1;
    ValueId residual = -1;
    if (f.residual == Residual::kGraphInput) {
      residual = net.x;
    } else if (f.residual != Residual::kNone) {
      residual = net.conv(pre, s.out_channels, s.kernel, s.stride, s.pad);
    }
    const ValueId y =
        net.conv(pre, s.out_channels, s.kernel, s.stride, s.pad, f.relu, map, residual);
    std::vector<std::string> outs{net.output(y)};
    // A later reader keeps the residual alive, so the conv must accumulate onto a copy.
    if (f.residual == Residual::kCopied)
      outs.push_back(net.output(net.op(OpKind::kMul, {residual, y})));
    const Tensor input = random_tensor({batch, s.in_channels, s.height, s.width}, 11);
    expect_matches_reference(net.g, input, outs, std::string(f.name) + " " + describe(s));
  }
}

INSTANTIATE_TEST_SUITE_P(All, ConvFusions,
                         ::testing::Combine(::testing::Range(0,
                                                             static_cast<int>(std::size(kFusions))),
                                            ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return std::string(kFusions[std::get<0>(info.param)].name) + "_batch" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace starface::backends::onednn::testing
