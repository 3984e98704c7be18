// starface run's loop over inputs with fake and tiny models: outputs and their layout, the
// real video's timestamps in the CSV, bad inputs reported and skipped, --skip-existing, and a
// run killed mid-input that leaves only files marked partial.
#include "pipeline/run_inputs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "engine/engine.h"
#include "pipeline/atomic_file.h"
#include "pipeline/fakes.h"
#include "support/fixtures.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;
using pipeline::InputReport;

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> fields(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream s(row);
  for (std::string f; std::getline(s, f, ',');) out.push_back(f);
  return out;
}

// Files whose name says they are partial, anywhere under dir.
int partial_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    n += e.path().filename().string().find(".partial") != std::string::npos;
  }
  return n;
}

// A folder of PNG frames: face a moving right, absent on frame `gap`.
fs::path write_sequence(const fs::path& dir, int frames, int gap = -1) {
  fs::create_directories(dir);
  for (int n = 1; n <= frames; ++n) {
    std::vector<FakeFace> faces;
    if (n != gap) faces.push_back({20 + 2 * n, 40, 60, 250});
    char name[32];
    std::snprintf(name, sizeof name, "f%04d.png", n);
    cv::imwrite((dir / name).string(), fake_frame(n, faces).image);
  }
  return dir;
}

// Writes a short video of fake faces (MJPG unless told otherwise).
fs::path write_video(const fs::path& path, int frames,
                     int fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G')) {
  cv::VideoWriter writer(path.string(), cv::CAP_FFMPEG, fourcc, 10.0,
                         cv::Size(kFrameWidth, kFrameHeight));
  EXPECT_TRUE(writer.isOpened());
  for (int n = 1; n <= frames; ++n) {
    writer.write(fake_frame(n, {{20 + 3 * n, 40, 70, 250}, {200, 100, 60, 240}}).image);
  }
  return path;
}

void copy_head(const fs::path& from, const fs::path& to, uintmax_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string head(bytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::ofstream(to, std::ios::binary) << head;
}

pipeline::RunOptions options_for(const fs::path& out) {
  pipeline::RunOptions o;
  o.out_dir = out;
  return o;
}

pipeline::Progress quiet_progress() { return pipeline::Progress(pipeline::ProgressMode::kQuiet); }

TEST(RunInputs, ImageSequenceWritesCsvJsonProfileAndAnnotatedImages) {
  const auto dir = temp_dir("run");
  const auto seq = write_sequence(dir / "seq", 4, /*gap=*/3);
  FakeDetector detector;
  auto options = options_for(dir / "out");
  options.json = options.annotated = true;
  options.image_fps = 25;
  options.image_sequence = true;
  auto progress = quiet_progress();
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs({seq.string()}),
                                            fake_models(detector), options, progress);
  ASSERT_EQ(summary.count(InputReport::Status::kDone), 1) << summary.inputs[0].message;
  const auto rows = lines_of(dir / "out" / "seq.csv");
  ASSERT_EQ(rows.size(), 5u);                      // header + 4 frames of at most one face
  EXPECT_EQ(fields(rows[0]).size(), 6u + 2 * 98);  // with the file column
  const auto r1 = fields(rows[1]);
  EXPECT_EQ(r1[0], "1");
  EXPECT_EQ(r1[1], "f0001.png");
  EXPECT_EQ(r1[2], "0");
  EXPECT_EQ(r1[3], "0.000000");
  EXPECT_EQ(r1[5], "1");
  EXPECT_NEAR(std::stod(r1[6]), 22, 1.0);  // x_0: the square's left edge on frame 1
  const auto r3 = fields(rows[3]);
  EXPECT_EQ(r3[0], "3");
  EXPECT_EQ(r3[3], "0.080000");
  EXPECT_EQ(r3[5], "0");  // no face on frame 3
  EXPECT_EQ(fields(rows[4])[2], "0");
  std::ifstream json_in(dir / "out" / "seq.json");
  const auto j = nlohmann::json::parse(json_in);
  EXPECT_EQ(j["frames"].size(), 4u);
  EXPECT_EQ(j["frames"][1]["file"], "f0002.png");
  EXPECT_EQ(j["points"], 98);
  std::ifstream profile_in(dir / "out" / "seq_profile.json");
  const auto p = nlohmann::json::parse(profile_in);
  EXPECT_EQ(p["frames"], 4);
  EXPECT_EQ(p["stages"][0]["stage"], "decode");
  EXPECT_EQ(p["stages"][0]["calls"], 5);  // 4 frames and the end
  EXPECT_EQ(p["stages"][1]["calls"], 4);  // detect
  int annotated = 0;
  for (const auto& e : fs::directory_iterator(dir / "out" / "seq_annotated")) {
    annotated += cv::imread(e.path().string()).cols == kFrameWidth;
  }
  EXPECT_EQ(annotated, 4);
  EXPECT_EQ(partial_files(dir / "out"), 0);
}

TEST(RunInputs, RealVideoTimestampsAndFrameNumbersReachTheCsv) {
  const auto dir = temp_dir("run");
  pipeline::FaceModels nobody{[](const cv::Mat&) { return std::vector<retinaface::Detection>{}; },
                              fake_landmarks, fake_net()};
  auto options = options_for(dir);
  options.landmarks68 = true;
  auto progress = quiet_progress();
  const auto summary = pipeline::run_inputs(
      pipeline::expand_inputs({(shared_dir() / "data" / "face_video_1280x720.avi").string()}),
      nobody, options, progress);
  ASSERT_EQ(summary.count(InputReport::Status::kDone), 1) << summary.inputs[0].message;
  const auto rows = lines_of(dir / "face_video_1280x720.csv");
  ASSERT_EQ(rows.size(), 435u);
  EXPECT_EQ(fields(rows[0]).size(), 5u + 2 * 68);
  for (int i = 0; i < 434; ++i) {
    const auto f = fields(rows[i + 1]);
    ASSERT_EQ(f[0], std::to_string(i + 1));
    ASSERT_NEAR(std::stod(f[2]), (7 + 2 * i) * 1001.0 / 24000.0, 1e-6) << "frame " << i;
    ASSERT_EQ(f[4], "0");
  }
  EXPECT_EQ(fields(rows[1])[2], "0.291958");
  EXPECT_EQ(fields(rows[434])[2], "36.411375");
}

TEST(RunInputs, VideoWithTheTinyStarModelTracksAndWritesAnAnnotatedVideo) {
  const auto dir = temp_dir("run");
  const auto video = write_video(dir / "clip.avi", 6);
  const auto engine = Engine::load(star_fixture("models/star_wflw_tiny.pth").string());
  FakeDetector detector;
  pipeline::FaceModels models{
      detector.fn(), [&](const Tensor& crops) { return engine->landmarks(crops); }, engine->net()};
  auto options = options_for(dir / "out");
  options.annotated = true;
  auto progress = quiet_progress();
  const auto summary =
      pipeline::run_inputs(pipeline::expand_inputs({video.string()}), models, options, progress);
  ASSERT_EQ(summary.count(InputReport::Status::kDone), 1) << summary.inputs[0].message;
  const auto rows = lines_of(dir / "out" / "clip.csv");
  ASSERT_EQ(rows.size(), 1u + 6 * 2);
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto f = fields(rows[r]);
    EXPECT_EQ(f[1], (r % 2 == 1) ? "0" : "1") << rows[r];  // best face first, ids stable
    EXPECT_EQ(f[4], "1");
    // Random weights: the points are somewhere in the crop around the detected box.
    EXPECT_GT(std::stod(f[5]), -50);
    EXPECT_LT(std::stod(f[5]), kFrameWidth + 50);
  }
  EXPECT_NEAR(std::stod(fields(rows[3])[2]), 0.1, 1e-3);  // frame 2 at 10 fps
  cv::VideoCapture annotated((dir / "out" / "clip_annotated.avi").string(), cv::CAP_FFMPEG);
  ASSERT_TRUE(annotated.isOpened());
  int frames = 0;
  for (cv::Mat f; annotated.read(f);) frames += f.cols == kFrameWidth;
  EXPECT_EQ(frames, 6);
  EXPECT_EQ(partial_files(dir / "out"), 0);
}

TEST(RunInputs, BadInputsAreReportedAndSkippedWhileTheOthersRun) {
  const auto dir = temp_dir("run");
  const auto good = write_sequence(dir / "good", 2);
  std::ofstream(dir / "empty.mp4");
  std::ofstream(dir / "notes.avi") << "not a video at all\n";
  // The test video cut in the middle, as an interrupted copy leaves it: FFmpeg would decode
  // the first half without complaint.
  copy_head(shared_dir() / "data" / "face_video_1280x720.avi", dir / "truncated.avi",
            fs::file_size(shared_dir() / "data" / "face_video_1280x720.avi") / 2);
  // An MP4 cut before its index (the moov atom comes last).
  const auto mp4 = write_video(dir / "whole.mp4", 5, cv::VideoWriter::fourcc('m', 'p', '4', 'v'));
  copy_head(mp4, dir / "cut.mp4", fs::file_size(mp4) / 2);
  fs::remove(mp4);
  fs::create_directories(dir / "corrupt");
  cv::imwrite((dir / "corrupt" / "a.png").string(), fake_frame(1, {}).image);
  std::ofstream(dir / "corrupt" / "b.png") << "garbage";
  const std::vector<std::string> paths = {(dir / "empty.mp4").string(),
                                          (dir / "notes.avi").string(),
                                          (dir / "truncated.avi").string(),
                                          (dir / "missing.mov").string(),
                                          (dir / "corrupt").string(),
                                          (dir / "cut.mp4").string(),
                                          good.string()};
  FakeDetector detector;
  auto progress = quiet_progress();
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs(paths), fake_models(detector),
                                            options_for(dir / "out"), progress);
  ASSERT_EQ(summary.inputs.size(), 7u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(summary.inputs[i].status, InputReport::Status::kFailed) << paths[i];
    EXPECT_NE(summary.inputs[i].message.find(fs::path(paths[i]).filename().string()),
              std::string::npos)
        << summary.inputs[i].message;
  }
  EXPECT_NE(summary.inputs[4].message.find("b.png"), std::string::npos);  // the bad frame
  EXPECT_NE(summary.inputs[2].message.find("truncated AVI"), std::string::npos);
  EXPECT_EQ(summary.inputs[6].status, InputReport::Status::kDone);
  EXPECT_TRUE(fs::exists(dir / "out" / "good.csv"));
  for (const char* name : {"empty", "notes", "truncated", "missing", "corrupt", "cut"}) {
    EXPECT_FALSE(fs::exists(dir / "out" / (std::string(name) + ".csv"))) << name;
  }
  EXPECT_EQ(partial_files(dir / "out"), 0);
}

// A folder of photos: image 1 holds two faces, image 2 only the second one, image 10 only the
// first. Named so that byte order and natural order differ.
fs::path write_photos(const fs::path& dir) {
  fs::create_directories(dir);
  const FakeFace left{40, 60, 60, 250}, right{200, 80, 60, 200};
  cv::imwrite((dir / "1.png").string(), fake_frame(1, {left, right}).image);
  cv::imwrite((dir / "2.png").string(), fake_frame(2, {right}).image);
  cv::imwrite((dir / "10.png").string(), fake_frame(3, {left}).image);
  return dir;
}

TEST(RunInputs, FolderImagesAreDetectedEachOnItsOwnAndNamedInTheCsv) {
  const auto dir = temp_dir("run");
  const auto photos = write_photos(dir / "photos");
  FakeDetector detector;
  auto options = options_for(dir / "out");
  options.track.detect_every = 5;
  auto progress = quiet_progress();
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs({photos.string()}),
                                            fake_models(detector), options, progress);
  ASSERT_EQ(summary.count(InputReport::Status::kDone), 1) << summary.inputs[0].message;
  EXPECT_EQ(detector.calls, 3);  // every image, although --detect-every 5
  const auto rows = lines_of(dir / "out" / "photos.csv");
  ASSERT_EQ(rows.size(), 1u + 2 + 1 + 1);
  EXPECT_EQ(rows[0].substr(0, 30), "frame, file, face_id, timestam");
  // frame, file, face_id: natural order, and ids from 0 in each image.
  const std::vector<std::array<std::string, 3>> want = {
      {"1", "1.png", "0"}, {"1", "1.png", "1"}, {"2", "2.png", "0"}, {"3", "10.png", "0"}};
  for (size_t r = 0; r < want.size(); ++r) {
    const auto f = fields(rows[r + 1]);
    EXPECT_EQ(f[0], want[r][0]) << rows[r + 1].substr(0, 40);
    EXPECT_EQ(f[1], want[r][1]) << rows[r + 1].substr(0, 40);
    EXPECT_EQ(f[2], want[r][2]) << rows[r + 1].substr(0, 40);
    EXPECT_EQ(f[5], "1");
  }
}

TEST(RunInputs, SequenceTracksFromImageToImageAndKeepsIds) {
  const auto dir = temp_dir("run");
  const auto seq = write_sequence(dir / "seq", 4);
  FakeDetector detector;
  auto options = options_for(dir / "out");
  options.track.detect_every = 5;
  options.image_sequence = true;
  auto progress = quiet_progress();
  pipeline::run_inputs(pipeline::expand_inputs({seq.string()}), fake_models(detector), options,
                       progress);
  EXPECT_EQ(detector.calls, 1);  // frame 1; the face is tracked through frames 2-4
  const auto rows = lines_of(dir / "out" / "seq.csv");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(fields(rows[4])[1], "f0004.png");
  EXPECT_EQ(fields(rows[4])[5], "1");
  // Independent, the same frames cost a detection each.
  FakeDetector again;
  options.image_sequence = false;
  pipeline::run_inputs(pipeline::expand_inputs({seq.string()}), fake_models(again), options,
                       progress);
  EXPECT_EQ(again.calls, 4);
}

// The data README's rule: decoded frame i (0-based) is stamped (7 + 2 i) * 1001 / 24000 s.
double stream_time(int frame_number) { return (7 + 2 * (frame_number - 1)) * 1001.0 / 24000.0; }

// Runs the test video with no faces found; returns the CSV's (frame, timestamp) pairs.
std::vector<std::pair<int, double>> run_test_video(const pipeline::RunOptions& options,
                                                   InputReport* report = nullptr) {
  pipeline::FaceModels nobody{[](const cv::Mat&) { return std::vector<retinaface::Detection>{}; },
                              fake_landmarks, fake_net()};
  auto progress = quiet_progress();
  const auto inputs =
      pipeline::expand_inputs({(shared_dir() / "data" / "face_video_1280x720.avi").string()});
  const InputReport r = pipeline::run_input(inputs[0], nobody, options, progress);
  if (report) *report = r;
  std::vector<std::pair<int, double>> rows;
  const auto lines = lines_of(options.out_dir / "face_video_1280x720.csv");
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = fields(lines[i]);
    rows.emplace_back(std::stoi(f[0]), std::stod(f[2]));
  }
  return rows;
}

TEST(RunInputs, MaxFramesStartAndEndKeepTheWholeVideosNumbersAndTimes) {
  const auto dir = temp_dir("run");
  auto options = options_for(dir / "first");
  pipeline::prepare_output_dir(options.out_dir);
  options.range.max_frames = 5;
  auto rows = run_test_video(options);
  ASSERT_EQ(rows.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rows[i].first, i + 1);
    EXPECT_NEAR(rows[i].second, stream_time(i + 1), 1e-6);
  }
  // [10 s, 12 s): the frames the rule puts there, numbered as in the whole video.
  options = options_for(dir / "range");
  pipeline::prepare_output_dir(options.out_dir);
  options.range.start_s = 10;
  options.range.end_s = 12;
  rows = run_test_video(options);
  std::vector<int> want;
  for (int n = 1; n <= 434; ++n) {
    if (stream_time(n) >= 10 && stream_time(n) < 12) want.push_back(n);
  }
  ASSERT_EQ(want.size(), 24u);
  ASSERT_EQ(rows.size(), want.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].first, want[i]);
    EXPECT_NEAR(rows[i].second, stream_time(want[i]), 1e-6);
  }
  EXPECT_EQ(rows.front().first, 118);
  // --start with --max-frames: N frames from the start on.
  options = options_for(dir / "start_max");
  pipeline::prepare_output_dir(options.out_dir);
  options.range.start_s = 10;
  options.range.max_frames = 3;
  rows = run_test_video(options);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].first, 118);
  EXPECT_EQ(rows[2].first, 120);
  // The last frames, extrapolated past the flush, are reachable too.
  options = options_for(dir / "tail");
  pipeline::prepare_output_dir(options.out_dir);
  options.range.start_s = 36.3;
  rows = run_test_video(options);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].first, 434);
  EXPECT_NEAR(rows[1].second, 36.411375, 1e-6);
}

TEST(RunInputs, StartAfterTheEndIsAFailureNamingTheRange) {
  const auto dir = temp_dir("run");
  auto options = options_for(dir);
  options.range.start_s = 100;
  InputReport report;
  run_test_video(options, &report);
  EXPECT_EQ(report.status, InputReport::Status::kFailed);
  EXPECT_NE(report.message.find("no frame in --start 100"), std::string::npos) << report.message;
  EXPECT_FALSE(fs::exists(dir / "face_video_1280x720.csv"));
  EXPECT_EQ(partial_files(dir), 0);
}

// The header says 870 frames and 434 decode: progress by stream time still ends at 100 %,
// and the ETA with it.
TEST(RunInputs, ProgressOfTheTestVideoEndsAtOneHundredPercent) {
  const auto dir = temp_dir("run");
  std::FILE* log = std::fopen((dir / "progress.log").c_str(), "w+");
  ASSERT_NE(log, nullptr);
  pipeline::Progress progress(pipeline::ProgressMode::kLines, log, 0.0);  // a line per frame
  pipeline::FaceModels nobody{[](const cv::Mat&) { return std::vector<retinaface::Detection>{}; },
                              fake_landmarks, fake_net()};
  const auto inputs =
      pipeline::expand_inputs({(shared_dir() / "data" / "face_video_1280x720.avi").string()});
  const auto report = pipeline::run_input(inputs[0], nobody, options_for(dir), progress);
  std::fclose(log);
  ASSERT_EQ(report.status, InputReport::Status::kDone) << report.message;
  const auto lines = lines_of(dir / "progress.log");
  ASSERT_GE(lines.size(), 400u);
  EXPECT_NE(lines.back().find("done, 434 frames"), std::string::npos) << lines.back();
  const std::string& last = lines[lines.size() - 2];
  EXPECT_NE(last.find("434 frames"), std::string::npos) << last;
  EXPECT_NE(last.find("(100%)"), std::string::npos) << last;
  EXPECT_NE(last.find("ETA 0:00"), std::string::npos) << last;
  int previous = -1;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find("/870"), std::string::npos) << lines[i];  // the header's count
    const auto open = lines[i].find('(');
    ASSERT_NE(open, std::string::npos) << lines[i];
    const int percent = std::stoi(lines[i].substr(open + 1));
    EXPECT_GE(percent, previous) << lines[i];
    previous = percent;
    // Halfway through the frames is about halfway through the stream, not a quarter.
    if (lines[i].find(": 217 frames") != std::string::npos) {
      EXPECT_NEAR(percent, 50, 2) << lines[i];
    }
  }
}

std::string big_endian32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// A valid PNG header declaring `side` x `side` RGB pixels (60000: 10.8 GB decoded), then one
// byte of image data (a stored deflate block): a decoder that trusts the header allocates
// before it finds out.
void write_huge_png(const fs::path& path, uint32_t side) {
  const auto chunk = [](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    const auto crc =
        ::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    return big_endian32(static_cast<uint32_t>(data.size())) + body +
           big_endian32(static_cast<uint32_t>(crc));
  };
  const std::string ihdr =
      big_endian32(side) + big_endian32(side) + std::string("\x08\x02\0\0\0", 5);
  std::ofstream(path, std::ios::binary)
      << std::string("\x89PNG\r\n\x1a\n", 8) << chunk("IHDR", ihdr)
      << chunk("IDAT", std::string("\x78\x01\x01\x01\x00\xfe\xff\x00\x00\x01\x00\x01", 12))
      << chunk("IEND", "");
}

TEST(RunInputs, HugeMisnamedAndCorruptMediaAreReportedAndTheRestRuns) {
  const auto dir = temp_dir("run");
  const auto good = write_sequence(dir / "good", 2);
  fs::create_directories(dir / "huge");
  write_huge_png(dir / "huge" / "a.png", 60000);
  const fs::path video = shared_dir() / "data" / "face_video_1280x720.avi";
  fs::copy_file(video, dir / "video_named.png");  // a video with an image's extension
  copy_with_corrupt_middle(video, dir / "corrupt_middle.avi");
  const std::vector<std::string> paths = {(dir / "huge").string(),
                                          (dir / "video_named.png").string(),
                                          (dir / "corrupt_middle.avi").string(), good.string()};
  FakeDetector detector;
  auto progress = quiet_progress();
  auto options = options_for(dir / "out");
  options.track.max_faces = 1;  // the fake detector sees the real frames as many "faces"
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs(paths), fake_models(detector),
                                            options, progress);
  ASSERT_EQ(summary.inputs.size(), 4u);
  const InputReport& huge = summary.inputs[0];
  EXPECT_EQ(huge.status, InputReport::Status::kFailed);
  EXPECT_NE(huge.message.find("a.png: image too large"), std::string::npos) << huge.message;
  const InputReport& misnamed = summary.inputs[1];
  EXPECT_EQ(misnamed.status, InputReport::Status::kFailed);
  EXPECT_NE(misnamed.message.find("video_named.png: not a readable image"), std::string::npos)
      << misnamed.message;

  // The corrupt video is done as far as it decodes, and says where it was damaged.
  const InputReport& corrupt = summary.inputs[2];
  EXPECT_EQ(corrupt.status, InputReport::Status::kDone) << corrupt.message;
  ASSERT_EQ(corrupt.decode_problems.size(), 1u);
  EXPECT_NE(corrupt.decode_problems[0].find("undecodable data after frame"), std::string::npos);
  EXPECT_GT(corrupt.frames, 300);
  EXPECT_LT(corrupt.frames, 434);
  EXPECT_EQ(lines_of(dir / "out" / "corrupt_middle.csv").size(),
            static_cast<size_t>(corrupt.frames) + 1);  // max-faces 1: one row per frame
  std::ifstream profile(dir / "out" / "corrupt_middle_profile.json");
  EXPECT_EQ(nlohmann::json::parse(profile)["decode_problems"].size(), 1u);
  EXPECT_EQ(summary.with_decode_problems(), 1);

  EXPECT_EQ(summary.inputs[3].status, InputReport::Status::kDone);
  EXPECT_TRUE(fs::exists(dir / "out" / "good.csv"));
  EXPECT_FALSE(fs::exists(dir / "out" / "huge.csv"));
  EXPECT_FALSE(fs::exists(dir / "out" / "video_named.csv"));
  EXPECT_EQ(partial_files(dir / "out"), 0);
}

TEST(RunInputs, SkipExistingLeavesFinishedInputsAlone) {
  const auto dir = temp_dir("run");
  const auto seq = write_sequence(dir / "seq", 2);
  FakeDetector detector;
  auto options = options_for(dir / "out");
  auto progress = quiet_progress();
  const auto inputs = pipeline::expand_inputs({seq.string()});
  pipeline::run_inputs(inputs, fake_models(detector), options, progress);
  std::ofstream(dir / "out" / "seq.csv", std::ios::app) << "marker\n";
  options.skip_existing = true;
  auto summary = pipeline::run_inputs(inputs, fake_models(detector), options, progress);
  EXPECT_EQ(summary.count(InputReport::Status::kSkipped), 1);
  EXPECT_EQ(lines_of(dir / "out" / "seq.csv").back(), "marker");
  options.skip_existing = false;
  summary = pipeline::run_inputs(inputs, fake_models(detector), options, progress);
  EXPECT_EQ(summary.count(InputReport::Status::kDone), 1);
  EXPECT_EQ(lines_of(dir / "out" / "seq.csv").size(), 3u);  // rewritten
}

TEST(RunInputs, KilledRunLeavesOnlyPartialFilesAndResumesWithSkipExisting) {
  const auto dir = temp_dir("run");
  const auto first = write_sequence(dir / "first", 2);
  const auto second = write_sequence(dir / "second", 60);
  const auto inputs = pipeline::expand_inputs({first.string(), second.string()});
  auto options = options_for(dir / "out");
  options.json = true;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A slow network: the parent kills this process in the middle of the second input.
    FakeDetector detector;
    pipeline::FaceModels slow = fake_models(detector);
    slow.landmarks = [](const Tensor& crops) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      return fake_landmarks(crops);
    };
    auto progress = quiet_progress();
    pipeline::run_inputs(inputs, slow, options, progress);
    _exit(0);
  }
  const fs::path partial = dir / "out" / ".second.partial.csv";
  bool mid_run = false;
  for (int wait = 0; wait < 2000 && !mid_run; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    mid_run = fs::exists(partial) && lines_of(partial).size() > 5;
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(mid_run) << "the child never got into the second input";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(fs::exists(dir / "out" / "first.csv"));
  EXPECT_FALSE(fs::exists(dir / "out" / "second.csv"));
  EXPECT_FALSE(fs::exists(dir / "out" / "second.json"));
  EXPECT_FALSE(fs::exists(dir / "out" / "second_profile.json"));
  EXPECT_TRUE(fs::exists(partial));  // what was killed says so in its name
  options.skip_existing = true;
  FakeDetector detector;
  auto progress = quiet_progress();
  const auto summary = pipeline::run_inputs(inputs, fake_models(detector), options, progress);
  EXPECT_EQ(summary.inputs[0].status, InputReport::Status::kSkipped);
  EXPECT_EQ(summary.inputs[1].status, InputReport::Status::kDone);
  EXPECT_EQ(lines_of(dir / "out" / "second.csv").size(), 61u);
  EXPECT_EQ(partial_files(dir / "out"), 0);
}

// Root ignores permission bits, so the permission cases run in a child that gives up root.
// Returns the child's exit code: 0 when `body` returned true.
int as_unprivileged_child(const std::function<bool()>& body) {
  const pid_t child = fork();
  if (child == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    _exit(body() ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(RunInputs, UnreadableFolderIsSkippedAndReadOnlyOutputIsAnError) {
  const auto dir = temp_dir("run");
  fs::permissions(dir, fs::perms::all);  // the unprivileged child must reach it
  const auto locked = write_sequence(dir / "locked", 1);
  fs::permissions(locked, fs::perms::none);
  fs::create_directories(dir / "readonly");
  fs::permissions(dir / "readonly", fs::perms::owner_read | fs::perms::owner_exec |
                                        fs::perms::group_read | fs::perms::others_read |
                                        fs::perms::group_exec | fs::perms::others_exec);
  fs::create_directories(dir / "out");
  fs::permissions(dir / "out", fs::perms::all);
  const int code = as_unprivileged_child([&] {
    const auto inputs = pipeline::expand_inputs({locked.string()});
    if (inputs.size() != 1 || inputs[0].kind != pipeline::Input::Kind::kBroken) return false;
    if (inputs[0].error.find("cannot read folder") == std::string::npos) return false;
    FakeDetector detector;
    auto progress = quiet_progress();
    const auto summary =
        pipeline::run_inputs(inputs, fake_models(detector), options_for(dir / "out"), progress);
    if (summary.count(InputReport::Status::kFailed) != 1) return false;
    try {
      pipeline::prepare_output_dir(dir / "readonly");
      return false;
    } catch (const Error& e) {
      return std::string(e.what()).find("not writable") != std::string::npos;
    }
  });
  fs::permissions(locked, fs::perms::all);
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace starface::testing
