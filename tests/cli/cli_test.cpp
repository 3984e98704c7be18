// The CLI on tiny models and on bad input: every error is a message naming what is wrong
// and exit code 1, never a crash.
#include <opencv2/imgcodecs.hpp>

#include "cli/cli_run.h"
#include "import/npy.h"

namespace starface::testing {
namespace {

const std::string kTiny = quoted(star_fixture("models/star_wflw_tiny.pth"));

TEST(Cli, HelpForEverySubcommand) {
  const std::pair<std::string, std::string> flags[] = {
      {"analyze", "--json"}, {"infer", "--heatmaps"}, {"landmarks", "--box"}};
  for (const auto& [sub, flag] : flags) {
    const CliResult r = run_starface(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find(flag), std::string::npos) << sub << ": " << r.out;
  }
  EXPECT_EQ(run_starface("--help").exit_code, 0);
}

TEST(Cli, NoSubcommandOrBadFlagIsUsageError) {
  EXPECT_EQ(run_starface("").exit_code, 1);
  const CliResult r = run_starface("analyze " + kTiny + " --no-such-flag");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  EXPECT_EQ(run_starface("analyze " + kTiny + " --backend gpu").exit_code, 1);
  EXPECT_EQ(run_starface("analyze " + kTiny + " --weights best").exit_code, 1);
}

TEST(Cli, AnalyzeJsonReportsTinyModel) {
  const CliResult r = run_starface("analyze " + kTiny + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& cost = star_manifest()["models"]["star_wflw_tiny"]["cost"];
  EXPECT_EQ(j["parameters"]["stored"], cost["params_total"]);
  EXPECT_EQ(j["parameters"]["executed"], cost["params_executed"]);
  EXPECT_EQ(j["macs"]["total"], cost["macs_total"]);
  EXPECT_EQ(j["macs"]["e2h"], cost["macs_e2h"]);
  EXPECT_EQ(j["config"]["points"], 98);
  EXPECT_EQ(j["config"]["layout"], "WFLW");
  EXPECT_EQ(j["optimizer_could"]["coordinate_channel_convs_to_bias_map"], 5);
  EXPECT_GT(j["optimizer_could"]["fold_bn_into_conv"].get<int>(), 0);
}

TEST(Cli, AnalyzeTextMentionsTheFigures) {
  const CliResult r = run_starface("analyze " + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("246,292 stored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1,643,425,792"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hourglass[3]"), std::string::npos) << r.out;
}

TEST(Cli, InferMatchesGoldensAndWritesHeatmaps) {
  const auto dir = temp_dir("infer");
  const CliResult r = run_starface(
      "infer --model " + kTiny + " --input " + quoted(star_fixture("cases/inputs/input_a.npy")) +
      " --output " + quoted(dir / "lm.npy") + " --heatmaps " + quoted(dir / "heat.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Tensor lm = import::read_npy((dir / "lm.npy").string());
  const Tensor want = import::read_npy(star_fixture("cases/tiny_a/landmarks.npy").string());
  EXPECT_LE(max_abs_diff(lm, want), 1.5e-5);
  const Tensor heat = import::read_npy((dir / "heat.npy").string());
  EXPECT_EQ(heat.shape(), (Shape{1, 98, 64, 64}));
  EXPECT_FALSE(std::filesystem::exists(dir / "lm.npy.tmp"));
}

struct BadCase {
  std::string name;
  std::string args;
  std::string message;  // a part the error must contain
};

class CliBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(CliBadInput, ExitsOneWithAClearMessage) {
  const CliResult r = run_starface(GetParam().args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

std::string bad_model(const std::string& file) {
  return "analyze " + quoted(star_fixture("models/bad/" + file));
}

// Files made once for the bad-input cases below.
std::filesystem::path made_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / "starface_cli_bad_inputs";
    std::filesystem::create_directories(d);
    std::ofstream(d / "not_an_image.png") << "this is text, not a PNG";
    cv::imwrite((d / "face.png").string(), cv::Mat(64, 48, CV_8UC3, cv::Scalar(90, 120, 200)));
    import::write_npy((d / "wrong_shape.npy").string(), Tensor(DType::kFloat32, {1, 3, 128, 128}));
    import::write_npy((d / "wrong_dtype.npy").string(), Tensor(DType::kFloat64, {1, 3, 256, 256}));
    std::ofstream(d / "garbage.npy") << "\x93NUMPY garbage";
    return d;
  }();
  return dir;
}

std::vector<BadCase> bad_cases() {
  const auto d = made_dir();
  const std::string infer =
      "infer --model " + kTiny + " --output " + quoted(d / "out.npy") + " --input ";
  const std::string lm = "landmarks --model " + kTiny + " --image ";
  return {
      {"TruncatedZip", bad_model("truncated_zip.pth"), "truncated_zip.pth"},
      {"TruncatedLegacy", bad_model("truncated_legacy.pth"), "truncated_legacy.pth"},
      {"RandomBytes", bad_model("random_bytes.pth"), "random_bytes.pth"},
      {"Empty", bad_model("empty.pth"), "empty.pth"},
      {"MaliciousZip", bad_model("malicious_zip.pth"), "posix.system"},
      {"MaliciousLegacy", bad_model("malicious_legacy.pth"), "posix.system"},
      {"MissingKey", bad_model("missing_key.pth"), "hgs.2.low1.conv2.conv.weight"},
      {"WrongShape", bad_model("wrong_shape.pth"), "features.1.1.conv.weight"},
      {"NoSuchModel", "analyze /nonexistent/model.pth", "/nonexistent/model.pth"},
      {"NoSuchImage", lm + "/nonexistent.png --box 1,1,20,20", "/nonexistent.png"},
      {"NotAnImage", lm + quoted(d / "not_an_image.png") + " --box 1,1,20,20", "not_an_image.png"},
      {"ZeroSizeBox", lm + quoted(d / "face.png") + " --box 10,10,10,40", "zero or negative size"},
      {"BoxOutsideImage", lm + quoted(d / "face.png") + " --box 100,100,140,140",
       "does not overlap"},
      {"BoxNotNumbers", lm + quoted(d / "face.png") + " --box 1,2,three,4", "three"},
      {"NpyWrongShape", infer + quoted(d / "wrong_shape.npy"), "[1, 3, 128, 128]"},
      {"NpyWrongDtype", infer + quoted(d / "wrong_dtype.npy"), "float64"},
      {"NpyGarbage", infer + quoted(d / "garbage.npy"), "garbage.npy"},
      {"NpyMissing", infer + "/nonexistent.npy", "/nonexistent.npy"},
  };
}

INSTANTIATE_TEST_SUITE_P(Cases, CliBadInput, ::testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Cli, FailedInferLeavesNoOutput) {
  const auto d = made_dir();
  std::filesystem::remove(d / "never.npy");
  run_starface("infer --model " + quoted(star_fixture("models/bad/truncated_zip.pth")) +
               " --input " + quoted(star_fixture("cases/inputs/input_a.npy")) + " --output " +
               quoted(d / "never.npy"));
  EXPECT_FALSE(std::filesystem::exists(d / "never.npy"));
  EXPECT_FALSE(std::filesystem::exists(d / "never.npy.tmp"));
}

}  // namespace
}  // namespace starface::testing
