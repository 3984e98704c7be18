// Landmark smoothing: the 1-euro filter's step response against its closed form, resets on a
// gap or a new face, the RTS smoother's zero lag and its response against 1 / (1 + (f/fc)^4),
// frames refused out of order, the clock's fall-back to frame numbers, and `run` feeding the
// smoothers in frame order (its smoothed output is what a smoother fed the raw rows in order
// gives).
#include "pipeline/smoothing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"
#include "pipeline/fakes.h"
#include "pipeline/run_inputs.h"
#include "support/fixtures.h"

namespace starface::testing {
namespace {

namespace fs = std::filesystem;
using pipeline::FaceResult;
using pipeline::FrameResult;
using pipeline::SmoothMode;
using pipeline::SmoothOptions;

// A 68-point face: points on a circle of radius 50 around (cx, cy), outer eye corners 36 and
// 45 100 px apart (the scale the online filter divides speeds by).
FaceResult face_at(int id, double cx, double cy) {
  FaceResult f;
  f.face_id = id;
  for (int p = 0; p < 68; ++p) {
    const double a = 2 * std::numbers::pi * p / 68;
    f.points.push_back({cx + 50 * std::cos(a), cy + 50 * std::sin(a)});
  }
  f.points[36] = {cx - 50, cy};
  f.points[45] = {cx + 50, cy};
  return f;
}

FrameResult frame_with(int number, std::vector<FaceResult> faces) {
  FrameResult r;
  r.number = number;
  r.timestamp = (number - 1) / 30.0;
  r.faces = std::move(faces);
  return r;
}

SmoothOptions online(double min_cutoff, double beta) {
  SmoothOptions o;
  o.mode = SmoothMode::kOnline;
  o.min_cutoff_hz = min_cutoff;
  o.beta = beta;
  return o;
}

TEST(Smoothing, OneEuroWithoutBetaIsTheFirstOrderLowPassStepResponse) {
  // beta 0: a fixed cut-off, so after a step of h the output after n frames is
  // h (1 - (1 - a)^n) with a = 1 / (1 + tau / dt), tau = 1 / (2 pi fc).
  pipeline::OnlineSmoother smoother(online(2.0, 0.0));
  const double dt = 1 / 30.0, tau = 1 / (2 * std::numbers::pi * 2.0);
  const double a = 1 / (1 + tau / dt), h = 10.0;
  FrameResult first = frame_with(1, {face_at(0, 100, 100)});
  smoother.add(first, first.timestamp);
  EXPECT_DOUBLE_EQ(first.faces[0].smoothed[3].x, first.faces[0].points[3].x);  // starts raw
  for (int n = 1; n <= 20; ++n) {
    FrameResult f = frame_with(1 + n, {face_at(0, 100 + h, 100)});
    smoother.add(f, f.timestamp);
    const double expected = 100 + h * (1 - std::pow(1 - a, n));
    ASSERT_NEAR(f.faces[0].smoothed[36].x, expected - 50, 1e-9) << "frame " << n;
    ASSERT_NEAR(f.faces[0].smoothed[36].y, 100, 1e-9);  // that coordinate never moved
  }
}

TEST(Smoothing, OneEuroSpeedRaisesTheCutOff) {
  // The same step with beta: the speed term can only raise the cut-off, so the output is
  // nearer the new value than beta 0's after every frame, and never beyond it.
  pipeline::OnlineSmoother slow(online(1.0, 0.0)), quick(online(1.0, 20.0));
  for (int n = 1; n <= 10; ++n) {
    const double x = n == 1 ? 100 : 130;
    FrameResult a = frame_with(n, {face_at(0, x, 100)}), b = a;
    slow.add(a, a.timestamp);
    quick.add(b, b.timestamp);
    if (n == 1) continue;
    EXPECT_GT(b.faces[0].smoothed[36].x, a.faces[0].smoothed[36].x) << "frame " << n;
    EXPECT_LE(b.faces[0].smoothed[36].x, 130 - 50 + 1e-9);
  }
}

TEST(Smoothing, OnlineStartsAfreshAfterAGapAndForANewFace) {
  pipeline::OnlineSmoother smoother(online(1.0, 0.0));
  FrameResult f1 = frame_with(1, {face_at(0, 100, 100)});
  FrameResult f2 = frame_with(2, {face_at(0, 110, 100), face_at(1, 300, 100)});
  FrameResult f4 = frame_with(4, {face_at(0, 120, 100)});  // face 0 missed frame 3
  for (FrameResult* f : {&f1, &f2, &f4}) smoother.add(*f, f->timestamp);
  EXPECT_LT(f2.faces[0].smoothed[36].x, 110 - 50);                  // filtered
  EXPECT_EQ(f2.faces[1].smoothed[36].x, f2.faces[1].points[36].x);  // a new face: raw
  EXPECT_EQ(f4.faces[0].smoothed[36].x, f4.faces[0].points[36].x);  // after a gap: raw
  // A jump in time of more than 4 previous steps is a gap too (frames lost to a decode gap).
  FrameResult f5 = frame_with(5, {face_at(0, 130, 100)});
  FrameResult f6 = frame_with(6, {face_at(0, 140, 100)});
  smoother.add(f5, f5.timestamp);
  smoother.add(f6, f5.timestamp + 5 * (1 / 30.0));
  EXPECT_EQ(f6.faces[0].smoothed[36].x, f6.faces[0].points[36].x);
}

TEST(Smoothing, FramesOutOfOrderAreRefused) {
  pipeline::OnlineSmoother smoother(online(1.0, 10.0));
  FrameResult f5 = frame_with(5, {face_at(0, 100, 100)});
  FrameResult f3 = frame_with(3, {face_at(0, 100, 100)});
  FrameResult f6 = frame_with(6, {face_at(0, 100, 100)});
  smoother.add(f5, f5.timestamp);
  try {
    smoother.add(f3, f3.timestamp);
    FAIL() << "frame 3 after frame 5 was smoothed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("frame 3"), std::string::npos) << e.what();
  }
  // A later frame number whose time goes backwards is out of order as well.
  EXPECT_THROW(smoother.add(f6, f5.timestamp - 0.01), Error);
  SmoothOptions o;
  o.mode = SmoothMode::kOffline;
  pipeline::OfflineSmoother offline(o);
  offline.add(frame_with(5, {face_at(0, 100, 100)}), 1.0);
  EXPECT_THROW(offline.add(frame_with(4, {face_at(0, 100, 100)}), 0.9), Error);
  EXPECT_THROW(offline.add(frame_with(6, {face_at(0, 100, 100)}), 1.0), Error);
}

TEST(Smoothing, BadSettingsAreRefusedNamingTheFlag) {
  SmoothOptions o = online(-1.0, 1.0);
  try {
    pipeline::check_smooth_options(o);
    FAIL() << "a negative cut-off was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("--smooth-min-cutoff"), std::string::npos);
  }
  EXPECT_THROW(pipeline::check_smooth_options(online(1.0, -0.5)), Error);
  o = online(1.0, 1.0);
  o.offline_cutoff_hz = 0;
  EXPECT_THROW(pipeline::check_smooth_options(o), Error);
  EXPECT_THROW(pipeline::parse_smooth_mode("kalman"), Error);
  EXPECT_EQ(pipeline::parse_smooth_mode("offline"), SmoothMode::kOffline);
}

TEST(Smoothing, RtsFollowsUniformMotionWithoutLag) {
  // A constant-velocity model holds a straight line exactly, at any time steps: no lag and
  // no overshoot, whatever the cut-off (only the first velocity's huge prior variance is an
  // approximation, 1e-8 relative).
  std::vector<double> t, x;
  for (int k = 0; k < 40; ++k) {
    t.push_back(k / 30.0 + (k % 3) * 0.004);  // uneven steps
    x.push_back(200 + 45 * t.back());
  }
  for (const double fc : {0.5, 3.0}) {
    const std::vector<double> s = pipeline::rts_smooth(t, x, fc);
    for (size_t k = 0; k < x.size(); ++k) ASSERT_NEAR(s[k], x[k], 1e-5) << "k " << k;
  }
}

// The amplitude the smoother leaves of a sine of frequency f, in the middle of a long track.
double gain_at(double f, double fc) {
  const double fs = 30;
  std::vector<double> t, x;
  for (int k = 0; k < 1200; ++k) {
    t.push_back(k / fs);
    x.push_back(std::sin(2 * std::numbers::pi * f * t.back()));
  }
  const std::vector<double> s = pipeline::rts_smooth(t, x, fc);
  // Least-squares amplitude over the middle (edges have their own transients): the response
  // is real, so the output is in phase with the input.
  double sx = 0, xx = 0;
  for (size_t k = 300; k < 900; ++k) {
    sx += s[k] * x[k];
    xx += x[k] * x[k];
  }
  return sx / xx;
}

TEST(Smoothing, RtsResponseIsOneOverOnePlusTheFourthPowerOfFOverFc) {
  // In continuous time the smoother of this model is the Wiener filter 1 / (1 + (w/wc)^4); at
  // 30 frames per second the sampled model departs from it by the order of (w dt)^2 / 12,
  // under 0.02 for these frequencies (w dt <= 0.42).
  const double fc = 2.0;
  for (const double f : {0.5, 1.0, 2.0, 3.0}) {
    const double expected = 1 / (1 + std::pow(f / fc, 4));
    EXPECT_NEAR(gain_at(f, fc), expected, 0.02) << "f " << f;
  }
}

TEST(Smoothing, OfflineSmoothsEachSegmentOnItsOwnAndKeepsTheFramesInOrder) {
  SmoothOptions o;
  o.mode = SmoothMode::kOffline;
  o.offline_cutoff_hz = 2.0;
  pipeline::OfflineSmoother smoother(o);
  // Face 0 jitters by +-1 px on frames 1-10, is missed on 11, returns on 12-13; face 1 is
  // seen once.
  for (int n = 1; n <= 13; ++n) {
    std::vector<FaceResult> faces;
    if (n != 11) faces.push_back(face_at(0, 100 + (n % 2 ? 1 : -1), 100));
    if (n == 5) faces.push_back(face_at(1, 300, 100));
    const FrameResult f = frame_with(n, faces);
    smoother.add(f, f.timestamp);
  }
  const std::vector<FrameResult> out = smoother.finish();
  ASSERT_EQ(out.size(), 13u);
  for (int n = 1; n <= 13; ++n) EXPECT_EQ(out[n - 1].number, n);
  // The alternating +-1 px is at 15 Hz, 7.5 x the cut-off: gain ~1/3000 in the middle.
  EXPECT_NEAR(out[4].faces[0].smoothed[36].x, 50, 0.1);
  for (size_t p = 0; p < 68; ++p) {  // one frame: raw
    EXPECT_EQ(out[4].faces[1].smoothed[p].x, out[4].faces[1].points[p].x);
    EXPECT_EQ(out[4].faces[1].smoothed[p].y, out[4].faces[1].points[p].y);
  }
  // Frames 12-13 are their own segment: two points, which the line through them fits, up to
  // the pull of the first velocity's prior (variance 1e8 px^2/s^2 against the measurements' 1
  // px^2): a share 1 / (1 + dt^2 1e8) = 9e-6 of the 2 px step, 1.8e-5 px.
  EXPECT_NEAR(out[11].faces[0].smoothed[36].x, out[11].faces[0].points[36].x, 2.5e-5);
  EXPECT_NEAR(out[12].faces[0].smoothed[36].x, out[12].faces[0].points[36].x, 2.5e-5);
}

TEST(Smoothing, ClockFallsBackToFrameNumbersAndSaysSoOnce) {
  pipeline::SmoothingClock images(false, 0);  // no timestamps, no frame rate: 30 fps
  FrameResult f = frame_with(4, {});
  EXPECT_DOUBLE_EQ(images.time_of(f), 3 / 30.0);
  const auto first = images.notice();
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(first->find("30 fps"), std::string::npos) << *first;
  EXPECT_FALSE(images.notice().has_value());

  pipeline::SmoothingClock video(true, 25);
  FrameResult a = frame_with(1, {}), b = frame_with(2, {}), c = frame_with(4, {});
  a.timestamp = 0.5;
  b.timestamp = 0.5;  // does not advance
  c.timestamp = 0.0;
  EXPECT_DOUBLE_EQ(video.time_of(a), 0.5);
  EXPECT_FALSE(video.notice().has_value());
  EXPECT_DOUBLE_EQ(video.time_of(b), 0.5 + 1 / 25.0);
  EXPECT_DOUBLE_EQ(video.time_of(c), 0.5 + 3 / 25.0);
  const auto notice = video.notice();
  ASSERT_TRUE(notice.has_value());
  EXPECT_NE(notice->find("frame 2"), std::string::npos) << *notice;
}

// The JSON of one run of the fake pipeline over a short video of two moving squares.
nlohmann::json run_fake_video(const fs::path& dir, const SmoothOptions& smooth) {
  const fs::path video = dir / "clip.avi";
  if (!fs::exists(video)) {
    cv::VideoWriter writer(video.string(), cv::CAP_FFMPEG,
                           cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0,
                           cv::Size(kFrameWidth, kFrameHeight));
    for (int n = 1; n <= 12; ++n) {
      // Face 1 leaves after frame 6 and returns at 9: a gap, after which it starts afresh.
      std::vector<FakeFace> faces{{20 + 4 * n + (n % 2), 40, 70, 250}};
      if (n <= 6 || n >= 9) faces.push_back({200, 100 + (n % 3), 60, 240});
      writer.write(fake_frame(n, faces).image);
    }
  }
  FakeDetector detector;
  pipeline::RunOptions options;
  options.out_dir = dir / smooth_mode_name(smooth.mode);
  options.json = true;
  options.smooth = smooth;
  options.track.detect_every = 3;
  auto progress = pipeline::Progress(pipeline::ProgressMode::kQuiet);
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs({video.string()}),
                                            fake_models(detector), options, progress);
  EXPECT_EQ(summary.count(pipeline::InputReport::Status::kDone), 1) << summary.inputs[0].message;
  EXPECT_EQ(summary.profile.calls("smooth") > 0, smooth.mode != SmoothMode::kNone);
  std::ifstream in(options.out_dir / "clip.json");
  return nlohmann::json::parse(in);
}

// The frames of a run's JSON as the smoothers take them: raw points, no smoothed ones.
std::vector<FrameResult> raw_frames(const nlohmann::json& j) {
  std::vector<FrameResult> frames;
  for (const auto& jf : j["frames"]) {
    FrameResult f;
    f.number = jf["frame"];
    f.timestamp = jf["timestamp"];
    for (const auto& jface : jf["faces"]) {
      FaceResult face;
      face.face_id = jface["face_id"];
      for (const auto& p : jface["landmarks"]) face.points.push_back({p[0], p[1]});
      f.faces.push_back(face);
    }
    frames.push_back(f);
  }
  return frames;
}

void expect_smoothed_as_in(const nlohmann::json& j, const std::vector<FrameResult>& expected) {
  ASSERT_EQ(j["frames"].size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    const auto& faces = j["frames"][k]["faces"];
    ASSERT_EQ(faces.size(), expected[k].faces.size());
    for (size_t i = 0; i < faces.size(); ++i) {
      const auto& s = faces[i]["landmarks_smooth"];
      ASSERT_EQ(s.size(), expected[k].faces[i].smoothed.size());
      for (size_t p = 0; p < s.size(); ++p) {
        ASSERT_EQ(s[p][0].get<double>(), expected[k].faces[i].smoothed[p].x) << k << " " << p;
        ASSERT_EQ(s[p][1].get<double>(), expected[k].faces[i].smoothed[p].y) << k << " " << p;
      }
    }
  }
}

TEST(Smoothing, RunFeedsTheSmoothersInFrameOrderAndKeepsTheRawPoints) {
  const auto dir = temp_dir("smoothing_run");
  const nlohmann::json none = run_fake_video(dir, {});
  SmoothOptions on = online(1.0, 10.0), off;
  off.mode = SmoothMode::kOffline;
  const nlohmann::json online_json = run_fake_video(dir, on);
  const nlohmann::json offline_json = run_fake_video(dir, off);
  // Raw landmarks are the same with and without smoothing (the JSON holds full doubles).
  for (const nlohmann::json* j : {&online_json, &offline_json}) {
    ASSERT_EQ((*j)["frames"].size(), 12u);
    for (size_t k = 0; k < 12; ++k) {
      for (size_t i = 0; i < none["frames"][k]["faces"].size(); ++i) {
        EXPECT_EQ((*j)["frames"][k]["faces"][i]["landmarks"],
                  none["frames"][k]["faces"][i]["landmarks"]);
      }
    }
    EXPECT_FALSE(none["frames"][0]["faces"][0].contains("landmarks_smooth"));
  }
  EXPECT_EQ(online_json["smoothing"]["mode"], "online");
  EXPECT_EQ(offline_json["smoothing"]["mode"], "offline");
  // What a smoother fed the raw frames in order, one at a time, gives: exactly the run's.
  std::vector<FrameResult> frames = raw_frames(none);
  pipeline::OnlineSmoother reference_online(on);
  std::vector<FrameResult> expected_online = frames;
  for (FrameResult& f : expected_online) reference_online.add(f, f.timestamp);
  expect_smoothed_as_in(online_json, expected_online);
  pipeline::OfflineSmoother reference_offline(off);
  for (const FrameResult& f : frames) reference_offline.add(f, f.timestamp);
  expect_smoothed_as_in(offline_json, reference_offline.finish());
  // And the smoothing did something: the wobbling face's points moved.
  EXPECT_NE(online_json["frames"][5]["faces"][0]["landmarks_smooth"],
            online_json["frames"][5]["faces"][0]["landmarks"]);
}

TEST(Smoothing, ImagesWithoutTimestampsAreTimedByFrameNumberAndRunSaysSo) {
  // A sequence of PNGs without --fps has no timestamps: the clock falls back to frame numbers
  // at 30 fps and the run says so once; --landmarks68 smooths the 68 points it writes.
  const auto dir = temp_dir("smoothing_images");
  fs::create_directories(dir / "seq");
  for (int n = 1; n <= 5; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "f%04d.png", n);
    cv::imwrite((dir / "seq" / name).string(), fake_frame(n, {{20 + 5 * n, 40, 60, 250}}).image);
  }
  FakeDetector detector;
  pipeline::RunOptions options;
  options.out_dir = dir / "out";
  options.json = true;
  options.image_sequence = true;
  options.landmarks68 = true;
  options.smooth = online(1.0, 20.0);
  std::FILE* log = std::fopen((dir / "progress.log").c_str(), "w+");
  ASSERT_NE(log, nullptr);
  pipeline::Progress progress(pipeline::ProgressMode::kLines, log, 1e9);
  const auto summary = pipeline::run_inputs(pipeline::expand_inputs({(dir / "seq").string()}),
                                            fake_models(detector), options, progress);
  std::fclose(log);
  ASSERT_EQ(summary.count(pipeline::InputReport::Status::kDone), 1) << summary.inputs[0].message;
  std::ifstream log_in(dir / "progress.log");
  const std::string text((std::istreambuf_iterator<char>(log_in)), {});
  const std::string notice = "no timestamps: smoothing takes the time from frame numbers at 30 fps";
  ASSERT_NE(text.find(notice), std::string::npos) << text;
  EXPECT_EQ(text.find(notice), text.rfind(notice)) << "said more than once:\n" << text;

  std::ifstream csv(dir / "out" / "seq.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_NE(header.find(", x_67, "), std::string::npos);
  EXPECT_NE(header.find(", y_smooth_67"), std::string::npos);
  EXPECT_EQ(header.find("x_smooth_68"), std::string::npos);
  std::ifstream json_in(dir / "out" / "seq.json");
  const nlohmann::json j = nlohmann::json::parse(json_in);
  std::vector<FrameResult> expected = raw_frames(j);
  pipeline::OnlineSmoother reference(options.smooth);
  for (FrameResult& f : expected) {
    EXPECT_EQ(f.timestamp, 0.0);  // images have none
    reference.add(f, (f.number - 1) / 30.0);
  }
  expect_smoothed_as_in(j, expected);
  EXPECT_EQ(j["frames"][4]["faces"][0]["landmarks_smooth"].size(), 68u);
}

}  // namespace
}  // namespace starface::testing
