// Frames and their stream timestamps: the data/README rule on the real test video (434
// frames although the headers say 870; the last two extrapolated), and image sequences.
#include "vision/video.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "pipeline/fakes.h"
#include "support/fixtures.h"

namespace starface::testing {
namespace {

const std::filesystem::path kVideo = shared_dir() / "data" / "face_video_1280x720.avi";

TEST(StreamClock, FallsBackToLastStepWhenPositionDropsOrStalls) {
  vision::StreamClock clock(25.0);
  EXPECT_DOUBLE_EQ(clock.next(100), 0.1);
  EXPECT_DOUBLE_EQ(clock.next(180), 0.18);
  EXPECT_NEAR(clock.next(0), 0.26, 1e-12);  // flush frame
  EXPECT_NEAR(clock.next(0), 0.34, 1e-12);
  EXPECT_NEAR(clock.next(300), 0.42, 1e-12);  // not increasing either
  vision::StreamClock fresh(25.0);
  EXPECT_DOUBLE_EQ(fresh.next(0), 0.0);
  EXPECT_DOUBLE_EQ(fresh.next(0), 0.04);  // no step seen yet: 1 / fps
}

TEST(VideoSource, TestVideoTimestampsFollowTheStreamRule) {
  const auto frames_json = [] {
    std::ifstream in(shared_dir() / "data" / "video_frames.json");
    return nlohmann::json::parse(in)["frames"];
  }();
  vision::VideoSource video(kVideo.string());
  EXPECT_EQ(video.expected_frames(), 870);  // what the headers claim
  EXPECT_NEAR(video.fps(), 24000.0 / 1001, 1e-3);
  vision::Frame frame;
  int count = 0;
  while (video.next(frame)) {
    const int i = count++;
    ASSERT_EQ(frame.number, i + 1);
    ASSERT_EQ(frame.image.cols, 1280);
    ASSERT_EQ(frame.image.rows, 720);
    ASSERT_NEAR(frame.timestamp, (7 + 2 * i) * 1001.0 / 24000.0, 1e-9) << "frame " << i;
    const double pos_msec = frames_json[i]["pos_msec"];
    if (pos_msec > 0) {
      ASSERT_NEAR(frame.timestamp * 1000, pos_msec, 1e-4);
    }
  }
  EXPECT_EQ(count, 434);
  EXPECT_TRUE(video.decode_problems().empty());
  EXPECT_NEAR(frame.timestamp, 36.411375, 1e-9);  // frame 434, extrapolated
}

TEST(VideoSource, NextFromPassesOverEarlierFramesButCountsThem) {
  vision::VideoSource video(kVideo.string());
  EXPECT_NEAR(video.duration(), 870 * 1001.0 / 24000, 1e-6);  // 870 slots, 434 of them frames
  vision::Frame frame;
  ASSERT_TRUE(video.next_from(frame, 10.0));
  // (7 + 2 i) * 1001 / 24000 >= 10 first at i = 117.
  EXPECT_EQ(frame.number, 118);
  EXPECT_NEAR(frame.timestamp, (7 + 2 * 117) * 1001.0 / 24000.0, 1e-9);
  EXPECT_EQ(frame.image.cols, 1280);
  ASSERT_TRUE(video.next(frame));
  EXPECT_EQ(frame.number, 119);
  EXPECT_FALSE(video.next_from(frame, 1000.0));
  EXPECT_TRUE(video.decode_problems().empty());
}

TEST(VideoSource, MissingEmptyAndNonVideoFilesAreErrorsNamingTheFile) {
  const auto dir = temp_dir("video");
  std::ofstream(dir / "empty.avi");
  std::ofstream(dir / "text.avi") << "this is not a video\n";
  struct Case {
    std::string file;
    ErrorCode code;
    std::string says;
  };
  for (const Case& c : {Case{"missing.avi", ErrorCode::kIo, "no such file"},
                        Case{"empty.avi", ErrorCode::kBadInput, "empty file"},
                        Case{"text.avi", ErrorCode::kBadInput, "video"}}) {
    const std::string path = (dir / c.file).string();
    try {
      vision::VideoSource video(path);
      vision::Frame frame;
      video.next(frame);
      FAIL() << c.file << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), c.code) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    }
  }
}

TEST(VideoSource, CorruptDataMidStreamIsSkippedAndReported) {
  const auto path = temp_dir("video") / "corrupt_middle.avi";
  copy_with_corrupt_middle(kVideo, path);
  vision::VideoSource video(path.string());
  vision::Frame frame;
  int count = 0;
  double previous = -1;
  while (video.next(frame)) {
    ASSERT_EQ(frame.number, ++count);
    ASSERT_GT(frame.timestamp, previous) << "frame " << count;
    previous = frame.timestamp;
  }
  const auto problems = video.decode_problems();
  ASSERT_EQ(problems.size(), 1u);
  int gap_after = 0;
  ASSERT_EQ(std::sscanf(problems[0].c_str(), "undecodable data after frame %d", &gap_after), 1)
      << problems[0];
  // Decoding went on past the damage: most of the video after it still came out.
  EXPECT_GT(gap_after, 50);
  EXPECT_GT(count - gap_after, 150) << problems[0];
  EXPECT_LT(count, 434);
  EXPECT_GT(previous, 30.0);  // the last frames, at the stream's end
}

TEST(VideoSource, EndedBeforeHeadersSayAllowsPlaceholderFramesButNotAMissingTail) {
  const double fps = 24000.0 / 1001;
  EXPECT_FALSE(vision::ended_before_headers_say(36.41, 870, fps));  // the test video
  EXPECT_FALSE(vision::ended_before_headers_say(32.0, 870, fps));
  EXPECT_TRUE(vision::ended_before_headers_say(11.2, 870, fps));
  EXPECT_TRUE(vision::ended_before_headers_say(0.5, 72, fps));  // 3 s stream
  EXPECT_FALSE(vision::ended_before_headers_say(1.8, 72, fps));
  EXPECT_FALSE(vision::ended_before_headers_say(1.0, 870, 0));  // no duration known
  EXPECT_FALSE(vision::ended_before_headers_say(1.0, 0, fps));
}

TEST(ImageSequenceSource, NumbersFramesAndTimesThemByFps) {
  const auto images = shared_dir() / "data" / "images";
  vision::ImageSequenceSource seq({(images / "0.jpg").string(), (images / "16.jpg").string()}, 10);
  vision::Frame frame;
  ASSERT_TRUE(seq.next(frame));
  EXPECT_EQ(frame.number, 1);
  EXPECT_DOUBLE_EQ(frame.timestamp, 0.0);
  ASSERT_TRUE(seq.next(frame));
  EXPECT_EQ(frame.number, 2);
  EXPECT_DOUBLE_EQ(frame.timestamp, 0.1);
  EXPECT_EQ(frame.image.cols, 224);
  EXPECT_FALSE(seq.next(frame));
  vision::ImageSequenceSource from(
      {(images / "0.jpg").string(), (images / "16.jpg").string(), (images / "89.jpg").string()},
      10);
  EXPECT_DOUBLE_EQ(from.duration(), 0.3);
  ASSERT_TRUE(from.next_from(frame, 0.15));
  EXPECT_EQ(frame.number, 3);
  EXPECT_DOUBLE_EQ(frame.timestamp, 0.2);
  EXPECT_NE(frame.source.find("89.jpg"), std::string::npos);
}

}  // namespace
}  // namespace starface::testing
