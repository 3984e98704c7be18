// int8 calibration on small graphs and the tiny model: the MSE clip against an outlier,
// signed and unsigned inputs, convs that stay fp32 with their reason, bias correction that
// removes a constructed mean error, what a model file keeps of it (older files load; a
// corrupt entry is refused by name), and the per-conv sensitivity measure.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/onednn/onednn_backend.h"
#include "engine/calibrate.h"
#include "engine/engine.h"
#include "eval/sensitivity.h"
#include "graph/passes/passes.h"
#include "import/expect_error.h"
#include "import/safetensors.h"
#include "nets/common/model_file.h"
#include "support/fixtures.h"

namespace starface {
namespace {

using graph::Graph;
using graph::OpKind;
using graph::ValueId;
using testing::random_tensor;
using testing::throws_error;

constexpr int kBins = 2048;

std::vector<double> histogram(const std::vector<double>& magnitudes, double largest) {
  std::vector<double> counts(kBins, 0.0);
  for (double v : magnitudes) {
    counts[std::min(kBins - 1, static_cast<int>(v / largest * kBins))] += 1;
  }
  return counts;
}

// A million values uniform in [0, 1] and one at 40. Above the bulk, a clip c costs the
// outlier (40 - c)^2 and every other value the rounding noise (c / 255)^2 / 12, so the
// least total error is at c = 40 / (1 + n / (255^2 * 12)) = 17.5: MSE clips the outlier
// where rounding the bulk would cost more. Max keeps it whole, the percentile drops it.
TEST(Int8Clipping, MseClipsAnOutlierWhereThatCostsLess) {
  constexpr int kValues = 1000000;
  constexpr double kOutlier = 40.0;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> values;
  for (int i = 0; i < kValues; ++i) values.push_back(uniform(rng));
  values.push_back(kOutlier);
  const std::vector<double> counts = histogram(values, kOutlier);
  double mse_error = 0, max_error = 0, percentile_error = 0;
  const double mse = choose_clip(counts, kOutlier, 255, Clipping::kMse, &mse_error);
  const double max = choose_clip(counts, kOutlier, 255, Clipping::kMax, &max_error);
  const double p = choose_clip(counts, kOutlier, 255, Clipping::kPercentile, &percentile_error);
  const double optimum = kOutlier / (1 + kValues / (255.0 * 255.0 * 12));
  EXPECT_NEAR(mse, optimum, 2 * kOutlier / kBins);  // within a bin of the histogram's edges
  EXPECT_EQ(max, kOutlier);
  EXPECT_NEAR(p, 1.0, kOutlier / kBins);
  EXPECT_LT(mse_error, max_error);
  EXPECT_LT(mse_error, percentile_error);
  // The outlier alone, clipped at 1: (40 - 1)^2 over all values.
  EXPECT_NEAR(percentile_error, 39.0 * 39.0 / kValues, 2e-4);
}

TEST(Int8Clipping, MseKeepsAUniformRangeWhole) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> values;
  for (int i = 0; i < 100000; ++i) values.push_back(uniform(rng));
  EXPECT_GT(choose_clip(histogram(values, 1.0), 1.0, 255, Clipping::kMse), 0.97);
  EXPECT_GT(choose_clip(histogram(values, 1.0), 1.0, 127, Clipping::kMse), 0.97);
}

// input [1, 4, 6, 6] -> relu -> "unsigned" (1x1, 4 -> 3); input -> "signed" (3x3, 4 -> 3).
Graph two_convs() {
  Graph g;
  const ValueId x = g.add_input("input", {1, 4, 6, 6});
  const ValueId r = g.add_node(OpKind::kRelu, "relu", "s", {x});
  graph::ConvAttrs one;
  const ValueId u = g.add_node(OpKind::kConv2d, "unsigned", "s",
                               {r, g.add_constant("w1", random_tensor({3, 4, 1, 1}, 11)),
                                g.add_constant("b1", random_tensor({3}, 12))},
                               one);
  graph::ConvAttrs three;
  three.kernel = 3;
  three.pad = 1;
  const ValueId s = g.add_node(OpKind::kConv2d, "signed", "s",
                               {x, g.add_constant("w2", random_tensor({3, 4, 3, 3}, 13)),
                                g.add_constant("b2", random_tensor({3}, 14))},
                               three);
  g.mark_output("u", u);
  g.mark_output("s", s);
  return g;
}

// Crops whose values sit 0.4 of a step (at clip 1: 1 / 255) above the grid, or at 0 or 1:
// rounding moves each such value by the same -0.4 step, a mean error the bias must undo.
std::vector<Tensor> offset_crops() {
  std::vector<Tensor> crops;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, 3);
  const float off_grid = 76.4f / 255.0f;
  for (int c = 0; c < 3; ++c) {
    Tensor t(DType::kFloat32, {1, 4, 6, 6});
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float choices[] = {0.0f, off_grid, 1.0f, -1.0f};
      t.data<float>()[i] = choices[pick(rng)];
    }
    crops.push_back(t);
  }
  return crops;
}

TEST(Int8Calibration, RecordsSignedAndUnsignedInputsAndTheirScales) {
  const Graph g = two_convs();
  const graph::Int8Calibration c = calibrate_int8(g, offset_crops());
  EXPECT_EQ(c.clipping, "mse");
  EXPECT_EQ(c.crops, 3);
  ASSERT_EQ(c.input_scales.size(), 2u)
      << (c.fp32_layers.empty() ? "" : c.fp32_layers.begin()->second);
  const graph::Int8Layer& u = c.layers.at("unsigned");
  const graph::Int8Layer& s = c.layers.at("signed");
  EXPECT_FALSE(u.is_signed);
  EXPECT_TRUE(s.is_signed);
  EXPECT_EQ(u.min, 0.0f);
  EXPECT_EQ(s.min, -1.0f);
  EXPECT_NEAR(u.clip, 1.0, 1e-3);
  EXPECT_FLOAT_EQ(c.input_scales.at("unsigned"), u.clip / 255);
  EXPECT_FLOAT_EQ(c.input_scales.at("signed"), s.clip / 127);
  EXPECT_GT(u.sqnr_db, 20.0);
  EXPECT_GE(u.input_sqnr_db, u.sqnr_db);  // the weights only add error
}

TEST(Int8Calibration, ConvsWithTooLargeAnErrorStayFp32WithTheReason) {
  CalibrationRules strict;
  strict.max_relative_error = 1e-4;
  const graph::Int8Calibration c = calibrate_int8(two_convs(), offset_crops(), strict);
  EXPECT_TRUE(c.input_scales.empty());
  ASSERT_EQ(c.fp32_layers.size(), 2u);
  EXPECT_NE(c.fp32_layers.at("signed").find("estimated int8 error"), std::string::npos);
  EXPECT_TRUE(c.bias_corrections.empty());
  EXPECT_EQ(c.layers.size(), 2u);  // measured all the same
}

// Per output channel: mean over crops and pixels of int8(graph) - fp32(exact).
std::vector<double> mean_output_error(const Graph& exact, const Graph& run,
                                      const graph::Int8Calibration& c,
                                      const std::vector<Tensor>& crops, const std::string& out) {
  backends::onednn::OnednnPlan fp32(exact);
  backends::onednn::OnednnPlan int8(run, 1, graph::ConvPrecisions::int8_at(c.input_scales));
  std::vector<double> mean;
  for (const Tensor& crop : crops) {
    const Tensor want = fp32.run(crop, {out}).at(out), got = int8.run(crop, {out}).at(out);
    const int64_t channels = want.dim(1), plane = want.numel() / channels;
    mean.resize(channels, 0.0);
    for (int64_t i = 0; i < want.numel(); ++i) {
      mean[i / plane] += (double{got.data<float>()[i]} - want.data<float>()[i]) /
                         static_cast<double>(plane * crops.size());
    }
  }
  return mean;
}

double largest(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

TEST(Int8Calibration, BiasCorrectionRemovesTheMeanOutputError) {
  const Graph g = two_convs();
  const std::vector<Tensor> crops = offset_crops();
  const graph::Int8Calibration c = calibrate_int8(g, crops);
  ASSERT_EQ(c.bias_corrections.size(), 2u);
  Graph corrected = g;
  graph::apply_bias_corrections(corrected, c);
  for (const char* out : {"u", "s"}) {
    const double before = largest(mean_output_error(g, g, c, crops, out));
    const double after = largest(mean_output_error(g, corrected, c, crops, out));
    EXPECT_GT(before, 1e-3) << out << ": the construction gives a mean error";
    EXPECT_LT(after, 1e-5) << out << " (before " << before << ")";
  }
  // The original graph's biases are untouched (constants may share storage).
  EXPECT_GT(largest(mean_output_error(g, g, c, crops, "u")), 1e-3);
}

// --- The model file ---

std::string tiny() {
  return testing::star_fixture(testing::star_manifest()["models"]["star_wflw_tiny"]["file"]);
}

std::vector<Tensor> tiny_crops() {
  return {random_tensor({1, 3, 256, 256}, 21), random_tensor({1, 3, 256, 256}, 22)};
}

ConvertOptions int8_options() {
  ConvertOptions o = ConvertOptions::stored_as("int8");
  o.calibration_inputs = tiny_crops();
  return o;
}

class Int8File : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::temp_dir("int8_file"));
    report_ = new ConvertReport(convert_model(tiny(), path("int8.safetensors"), int8_options()));
  }
  static void TearDownTestSuite() {
    delete report_;
    delete dir_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  // A copy of the int8 file with its calibration JSON edited.
  static std::string rewritten(const std::string& name,
                               const std::function<void(nlohmann::json&)>& edit) {
    import::SafetensorsFile raw = import::read_safetensors(path("int8.safetensors"));
    nlohmann::json j = nlohmann::json::parse(raw.metadata.at("int8"));
    edit(j);
    raw.metadata["int8"] = j.dump();
    import::write_safetensors(path(name), raw.tensors, raw.metadata);
    return path(name);
  }

  static std::filesystem::path* dir_;
  static ConvertReport* report_;
};
std::filesystem::path* Int8File::dir_ = nullptr;
ConvertReport* Int8File::report_ = nullptr;

TEST_F(Int8File, StoresTheLayersAndBiasesThatHoldTheCorrection) {
  const nets::ModelFile file = nets::read_model_file(path("int8.safetensors"));
  EXPECT_EQ(file.info.int8.clipping, "mse");
  EXPECT_EQ(file.info.int8.layers.size(), report_->int8.layers.size());
  EXPECT_EQ(file.info.int8.input_scales, report_->int8.input_scales);
  ASSERT_FALSE(report_->int8.bias_corrections.empty());
  // The stored bias of a corrected conv is the checkpoint's plus the correction.
  const Graph exact = graph::passes::optimize(Engine::load(tiny())->graph());
  const auto& [conv, shift] = *report_->int8.bias_corrections.begin();
  const auto bias_of = [&](const Graph& g) {
    for (const graph::Node& n : g.nodes()) {
      if (n.name == conv) return g.value(n.inputs[2]).constant.contiguous();
    }
    return Tensor();
  };
  const Tensor stored = bias_of(file.graph), original = bias_of(exact);
  ASSERT_EQ(stored.numel(), static_cast<int64_t>(shift.size()));
  for (size_t o = 0; o < shift.size(); ++o) {
    EXPECT_NEAR(stored.data<float>()[o], original.data<float>()[o] + shift[o], 1e-6) << conv;
  }
}

TEST_F(Int8File, AFileFromBeforeClippingLoadsAsMax) {
  const std::string old = rewritten("old.safetensors", [](nlohmann::json& j) {
    j.erase("clipping");
    j.erase("layers");
  });
  const nets::ModelFile file = nets::read_model_file(old);
  EXPECT_EQ(file.info.int8.clipping, "max");
  EXPECT_TRUE(file.info.int8.layers.empty());
  EXPECT_FALSE(file.info.int8.input_scales.empty());
  EXPECT_EQ(Engine::load(old)->precision(), graph::Precision::kInt8);  // compiles its plan
}

TEST_F(Int8File, ACorruptCalibrationIsRefusedByName) {
  const std::string conv = report_->int8.layers.begin()->first;
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> edit;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases{
      {"clip_text",
       [&](nlohmann::json& j) { j["layers"][conv]["clip"] = "wide"; },
       {"layer '" + conv + "'", "'clip'"}},
      {"no_signed",
       [&](nlohmann::json& j) { j["layers"][conv].erase("signed"); },
       {"layer '" + conv + "'", "boolean 'signed'"}},
      {"layers_list",
       [](nlohmann::json& j) { j["layers"] = nlohmann::json::array(); },
       {"'layers' is not an object"}},
      {"clipping", [](nlohmann::json& j) { j["clipping"] = "magic"; }, {"clipping 'magic'"}},
      {"negative_scale",
       [&](nlohmann::json& j) { j["input_scales"][conv] = -1.0; },
       {"int8 scale of '" + conv + "'"}},
  };
  for (const Case& c : cases) {
    const std::string file = rewritten(c.name + ".safetensors", c.edit);
    std::vector<std::string> message = c.message;
    message.push_back(file);
    EXPECT_TRUE(
        throws_error([&] { nets::read_model_file(file); }, ErrorCode::kNotACheckpoint, message))
        << c.name;
  }
}

// --- Sensitivity ---

// input [1, 3, 16, 16] -> "a" (3x3, ReLU) -> "b" (1x1, 4 maps) -> soft-argmax "landmarks".
Graph tiny_landmarker() {
  Graph g;
  const ValueId x = g.add_input("input", {1, 3, 16, 16});
  graph::ConvAttrs a;
  a.kernel = 3;
  a.pad = 1;
  a.relu = true;
  const ValueId h = g.add_node(OpKind::kConv2d, "a", "s",
                               {x, g.add_constant("wa", random_tensor({8, 3, 3, 3}, 31)),
                                g.add_constant("ba", random_tensor({8}, 32))},
                               a);
  const ValueId m = g.add_node(OpKind::kConv2d, "b", "s",
                               {h, g.add_constant("wb", random_tensor({4, 8, 1, 1}, 33, -3, 3)),
                                g.add_constant("bb", random_tensor({4}, 34))});
  g.mark_output("landmarks", g.add_node(OpKind::kSoftArgmax, "points", "s", {m}));
  return g;
}

TEST(Int8Sensitivity, RanksTheConvThatHurtsFirst) {
  const Graph g = tiny_landmarker();
  std::vector<Tensor> crops{random_tensor({1, 3, 16, 16}, 41), random_tensor({1, 3, 16, 16}, 42)};
  graph::Int8Calibration c = calibrate_int8(g, crops);
  ASSERT_EQ(c.input_scales.size(), 2u);
  const auto fair = eval::conv_sensitivity(g, {"a", "b"}, crops,
                                           eval::reduce_one_conv(graph::Precision::kInt8, &c));
  ASSERT_EQ(fair.size(), 2u);
  EXPECT_GE(fair[0].mean_px, fair[1].mean_px);
  for (const eval::ConvDrift& d : fair) {
    EXPECT_GT(d.mean_px, 0.0) << d.conv;
    EXPECT_LE(d.mean_px, d.max_px) << d.conv;
  }
  c.input_scales["b"] /= 20;  // most of b's input saturates
  const auto broken = eval::conv_sensitivity(g, {"a", "b"}, crops,
                                             eval::reduce_one_conv(graph::Precision::kInt8, &c));
  EXPECT_EQ(broken[0].conv, "b");
  EXPECT_GT(broken[0].mean_px, 10 * fair.back().mean_px);
  EXPECT_TRUE(throws_error(
      [&] {
        eval::conv_sensitivity(g, {"points"}, crops,
                               eval::reduce_one_conv(graph::Precision::kInt8, &c));
      },
      ErrorCode::kBadArgument, {"'points' is not calibrated"}));
}

}  // namespace
}  // namespace starface
