// The precision-auto model file on the tiny model: the file holds its assignment and the
// drift it proved, and loaded elsewhere it reproduces that drift (measured here against the
// checkpoint on the held-out crops); two conversions give the same bytes; the cache makes
// the file once and reuses it, and without faces to calibrate on says so.
#include "pipeline/auto_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "backends/onednn/onednn_backend.h"
#include "graph/passes/passes.h"
#include "import/expect_error.h"
#include "nets/common/model_file.h"
#include "support/fixtures.h"
#include "support/scoped_env.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

std::string tiny() { return star_fixture("models/star_wflw_tiny.pth").string(); }

// Four images: centre crops 0-2 set the scales, crop 3 is held out.
pipeline::AutoModelOptions options(double mean_px, double p99_px) {
  pipeline::AutoModelOptions o;
  o.budget = {mean_px, p99_px};
  for (const char* image : {"0.jpg", "16.jpg", "89.jpg", "video_frame000_decoded_1280x720.png"}) {
    o.calibration.paths.push_back((shared_dir() / "data" / "images" / image).string());
  }
  o.measure_speed = false;
  return o;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Mean landmark displacement of `model` against `reference`, 256x256 crop px.
double mean_drift(Engine& reference, Engine& model, const std::vector<Tensor>& crops) {
  double sum = 0;
  int points = 0;
  for (const Tensor& crop : crops) {
    const Tensor a = reference.landmarks(crop).contiguous();
    const Tensor b = model.landmarks(crop).contiguous();
    for (int64_t p = 0; p < a.numel() / 2; ++p, ++points) {
      sum += 128.0 * std::hypot(b.data<float>()[2 * p] - a.data<float>()[2 * p],
                                b.data<float>()[2 * p + 1] - a.data<float>()[2 * p + 1]);
    }
  }
  return sum / points;
}

TEST(AutoModel, TheFileReproducesTheDriftItProvedAndIsDeterministic) {
  const fs::path dir = temp_dir("auto_model");
  // A budget all-int8 meets on the random tiny model (its drift is a few crop px).
  const pipeline::AutoModelOptions o = options(40, 200);
  const fs::path file = dir / "auto.safetensors";
  const pipeline::AutoModelReport r = pipeline::convert_auto(tiny(), file.string(), o);
  EXPECT_EQ(r.split.held_out, std::vector<size_t>{3});
  EXPECT_TRUE(o.budget.holds(r.choice.drift));
  EXPECT_TRUE(r.choice.raised.empty());

  const nets::ModelFile stored = nets::read_model_file(file.string());
  const auto record = nlohmann::json::parse(stored.info.precision_search);
  EXPECT_EQ(record["held_out_crops"], 1);
  EXPECT_EQ(record["budget"]["mean_px"], 40);
  EXPECT_EQ(stored.info.precisions.convs, r.choice.precisions.convs);

  const auto exact = Engine::load(tiny());
  const auto model = Engine::load(file.string());
  const std::vector<Tensor> crops = pipeline::calibration_crops(o.calibration, exact->net());
  const double drift = mean_drift(*exact, *model, eval::pick_crops(crops, r.split.held_out));
  const double proved = record["drift"]["mean_px"].get<double>();
  EXPECT_LE(drift, o.budget.mean_px);
  EXPECT_NEAR(drift, proved, 0.1 * proved) << "loaded elsewhere, within 10 %";

  const fs::path again = dir / "again.safetensors";
  pipeline::convert_auto(tiny(), again.string(), o);
  EXPECT_EQ(read_all(file), read_all(again)) << "the same inputs give the same file";
}

// A mixed assignment (int8, and convs raised to bf16 or fp32) stored in a file runs as the
// search measured it. Four convs take part, so the search is quick.
TEST(AutoModel, AMixedAssignmentRunsFromTheFileAsMeasured) {
  const fs::path dir = temp_dir("auto_model_mixed");
  const auto tiny_engine = Engine::load(tiny());
  const graph::Graph exact_graph = graph::passes::optimize(tiny_engine->graph());
  const std::vector<Tensor> crops =
      pipeline::calibration_crops(options(1, 1).calibration, tiny_engine->net());
  const eval::CropSplit split = eval::split_calibration_crops(crops.size());
  CalibrationRules every_conv;
  every_conv.max_relative_error = 1e9;
  graph::Int8Calibration all =
      calibrate_int8(exact_graph, eval::pick_crops(crops, split.calibrate), every_conv);
  graph::Int8Calibration some = all;
  some.input_scales.clear();
  for (const auto& [conv, scale] : all.input_scales) {
    if (some.input_scales.size() < 4) some.input_scales[conv] = scale;
  }
  some.input_scales.begin()->second /= 20;  // a conv int8 clearly hurts
  const std::vector<Tensor> held_out = eval::pick_crops(crops, split.held_out);
  const eval::ConvDrift start = eval::landmark_drift(
      eval::landmarks_of(*eval::precision_plan(exact_graph, some,
                                               graph::ConvPrecisions::int8_at(some.input_scales)),
                         held_out),
      eval::landmarks_of(*eval::precision_plan(exact_graph, some, {}), held_out));
  const eval::DriftBudget budget{start.mean_px / 3, start.max_px};
  const eval::PrecisionChoice c =
      eval::choose_precisions(exact_graph, some, held_out, budget, backends::onednn::has_bf16());
  ASSERT_FALSE(c.raised.empty());
  ASSERT_TRUE(c.precisions.uses(graph::Precision::kInt8));

  ConvertOptions write;
  write.precision = "int8";
  write.int8 = c.int8;
  write.assignment = c.precisions;
  const fs::path file = dir / "mixed.safetensors";
  convert_model(tiny(), file.string(), write);
  const auto exact = Engine::load(tiny());
  const auto model = Engine::load(file.string());
  EXPECT_EQ(model->conv_precisions().convs, c.precisions.convs);
  const double drift = mean_drift(*exact, *model, held_out);
  EXPECT_LE(drift, budget.mean_px);
  EXPECT_NEAR(drift, c.drift.mean_px, 0.1 * c.drift.mean_px);
}

TEST(AutoModel, TheCacheMakesTheFileOnceAndSaysWhenItCannot) {
  const fs::path dir = temp_dir("auto_model_cache");
  const ScopedEnv xdg("XDG_CACHE_HOME", dir.string());
  std::vector<std::string> lines;
  const auto log = [&](const std::string& line) { lines.push_back(line); };
  const pipeline::AutoModelOptions o = options(40, 200);
  const pipeline::CachedAutoModel first = pipeline::cached_auto_model(tiny(), o, log);
  EXPECT_TRUE(first.built);
  EXPECT_EQ(first.path.parent_path(), dir / "starface" / "auto");
  EXPECT_NE(first.path.filename().string().find(pipeline::cpu_kind()), std::string::npos);
  EXPECT_NE(first.summary.find("held-out"), std::string::npos) << first.summary;
  const pipeline::CachedAutoModel second = pipeline::cached_auto_model(tiny(), o, log);
  EXPECT_FALSE(second.built);
  EXPECT_EQ(second.path, first.path);
  EXPECT_EQ(second.summary, first.summary);

  // Another budget is another file; without faces it cannot be made.
  pipeline::AutoModelOptions other = options(30, 200);
  other.calibration.paths.clear();
  EXPECT_NE(pipeline::auto_model_cache_path(tiny(), other), first.path);
  EXPECT_TRUE(throws_error([&] { pipeline::cached_auto_model(tiny(), other, log); },
                           ErrorCode::kBadArgument, {"--calibrate"}));
  EXPECT_TRUE(throws_error(
      [&] {
        pipeline::AutoModelOptions bad = o;
        bad.budget.p99_px = 0.1;
        pipeline::cached_auto_model(tiny(), bad, log);
      },
      ErrorCode::kBadArgument, {"--max-drift-p99"}));
}

TEST(AutoModel, StartsOnlyFromExactWeights) {
  const fs::path dir = temp_dir("auto_model_int8");
  const fs::path int8 = dir / "auto.safetensors";
  pipeline::convert_auto(tiny(), int8.string(), options(40, 200));
  EXPECT_TRUE(throws_error(
      [&] {
        pipeline::convert_auto(int8.string(), (dir / "again.safetensors").string(),
                               options(40, 200));
      },
      ErrorCode::kBadArgument, {"exact weights"}));
}

}  // namespace
}  // namespace starface::testing
