// --precision fp32-fast: 3x3 / stride 1 / pad 1 convs run as our Winograd kernel inside the
// oneDNN backend's programs, in its layouts, with every fused epilogue, against the
// reference; the other convs stay with oneDNN; fp32 never uses Winograd.
#include <gtest/gtest.h>

#include "backends/onednn/onednn_testing.h"
#include "core/error.h"

namespace starface::backends::onednn::testing {
namespace {

// Winograd's rounding grows with its transform magnitudes, not with the output
// (tests/backends/x86/winograd_test.cpp derives the per-element bound (Ci + 20) u W, W the
// transformed magnitude, up to ~100x the direct conv's for random data): for these small
// graphs of two or three chained convs that stays below 2e-4 of the output's magnitude.
constexpr double kWinogradTolerance = 2e-4;

// Every eligible conv as Winograd, whatever the timings say, for the life of the test.
class WinogradPlans : public ::testing::Test {
 protected:
  void SetUp() override { set_winograd_choice(WinogradChoice::kAlways); }
  void TearDown() override { set_winograd_choice(WinogradChoice::kMeasure); }

  // Runs the fp32-fast plan and the reference; expects `winograd_convs` Winograd convs and
  // every output within kWinogradTolerance.
  void expect_matches(const Graph& graph, const Tensor& input,
                      const std::vector<std::string>& outputs, int winograd_convs,
                      const std::string& what) {
    const TensorMap want = ref::compile(graph)->run(input, outputs);
    OnednnPlan plan(graph, 1, graph::ConvPrecisions::uniform(graph::Precision::kFp32Winograd));
    const TensorMap got = plan.run(input, outputs);
    EXPECT_EQ(plan.last_program_stats().winograd_convs, winograd_convs) << what;
    for (const std::string& name : outputs) {
      const Tensor& w = want.at(name);
      const Tensor& o = got.at(name);
      ASSERT_EQ(o.shape(), w.shape()) << what << " " << name;
      const double tol = kWinogradTolerance * std::max(1.0, max_abs(w));
      EXPECT_LE(max_abs_diff(o, w), tol) << what << " output " << name;
    }
  }
};

TEST_F(WinogradPlans, EveryEpilogueOnOddShapesAndBatches) {
  for (int64_t batch : {1, 2, 3}) {
    for (int epilogue = 0; epilogue < 8; ++epilogue) {
      const bool relu = epilogue & 1, bias_map = epilogue & 2, residual = epilogue & 4;
      Net net({1, 13, 11, 9});
      const ValueId pre = net.conv(net.x, 20, 1, 1, 0, true);  // into oneDNN's layout
      const ValueId map = bias_map ? net.constant({1, 20, 11, 9}, -2.0f, 2.0f) : -1;
      // The residual is the conv's own input, read later too: accumulates onto a copy.
      const ValueId y = net.conv(pre, 20, 3, 1, 1, relu, map, residual ? pre : -1);
      const ValueId z = net.conv(y, 7, 3, 1, 1, true);
      const std::vector<std::string> outs{net.output(y), net.output(z), net.output(pre)};
      const Tensor input = random_tensor({batch, 13, 11, 9}, 40 + epilogue);
      expect_matches(net.g, input, outs, 2,
                     "batch " + std::to_string(batch) + " epilogue " + std::to_string(epilogue));
    }
  }
}

TEST_F(WinogradPlans, ResidualInPlaceAndFromTheGraphInput) {
  Net net({1, 16, 12, 12});
  const ValueId a = net.conv(net.x, 16, 1, 1, 0, true);
  const ValueId r = net.conv(net.x, 16, 1, 1, 0);
  const ValueId y = net.conv(a, 16, 3, 1, 1, true, -1, r);       // r dies here: in place
  const ValueId z = net.conv(y, 16, 3, 1, 1, false, -1, net.x);  // the caller's input
  expect_matches(net.g, random_tensor({2, 16, 12, 12}, 5), {net.output(z)}, 2, "residuals");
}

TEST_F(WinogradPlans, OtherConvsStayWithOnednn) {
  Net net({1, 8, 10, 10});
  const ValueId a = net.conv(net.x, 8, 3, 2, 1);  // stride 2
  const ValueId b = net.conv(a, 8, 3, 1, 0);      // no padding
  const ValueId c = net.conv(b, 8, 1, 1, 0);      // 1x1
  const ValueId d = net.conv(c, 8, 3, 1, 1);      // the one Winograd conv
  expect_matches(net.g, random_tensor({1, 8, 10, 10}, 6), {net.output(d)}, 1, "mixed");
}

TEST_F(WinogradPlans, Fp32NeverUsesWinograd) {
  Net net({1, 8, 10, 10});
  const ValueId y = net.conv(net.x, 8, 3, 1, 1, true);
  const std::vector<std::string> outs{net.output(y)};
  OnednnPlan plan(net.g);
  const Tensor input = random_tensor({1, 8, 10, 10}, 8);
  const TensorMap exact = plan.run(input, outs);
  EXPECT_EQ(plan.last_program_stats().winograd_convs, 0);
  // compile() with the default precision is the same exact program, bit for bit.
  const TensorMap again = compile(net.g, graph::ConvPrecisions{})->run(input, outs);
  EXPECT_EQ(max_abs_diff(exact.at(outs[0]), again.at(outs[0])), 0.0);
}

TEST_F(WinogradPlans, ProfileNamesTheWinogradConvs) {
  Net net({1, 8, 10, 10});
  const ValueId y = net.conv(net.x, 8, 3, 1, 1, true);
  const std::vector<std::string> outs{net.output(y)};
  const auto plan = compile(net.g, graph::ConvPrecisions::uniform(graph::Precision::kFp32Winograd));
  plan->set_profiling(true);
  plan->run(random_tensor({1, 8, 10, 10}, 9), outs);
  bool found = false;
  for (const graph::NodeTime& t : plan->last_profile()) found |= t.op == "Conv2d(winograd)+Relu";
  EXPECT_TRUE(found);
}

// kMeasure keeps whichever is faster; either way the result must be right.
TEST(WinogradMeasured, TimedChoiceStillMatchesReference) {
  Net net({1, 32, 24, 24});
  const ValueId a = net.conv(net.x, 32, 1, 1, 0, true);
  const ValueId y = net.conv(a, 32, 3, 1, 1, true);
  const std::vector<std::string> outs{net.output(y)};
  const Tensor input = random_tensor({1, 32, 24, 24}, 10);
  const TensorMap want = ref::compile(net.g)->run(input, outs);
  const TensorMap got =
      compile(net.g, graph::ConvPrecisions::uniform(graph::Precision::kFp32Winograd))
          ->run(input, outs);
  EXPECT_LE(max_abs_diff(got.at(outs[0]), want.at(outs[0])),
            kWinogradTolerance * std::max(1.0, max_abs(want.at(outs[0]))));
}

}  // namespace
}  // namespace starface::backends::onednn::testing
