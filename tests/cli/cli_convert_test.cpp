// starface convert and the model file it writes: every subcommand takes the file in place
// of the checkpoint, and convert's bad inputs exit 1 with a message and leave no file.
#include <opencv2/imgcodecs.hpp>

#include "cli/cli_run.h"
#include "import/npy.h"

namespace starface::testing {
namespace {

const std::string kTiny = quoted(star_fixture("models/star_wflw_tiny.pth"));
const std::string kImages = quoted(shared_dir() / "data" / "images");

// The tiny model converted once (fp32 and fp16) for every test here.
const std::filesystem::path& converted_dir() {
  static const std::filesystem::path dir = [] {
    const auto d = temp_dir("cli_convert");
    for (const char* precision : {"fp32", "fp16"}) {
      const CliResult r = run_starface("convert " + kTiny + " -o " +
                                       quoted(d / (std::string(precision) + ".safetensors")) +
                                       " --precision " + precision);
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    return d;
  }();
  return dir;
}

std::string model(const char* precision) {
  return quoted(converted_dir() / (std::string(precision) + ".safetensors"));
}

TEST(CliConvert, ReportsWhatItWroteAsJson) {
  const auto dir = temp_dir("cli_convert_json");
  const CliResult r = run_starface("convert " + kTiny + " -o " + quoted(dir / "m.safetensors") +
                                   " --precision fp16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["precision"], "fp16");
  EXPECT_EQ(j["weights"], "net");
  EXPECT_EQ(j["output_bytes"].get<int64_t>(),
            static_cast<int64_t>(std::filesystem::file_size(dir / "m.safetensors")));
  EXPECT_GT(j["nodes"].get<int>(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors.tmp"));
}

TEST(CliConvert, AnalyzeReportsTheModelFile) {
  const CliResult r = run_starface("analyze " + model("fp16") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["source"]["kind"], "model_file");
  EXPECT_EQ(j["source"]["weights_storage"], "fp16");
  EXPECT_EQ(j["source"]["converted_from"], "star_wflw_tiny.pth");
  EXPECT_EQ(j["config"]["points"], 98);
  EXPECT_FALSE(j["graph"]["op_histogram"].contains("BatchNorm"));
  EXPECT_EQ(j["optimizer_could"]["fold_bn_into_conv"], 0);
  const CliResult text = run_starface("analyze " + model("fp32"));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("converted from star_wflw_tiny.pth"), std::string::npos) << text.out;
}

TEST(CliConvert, InferFromTheModelFileMatchesTheGoldens) {
  const auto dir = temp_dir("cli_convert_infer");
  for (const char* precision : {"fp32", "fp16"}) {
    const auto lm = dir / (std::string(precision) + "_lm.npy");
    const auto heat = dir / (std::string(precision) + "_heat.npy");
    const CliResult r = run_starface("infer --model " + model(precision) + " --input " +
                                     quoted(star_fixture("cases/inputs/input_a.npy")) +
                                     " --output " + quoted(lm) + " --heatmaps " + quoted(heat));
    ASSERT_EQ(r.exit_code, 0) << precision << ": " << r.err;
    const Tensor got = import::read_npy(lm.string());
    const Tensor want = import::read_npy(star_fixture("cases/tiny_a/landmarks.npy").string());
    // fp32: the golden tolerance; fp16: 1.5 crop pixels (landmarks in [-1, 1] x 128).
    EXPECT_LE(max_abs_diff(got, want), std::string(precision) == "fp32" ? 1.5e-5 : 1.5 / 128)
        << precision;
    EXPECT_EQ(import::read_npy(heat.string()).shape(), (Shape{1, 98, 64, 64}));
  }
}

// int8 on centre crops of the face images: every conv int8 (signed inputs as int8 x int8),
// each with its range, clip and SQNR, stored as int8 weights; infer --precision int8 runs
// them and stays near fp32 (the tiny random model moves by ~12 crop pixels at most), and a
// model without calibration refuses int8 by name.
TEST(CliConvert, Int8CalibratesStoresAndRuns) {
  const auto dir = temp_dir("cli_convert_int8");
  const auto file = dir / "int8.safetensors";
  const CliResult r = run_starface("convert " + kTiny + " -o " + quoted(file) +
                                   " --precision int8 --calibrate " + kImages + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["int8"]["crops"], 5);  // one centre crop per image
  EXPECT_GT(j["int8"]["int8_convs"].get<int>(), 10);
  EXPECT_EQ(j["int8"]["clipping"], "mse");
  const auto& stem = j["int8"]["layers"]["pre.0.conv"];  // the [-1, 1] image
  EXPECT_EQ(stem["precision"], "int8");
  EXPECT_TRUE(stem["signed"].get<bool>());
  EXPECT_EQ(stem["min"].get<double>(), -1.0);
  EXPECT_LE(stem["clip_ratio"].get<double>(), 1.0);
  EXPECT_GT(stem["sqnr_db"].get<double>(), 20.0);
  EXPECT_EQ(j["int8"]["layers"].size(),
            j["int8"]["int8_convs"].get<size_t>() + j["int8"]["fp32_convs"].size());
  EXPECT_LT(j["output_bytes"].get<int64_t>(),
            std::filesystem::file_size(converted_dir() / "fp32.safetensors"));

  const auto lm = dir / "lm.npy";
  const CliResult run =
      run_starface("infer --precision int8 --model " + quoted(file) + " --input " +
                   quoted(star_fixture("cases/inputs/input_a.npy")) + " --output " + quoted(lm));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Tensor got = import::read_npy(lm.string());
  const Tensor want = import::read_npy(star_fixture("cases/tiny_a/landmarks.npy").string());
  const double drift = max_abs_diff(got, want) * 128;
  EXPECT_GT(drift, 0.0) << "int8 cannot be exact";
  EXPECT_LT(drift, 24.0);  // a wrong scale sends the heat maps, and the points, anywhere

  // Without --precision the file runs as what it was made for: int8, not fp32 in disguise;
  // --precision fp32 still asks for the exact arithmetic.
  const auto infer_as = [&](const std::string& precision_flag, const std::string& name) {
    const CliResult r = run_starface(
        "infer " + precision_flag + " --model " + quoted(file) + " --input " +
        quoted(star_fixture("cases/inputs/input_a.npy")) + " --output " + quoted(dir / name));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return import::read_npy((dir / name).string());
  };
  EXPECT_EQ(max_abs_diff(infer_as("", "default.npy"), got), 0.0);
  EXPECT_GT(max_abs_diff(infer_as("--precision fp32", "fp32.npy"), got), 0.0);

  const CliResult refused = run_starface(
      "infer --precision int8 --model " + model("fp32") + " --input " +
      quoted(star_fixture("cases/inputs/input_a.npy")) + " --output " + quoted(dir / "x.npy"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--calibrate"), std::string::npos) << refused.err;
}

// --report: 1 of every 4 crops held out of calibration; per int8 conv the drift when it
// alone is int8, largest first.
TEST(CliConvert, Int8ReportRanksTheConvsByDrift) {
  const auto dir = temp_dir("cli_convert_report");
  // Three convs of the 216 (each measured conv compiles a plan of its own).
  const CliResult r = run_starface("convert " + kTiny + " -o " + quoted(dir / "m.safetensors") +
                                   " --precision int8 --calibrate " + kImages +
                                   " --report --report-convs pre.0.conv,hgs.0.coordconv.conv," +
                                   "out_heatmaps.3.conv --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["int8"]["crops"], 4);  // 5 centre crops, the 4th held out
  EXPECT_EQ(j["sensitivity"]["held_out_crops"], 1);
  const auto& rows = j["sensitivity"]["int8"];
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_GE(rows[i - 1]["mean_px"].get<double>(), rows[i]["mean_px"].get<double>()) << i;
  }
  EXPECT_GT(rows[0]["mean_px"].get<double>(), 0.0);
  EXPECT_GT(j["sensitivity"]["all_int8"]["mean_px"].get<double>(), 0.0);
}

TEST(CliConvert, LandmarksAndBenchTakeTheModelFile) {
  const auto dir = temp_dir("cli_convert_landmarks");
  cv::imwrite((dir / "face.png").string(), cv::Mat(64, 48, CV_8UC3, cv::Scalar(90, 120, 200)));
  const CliResult lm = run_starface("landmarks --model " + model("fp16") + " --image " +
                                    quoted(dir / "face.png") + " --box 4,4,40,60 --json");
  ASSERT_EQ(lm.exit_code, 0) << lm.err;
  EXPECT_EQ(nlohmann::json::parse(lm.out)["faces"][0]["landmarks"].size(), 98u);
  const CliResult bench = run_starface("bench --peak-seconds 0.02 --model " + model("fp32") +
                                       " --runs 1 --warmup 0 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto j = nlohmann::json::parse(bench.out);
  EXPECT_TRUE(j["model_file"].get<bool>());
  EXPECT_EQ(j["weights_storage"], "fp32");
  EXPECT_GT(j["load_ms"].get<double>(), 0);
  EXPECT_TRUE(j["landmarks_finite"].get<bool>());
  // The reference backend runs the stored graph as it is.
  const CliResult ref = run_starface("analyze " + model("fp32") + " --backend ref --json");
  EXPECT_EQ(ref.exit_code, 0) << ref.err;
}

// --precision auto starts from exact weights: a float16 file is refused before any work.
TEST(CliConvert, AutoRefusesAFileOfRoundedWeights) {
  const auto dir = temp_dir("cli_convert_auto_fp16");
  const CliResult r =
      run_starface("convert " + model("fp16") + " -o " + quoted(dir / "auto.safetensors") +
                   " --precision auto --calibrate " + kImages);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("starts from exact weights"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

struct BadConvert {
  const char* name;
  std::string args;  // after "convert"; OUT stands for a file in the test's own folder
  std::string message;
};

class CliConvertBad : public ::testing::TestWithParam<BadConvert> {};

TEST_P(CliConvertBad, ExitsOneAndWritesNothing) {
  const auto dir = temp_dir(std::string("cli_convert_bad_") + GetParam().name);
  const std::string out = quoted(dir / "out.safetensors");
  std::string args = GetParam().args;
  if (const size_t at = args.find("OUT"); at != std::string::npos) args.replace(at, 3, out);
  const CliResult r = run_starface("convert " + args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().message), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "convert left a file behind";
}

std::vector<BadConvert> bad_converts() {
  auto bad = [](const char* file) {
    return quoted(star_fixture(std::string("models/bad/") + file));
  };
  return {
      {"MissingCheckpoint", "/nonexistent/star.pth -o OUT", "/nonexistent/star.pth"},
      {"MaliciousCheckpoint", bad("malicious_zip.pth") + " -o OUT", "posix.system"},
      {"TruncatedCheckpoint", bad("truncated_zip.pth") + " -o OUT", "truncated_zip.pth"},
      {"NotStar", bad("missing_key.pth") + " -o OUT", "missing_key.pth"},
      {"BadPrecision", kTiny + " -o OUT --precision int4", "--precision"},
      {"Int8WithoutCalibration", kTiny + " -o OUT --precision int8", "--calibrate"},
      {"CalibrationWithoutInt8", kTiny + " -o OUT --calibrate " + kImages, "--precision int8"},
      {"MissingCalibrationInput",
       kTiny + " -o OUT --precision int8 --calibrate /nonexistent/faces.jpg",
       "/nonexistent/faces.jpg"},
      {"ReportWithoutInt8", kTiny + " -o OUT --report", "--report goes with --precision int8"},
      {"BadClipping",
       kTiny + " -o OUT --precision int8 --calibrate " + kImages + " --clipping entropy",
       "--clipping"},
      {"BadReportPrecision",
       kTiny + " -o OUT --precision int8 --calibrate " + kImages +
           " --report --report-precision fp16",
       "--report-precision must be int8 or bf16"},
      {"ReportUnknownConv",
       kTiny + " -o OUT --precision int8 --calibrate " + kImages + " --report --report-convs nope",
       "--report-convs: 'nope' is not a conv"},
      {"Fp32ConvsUnknown",
       kTiny + " -o OUT --precision int8 --calibrate " + kImages + " --fp32-convs pre.0.bn",
       "--fp32-convs: 'pre.0.bn' is not a conv"},
      {"AutoWithoutCalibration", kTiny + " -o OUT --precision auto",
       "--precision auto needs --calibrate"},
      {"NegativeDrift",
       kTiny + " -o OUT --precision auto --calibrate " + kImages + " --max-drift -0.5",
       "--max-drift (the mean) must be a finite number"},
      {"NanDrift", kTiny + " -o OUT --precision auto --calibrate " + kImages + " --max-drift nan",
       "--max-drift"},
      {"P99BelowMean",
       kTiny + " -o OUT --precision auto --calibrate " + kImages +
           " --max-drift 1 --max-drift-p99 0.5",
       "is below --max-drift"},
      {"DriftWithoutAuto", kTiny + " -o OUT --max-drift 1", "go with --precision auto"},
      {"BadWeights", kTiny + " -o OUT --weights best", "--weights"},
      {"EmaAbsent", kTiny + " -o OUT --weights ema", "net_ema"},
      {"NoOutput", kTiny, "--output"},
      {"UnwritableOutput", kTiny + " -o /nonexistent/dir/m.safetensors",
       "/nonexistent/dir/m.safetensors"},
  };
}

INSTANTIATE_TEST_SUITE_P(Cases, CliConvertBad, ::testing::ValuesIn(bad_converts()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace starface::testing
