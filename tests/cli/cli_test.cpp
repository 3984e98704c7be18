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
      {"analyze", "--json"},         {"bench", "--peak"},     {"convert", "--precision"},
      {"export-onnx", "--heatmaps"}, {"infer", "--heatmaps"}, {"landmarks", "--box"}};
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

TEST(Cli, NoOrUnknownCommandSaysSoAndListsTheCommands) {
  for (const auto& [args, what] : {std::pair<std::string, std::string>{"", "no command given"},
                                   {"frobnicate", "unknown command 'frobnicate'"}}) {
    const CliResult r = run_starface(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("starface: error: " + what + "\n", 0), 0u) << r.err;
    for (const char* command : {"\n  run ", "\n  models ", "\n  landmarks ", "\n  analyze "}) {
      EXPECT_NE(r.err.find(command), std::string::npos) << command << " in " << r.err;
    }
  }
  // A bad flag inside a command points at that command's help.
  const CliResult r = run_starface("run --detect-every x -o out");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("starface: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("starface run --help"), std::string::npos) << r.err;
}

TEST(Cli, VersionNamesTheProjectOneDnnAndTheCpuPath) {
  const CliResult r = run_starface("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("starface 0.1.0\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\noneDNN 2."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("own kernels: "), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.find("avx512 (") != std::string::npos ||
              r.out.find("avx2 (") != std::string::npos ||
              r.out.find("scalar (") != std::string::npos)
      << r.out;
}

// The line of `help` that documents `flag`.
std::string help_line(const std::string& help, const std::string& flag) {
  std::stringstream s(help);
  for (std::string line; std::getline(s, line);) {
    if (line.find("  " + flag + " ") != std::string::npos ||
        line.find(", " + flag + " ") != std::string::npos ||
        line.find("  " + flag + "=") != std::string::npos) {
      return line;
    }
  }
  return "";
}

TEST(Cli, EveryHelpShowsTheDefaults) {
  const std::pair<std::string, std::pair<std::string, std::string>> defaults[] = {
      {"run", {"--detect-every", "=1"}},      {"run", {"--vis-threshold", "=0.5"}},
      {"run", {"--backend", "=onednn"}},      {"run", {"--max-frames", "=0"}},
      {"landmarks", {"--weights", "=net"}},   {"analyze", {"--weights", "=net"}},
      {"detect", {"--backend", "=onednn"}},   {"infer", {"--backend", "=onednn"}},
      {"convert", {"--precision", "=fp32"}},  {"eval", {"--backend", "=onednn"}},
      {"export-onnx", {"--weights", "=net"}}, {"bench", {"--peak-seconds", "="}},
  };
  for (const auto& [sub, option] : defaults) {
    const CliResult r = run_starface(sub + " --help");
    ASSERT_EQ(r.exit_code, 0) << sub;
    const std::string line = help_line(r.out, option.first);
    EXPECT_NE(line.find(option.second), std::string::npos)
        << sub << " " << option.first << ": '" << line << "'\n"
        << r.out;
  }
  // A list nobody gave has no default to show: no "=[]".
  for (const char* sub : {"run", "convert", "eval", "landmarks", "stability"}) {
    const CliResult r = run_starface(std::string(sub) + " --help");
    EXPECT_EQ(r.out.find("=[]"), std::string::npos) << sub << "\n" << r.out;
  }
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
  EXPECT_EQ(j["graph"]["op_histogram"]["BatchNorm"], 182);
  EXPECT_FALSE(j["optimized_graph"]["op_histogram"].contains("BatchNorm"));
  EXPECT_EQ(j["optimized_graph"]["op_histogram"]["ScaleShift"], 59);
  EXPECT_LT(j["optimized_graph"]["nodes"].get<int>(), j["graph"]["nodes"].get<int>());
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

// Short FMA-peak trials: the tests check the report's shape, not the machine's speed.
const std::string kBench = "bench --peak-seconds 0.02 ";

void expect_positive(const nlohmann::json& j, const std::string& key) {
  ASSERT_TRUE(j.contains(key)) << key;
  ASSERT_TRUE(j[key].is_number()) << key << ": " << j[key];
  EXPECT_GT(j[key].get<double>(), 0) << key;
}

TEST(Cli, BenchJsonReportsTimingAgainstThePeak) {
  const CliResult r = run_starface(kBench + "--model " + kTiny + " --runs 2 --warmup 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key :
       {"median_ms_per_face", "min_ms_per_face", "p90_ms_per_face", "faces_per_s", "gflops",
        "peak_gflops", "peak_share", "floor_ms_per_face", "load_ms", "threads", "batch", "runs"}) {
    expect_positive(j, key);
  }
  for (const char* key : {"min", "median", "p90", "mean"}) expect_positive(j["ms_per_call"], key);
  EXPECT_EQ(j["runs"], 2);
  EXPECT_EQ(j["batch"], 1);
  EXPECT_EQ(j["backend"], "onednn");  // the default
  EXPECT_FALSE(j["backend_info"].get<std::string>().empty());
  EXPECT_EQ(j["macs_per_face"], star_manifest()["models"]["star_wflw_tiny"]["cost"]["macs_total"]);
  EXPECT_LE(j["min_ms_per_face"].get<double>(), j["median_ms_per_face"].get<double>());
  EXPECT_LE(j["median_ms_per_face"].get<double>(), j["p90_ms_per_face"].get<double>());
  EXPECT_TRUE(j["landmarks_finite"].get<bool>());
  const std::string isa = j["isa"];
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "scalar") << isa;
  EXPECT_TRUE(j["cpu"]["model"].is_string());
  EXPECT_TRUE(j["cpu"]["features"]["avx2"].is_boolean());
  EXPECT_FALSE(j.contains("profile"));
}

TEST(Cli, BenchProfileSplitsTimeByOpAndStage) {
  const CliResult r = run_starface(kBench + "--model " + kTiny +
                                   " --runs 1 --warmup 0 --batch 2 --threads 1 --json --profile");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["batch"], 2);
  ASSERT_TRUE(j.contains("profile"));
  const auto& p = j["profile"];
  EXPECT_EQ(p["runs"], 1);
  ASSERT_TRUE(p["by_op"].is_array());
  ASSERT_TRUE(p["by_stage"].is_array());
  // A backend without per-node timers reports an empty profile rather than failing.
  if (!p["available"].get<bool>()) GTEST_SKIP() << "backend records no per-node times";
  double share = 0;
  bool has_stem = false;
  for (const auto& row : p["by_stage"]) {
    share += row["share"].get<double>();
    has_stem |= row["stage"] == "stem";
  }
  EXPECT_NEAR(share, 1.0, 1e-6);
  EXPECT_TRUE(has_stem);
  EXPECT_FALSE(p["by_op"].empty());
}

TEST(Cli, BenchRunsFp32FastAndNamesTheWinogradKernels) {
  const CliResult r = run_starface(kBench + "--model " + kTiny +
                                   " --precision fp32-fast --runs 1 --warmup 0 --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["backend_info"].get<std::string>().find("winograd"), std::string::npos);
  EXPECT_EQ(j["precision"], "fp32-fast");
  // Every conv Winograd does not take (1x1, stride 2, ...) is listed with its reason.
  ASSERT_TRUE(j["precision_fallbacks"].is_object());
  EXPECT_FALSE(j["precision_fallbacks"].empty());
  for (const auto& [conv, why] : j["precision_fallbacks"].items()) {
    EXPECT_NE(why.get<std::string>().find("Winograd"), std::string::npos) << conv << ": " << why;
  }
  // The reference backend is the exact oracle: it refuses a faster, inexact precision.
  const CliResult ref = run_starface(kBench + "--model " + kTiny +
                                     " --backend ref --precision fp32-fast --runs 1 --warmup 0");
  EXPECT_EQ(ref.exit_code, 1);
  EXPECT_NE(ref.err.find("fp32-fast"), std::string::npos) << ref.err;
  EXPECT_EQ(run_starface(kBench + "--model " + kTiny + " --precision fp64").exit_code, 1);
}

TEST(Cli, BenchTextNamesTheFloor) {
  const CliResult r =
      run_starface(kBench + "--model " + kTiny + " --runs 1 --warmup 0 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"median", "faces/s", "of the FP32 FMA peak", "floor", "onednn"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
}

TEST(Cli, BenchPeakAloneNeedsNoModel) {
  const CliResult r = run_starface(kBench + "--peak --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["peak"].size(), 1u);
  EXPECT_EQ(j["peak"][0]["threads"], 1);
  expect_positive(j["peak"][0], "gflops");
  EXPECT_GE(j["cpu"]["logical_cores"].get<int>(), 1);
  const CliResult text = run_starface(kBench + "--peak --threads 1");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("GFLOP/s"), std::string::npos) << text.out;
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
      {"BenchZeroRuns", "bench --model " + kTiny + " --runs 0", "--runs"},
      {"BenchZeroBatch", "bench --model " + kTiny + " --batch 0", "--batch"},
      {"BenchNegativeWarmup", "bench --model " + kTiny + " --warmup -1", "--warmup"},
      {"BenchNothingToTime", "bench --json", "--model"},
      {"BenchPeakWithModel", "bench --peak --model " + kTiny, "--peak"},
      {"BenchNoSuchModel", "bench --model /nonexistent/model.pth", "/nonexistent/model.pth"},
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
