// `starface run` on the whole test video with RetinaFace every frame: the CSV has one row per
// face per frame for all 434 decodable frames (not the 870 the headers claim), the stream's
// timestamps, stable ids over a run of one face, and the landmarks of frame 1 equal to
// `starface landmarks` on the same pixels with the same box.
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/cli_run.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kFrames = 434;
constexpr int kPoints = 98;

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// OpenFace 2 separates fields with ", ".
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream s(line);
  for (std::string v; std::getline(s, v, ',');) {
    const size_t first = v.find_first_not_of(' ');
    fields.push_back(first == std::string::npos ? "" : v.substr(first));
  }
  return fields;
}

Csv read_csv(const fs::path& path) {
  std::ifstream in(path);
  Csv csv;
  std::string line;
  std::getline(in, line);
  csv.header = split(line);
  while (std::getline(in, line)) csv.rows.push_back(split(line));
  return csv;
}

// The data README's rule: decoded frame i (0-based) is stamped (7 + 2 i) * 1001 / 24000 s.
double stream_time(int frame_number) { return (7 + 2 * (frame_number - 1)) * 1001.0 / 24000.0; }

class RunVideo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(temp_dir("run_video"));
    const std::string models =
        " --landmark-model " + quoted(star_fixture("models/star_wflw_tiny.pth")) +
        " --detector-model " + quoted(shared_dir() / "models" / "retinaface_mobilenet0.25.pth");
    result_ = new CliResult(
        run_starface("run " + quoted(shared_dir() / "data" / "face_video_1280x720.avi") + " -o " +
                     quoted(*dir_ / "out") + models + " --json --quiet --threads 2"));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  static fs::path* dir_;
  static CliResult* result_;
};
fs::path* RunVideo::dir_ = nullptr;
CliResult* RunVideo::result_ = nullptr;

TEST_F(RunVideo, WritesOneRowPerFacePerDecodedFrame) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const Csv csv = read_csv(*dir_ / "out" / "face_video_1280x720.csv");
  ASSERT_EQ(csv.header.size(), 5u + 2 * kPoints);
  EXPECT_EQ(csv.header[0], "frame");
  EXPECT_EQ(csv.header[1], "face_id");
  EXPECT_EQ(csv.header[2], "timestamp");
  EXPECT_EQ(csv.header[3], "confidence");
  EXPECT_EQ(csv.header[4], "success");
  EXPECT_EQ(csv.header[5], "x_0");
  EXPECT_EQ(csv.header[5 + kPoints], "y_0");
  EXPECT_EQ(csv.header.back(), "y_97");

  std::map<int, int> faces_per_frame;
  int previous = 0;
  for (const auto& row : csv.rows) {
    ASSERT_EQ(row.size(), csv.header.size());
    const int frame = std::stoi(row[0]);
    EXPECT_GE(frame, previous) << "rows out of frame order";
    previous = frame;
    EXPECT_NEAR(std::stod(row[2]), stream_time(frame), 1.5e-6) << "frame " << frame;
    faces_per_frame[frame] += row[4] == "1" ? 1 : 0;
  }
  ASSERT_EQ(faces_per_frame.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(faces_per_frame.begin()->first, 1);
  EXPECT_EQ(faces_per_frame.rbegin()->first, kFrames);
  // data/README: one face in frames 0-6, three (one small, in the background) at frame 120.
  for (int frame = 1; frame <= 7; ++frame) EXPECT_EQ(faces_per_frame[frame], 1) << frame;
  EXPECT_EQ(faces_per_frame[121], 3);
}

TEST_F(RunVideo, KeepsTheIdOfTheOnlyFaceOverItsRun) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  const Csv csv = read_csv(*dir_ / "out" / "face_video_1280x720.csv");
  std::string first_id;
  for (const auto& row : csv.rows) {
    if (std::stoi(row[0]) > 7) break;
    if (first_id.empty()) first_id = row[1];
    EXPECT_EQ(row[1], first_id) << "frame " << row[0];
  }
  EXPECT_FALSE(first_id.empty());
}

TEST_F(RunVideo, FrameOneLandmarksEqualTheLandmarksCommand) {
  ASSERT_EQ(result_->exit_code, 0) << result_->err;
  std::ifstream in(*dir_ / "out" / "face_video_1280x720.json");
  const nlohmann::json run = nlohmann::json::parse(in);
  const nlohmann::json& face = run.at("frames").at(0).at("faces").at(0);
  const auto& box = face.at("box");
  char box_text[160];
  std::snprintf(box_text, sizeof box_text, "%.9g,%.9g,%.9g,%.9g", box[0].get<double>(),
                box[1].get<double>(), box[2].get<double>(), box[3].get<double>());
  // The lossless copy of decoded frame 0: the same pixels the run saw.
  const CliResult single = run_starface(
      "landmarks --model " + quoted(star_fixture("models/star_wflw_tiny.pth")) + " --image " +
      quoted(shared_dir() / "data" / "images" / "video_frame000_decoded_1280x720.png") + " --box " +
      box_text + " --json --threads 2");
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const nlohmann::json expected = nlohmann::json::parse(single.out).at("faces").at(0);
  const auto& got = face.at("landmarks");
  const auto& want = expected.at("landmarks");
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t p = 0; p < got.size(); ++p) {
    for (int c = 0; c < 2; ++c) {
      worst = std::max(worst, std::abs(got[p][c].get<double>() - want[p][c].get<double>()));
    }
  }
  EXPECT_LE(worst, 1e-4) << "px";
}

// --start/--end/--max-frames from the command line: a part of the video, numbered and timed
// as in the whole video.
TEST(RunVideoRange, StartEndAndMaxFramesKeepTheVideosNumbers) {
  const auto dir = temp_dir("run_video");
  const std::string models =
      " --landmark-model " + quoted(star_fixture("models/star_wflw_tiny.pth")) +
      " --detector-model " + quoted(shared_dir() / "models" / "retinaface_mobilenet0.25.pth");
  const std::string video = quoted(shared_dir() / "data" / "face_video_1280x720.avi");
  CliResult r = run_starface("run " + video + " -o " + quoted(dir / "a") + models +
                             " --start 10 --end 11 --quiet --max-faces 1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Csv csv = read_csv(dir / "a" / "face_video_1280x720.csv");
  std::vector<int> want;
  for (int n = 1; n <= kFrames; ++n) {
    if (stream_time(n) >= 10 && stream_time(n) < 11) want.push_back(n);
  }
  ASSERT_EQ(csv.rows.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(std::stoi(csv.rows[i][0]), want[i]);
    EXPECT_NEAR(std::stod(csv.rows[i][2]), stream_time(want[i]), 1.5e-6);
  }
  r = run_starface("run " + video + " -o " + quoted(dir / "b") + models +
                   " --max-frames 3 --quiet --max-faces 1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  csv = read_csv(dir / "b" / "face_video_1280x720.csv");
  ASSERT_EQ(csv.rows.size(), 3u);
  EXPECT_EQ(csv.rows[2][0], "3");
  EXPECT_NEAR(std::stod(csv.rows[0][2]), stream_time(1), 1.5e-6);
}

}  // namespace
}  // namespace starface::testing
