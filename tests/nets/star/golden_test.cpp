// Parity with the float64 goldens of every tensor case in manifest.json: final and
// per-stack landmarks, per-channel sums of heat, fusion, point and edge maps, and (full_a)
// the full stem, last fusion and edge maps and the boundary masks.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "engine/engine.h"
#include "import/npy.h"
#include "nets/star/builder.h"
#include "nets/star/golden_precision.h"
#include "nets/star/landmark_net.h"
#include "support/fixtures.h"

#ifndef STARFACE_GOLDEN_FULL
#error "define STARFACE_GOLDEN_FULL to 0 (tiny models) or 1 (the full-size model)"
#endif
#ifndef STARFACE_GOLDEN_BACKEND
#error "define STARFACE_GOLDEN_BACKEND to the backend under test"
#endif
// 1: every case runs from the model file `starface convert` writes (fp32), not the checkpoint.
#ifndef STARFACE_GOLDEN_CONVERTED
#define STARFACE_GOLDEN_CONVERTED 0
#endif

namespace starface {
namespace {

using nlohmann::json;
using testing::max_abs_diff;
using testing::star_fixture;
using testing::star_manifest;

constexpr const char* kFullModel = "star_wflw_full_random";

std::vector<std::string> case_ids() {
  std::vector<std::string> ids;
  for (const json& c : star_manifest()["cases"]) {
    const bool full = c["model"] == kFullModel;
    if (full == static_cast<bool>(STARFACE_GOLDEN_FULL)) ids.push_back(c["id"]);
  }
  return ids;
}

const json& find_case(const std::string& id) {
  for (const json& c : star_manifest()["cases"]) {
    if (c["id"] == id) return c;
  }
  throw std::runtime_error("no case " + id);
}

Tensor golden(const json& c, const std::string& item) {
  return import::read_npy(star_fixture(c["files"][item]["file"]));
}

// The case's inputs concatenated along N.
Tensor case_input(const json& c) {
  std::vector<Tensor> parts;
  for (const json& id : c["inputs"]) {
    parts.push_back(import::read_npy(star_fixture(star_manifest()["inputs"][id]["file"])));
  }
  Tensor input(DType::kFloat32, {static_cast<int64_t>(parts.size()), 3, 256, 256});
  const int64_t each = 3 * 256 * 256;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::copy_n(parts[i].data<float>(), each, input.data<float>() + i * each);
  }
  return input;
}

// Engines are shared between cases of one model: loading the full one takes a while.
Engine& engine_for(const std::string& model_id) {
  static std::map<std::string, std::unique_ptr<Engine>> engines;
  auto& slot = engines[model_id];
  if (!slot) {
    const json& m = star_manifest()["models"][model_id];
    EngineOptions options = testing::golden_options(STARFACE_GOLDEN_BACKEND);
    if (m.contains("weights") && m["weights"] == "net_ema") options.weights = "net_ema";
    std::string path = star_fixture(m["file"]);
    if (STARFACE_GOLDEN_CONVERTED) {
      const std::string converted = (testing::temp_dir("golden_" + model_id) / "m.safetensors");
      convert_model(path, converted, ConvertOptions::stored_as("fp32", options.weights));
      path = converted;
    }
    slot = Engine::load(path, options);
    EXPECT_EQ(slot->source().model_file, static_cast<bool>(STARFACE_GOLDEN_CONVERTED));
  }
  return *slot;
}

// Per-channel sums of a [N,C,H,W] map, in double as the goldens were made.
std::vector<double> channel_sums(const Tensor& maps, int64_t n) {
  const int64_t channels = maps.dim(1);
  const int64_t plane = maps.dim(2) * maps.dim(3);
  std::vector<double> sums(channels, 0.0);
  const float* base = maps.data<float>() + n * channels * plane;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < plane; ++i) sums[c] += base[c * plane + i];
  }
  return sums;
}

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    c_ = &find_case(GetParam());
    Engine& engine = engine_for((*c_)["model"]);
    config_ = star::parse_config(engine.net().config, engine.path());
    std::vector<std::string> wanted{"landmarks", "stem"};
    for (int s = 0; s < config_.nstack; ++s) {
      for (const char* kind : {"stack_landmarks", "heatmaps", "fusion", "pointmaps", "edgemaps"}) {
        if (!config_.aam && (std::string(kind) == "pointmaps" || std::string(kind) == "edgemaps")) {
          continue;
        }
        wanted.push_back(star::stack_output(kind, s));
      }
    }
    // Every test of a case reads the same run: run each case once.
    static std::map<std::string, TensorMap> runs;
    auto it = runs.find(GetParam());
    if (it == runs.end()) it = runs.emplace(GetParam(), engine.run(case_input(*c_), wanted)).first;
    out_ = it->second;
  }
  double tol(const std::string& item) const {
    return static_cast<double>((*c_)["tolerances"][item]) * testing::golden_slack();
  }
  bool has(const std::string& item) const { return (*c_)["files"].contains(item); }

  const json* c_ = nullptr;
  star::Config config_;
  TensorMap out_;
};

TEST_P(Golden, FinalLandmarks) {
  EXPECT_LE(max_abs_diff(out_.at("landmarks"), golden(*c_, "landmarks")), tol("landmarks"));
}

TEST_P(Golden, LandmarksOfEveryStack) {
  const Tensor want = golden(*c_, "stack_landmarks");  // [S, N, P, 2]
  const int64_t each = want.numel() / want.dim(0);
  for (int s = 0; s < config_.nstack; ++s) {
    Tensor slice(DType::kFloat32, {want.dim(1), want.dim(2), 2});
    std::copy_n(want.data<float>() + s * each, each, slice.data<float>());
    EXPECT_LE(max_abs_diff(out_.at(star::stack_output("stack_landmarks", s)), slice),
              tol("stack_landmarks"))
        << "stack " << s;
  }
}

TEST_P(Golden, ChannelSumsOfHeatFusionAndPointMaps) {
  const Tensor want = golden(*c_, "channel_sums");  // [S, N, K, P]
  const int64_t batch = want.dim(1), kinds = want.dim(2), points = want.dim(3);
  const char* names[] = {"heatmaps", "fusion", "pointmaps"};
  ASSERT_EQ(kinds, config_.aam ? 3 : 2);
  for (int s = 0; s < config_.nstack; ++s) {
    for (int64_t k = 0; k < kinds; ++k) {
      const Tensor& maps = out_.at(star::stack_output(names[k], s));
      for (int64_t n = 0; n < batch; ++n) {
        const std::vector<double> sums = channel_sums(maps, n);
        const float* g = want.data<float>() + ((s * batch + n) * kinds + k) * points;
        double worst = 0;
        for (int64_t p = 0; p < points; ++p) worst = std::max(worst, std::fabs(sums[p] - g[p]));
        EXPECT_LE(worst, tol("channel_sums")) << names[k] << " stack " << s << " row " << n;
      }
    }
  }
}

TEST_P(Golden, EdgeMapSums) {
  if (!config_.aam) {
    EXPECT_FALSE(has("edge_sums"));
    EXPECT_EQ(out_.count("edgemaps.0"), 0u);
    return;
  }
  const Tensor want = golden(*c_, "edge_sums");  // [S, N, E]
  const int64_t batch = want.dim(1), edges = want.dim(2);
  for (int s = 0; s < config_.nstack; ++s) {
    for (int64_t n = 0; n < batch; ++n) {
      const std::vector<double> sums = channel_sums(out_.at(star::stack_output("edgemaps", s)), n);
      const float* g = want.data<float>() + (s * batch + n) * edges;
      for (int64_t e = 0; e < edges; ++e) {
        EXPECT_NEAR(sums[e], g[e], tol("edge_sums")) << "stack " << s << " edge " << e;
      }
    }
  }
}

// Cases that store full maps (full_a) or boundary masks (full_a, tiny_ema_a).
std::vector<std::string> cases_with(const std::string& item) {
  std::vector<std::string> ids;
  for (const std::string& id : case_ids()) {
    if (find_case(id)["files"].contains(item)) ids.push_back(id);
  }
  return ids;
}

#if STARFACE_GOLDEN_FULL
class GoldenMaps : public Golden {};

TEST_P(GoldenMaps, StemLastFusionAndEdgeMaps) {
  const int last = config_.nstack - 1;
  EXPECT_LE(max_abs_diff(out_.at("stem"), golden(*c_, "stem")), tol("stem"));
  EXPECT_LE(max_abs_diff(out_.at(star::stack_output("fusion", last)), golden(*c_, "fusion")),
            tol("fusion"));
  EXPECT_LE(max_abs_diff(out_.at(star::stack_output("edgemaps", last)), golden(*c_, "edgemaps")),
            tol("edgemaps"));
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenMaps, ::testing::ValuesIn(cases_with("stem")),
                         [](const auto& info) { return info.param; });
#endif

// The boundary mask is the network's only discontinuity; a flipped pixel changes every
// later stack, so compare masks made from our heat maps with the stored ones exactly.
class GoldenMasks : public Golden {};

TEST_P(GoldenMasks, BoundaryMasksOfEveryStack) {
  const Tensor want = golden(*c_, "boundary_masks");  // [S-1, N, 64, 64] uint8
  const int64_t batch = want.dim(1), plane = want.dim(2) * want.dim(3);
  for (int s = 0; s + 1 < config_.nstack; ++s) {
    const Tensor& heat = out_.at(star::stack_output("heatmaps", s));
    for (int64_t n = 0; n < batch; ++n) {
      const float* guide = heat.data<float>() + (n * config_.points + config_.points - 1) * plane;
      const uint8_t* mask = want.data<uint8_t>() + (s * batch + n) * plane;
      int flipped = 0;
      for (int64_t i = 0; i < plane; ++i) {
        const bool on = std::clamp(guide[i], 0.0f, 1.0f) > 0.05f;
        flipped += on != (mask[i] != 0);
      }
      EXPECT_EQ(flipped, 0) << "stack " << s << " row " << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenMasks, ::testing::ValuesIn(cases_with("boundary_masks")),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(case_ids()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace starface
