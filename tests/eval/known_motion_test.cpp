// The known-motion check on synthetic tracks: landmarks that follow the motion exactly give
// no error, landmarks that trail it by 2 frames give a lag of 2, noise shows in every
// segment; and trajectory files that break the format are refused.
#include "eval/known_motion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>

#include "core/error.h"
#include "support/fixtures.h"

namespace starface::eval {
namespace {

constexpr int kStatic = 12, kFrames = 60;

// Static for 12 frames, then a smooth turn and drift whose speed ramps up (so a trailing
// track is visible at every frame after the start).
Similarity motion(long k) {
  const double t = std::max(0.0, static_cast<double>(k - kStatic));
  const double angle = 0.0005 * t * t, scale = 1.0 + 0.0002 * t * t;
  return {scale * std::cos(angle), scale * std::sin(angle), 320 + 0.05 * t * t, 240 - 0.03 * t * t};
}

Trajectory trajectory() {
  Trajectory t;
  for (long k = 1; k <= kFrames; ++k) t[k] = {k <= kStatic ? "static" : "move", motion(k)};
  return t;
}

// A face in photo coordinates (around 0, 0), eye corners 36/45 at distance 60.
LandmarkRow photo_face() {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-50, 50);
  LandmarkRow r;
  r.success = true;
  for (int p = 0; p < 68; ++p) r.x.push_back(u(rng)), r.y.push_back(u(rng));
  r.x[36] = -30, r.y[36] = -20, r.x[45] = 30, r.y[45] = -20;
  return r;
}

// The track the motion of frame k - lag gives, with Gaussian noise of sigma pixels.
LandmarkTable track(int lag, double sigma) {
  const LandmarkRow face = photo_face();
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, sigma);
  LandmarkTable table;
  table.path = "known.csv";
  table.points = 68;
  for (long k = 1; k <= kFrames; ++k) {
    LandmarkRow r = face;
    r.frame = k;
    const Similarity m = motion(std::max(1L, k - lag));
    for (int p = 0; p < 68; ++p) {
      m.apply(face.x[p], face.y[p], r.x[p], r.y[p]);
      r.x[p] += noise(rng), r.y[p] += noise(rng);
    }
    table.rows.push_back(r);
  }
  return table;
}

const std::vector<int> kAll = points_subset("all", 68);

TEST(KnownMotion, ExactTrackingHasNoErrorAndNoLag) {
  const KnownMotionReport r = check_known_motion(track(0, 0.0), trajectory(), {36, 45}, kAll);
  EXPECT_EQ(r.reference_frame, 1);
  ASSERT_EQ(r.segments.size(), 2u);
  EXPECT_EQ(r.segments[0].name, "static");
  EXPECT_EQ(r.segments[0].stats.pairs, static_cast<size_t>(kStatic - 1));  // not the reference
  EXPECT_EQ(r.segments[1].stats.pairs, static_cast<size_t>(kFrames - kStatic));
  EXPECT_LT(r.overall.max, 1e-9);
  EXPECT_NEAR(r.lag, 0.0, 0.05);
}

TEST(KnownMotion, ATrailingTrackShowsItsLagAndErrorOnlyWhileMoving) {
  const KnownMotionReport r = check_known_motion(track(2, 0.0), trajectory(), {36, 45}, kAll);
  // Constant acceleration: the squared error is exactly quadratic around the true shift only
  // for constant speed, so allow a tenth of a frame.
  EXPECT_NEAR(r.lag, 2.0, 0.1);
  EXPECT_LT(r.segments[0].stats.max, 1e-9);   // the static part does not show a lag
  EXPECT_GT(r.segments[1].stats.mean, 0.01);  // the moving part does
  ASSERT_EQ(r.lag_curve.size(), 17u);         // shifts -8..8
  EXPECT_EQ(r.lag_curve.front().first, -8);
  // Per segment: the moving one shows the lag; the still one has none to measure.
  EXPECT_NEAR(r.segments[1].lag, 2.0, 0.1);
  EXPECT_TRUE(std::isnan(r.segments[0].lag));
}

TEST(KnownMotion, NoiseShowsAsErrorInEverySegment) {
  const double sigma = 0.6;
  const KnownMotionReport r = check_known_motion(track(0, sigma), trajectory(), {36, 45}, kAll);
  // Each frame's error is its own noise minus the reference frame's carried along: about
  // sqrt(2) sigma per coordinate, so E|e| ~ sqrt(2 sigma^2 pi / 2) = sigma sqrt(pi) over the
  // distance 60 (scaled by up to 1.45 while moving, so only the static segment is checked
  // against the figure; the reference's own noise is shared by all frames, hence the 25 %).
  const double expected = sigma * std::sqrt(std::numbers::pi) / 60;
  EXPECT_NEAR(r.segments[0].stats.mean, expected, 0.25 * expected);
  EXPECT_GT(r.segments[1].stats.mean, 0.3 * expected);
  EXPECT_NEAR(r.lag, 0.0, 0.5);
}

std::string write(const std::string& name, const std::string& text) {
  const auto path = testing::temp_dir("known_motion") / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

TEST(KnownMotion, ReadsTrajectoriesAndRefusesBrokenOnes) {
  const Trajectory t = read_trajectory(
      write("ok.json",
            R"({"frames": [{"frame": 1, "segment": "static", "matrix": [2, -1, 5, 1, 2, 6]}]})"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.at(1).segment, "static");
  EXPECT_EQ(t.at(1).transform.b, 1);
  EXPECT_EQ(t.at(1).transform.ty, 6);
  const auto code_of = [](const std::string& path) {
    try {
      read_trajectory(path);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of("/nonexistent/t.json"), ErrorCode::kIo);
  EXPECT_EQ(code_of(write("shear.json", R"({"frames": [{"frame": 1, "segment": "s",
      "matrix": [1, 0.5, 0, 0, 1, 0]}]})")),
            ErrorCode::kBadInput);
  EXPECT_EQ(code_of(write("twice.json", R"({"frames": [
      {"frame": 1, "segment": "s", "matrix": [1, 0, 0, 0, 1, 0]},
      {"frame": 1, "segment": "s", "matrix": [1, 0, 0, 0, 1, 0]}]})")),
            ErrorCode::kBadInput);
  EXPECT_EQ(code_of(write("empty.json", R"({"frames": []})")), ErrorCode::kBadInput);
  EXPECT_EQ(code_of(write("text.json", "frames")), ErrorCode::kBadInput);
}

TEST(KnownMotion, NoFaceInTheTrajectoryIsBadInput) {
  LandmarkTable table = track(0, 0.0);
  for (LandmarkRow& row : table.rows) row.success = false;
  EXPECT_THROW(check_known_motion(table, trajectory(), {36, 45}, kAll), Error);
}

}  // namespace
}  // namespace starface::eval
