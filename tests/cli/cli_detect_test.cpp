// starface detect as a user runs it: the OpenFace JSON and table against the RetinaFace
// goldens, the output file, the vis threshold, and every bad input as exit code 1 with a
// message naming what is wrong.
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "cli/cli_run.h"
#include "nets/retinaface/retinaface_testing.h"

namespace starface::testing {
namespace {

const std::string kModel = quoted(rf_model());
const std::string kFrame0 =
    quoted(shared_dir() / "data/images/video_frame000_decoded_1280x720.png");
const std::string kImg0 = quoted(shared_dir() / "data/images/0.jpg");

TEST(CliDetect, HelpListsTheFlags) {
  const CliResult r = run_starface("detect --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--model", "--image", "--json", "--vis-threshold", "--output",
                           "--backend", "--threads", "--runs"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << ": " << r.out;
  }
}

// The visible faces of `stem`'s golden as the JSON must give them.
void expect_json_matches_golden(const nlohmann::json& j, const std::string& stem) {
  std::vector<DetRow> got;
  for (const auto& face : j.at("faces")) {
    DetRow row;
    for (const auto& v : face.at("box")) row.push_back(v.get<double>());
    row.push_back(face.at("score").get<double>());
    EXPECT_EQ(face.at("points5").size(), 5u);
    for (const auto& p : face.at("points5")) {
      EXPECT_EQ(p.size(), 2u);
      for (const auto& v : p) row.push_back(v.get<double>());
    }
    ASSERT_EQ(row.size(), 15u);
    got.push_back(row);
  }
  const std::vector<DetRow> want = golden_dets(stem);
  size_t visible = 0;
  for (const DetRow& r : want) visible += r[4] >= 0.5;
  EXPECT_EQ(got.size(), visible);
  expect_vis_rows_match(got, want, stem);
}

TEST(CliDetect, JsonOnVideoFrameMatchesGolden) {
  const CliResult r =
      run_starface("detect --model " + kModel + " --image " + kFrame0 + " --json --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_json_matches_golden(nlohmann::json::parse(r.out), "frame000");
}

TEST(CliDetect, OutputFileAndTextTable) {
  const auto dir = temp_dir("detect");
  const auto file = dir / "faces.json";
  CliResult r =
      run_starface("detect --model " + kModel + " --image " + kImg0 + " --json -o " + quoted(file));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  expect_json_matches_golden(nlohmann::json::parse(read_text(file)), "img_0");
  EXPECT_FALSE(std::filesystem::exists(dir / "faces.json.tmp"));

  r = run_starface("detect --model " + kModel + " --image " + kImg0 + " --backend ref");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("224x224 image: 1 face(s) with score >= 0.5"), std::string::npos) << r.out;
  const DetRow want = golden_dets("img_0")[0];
  char score[32];
  std::snprintf(score, sizeof score, "%.4f", want[4]);
  EXPECT_NE(r.out.find(score), std::string::npos) << r.out;
}

// int8 calibrates on the image itself, or on --calibrate's frames, and finds the face.
TEST(CliDetect, Int8CalibratesAndFindsTheFace) {
  for (const std::string& calibrate : {std::string(), " --calibrate " + kImg0}) {
    const CliResult r = run_starface("detect --model " + kModel + " --image " + kImg0 +
                                     " --precision int8 --json" + calibrate);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["faces"].size(), 1u) << calibrate;
  }
}

TEST(CliDetect, VisThresholdSelectsFaces) {
  // The no-face image has no candidate at all; frame 0 has one face >= 0.5 and none >= 1.
  CliResult r = run_starface("detect --model " + kModel + " --json --vis-threshold 0 --image " +
                             quoted(shared_dir() / "data/images/no_face_gradient_640x480.png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["faces"].size(), 0u);
  r = run_starface("detect --model " + kModel + " --image " + kFrame0 +
                   " --json --vis-threshold 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["faces"].size(), 0u);
  r = run_starface("detect --model " + kModel + " --image " + kImg0 + " --runs 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("median of 2 more"), std::string::npos) << r.err;
}

TEST(CliDetect, BadInputsExitOneWithAClearMessage) {
  const auto dir = temp_dir("detect_bad");
  const auto text = dir / "not_an_image.png";
  {
    std::ofstream out(text);
    out << "plain text";
  }
  const std::string star = quoted(star_fixture("models/star_wflw_tiny.pth"));
  const std::pair<std::string, std::string> cases[] = {
      {"--model " + star + " --image " + kImg0, "not a RetinaFace"},
      {"--model " + quoted(dir / "missing.pth") + " --image " + kImg0, "missing.pth"},
      {"--model " + kModel + " --image " + quoted(dir / "missing.png"), "missing.png"},
      {"--model " + kModel + " --image " + quoted(text), "not_an_image.png"},
      {"--model " + kModel + " --image " + kImg0 + " --vis-threshold 1.5", "vis-threshold"},
      {"--model " + kModel + " --image " + kImg0 + " --vis-threshold nan", "vis-threshold"},
      {"--model " + kModel + " --image " + kImg0 + " --vis-threshold abc", "vis-threshold"},
      {"--model " + kModel + " --image " + kImg0 + " --backend gpu", "backend"},
      {"--model " + kModel + " --image " + kImg0 + " --calibrate " + kImg0,
       "--calibrate goes with --precision int8"},
      {"--model " + kModel + " --image " + kImg0 + " --precision int8 --calibrate " +
           quoted(dir / "nothing_here"),
       "nothing_here"},
      {"--model " + kModel, "image"},
  };
  for (const auto& [args, message] : cases) {
    const CliResult r = run_starface("detect " + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace starface::testing
