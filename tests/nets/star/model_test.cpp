// The network read off every fixture checkpoint: configuration, parameters, multiply-adds
// and key errors, against manifest.json.
#include <gtest/gtest.h>

#include <map>

#include "engine/engine.h"
#include "graph/cost.h"
#include "import/checkpoint.h"
#include "nets/star/builder.h"
#include "nets/star/params.h"
#include "support/fixtures.h"

namespace starface {
namespace {

using testing::star_fixture;
using testing::star_manifest;

std::vector<std::string> tiny_models() {
  std::vector<std::string> ids;
  for (const auto& [id, model] : star_manifest()["models"].items()) {
    if (id != "star_wflw_full_random") ids.push_back(id);
  }
  return ids;
}

std::string weights_entry(const nlohmann::json& model) {
  return model.contains("weights") && model["weights"] == "net_ema" ? "net_ema" : "net";
}

class ModelConfig : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelConfig, MatchesManifest) {
  const nlohmann::json& m = star_manifest()["models"][GetParam()];
  const TensorMap sd =
      import::load_state_dict(star_fixture(m["file"]), import::LoadOptions{weights_entry(m)});
  const star::Config c = star::detect_config(sd);
  const nlohmann::json& want = m["config"];
  EXPECT_EQ(c.nstack, want["nstack"]);
  EXPECT_EQ(c.nlevels, want["nlevels"]);
  EXPECT_EQ(c.channels, want["in_channel"]);
  EXPECT_EQ(c.points, want["num_points"]);
  EXPECT_EQ(c.aam, want["use_AAM"]);
  if (c.aam) {
    EXPECT_EQ(c.edges, want["num_edges"]);
  }
  EXPECT_EQ(c.layout(), want["layout"]);

  const graph::Graph g = star::build_graph(sd, c);
  const star::ParamReport p = star::count_parameters(sd, g);
  const nlohmann::json& cost = m["cost"];
  EXPECT_EQ(p.total.stored, cost["params_total"]);
  EXPECT_EQ(p.total.used, cost["params_executed"]);
  EXPECT_EQ(p.buffers, cost["buffers_without_num_batches_tracked"]);
  for (const auto& [stage, count] : p.by_stage) {
    EXPECT_EQ(count.stored, cost["params_by_stage"][stage]) << stage;
    EXPECT_EQ(count.used, cost["params_executed_by_stage"][stage]) << stage;
  }
  EXPECT_EQ(p.by_stage.size(), cost["params_by_stage"].size());

  const graph::Cost macs = graph::compute_cost(g);
  EXPECT_EQ(macs.macs, cost["macs_total"]);
  std::map<std::string, int64_t> by_stage;
  for (const auto& [stage, n] : macs.macs_by_stage) by_stage[stage] += n;
  for (const auto& [stage, n] : cost["macs_by_stage"].items()) {
    EXPECT_EQ(by_stage[stage], n.get<int64_t>()) << stage;
  }
  EXPECT_EQ(by_stage.size(), cost["macs_by_stage"].size());
}

INSTANTIATE_TEST_SUITE_P(Tiny, ModelConfig, ::testing::ValuesIn(tiny_models()));
// The full model's figures: 17,177,332 stored / 13,476,468 executed parameters,
// 17,351,606,272 multiply-adds.
INSTANTIATE_TEST_SUITE_P(Full, ModelConfig, ::testing::Values("star_wflw_full_random"));

TEST(ModelErrors, MissingKeyIsNamed) {
  try {
    Engine::load(star_fixture("models/bad/missing_key.pth"));
    FAIL() << "loaded a checkpoint without a needed key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMissingKey);
    EXPECT_NE(std::string(e.what()).find("hgs.2.low1.conv2.conv.weight"), std::string::npos)
        << e.what();
  }
}

TEST(ModelErrors, WrongShapeNamesKeyAndBothShapes) {
  try {
    Engine::load(star_fixture("models/bad/wrong_shape.pth"));
    FAIL() << "loaded a mis-shaped checkpoint";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(what.find("features.1.1.conv.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("[16, 16, 1, 1]"), std::string::npos) << what;
    EXPECT_NE(what.find("[16, 15, 1, 1]"), std::string::npos) << what;
  }
}

TEST(ModelErrors, UnknownKeyIsNamed) {
  TensorMap sd = import::load_state_dict(star_fixture("models/star_wflw_tiny.pth"));
  sd["hgs.0.extra.weight"] = Tensor(DType::kFloat32, {3});
  const star::Config c = star::detect_config(sd);
  try {
    star::build_graph(sd, c);
    FAIL() << "accepted an unknown key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnexpectedKey);
    EXPECT_NE(std::string(e.what()).find("hgs.0.extra.weight"), std::string::npos) << e.what();
  }
}

TEST(ModelErrors, NotAStarNetwork) {
  EXPECT_THROW(
      {
        try {
          Engine::load(star_fixture("models/tensors_views_dtypes.pth"));
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::kMissingKey);
          EXPECT_NE(std::string(e.what()).find("not a STAR checkpoint"), std::string::npos);
          throw;
        }
      },
      Error);
}

TEST(ModelErrors, IntegerWeightIsRefused) {
  TensorMap sd = import::load_state_dict(star_fixture("models/star_wflw_tiny.pth"));
  sd["pre.0.conv.bias"] = Tensor(DType::kInt64, {64});
  EXPECT_THROW(star::build_graph(sd, star::detect_config(sd)), Error);
}

TEST(ModelErrors, UnknownBackendAndWeights) {
  EngineOptions bad_backend;
  bad_backend.backend = "tpu";
  EXPECT_THROW(Engine::load(star_fixture("models/star_wflw_tiny.pth"), bad_backend), Error);
  EngineOptions bad_weights;
  bad_weights.weights = "optimizer";
  EXPECT_THROW(Engine::load(star_fixture("models/star_wflw_tiny.pth"), bad_weights), Error);
}

TEST(CoordinatePlanes, MatchStarDefinition) {
  const Tensor planes = star::coordinate_planes(64);
  const float* p = planes.data<float>();
  EXPECT_FLOAT_EQ(p[0], -1.0f);                                 // row plane, first row
  EXPECT_FLOAT_EQ(p[63 * 64], 1.0f);                            // row plane, last row
  EXPECT_FLOAT_EQ(p[4096 + 63], 1.0f);                          // column plane, last column
  EXPECT_FLOAT_EQ(p[4096 + 64], -1.0f);                         // column plane, row 1 col 0
  EXPECT_FLOAT_EQ(p[2 * 4096], 1.0f);                           // radius is 1 at a corner
  EXPECT_NEAR(p[2 * 4096 + 31 * 64 + 31], 0.015873016f, 1e-7);  // next to the centre
}

}  // namespace
}  // namespace starface
