// CSV layout, the 98 -> 68 mapping, the streamed JSON, stage profile and atomic outputs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "pipeline/atomic_file.h"
#include "pipeline/csv_writer.h"
#include "pipeline/json_writer.h"
#include "pipeline/layout68.h"
#include "pipeline/progress.h"
#include "pipeline/stage_profile.h"
#include "support/fixtures.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& text, const std::string& sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = text.find(sep, start)) != std::string::npos; start = at + sep.size()) {
    parts.push_back(text.substr(start, at - start));
  }
  parts.push_back(text.substr(start));
  return parts;
}

pipeline::FaceResult face(int id, int points, double offset) {
  pipeline::FaceResult f;
  f.face_id = id;
  f.confidence = 0.875f;
  for (int p = 0; p < points; ++p) f.points.push_back({offset + p, offset + 1000 + p});
  return f;
}

TEST(Csv, HeaderIsOpenFaceStyleAllXThenAllY) {
  const std::string h = pipeline::csv_header(98);
  ASSERT_EQ(h.back(), '\n');
  const auto cols = split(h.substr(0, h.size() - 1), ", ");
  ASSERT_EQ(cols.size(), 5u + 2 * 98);
  EXPECT_EQ(cols[0], "frame");
  EXPECT_EQ(cols[1], "face_id");
  EXPECT_EQ(cols[2], "timestamp");
  EXPECT_EQ(cols[3], "confidence");
  EXPECT_EQ(cols[4], "success");
  EXPECT_EQ(cols[5], "x_0");
  EXPECT_EQ(cols[5 + 97], "x_97");
  EXPECT_EQ(cols[5 + 98], "y_0");
  EXPECT_EQ(cols.back(), "y_97");
  EXPECT_EQ(split(pipeline::csv_header(68), ", ").size(), 5u + 2 * 68);
}

TEST(Csv, OneRowPerFaceAndASuccessZeroRowForAnEmptyFrame) {
  pipeline::FrameResult frame;
  frame.number = 7;
  frame.timestamp = 0.291958333;
  frame.faces = {face(0, 3, 10), face(4, 3, 20.5)};
  const auto rows = split(pipeline::csv_rows(frame, 3), "\n");
  ASSERT_EQ(rows.size(), 3u);  // two rows and the empty string after the last newline
  EXPECT_EQ(rows[0], "7,0,0.291958,0.8750,1,10.0000,11.0000,12.0000,1010.0000,1011.0000,1012.0000");
  EXPECT_EQ(split(rows[1], ",")[1], "4");
  EXPECT_EQ(split(rows[1], ",")[5], "20.5000");
  frame.faces.clear();
  EXPECT_EQ(pipeline::csv_rows(frame, 2), "7,0,0.291958,0.0000,0,0.0000,0.0000,0.0000,0.0000\n");
  frame.faces = {face(0, 2, 0)};
  EXPECT_THROW(pipeline::csv_rows(frame, 3), Error);
}

TEST(Csv, ImageInputsNameTheirFileAfterTheFrame) {
  const std::string h = pipeline::csv_header(2, /*with_file=*/true);
  const auto cols = split(h.substr(0, h.size() - 1), ", ");
  ASSERT_EQ(cols.size(), 6u + 2 * 2);
  EXPECT_EQ(cols[0], "frame");
  EXPECT_EQ(cols[1], "file");
  EXPECT_EQ(cols[2], "face_id");
  EXPECT_EQ(cols[6], "x_0");
  pipeline::FrameResult frame;
  frame.number = 2;
  frame.file = "10.png";
  frame.faces = {face(0, 2, 1)};
  EXPECT_EQ(pipeline::csv_rows(frame, 2, true),
            "2,10.png,0,0.000000,0.8750,1,1.0000,2.0000,1001.0000,1002.0000\n");
  frame.faces.clear();
  frame.file = "say \"cheese\", 2.png";  // RFC 4180: quoted, quotes doubled
  EXPECT_EQ(pipeline::csv_rows(frame, 1, true),
            "2,\"say \"\"cheese\"\", 2.png\",0,0.000000,0.0000,0,0.0000,0.0000\n");
  EXPECT_EQ(pipeline::frame_json(frame, true)["file"], "say \"cheese\", 2.png");
  EXPECT_FALSE(pipeline::frame_json(frame).contains("file"));  // videos: the input names it
}

TEST(Layout68, MapsWflwToIbugAsEcosystemSection52) {
  const auto& map = pipeline::wflw98_to_ibug68();
  const std::array<int, 68> expected = {
      0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 33, 34, 35, 36, 37, 42,
      43, 44, 45, 46, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 63, 64, 65, 67, 68, 69, 71, 72,
      73, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95};
  EXPECT_EQ(map, expected);
  std::vector<Point> wflw;
  for (int i = 0; i < 98; ++i) wflw.push_back({static_cast<double>(i), -i * 1.0});
  const auto ibug = pipeline::to_ibug68(wflw);
  ASSERT_EQ(ibug.size(), 68u);
  EXPECT_EQ(ibug[8].x, 16);   // chin
  EXPECT_EQ(ibug[36].x, 60);  // outer corner of the image-left eye
  EXPECT_EQ(ibug[45].x, 72);  // outer corner of the image-right eye
  EXPECT_EQ(ibug[45].y, -72);
  EXPECT_EQ(ibug[67].x, 95);
  wflw.resize(68);
  EXPECT_THROW(pipeline::to_ibug68(wflw), Error);
}

TEST(Json, StreamedFramesParseAsOneDocument) {
  std::ostringstream out;
  pipeline::JsonStreamWriter w(out, {{"input", "a.avi"}, {"points", 2}});
  pipeline::FrameResult f1;
  f1.number = 1;
  f1.detected = true;
  f1.faces = {face(3, 2, 5)};
  pipeline::FrameResult f2;
  f2.number = 2;
  w.add(f1);
  w.add(f2);
  w.finish();
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["input"], "a.avi");
  ASSERT_EQ(j["frames"].size(), 2u);
  EXPECT_EQ(j["frames"][0]["faces"][0]["face_id"], 3);
  EXPECT_EQ(j["frames"][0]["faces"][0]["landmarks"][1][1], 1006.0);
  EXPECT_TRUE(j["frames"][1]["faces"].empty());
}

TEST(AtomicFile, NothingUnderTheFinalNameUntilCommit) {
  const auto dir = temp_dir("atomic");
  EXPECT_EQ(pipeline::partial_path(dir / "clip.csv"), dir / ".clip.partial.csv");
  {
    pipeline::AtomicTextFile file(dir / "clip.csv");
    file.stream() << "frame\n";
    EXPECT_TRUE(fs::exists(dir / ".clip.partial.csv"));
    EXPECT_FALSE(fs::exists(dir / "clip.csv"));
  }  // dropped without commit: as if the run failed
  EXPECT_FALSE(fs::exists(dir / ".clip.partial.csv"));
  EXPECT_FALSE(fs::exists(dir / "clip.csv"));
  pipeline::AtomicTextFile file(dir / "clip.csv");
  file.stream() << "frame\n";
  file.commit();
  EXPECT_FALSE(fs::exists(dir / ".clip.partial.csv"));
  std::ifstream in(dir / "clip.csv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "frame");
}

TEST(AtomicFile, OutputFolderThatCannotBeMadeIsAClearError) {
  const auto dir = temp_dir("atomic");
  std::ofstream(dir / "file") << "x";
  for (const fs::path& bad : {dir / "file", dir / "file" / "sub"}) {
    try {
      pipeline::prepare_output_dir(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo);
      EXPECT_NE(std::string(e.what()).find("-o " + bad.string()), std::string::npos) << e.what();
    }
  }
  pipeline::prepare_output_dir(dir / "new" / "out");
  EXPECT_TRUE(fs::is_directory(dir / "new" / "out"));
  EXPECT_TRUE(fs::is_empty(dir / "new" / "out"));  // the probe is gone
}

TEST(StageProfile, ReportsCallsTotalsMeansAndShares) {
  pipeline::StageProfile p;
  p.add("detect", 30);
  p.add("detect", 10);
  p.add("landmarks", 50);
  const auto j = p.to_json(100);
  EXPECT_EQ(j["wall_ms"], 100.0);
  ASSERT_EQ(j["stages"].size(), 6u);
  EXPECT_EQ(j["stages"][0]["stage"], "decode");
  EXPECT_EQ(j["stages"][0]["calls"], 0);
  EXPECT_EQ(j["stages"][1]["calls"], 2);
  EXPECT_DOUBLE_EQ(j["stages"][1]["mean_ms"], 20.0);
  EXPECT_DOUBLE_EQ(j["stages"][4]["share"], 0.5);
  EXPECT_NE(p.table(100).find("landmarks"), std::string::npos);
}

TEST(Progress, TextShowsFramesFpsAndEta) {
  EXPECT_EQ(pipeline::format_duration(65), "1:05");
  EXPECT_EQ(pipeline::format_duration(3725), "1:02:05");
  EXPECT_EQ(pipeline::format_duration(-1), "?");
  EXPECT_EQ(pipeline::progress_text("clip", {100}, 50, -1, 5.0),
            "clip: 50/100 frames (50%), 10.0 fps, ETA 0:05");
  EXPECT_EQ(pipeline::progress_text("clip", {}, 50, -1, 5.0), "clip: 50 frames, 10.0 fps");
}

TEST(Progress, VideosGoByStreamTimeNotAFrameCount) {
  const pipeline::ProgressGoal video{0, 0, 36.286};  // the test video: 870 / 23.976 fps
  EXPECT_EQ(pipeline::progress_text("v", video, 59, 4.96, 10.0),
            "v: 59 frames, 5.0/36.3 s (13%), 5.9 fps, ETA 1:03");
  // The last frame overshoots the header duration (decoder delay): 100 %, nothing left.
  EXPECT_EQ(pipeline::progress_text("v", video, 434, 36.5, 80.0),
            "v: 434 frames, 36.3/36.3 s (100%), 5.4 fps, ETA 0:00");
  // --start 10 --end 20 --max-frames 100: whichever ends the input first.
  const pipeline::ProgressGoal range{100, 10, 20};
  EXPECT_DOUBLE_EQ(pipeline::progress_fraction(range, 25, 15.0), 0.5);
  EXPECT_DOUBLE_EQ(pipeline::progress_fraction(range, 75, 15.0), 0.75);
  EXPECT_DOUBLE_EQ(pipeline::progress_fraction(range, 1, 9.0), 0.01);
  EXPECT_DOUBLE_EQ(pipeline::progress_fraction({}, 10, 5.0), -1);
  // N frames of N / fps seconds each end exactly at the duration: 100 %, not 99.
  EXPECT_NE(
      pipeline::progress_text("v", {0, 0, 7 / 30.0}, 7, 6 / 30.0 + 1 / 30.0, 1.0).find("(100%)"),
      std::string::npos);
}

TEST(Progress, PlainLinesWhenNotATerminalAndNothingWhenQuiet) {
  const auto dir = temp_dir("progress");
  std::FILE* out = std::fopen((dir / "log").c_str(), "w+");
  ASSERT_NE(out, nullptr);
  pipeline::Progress lines(pipeline::ProgressMode::kAuto, out, 0.0);  // a file: lines
  lines.start("clip", pipeline::ProgressGoal{3});
  for (long n = 1; n <= 3; ++n) lines.update(n);
  lines.finish(3);
  pipeline::Progress quiet(pipeline::ProgressMode::kQuiet, out, 0.0);
  quiet.start("other", pipeline::ProgressGoal{3});
  quiet.update(1);
  quiet.finish(1);
  quiet.error("other: broken");
  std::fclose(out);
  std::ifstream in(dir / "log");
  std::stringstream s;
  s << in.rdbuf();
  const std::string log = s.str();
  EXPECT_EQ(log.find('\r'), std::string::npos) << log;
  EXPECT_NE(log.find("clip: 3/3 frames (100%)"), std::string::npos) << log;
  EXPECT_NE(log.find("clip: done, 3 frames"), std::string::npos) << log;
  EXPECT_EQ(log.find("other:"), log.find("other: broken")) << log;  // only the error
}

}  // namespace
}  // namespace starface::testing
