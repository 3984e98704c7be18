// Precision per conv against a drift budget on a small landmark graph: malformed budgets are
// refused, the held-out crops never set a scale, a budget all-int8 meets stops at once, a
// tight one is met (drift measured here, by hand, on the chosen assignment), a zero budget
// ends in exact fp32, and the search gives the same answer twice.
#include "eval/precision_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "backends/onednn/onednn_backend.h"
#include "engine/calibrate.h"
#include "import/expect_error.h"
#include "support/fixtures.h"

namespace starface::eval {
namespace {

using graph::Graph;
using graph::OpKind;
using graph::Precision;
using graph::ValueId;
using testing::random_tensor;
using testing::throws_error;

// input [1, 3, 16, 16] -> "a" (3x3, ReLU) -> "b" (3x3, ReLU) -> "c" (1x1, 4 maps)
// -> soft-argmax "landmarks": three convs of different cost for the search to rank.
Graph three_conv_landmarker() {
  Graph g;
  const ValueId x = g.add_input("input", {1, 3, 16, 16});
  graph::ConvAttrs k3;
  k3.kernel = 3;
  k3.pad = 1;
  k3.relu = true;
  const ValueId a = g.add_node(OpKind::kConv2d, "a", "s",
                               {x, g.add_constant("wa", random_tensor({8, 3, 3, 3}, 31)),
                                g.add_constant("ba", random_tensor({8}, 32))},
                               k3);
  const ValueId b = g.add_node(OpKind::kConv2d, "b", "s",
                               {a, g.add_constant("wb", random_tensor({8, 8, 3, 3}, 33)),
                                g.add_constant("bb", random_tensor({8}, 34))},
                               k3);
  graph::ConvAttrs positive;  // soft-argmax divides by the map's sum: keep the maps positive
  positive.relu = true;
  const ValueId c = g.add_node(OpKind::kConv2d, "c", "s",
                               {b, g.add_constant("wc", random_tensor({4, 8, 1, 1}, 35, -3, 3)),
                                g.add_constant("bc", random_tensor({4}, 36, 1, 2))},
                               positive);
  g.mark_output("landmarks", g.add_node(OpKind::kSoftArgmax, "points", "s", {c}));
  return g;
}

std::vector<Tensor> crops(uint32_t first_seed, int count) {
  std::vector<Tensor> out;
  for (int i = 0; i < count; ++i) out.push_back(random_tensor({1, 3, 16, 16}, first_seed + i));
  return out;
}

// The mean and largest landmark displacement (crop px) of `precisions` against exact fp32,
// computed here from the plans' outputs, apart from the search's own measure.
std::pair<double, double> drift_by_hand(const Graph& g, const graph::Int8Calibration& stored,
                                        const graph::ConvPrecisions& precisions,
                                        const std::vector<Tensor>& inputs) {
  Graph corrected = g;
  graph::apply_bias_corrections(corrected, stored);
  backends::onednn::OnednnPlan exact(g), reduced(corrected, 1, precisions);
  double sum = 0, largest = 0;
  int points = 0;
  for (const Tensor& in : inputs) {
    const Tensor e = exact.run(in, {"landmarks"}).at("landmarks").contiguous();
    const Tensor r = reduced.run(in, {"landmarks"}).at("landmarks").contiguous();
    for (int64_t p = 0; p < e.numel() / 2; ++p, ++points) {
      const double d = 128.0 * std::hypot(r.data<float>()[2 * p] - e.data<float>()[2 * p],
                                          r.data<float>()[2 * p + 1] - e.data<float>()[2 * p + 1]);
      sum += d;
      largest = std::max(largest, d);
    }
  }
  return {sum / points, largest};
}

class PrecisionSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    calibration_ = calibrate_int8(g_, crops(41, 6));
    // b's input mostly saturates: int8 hurts there far more than elsewhere.
    calibration_.input_scales["b"] /= 20;
    ASSERT_EQ(calibration_.input_scales.size(), 3u);
  }
  const Graph g_ = three_conv_landmarker();
  const std::vector<Tensor> held_out_ = crops(71, 3);
  graph::Int8Calibration calibration_;
};

TEST(DriftBudget, RefusesMalformedBudgetsByName) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_NO_THROW((DriftBudget{}.check()));
  EXPECT_NO_THROW((DriftBudget{0, 0}.check()));
  EXPECT_TRUE(throws_error(
      [] {
        DriftBudget{-0.1, 2}.check();
      },
      ErrorCode::kBadArgument, {"--max-drift", ">= 0"}));
  EXPECT_TRUE(throws_error(
      [&] {
        DriftBudget{nan, 2}.check();
      },
      ErrorCode::kBadArgument, {"--max-drift", "finite"}));
  EXPECT_TRUE(throws_error(
      [&] {
        DriftBudget{0.5, inf}.check();
      },
      ErrorCode::kBadArgument, {"--max-drift-p99", "finite"}));
  EXPECT_TRUE(throws_error(
      [] {
        DriftBudget{1.0, 0.5}.check();
      },
      ErrorCode::kBadArgument, {"--max-drift-p99", "below"}));
  EXPECT_TRUE(DriftBudget({0.5, 2}).holds(ConvDrift{"x", 0.5, 2.0, 9.0}));
  EXPECT_FALSE(DriftBudget({0.5, 2}).holds(ConvDrift{"x", 0.51, 1.0, 1.0}));
  EXPECT_FALSE(DriftBudget({0.5, 2}).holds(ConvDrift{"x", 0.1, 2.01, 3.0}));
}

TEST(CropSplit, HeldOutCropsNeverSetAScale) {
  for (size_t n = 2; n <= 41; ++n) {
    const CropSplit s = split_calibration_crops(n);
    std::set<size_t> calibrate(s.calibrate.begin(), s.calibrate.end());
    std::set<size_t> all = calibrate;
    for (size_t i : s.held_out) {
      EXPECT_FALSE(calibrate.count(i)) << n << " crops: " << i << " is on both sides";
      all.insert(i);
    }
    EXPECT_EQ(all.size(), n) << "every crop is used once";
    EXPECT_EQ(s.calibrate.size() + s.held_out.size(), n);
    EXPECT_FALSE(s.calibrate.empty());
    EXPECT_EQ(s.held_out.size(), std::max<size_t>(n / kHoldOutEvery, n < kHoldOutEvery ? 1 : 0));
  }
  EXPECT_TRUE(
      throws_error([] { split_calibration_crops(1); }, ErrorCode::kBadArgument, {"at least 2"}));
}

TEST_F(PrecisionSearch, ABudgetAllInt8MeetsStopsAtOnce) {
  const PrecisionChoice c =
      choose_precisions(g_, calibration_, held_out_, DriftBudget{1e6, 1e6}, false);
  EXPECT_EQ(c.measurements, 1);
  EXPECT_TRUE(c.raised.empty());
  EXPECT_EQ(c.precisions.int8_input_scales, calibration_.input_scales);
  for (const char* conv : {"a", "b", "c"}) EXPECT_EQ(c.precisions.of(conv), Precision::kInt8);
  EXPECT_EQ(c.conv_counts.at("int8"), 3);
  EXPECT_DOUBLE_EQ(c.predicted_conv_time, 0.25);
}

TEST_F(PrecisionSearch, ATightBudgetIsMetOnTheChosenAssignment) {
  const auto [all_int8_mean, all_int8_max] = drift_by_hand(
      g_, calibration_, graph::ConvPrecisions::int8_at(calibration_.input_scales), held_out_);
  ASSERT_GT(all_int8_mean, 1.0) << "the saturated conv must cost something to remove";
  const DriftBudget budget{all_int8_mean / 4, all_int8_max};
  for (const bool bf16 : {false, backends::onednn::has_bf16()}) {
    const PrecisionChoice c = choose_precisions(g_, calibration_, held_out_, budget, bf16);
    const auto [mean, max] = drift_by_hand(g_, c.int8, c.precisions, held_out_);
    EXPECT_LE(mean, budget.mean_px) << "bf16 " << bf16;
    EXPECT_NEAR(mean, c.drift.mean_px, 1e-9 + 1e-6 * mean) << "the search's figure is the drift";
    EXPECT_NE(c.precisions.of("b"), Precision::kInt8) << "the saturated conv is raised";
    EXPECT_GT(c.measurements, 1);
    // What the file stores: scales and corrections of the int8 convs only, the raised ones
    // listed with why.
    for (const auto& [conv, scale] : c.int8.input_scales) {
      EXPECT_EQ(c.precisions.of(conv), Precision::kInt8) << conv;
    }
    for (const RaisedConv& r : c.raised) {
      EXPECT_FALSE(c.int8.bias_corrections.count(r.conv)) << r.conv;
      EXPECT_NE(c.int8.fp32_layers.at(r.conv).find("--precision auto"), std::string::npos);
      EXPECT_EQ(c.precisions.of(r.conv), r.precision);
      if (!bf16) {
        EXPECT_EQ(r.precision, Precision::kFp32);
      }
    }
    EXPECT_GT(c.predicted_conv_time, 0.25);
    EXPECT_LE(c.predicted_conv_time, 1.0);
  }
}

TEST_F(PrecisionSearch, AZeroBudgetEndsInExactFp32) {
  const PrecisionChoice c =
      choose_precisions(g_, calibration_, held_out_, DriftBudget{0, 0}, false);
  EXPECT_EQ(c.drift.mean_px, 0.0);
  EXPECT_EQ(c.drift.max_px, 0.0);
  EXPECT_EQ(c.raised.size(), 3u);
  EXPECT_TRUE(c.int8.input_scales.empty());
  EXPECT_DOUBLE_EQ(c.predicted_conv_time, 1.0);
}

TEST_F(PrecisionSearch, GivesTheSameChoiceTwice) {
  const DriftBudget budget{0.2, 1e6};
  const PrecisionChoice a = choose_precisions(g_, calibration_, held_out_, budget, false);
  const PrecisionChoice b = choose_precisions(g_, calibration_, held_out_, budget, false);
  EXPECT_EQ(a.precisions.convs, b.precisions.convs);
  EXPECT_EQ(a.precisions.int8_input_scales, b.precisions.int8_input_scales);
  EXPECT_EQ(a.drift.mean_px, b.drift.mean_px);
}

TEST_F(PrecisionSearch, RefusesAMalformedBudgetBeforeMeasuring) {
  EXPECT_TRUE(throws_error(
      [&] {
        choose_precisions(g_, calibration_, held_out_, DriftBudget{1.0, 0.5}, false);
      },
      ErrorCode::kBadArgument, {"below"}));
  EXPECT_TRUE(throws_error([&] { choose_precisions(g_, calibration_, {}, DriftBudget{}, false); },
                           ErrorCode::kBadArgument, {"crops"}));
}

}  // namespace
}  // namespace starface::eval
