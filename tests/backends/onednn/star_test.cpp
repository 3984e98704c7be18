// The whole STAR network of every tiny fixture model against its float64 goldens, on the
// graph as built and as the passes optimize it: final and per-stack landmarks, and the
// per-channel sums of the heat, fusion, point and edge maps. Tolerances are the cases'
// own (manifest.json). The lead's golden suite runs the full-size model.
#include <gtest/gtest.h>

#include <map>

#include "backends/onednn/onednn_testing.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "import/npy.h"
#include "nets/star/builder.h"
#include "nets/star/config.h"

namespace starface::backends::onednn::testing {
namespace {

using nlohmann::json;
using starface::testing::star_fixture;
using starface::testing::star_manifest;

std::vector<std::string> tiny_cases() {
  std::vector<std::string> ids;
  for (const json& c : star_manifest()["cases"]) {
    if (c.contains("model") && c["model"] != "star_wflw_full_random" &&
        c["files"].contains("stack_landmarks")) {
      ids.push_back(c["id"]);
    }
  }
  return ids;
}

const json& find_case(const std::string& id) {
  for (const json& c : star_manifest()["cases"]) {
    if (c["id"] == id) return c;
  }
  throw std::runtime_error("no case " + id);
}

// The case's inputs concatenated along N.
Tensor case_input(const json& c) {
  const int64_t each = 3 * 256 * 256;
  Tensor input(DType::kFloat32, {static_cast<int64_t>(c["inputs"].size()), 3, 256, 256});
  int64_t n = 0;
  for (const json& id : c["inputs"]) {
    const Tensor part = import::read_npy(star_fixture(star_manifest()["inputs"][id]["file"]));
    std::copy_n(part.data<float>(), each, input.data<float>() + n++ * each);
  }
  return input;
}

struct Model {
  star::Config config;
  Graph graph;
};

const Model& model(const std::string& id) {
  static std::map<std::string, Model> models;
  auto it = models.find(id);
  if (it != models.end()) return it->second;
  const json& m = star_manifest()["models"][id];
  import::LoadOptions options;
  if (m.contains("weights")) options.weights = m["weights"];
  const TensorMap sd = import::load_state_dict(star_fixture(m["file"]).string(), options);
  Model built{star::detect_config(sd), Graph()};
  built.graph = star::build_graph(sd, built.config);
  return models.emplace(id, std::move(built)).first->second;
}

std::vector<std::string> wanted(const star::Config& config) {
  std::vector<std::string> names{"landmarks"};
  for (int s = 0; s < config.nstack; ++s) {
    for (const char* kind : {"stack_landmarks", "heatmaps", "fusion", "pointmaps", "edgemaps"}) {
      const std::string k = kind;
      if (!config.aam && (k == "pointmaps" || k == "edgemaps")) continue;
      names.push_back(star::stack_output(k, s));
    }
  }
  return names;
}

// Largest |sum over the plane - golden| for the maps of one stack and kind.
double worst_channel_sum(const Tensor& maps, const float* golden, int64_t n) {
  const int64_t channels = maps.dim(1), plane = maps.dim(2) * maps.dim(3);
  double worst = 0.0;
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0.0;
    const float* p = maps.data<float>() + (n * channels + c) * plane;
    for (int64_t i = 0; i < plane; ++i) sum += p[i];
    worst = std::max(worst, std::fabs(sum - golden[c]));
  }
  return worst;
}

class TinyGoldens : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(TinyGoldens, LandmarksAndChannelSums) {
  const auto& [id, optimized] = GetParam();
  const json& c = find_case(id);
  const Model& m = model(c["model"]);
  const Graph graph = optimized ? graph::passes::optimize(m.graph) : m.graph;
  // Two-image cases run image by image (the default) and as one batch.
  OnednnPlan plan(graph, optimized ? 1 : 0);
  const TensorMap out = plan.run(case_input(c), wanted(m.config));
  auto golden = [&](const std::string& item) {
    return import::read_npy(star_fixture(c["files"][item]["file"]));
  };
  auto tol = [&](const std::string& item) { return c["tolerances"][item].get<double>(); };

  EXPECT_LE(max_abs_diff(out.at("landmarks"), golden("landmarks")), tol("landmarks"));
  const Tensor stacks = golden("stack_landmarks");  // [S, N, P, 2]
  const int64_t batch = stacks.dim(1);
  const int64_t each = stacks.numel() / stacks.dim(0);
  for (int s = 0; s < m.config.nstack; ++s) {
    Tensor slice(DType::kFloat32, {batch, stacks.dim(2), 2});
    std::copy_n(stacks.data<float>() + s * each, each, slice.data<float>());
    EXPECT_LE(max_abs_diff(out.at(star::stack_output("stack_landmarks", s)), slice),
              tol("stack_landmarks"))
        << "stack " << s;
  }
  const Tensor sums = golden("channel_sums");  // [S, N, K, P]
  const int64_t kinds = sums.dim(2), points = sums.dim(3);
  const char* names[] = {"heatmaps", "fusion", "pointmaps"};
  for (int s = 0; s < m.config.nstack; ++s) {
    for (int64_t k = 0; k < kinds; ++k) {
      for (int64_t n = 0; n < batch; ++n) {
        const float* g = sums.data<float>() + ((s * batch + n) * kinds + k) * points;
        EXPECT_LE(worst_channel_sum(out.at(star::stack_output(names[k], s)), g, n),
                  tol("channel_sums"))
            << names[k] << " stack " << s << " row " << n;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TinyGoldens,
                         ::testing::Combine(::testing::ValuesIn(tiny_cases()), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) ? "_optimized" : "_as_built");
                         });

// The optimized network runs on the convolutions' layout from the stem on: the only
// conversion is the dense input into the stem's layout, and every residual is accumulated
// onto in place.
TEST(TinyProgram, NoLayoutChangesOrResidualCopies) {
  const Model& m = model("star_wflw_tiny");
  OnednnPlan plan(graph::passes::optimize(m.graph));
  plan.run(case_input(find_case("tiny_a")), {"landmarks"});
  const OnednnPlan::ProgramStats stats = plan.last_program_stats();
  EXPECT_LE(stats.layout_reorders, 1);
  EXPECT_EQ(stats.accumulator_copies, 0);
  // The stem's 128x128 maps dominate: a handful of 4-8 MB buffers, not one per value.
  EXPECT_LE(stats.activation_bytes, 40u << 20);
}

// The rows of a batch of 3 run in one program equal the single-image runs.
TEST(TinyBatches, RowsMatchSingleImages) {
  const Model& m = model("star_wflw_tiny");
  const Graph graph = graph::passes::optimize(m.graph);
  auto plan = std::make_unique<OnednnPlan>(graph, /*images_per_pass=*/0);
  const Tensor a = case_input(find_case("tiny_a"));
  const Tensor ba = case_input(find_case("tiny_ba"));  // b, a
  Tensor three(DType::kFloat32, {3, 3, 256, 256});
  std::copy_n(ba.data<float>(), ba.numel(), three.data<float>());
  std::copy_n(a.data<float>(), a.numel(), three.data<float>() + ba.numel());
  const Tensor all = plan->run(three, {"landmarks"}).at("landmarks");
  const Tensor one = plan->run(a, {"landmarks"}).at("landmarks");
  const int64_t per_row = one.numel();
  for (int64_t n : {1, 2}) {
    for (int64_t i = 0; i < per_row; ++i) {
      ASSERT_NEAR(all.data<float>()[n * per_row + i], one.data<float>()[i], 1e-6) << n << " " << i;
    }
  }
}

}  // namespace
}  // namespace starface::backends::onednn::testing
