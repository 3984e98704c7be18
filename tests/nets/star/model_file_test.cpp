// The optimized model file: what convert writes (metadata, every output, float16 storage),
// how far float16 weights move the landmarks, and the files Engine::load must refuse.
// STARFACE_MODEL_FILE_FULL=1 measures the full-size model (sizes, drift) instead.
#include "nets/common/model_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/timer.h"
#include "engine/engine.h"
#include "graph/int8.h"
#include "graph/precision.h"
#include "import/expect_error.h"
#include "import/npy.h"
#include "import/safetensors.h"
#include "nets/star/landmark_net.h"
#include "support/fixtures.h"

#ifndef STARFACE_MODEL_FILE_FULL
#define STARFACE_MODEL_FILE_FULL 0
#endif

namespace starface {
namespace {

using testing::star_fixture;
using testing::star_manifest;
using testing::throws_error;

std::string model_path(const std::string& id) {
  return star_fixture(star_manifest()["models"][id]["file"]);
}

Tensor input_named(const std::string& id) {
  return import::read_npy(star_fixture(star_manifest()["inputs"][id]["file"]));
}

// |a - b| over landmarks in [-1, 1], in pixels of the 256-pixel crop.
struct Drift {
  double mean_px = 0;
  double max_px = 0;
};

Drift landmark_drift(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  Drift d;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double px = std::fabs(a.data<float>()[i] - b.data<float>()[i]) * 128.0;
    d.mean_px += px / static_cast<double>(a.numel());
    d.max_px = std::max(d.max_px, px);
  }
  return d;
}

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::temp_dir("model_file"); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string convert(const std::string& model_id, const std::string& precision,
                      const std::string& weights = "net") {
    const std::string out = path(model_id + "_" + precision + "_" + weights + ".safetensors");
    convert_model(model_path(model_id), out, ConvertOptions::stored_as(precision, weights));
    return out;
  }
  std::filesystem::path dir_;
};

#if !STARFACE_MODEL_FILE_FULL

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST_F(ModelFile, StoresMetadataAndEveryOutput) {
  const std::string file = convert("star_wflw_tiny", "fp32");
  const import::SafetensorsFile raw = import::read_safetensors(file);
  EXPECT_EQ(raw.metadata.at("format"), nets::kModelFileFormat);
  EXPECT_EQ(raw.metadata.at("format_version"), "1");
  EXPECT_EQ(raw.metadata.at("precision"), "fp32");
  EXPECT_EQ(raw.metadata.at("source"), "star_wflw_tiny.pth");
  EXPECT_EQ(raw.metadata.at("weights"), "net");
  for (const auto& [name, t] : raw.tensors) EXPECT_EQ(t.dtype(), DType::kFloat32) << name;

  const auto from_ckpt = Engine::load(model_path("star_wflw_tiny"));
  const auto from_file = Engine::load(file);
  EXPECT_FALSE(from_ckpt->source().model_file);
  EXPECT_TRUE(from_file->source().model_file);
  EXPECT_EQ(from_file->source().checkpoint, "star_wflw_tiny.pth");
  EXPECT_EQ(from_file->source().storage, "fp32");
  EXPECT_EQ(from_file->net().name(), "star");
  EXPECT_EQ(from_file->net().config, from_ckpt->net().config);
  EXPECT_EQ(from_file->net().details, from_ckpt->net().details);
  EXPECT_EQ(from_file->net().points, from_ckpt->net().points);
  std::vector<std::string> want, got;
  for (const auto& [name, id] : from_ckpt->graph().outputs()) want.push_back(name);
  for (const auto& [name, id] : from_file->graph().outputs()) got.push_back(name);
  EXPECT_EQ(got, want);
  // No BatchNorm is left to fold: the stored graph is the optimized one.
  for (const graph::Node& n : from_file->graph().nodes()) {
    EXPECT_NE(n.op, graph::OpKind::kBatchNorm) << n.name;
  }
  // Parameters counted on the stored graph: the E2H matrix (98 x 9 + 98) is the only buffer.
  EXPECT_EQ(from_file->params().buffers, 98 * 9 + 98);
  EXPECT_GT(from_file->params().total.used, 0);
  EXPECT_EQ(from_file->params().total.used, from_file->params().total.stored);
}

TEST_F(ModelFile, Float16HalvesTheLargeConstantsAndStaysNearFloat32) {
  const std::string fp32 = convert("star_wflw_tiny", "fp32");
  const std::string fp16 = convert("star_wflw_tiny", "fp16");
  const import::SafetensorsFile raw = import::read_safetensors(fp16);
  EXPECT_EQ(raw.metadata.at("precision"), "fp16");
  int halves = 0;
  for (const auto& [name, t] : raw.tensors) {
    const bool large = t.numel() >= nets::kFloat16MinElements;
    EXPECT_EQ(t.dtype(), large ? DType::kFloat16 : DType::kFloat32) << name;
    halves += large;
  }
  EXPECT_GT(halves, 0);
  EXPECT_LT(std::filesystem::file_size(fp16), std::filesystem::file_size(fp32) * 6 / 10);

  const auto exact = Engine::load(fp32);
  const auto half = Engine::load(fp16);
  EXPECT_EQ(half->source().storage, "fp16");
  EXPECT_EQ(half->precision(), graph::Precision::kFp32);  // compute stays float32
  const Tensor input = input_named("input_a");
  const Drift d = landmark_drift(exact->landmarks(input), half->landmarks(input));
  std::printf("tiny fp16 vs fp32 landmarks: mean %.4f px, max %.4f px\n", d.mean_px, d.max_px);
  EXPECT_GT(d.max_px, 0.0);  // the weights really were rounded
  EXPECT_LT(d.mean_px, 0.25);
  EXPECT_LT(d.max_px, 1.5);
}

TEST_F(ModelFile, KeepsTheEmaWeightsAndRefusesTheWrongEntry) {
  const std::string ema = convert("star_wflw_tiny_ema", "fp32", "net_ema");
  EngineOptions want_ema;
  want_ema.weights = "net_ema";
  const auto engine = Engine::load(ema, want_ema);
  EXPECT_EQ(engine->source().weights, "net_ema");
  const nlohmann::json& c = [] {
    for (const nlohmann::json& c : star_manifest()["cases"]) {
      if (c["id"] == "tiny_ema_a") return c;
    }
    throw std::runtime_error("no tiny_ema_a");
  }();
  const Tensor golden = import::read_npy(star_fixture(c["files"]["landmarks"]["file"]));
  EXPECT_LE(testing::max_abs_diff(engine->landmarks(input_named("input_a")), golden),
            c["tolerances"]["landmarks"].get<double>());
  const std::string net = convert("star_wflw_tiny", "fp32");
  EXPECT_TRUE(throws_error([&] { Engine::load(net, want_ema); }, ErrorCode::kBadArgument,
                           {net, "--weights ema"}));
}

TEST_F(ModelFile, ReencodesAModelFile) {
  const std::string fp32 = convert("star_cofw_tiny", "fp32");
  const std::string fp16 = path("again.safetensors");
  convert_model(fp32, fp16, ConvertOptions::stored_as("fp16"));
  const auto engine = Engine::load(fp16);
  EXPECT_EQ(engine->source().storage, "fp16");
  EXPECT_EQ(engine->source().checkpoint, "star_cofw_tiny.pth");
  EXPECT_EQ(star::parse_config(engine->net().config, fp16).nlevels, 2);
}

TEST_F(ModelFile, ConvertRefusesBadArgumentsAndWritesNothing) {
  const std::string out = path("out.safetensors");
  EXPECT_TRUE(throws_error(
      [&] { convert_model(model_path("star_wflw_tiny"), out, ConvertOptions::stored_as("int8")); },
      ErrorCode::kBadArgument, {"int8"}));
  EXPECT_TRUE(throws_error(
      [&] { convert_model(star_fixture("models/bad/malicious_zip.pth"), out, ConvertOptions{}); },
      ErrorCode::kUnsafePickle, {"malicious_zip.pth"}));
  EXPECT_TRUE(
      throws_error([&] { convert_model(model_path("star_wflw_tiny"), path("none/x.safetensors")); },
                   ErrorCode::kIo, {"x.safetensors"}));
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(ModelFile, RefusesForeignCorruptAndTruncatedFiles) {
  // A safetensors file from elsewhere: tensors, but no starface metadata.
  const std::string foreign = path("foreign.safetensors");
  import::write_safetensors(foreign,
                            {{ "weight",
                               Tensor(DType::kFloat32, {2, 2}) }},
                            {{ "format",
                               "pt" }});
  EXPECT_TRUE(throws_error([&] { Engine::load(foreign); }, ErrorCode::kNotACheckpoint,
                           {foreign, "not a starface model", "starface convert"}));
  // Found by content, whatever the name.
  const std::string renamed = path("foreign.pth");
  std::filesystem::copy_file(foreign, renamed);
  EXPECT_TRUE(throws_error([&] { Engine::load(renamed); }, ErrorCode::kNotACheckpoint,
                           {"not a starface model"}));

  const std::string good = convert("star_wflw_tiny", "fp16");
  import::SafetensorsFile raw = import::read_safetensors(good);
  auto rewrite = [&](const std::string& name, auto edit) {
    import::SafetensorsFile copy = raw;
    edit(copy);
    import::write_safetensors(path(name), copy.tensors, copy.metadata);
    return path(name);
  };
  const std::string bad_graph = rewrite("bad_graph.safetensors", [](auto& f) {
    f.metadata["graph"] = f.metadata["graph"].substr(0, 100);
  });
  EXPECT_TRUE(throws_error([&] { Engine::load(bad_graph); }, ErrorCode::kNotACheckpoint,
                           {bad_graph, "corrupt model graph"}));
  const std::string bad_config = rewrite(
      "bad_config.safetensors", [](auto& f) { f.metadata["config"] = R"({"nstack": "four"})"; });
  EXPECT_TRUE(throws_error([&] { Engine::load(bad_config); }, ErrorCode::kNotACheckpoint,
                           {bad_config, "config"}));
  const std::string wrong_points = rewrite("wrong_points.safetensors", [](auto& f) {
    auto config = nlohmann::json::parse(f.metadata["config"]);
    config["points"] = 68;
    f.metadata["config"] = config.dump();
  });
  EXPECT_TRUE(throws_error([&] { Engine::load(wrong_points); }, ErrorCode::kNotACheckpoint,
                           {"landmarks", "[1, 68, 2]"}));
  const std::string newer =
      rewrite("newer.safetensors", [](auto& f) { f.metadata["format_version"] = "7"; });
  EXPECT_TRUE(
      throws_error([&] { Engine::load(newer); }, ErrorCode::kNotACheckpoint, {"version 7"}));
  const std::string missing =
      rewrite("missing.safetensors", [](auto& f) { f.tensors.erase(f.tensors.begin()); });
  EXPECT_TRUE(throws_error([&] { Engine::load(missing); }, ErrorCode::kMissingKey, {missing}));
  const std::string no_precision =
      rewrite("no_precision.safetensors", [](auto& f) { f.metadata.erase("precision"); });
  EXPECT_TRUE(throws_error([&] { Engine::load(no_precision); }, ErrorCode::kNotACheckpoint,
                           {"'precision'"}));

  // Cut short: within the header, and within the data.
  const std::string bytes = read_bytes(good);
  for (const size_t keep : {size_t{5}, size_t{200}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string cut = path("cut_" + std::to_string(keep) + ".safetensors");
    write_bytes(cut, bytes.substr(0, keep));
    EXPECT_TRUE(
        throws_error([&] { Engine::load(cut); }, ErrorCode::kTruncatedArchive, {cut, "truncated"}))
        << keep;
  }
  const std::string empty = path("empty.safetensors");
  write_bytes(empty, "");
  EXPECT_TRUE(throws_error([&] { Engine::load(empty); }, ErrorCode::kTruncatedArchive, {empty}));
}

// The name of the first conv of `g` that int8 may take (dense, computed input).
std::string first_int8_candidate(const graph::Graph& g) {
  for (const graph::Node& n : g.nodes()) {
    if (graph::int8_candidate(g, n)) return n.name;
  }
  return "";
}

TEST_F(ModelFile, PerConvPrecisionsRoundTripAndGovernTheDefaultRun) {
  const std::string fp32 = convert("star_wflw_tiny", "fp32");
  nets::ModelFile file = nets::read_model_file(fp32);
  EXPECT_EQ(file.info.precisions.others, graph::Precision::kFp32);
  EXPECT_TRUE(file.info.precisions.convs.empty());
  const std::string conv = first_int8_candidate(file.graph);
  ASSERT_FALSE(conv.empty());

  // Winograd by default, one conv held to exact fp32.
  file.info.precisions.others = graph::Precision::kFp32Winograd;
  file.info.precisions.convs[conv] = graph::Precision::kFp32;
  const std::string mixed = path("mixed.safetensors");
  nets::write_model_file(mixed, file.graph, star::net_info(star::parse_config(file.config, mixed)),
                         file.info);
  const nets::ModelFile back = nets::read_model_file(mixed);
  EXPECT_EQ(back.info.precisions.others, graph::Precision::kFp32Winograd);
  EXPECT_EQ(back.info.precisions.convs, file.info.precisions.convs);

  const auto by_default = Engine::load(mixed);
  EXPECT_EQ(by_default->precision(), graph::Precision::kFp32Winograd);
  EXPECT_EQ(by_default->conv_precisions().of(conv), graph::Precision::kFp32);
  EngineOptions exact;
  exact.precision = graph::Precision::kFp32;
  const auto asked = Engine::load(mixed, exact);
  EXPECT_EQ(asked->conv_precisions().of(conv), graph::Precision::kFp32);
  EXPECT_EQ(asked->conv_precisions().others, graph::Precision::kFp32);
}

TEST_F(ModelFile, AnInt8FileRunsInt8OrFp32AndRefusesOtherPrecisionsNamingWhatItHolds) {
  const std::string fp32 = convert("star_wflw_tiny", "fp32");
  nets::ModelFile file = nets::read_model_file(fp32);
  const std::string conv = first_int8_candidate(file.graph);
  file.info.precision = "int8";
  file.info.int8.input_scales[conv] = 0.01f;
  file.info.precisions = graph::ConvPrecisions::int8_at(file.info.int8.input_scales);
  const std::string int8 = path("int8.safetensors");
  nets::write_model_file(int8, file.graph, star::net_info(star::parse_config(file.config, int8)),
                         file.info);

  EXPECT_EQ(Engine::load(int8)->precision(), graph::Precision::kInt8);
  EngineOptions fp32_options;
  fp32_options.precision = graph::Precision::kFp32;
  EXPECT_EQ(Engine::load(int8, fp32_options)->precision(), graph::Precision::kFp32);
  for (graph::Precision other : {graph::Precision::kBf16, graph::Precision::kFp32Winograd}) {
    EngineOptions o;
    o.precision = other;
    EXPECT_TRUE(throws_error([&] { Engine::load(int8, o); }, ErrorCode::kBadArgument,
                             {int8, "holds an int8 model", graph::precision_name(other)}));
  }
}

TEST_F(ModelFile, ACorruptPrecisionTableIsRefusedByName) {
  const std::string good = convert("star_wflw_tiny", "fp32");
  const nets::ModelFile file = nets::read_model_file(good);
  const std::string conv = first_int8_candidate(file.graph);
  import::SafetensorsFile raw = import::read_safetensors(good);
  struct Case {
    std::string name, table, message;
  };
  const std::vector<Case> cases{
      {"not_json", "{", "precision table is not valid JSON"},
      {"no_convs", R"({"others": "fp32"})", "'convs'"},
      {"unknown_conv", R"({"others": "fp32", "convs": {"no.such.conv": "bf16"}})",
       "'no.such.conv', which is not a conv"},
      {"unknown_precision", R"({"others": "fp32", "convs": {")" + conv + R"(": "fp8"}})",
       "conv '" + conv + "' has precision \"fp8\""},
      {"int8_without_scale", R"({"others": "fp32", "convs": {")" + conv + R"(": "int8"}})",
       "conv '" + conv + "' is int8 but has no calibrated scale"},
      {"int8_others", R"({"others": "int8", "convs": {}})", "'others' cannot be int8"},
  };
  for (const Case& c : cases) {
    import::SafetensorsFile copy = raw;
    copy.metadata["precisions"] = c.table;
    const std::string bad = path(c.name + ".safetensors");
    import::write_safetensors(bad, copy.tensors, copy.metadata);
    EXPECT_TRUE(
        throws_error([&] { Engine::load(bad); }, ErrorCode::kNotACheckpoint, {bad, c.message}))
        << c.name;
  }
}

#else  // STARFACE_MODEL_FILE_FULL

// The figures the report quotes: file sizes, load times, float16 drift on the full model.
TEST_F(ModelFile, FullModelSizesLoadTimesAndFloat16Drift) {
  const std::string checkpoint = model_path("star_wflw_full_random");
  const std::string fp32 = convert("star_wflw_full_random", "fp32");
  const std::string fp16 = convert("star_wflw_full_random", "fp16");
  const auto size_mb = [](const std::string& p) { return std::filesystem::file_size(p) / 1e6; };
  std::printf("sizes: checkpoint %.2f MB, fp32 file %.2f MB, fp16 file %.2f MB\n",
              size_mb(checkpoint), size_mb(fp32), size_mb(fp16));
  EXPECT_LT(size_mb(fp16), 0.55 * size_mb(fp32));

  std::map<std::string, std::unique_ptr<Engine> > engines;
  for (const std::string& p : {checkpoint, fp32, fp16}) {
    const Timer t;
    engines[p] = Engine::load(p);
    std::printf("Engine::load %s: %.1f ms\n", std::filesystem::path(p).filename().c_str(),
                t.elapsed_ms());
  }
  for (const std::string id : {"input_a", "input_b"}) {
    const Tensor input = input_named(id);
    const Tensor reference = engines[checkpoint]->landmarks(input);
    const Drift exact = landmark_drift(reference, engines[fp32]->landmarks(input));
    const Drift half = landmark_drift(reference, engines[fp16]->landmarks(input));
    std::printf("%s: fp32 file vs checkpoint max %.2e px; fp16 file mean %.4f px, max %.4f px\n",
                id.c_str(), exact.max_px, half.mean_px, half.max_px);
    // The golden tolerance (1.8e-5 normalised) in crop pixels.
    EXPECT_LE(exact.max_px, 1.8e-5 * 128);
    EXPECT_LT(half.mean_px, 0.25);
    EXPECT_LT(half.max_px, 1.5);
  }
}

#endif

}  // namespace
}  // namespace starface
