// `starface run` end to end with RetinaFace and the tiny STAR model: faces found on real
// frames, a run killed mid-input and resumed with --skip-existing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <thread>

#include "cli/cli_run.h"
#include "support/scoped_env.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kVideo = shared_dir() / "data" / "face_video_1280x720.avi";

std::string model_flags() {
  return " --landmark-model " + quoted(star_fixture("models/star_wflw_tiny.pth")) +
         " --detector-model " + quoted(shared_dir() / "models" / "retinaface_mobilenet0.25.pth");
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    for (std::string v; std::getline(s, v, ',');) f.push_back(v);
    rows.push_back(f);
  }
  return rows;
}

// The first `frames` frames of the test video, re-encoded as MJPG.
fs::path write_clip(const fs::path& path, int frames) {
  cv::VideoCapture in(kVideo.string(), cv::CAP_FFMPEG);
  cv::VideoWriter out(path.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                      24000.0 / 1001, cv::Size(1280, 720));
  cv::Mat frame;
  for (int i = 0; i < frames && in.read(frame); ++i) out.write(frame);
  return path;
}

TEST(CliRunDetector, FindsTheFacesOfRealFramesAndMarksFramesWithout) {
  const auto dir = temp_dir("run_cli_det");
  fs::create_directories(dir / "stills");
  fs::copy(shared_dir() / "data" / "images" / "video_frame000_decoded_1280x720.png",
           dir / "stills" / "a.png");
  fs::copy(shared_dir() / "data" / "images" / "no_face_gradient_640x480.png",
           dir / "stills" / "b.png");
  const CliResult r = run_starface("run " + quoted(dir / "stills") + " -o " + quoted(dir / "out") +
                                   model_flags() + " --json --landmarks68");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = csv_rows(dir / "out" / "stills.csv");
  ASSERT_EQ(rows.size(), 2u);  // frame 0 of the video holds one face; the gradient none
  EXPECT_EQ(rows[0][0], "1");
  EXPECT_EQ(rows[0][1], "a.png");
  EXPECT_EQ(rows[0][5], "1");
  EXPECT_GE(std::stod(rows[0][4]), 0.5);
  EXPECT_EQ(rows[0].size(), 6u + 2 * 68);
  EXPECT_EQ(rows[1][0], "2");
  EXPECT_EQ(rows[1][1], "b.png");
  EXPECT_EQ(rows[1][5], "0");
  EXPECT_TRUE(fs::exists(dir / "out" / "stills.json"));
  EXPECT_TRUE(fs::exists(dir / "out" / "stills_profile.json"));
  EXPECT_NE(r.out.find("detect"), std::string::npos) << r.out;  // the stage report
}

// --precision auto: the first run makes the model from the inputs' own faces and says what
// drift it proved; the next reuses it from the cache.
TEST(CliRunDetector, PrecisionAutoIsMadeOnceFromTheInputsAndReused) {
  const auto dir = temp_dir("run_cli_auto");
  const ScopedEnv cache("XDG_CACHE_HOME", (dir / "cache").string());
  fs::create_directories(dir / "photos");
  for (const char* name : {"0.jpg", "16.jpg", "89.jpg"}) {
    fs::copy(shared_dir() / "data" / "images" / name, dir / "photos" / name);
  }
  // A budget every-conv-int8 meets on the random tiny model, so the search is one measure.
  const std::string args = "run " + quoted(dir / "photos") + model_flags() +
                           " --precision auto --max-drift 40 --max-drift-p99 200 -o ";
  const CliResult first = run_starface(args + quoted(dir / "a"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("converting"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("held-out crops"), std::string::npos) << first.err;
  EXPECT_EQ(csv_rows(dir / "a" / "photos.csv").size(), 3u);
  const CliResult again = run_starface(args + quoted(dir / "b"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("converting"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("precision auto: "), std::string::npos) << again.err;
  EXPECT_EQ(read_text(dir / "a" / "photos.csv"), read_text(dir / "b" / "photos.csv"));
  const CliResult stray = run_starface("run " + quoted(dir / "photos") + model_flags() +
                                       " --max-drift 1 -o " + quoted(dir / "c"));
  EXPECT_EQ(stray.exit_code, 1);
  EXPECT_NE(stray.err.find("go with --precision auto"), std::string::npos) << stray.err;
}

// Photos in a folder are not frames: the face of one must never be tracked into the next,
// whatever --detect-every says (it was: the gradient came out as a face with 5).
TEST(CliRunDetector, TheNoFaceImageIsNeverAFaceInAFolderRun) {
  const auto dir = temp_dir("run_cli_det");
  fs::create_directories(dir / "photos");
  const fs::path images = shared_dir() / "data" / "images";
  // Natural order: 1 (face), 2 (gradient), 10 (face), 11 (gradient).
  fs::copy(images / "video_frame000_decoded_1280x720.png", dir / "photos" / "1.png");
  fs::copy(images / "no_face_gradient_640x480.png", dir / "photos" / "2.png");
  fs::copy(images / "video_frame000_decoded_1280x720.png", dir / "photos" / "10.png");
  fs::copy(images / "no_face_gradient_640x480.png", dir / "photos" / "11.png");
  for (const int every : {1, 2, 5, 100}) {
    const fs::path out = dir / ("out" + std::to_string(every));
    const CliResult r =
        run_starface("run " + quoted(dir / "photos") + " -o " + quoted(out) + model_flags() +
                     " --quiet --detect-every " + std::to_string(every));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = csv_rows(out / "photos.csv");
    ASSERT_EQ(rows.size(), 4u) << "--detect-every " << every;
    const std::vector<std::pair<std::string, std::string>> want = {
        {"1.png", "1"}, {"2.png", "0"}, {"10.png", "1"}, {"11.png", "0"}};
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(rows[i][1], want[i].first) << "--detect-every " << every;
      EXPECT_EQ(rows[i][5], want[i].second) << want[i].first << ", --detect-every " << every;
    }
  }
}

TEST(CliRunDetector, KilledRunResumesWithSkipExisting) {
  const auto dir = temp_dir("run_cli_det");
  const auto clip = write_clip(dir / "clip.avi", 40);
  const std::string exe = std::string(STARFACE_BINARY_DIR) + "/starface";
  const std::string out = (dir / "out").string();
  const std::string tiny = star_fixture("models/star_wflw_tiny.pth").string();
  const std::string det = (shared_dir() / "models" / "retinaface_mobilenet0.25.pth").string();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    freopen("/dev/null", "w", stderr);
    execl(exe.c_str(), exe.c_str(), "run", clip.c_str(), "-o", out.c_str(), "--landmark-model",
          tiny.c_str(), "--detector-model", det.c_str(), "--threads", "1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path partial = dir / "out" / ".clip.partial.csv";
  bool mid_run = false;
  bool exited = false;
  for (int wait = 0; wait < 6000 && !mid_run && !exited; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    mid_run = fs::exists(partial) && fs::file_size(partial) > 4096;
    exited = waitpid(child, nullptr, WNOHANG) == child;
  }
  if (!exited) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }
  ASSERT_TRUE(mid_run) << "the run ended or never got going before it could be killed";
  EXPECT_FALSE(fs::exists(dir / "out" / "clip.csv"));
  EXPECT_TRUE(fs::exists(partial));

  CliResult r = run_starface("run " + quoted(clip) + " -o " + quoted(dir / "out") + model_flags() +
                             " --skip-existing --detect-every 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = csv_rows(dir / "out" / "clip.csv");
  EXPECT_GE(rows.size(), 40u);
  EXPECT_EQ(rows.front()[0], "1");
  EXPECT_EQ(rows.back()[0], "40");
  EXPECT_FALSE(fs::exists(partial));
  r = run_starface("run " + quoted(clip) + " -o " + quoted(dir / "out") + model_flags() +
                   " --skip-existing");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 skipped"), std::string::npos) << r.err;
}

TEST(CliRunDetector, BadInputsAmongGoodOnesExitOne) {
  const auto dir = temp_dir("run_cli_det");
  std::ofstream(dir / "empty.avi");
  fs::create_directories(dir / "stills");
  fs::copy(shared_dir() / "data" / "images" / "0.jpg", dir / "stills" / "0.jpg");
  const CliResult r =
      run_starface("run " + quoted(dir / "empty.avi") + " " + quoted(dir / "stills") + " -o " +
                   quoted(dir / "out") + model_flags() + " --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("empty.avi: empty file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 of 2 inputs failed"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "stills.csv"));
  EXPECT_EQ(r.out, "");  // --quiet: no stage report
}

}  // namespace
}  // namespace starface::testing
