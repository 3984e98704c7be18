// The frame-to-frame flicker measure on synthetic tracks: a rigid similarity motion gives 0,
// known Gaussian noise gives the figure derived below, gaps split tracks into segments.
#include "eval/stability.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "core/error.h"

namespace starface::eval {
namespace {

// A face-like point set of `points` points: spread over 100 x 120 pixels around (300, 200),
// with the eye corners of the layout 60 pixels apart on a horizontal line.
LandmarkRow shape(int points, const EyePair& eyes, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> ux(250, 350), uy(140, 260);
  LandmarkRow r;
  r.success = true;
  for (int p = 0; p < points; ++p) r.x.push_back(ux(rng)), r.y.push_back(uy(rng));
  r.x[eyes.left] = 270, r.y[eyes.left] = 180;
  r.x[eyes.right] = 330, r.y[eyes.right] = 180;
  return r;
}

LandmarkRow moved(const LandmarkRow& base, const Similarity& t, long frame, int face_id = 0) {
  LandmarkRow r = base;
  r.frame = frame;
  r.face_id = face_id;
  for (size_t p = 0; p < base.x.size(); ++p) t.apply(base.x[p], base.y[p], r.x[p], r.y[p]);
  return r;
}

// The motion of frame k: a slow turn, a zoom and a drift, all smooth.
Similarity motion(long k) {
  const double angle = 0.01 * static_cast<double>(k), scale = 1.0 + 0.004 * static_cast<double>(k);
  return {scale * std::cos(angle), scale * std::sin(angle), 2.0 * static_cast<double>(k),
          -1.5 * static_cast<double>(k)};
}

LandmarkTable table_of(std::vector<LandmarkRow> rows) {
  LandmarkTable t;
  t.path = "synthetic.csv";
  t.points = static_cast<int>(rows.front().x.size());
  t.rows = std::move(rows);
  return t;
}

TEST(FitSimilarity, RecoversAKnownSimilarityExactly) {
  const LandmarkRow src = shape(98, {60, 72});
  const Similarity truth{0.9 * std::cos(0.3), 0.9 * std::sin(0.3), -12.5, 40.25};
  const LandmarkRow dst = moved(src, truth, 2);
  const Similarity fit = fit_similarity(src.x, src.y, dst.x, dst.y, points_subset("all", 98));
  EXPECT_NEAR(fit.a, truth.a, 1e-12);
  EXPECT_NEAR(fit.b, truth.b, 1e-12);
  EXPECT_NEAR(fit.tx, truth.tx, 1e-9);
  EXPECT_NEAR(fit.ty, truth.ty, 1e-9);
  const Similarity round_trip = fit.compose(fit.inverse());
  EXPECT_NEAR(round_trip.a, 1, 1e-12);
  EXPECT_NEAR(round_trip.tx, 0, 1e-9);
}

TEST(Stability, RigidSimilarityMotionHasNoFlicker) {
  const LandmarkRow base = shape(98, {60, 72});
  std::vector<LandmarkRow> rows;
  for (long k = 1; k <= 30; ++k) rows.push_back(moved(base, motion(k), k));
  const StabilityReport r =
      measure_stability(table_of(rows), eye_pair(98, std::nullopt), points_subset("all", 98));
  ASSERT_EQ(r.tracks.size(), 1u);
  EXPECT_EQ(r.tracks[0].segments, 1u);
  EXPECT_EQ(r.overall.pairs, 29u);
  EXPECT_EQ(r.overall.samples, 29u * 98);
  EXPECT_LT(r.overall.max, 1e-9);
  EXPECT_LT(r.overall.nmf, 1e-7);
}

// Independent Gaussian noise of sigma pixels per coordinate on every frame, on top of the
// motion (scale s between frames, ~1). The residual r = d - T(s) carries noise of variance
// (1 + s^2) sigma^2 per coordinate, and the least-squares fit absorbs 4 of the 2P
// coordinates' worth of it: E|r|^2 summed over points = (1 + s^2) sigma^2 (2P - 4), so each
// coordinate keeps v = (1 + s^2) sigma^2 (1 - 2 / P). |r| is then Rayleigh distributed:
// mean sqrt(v pi / 2), p99 sqrt(v) sqrt(-2 ln 0.01), standard deviation sqrt(v (4 - pi) / 2).
struct NoiseCase {
  int points;
  EyePair eyes;
  long frames;
};

// `turn`: whether the motion rotates (face scale, a bounding box, then varies with the angle).
StabilityReport noisy_run(const NoiseCase& c, double sigma, bool turn, double& v, double& iod) {
  const LandmarkRow base = shape(c.points, c.eyes);
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, sigma);
  std::vector<LandmarkRow> rows;
  for (long k = 1; k <= c.frames; ++k) {
    // Motion with scale ~1 (0.004 per frame over at most 0.2 frames' worth), turn and drift.
    Similarity m = motion(k % 50);
    if (!turn) m = {std::hypot(m.a, m.b), 0, m.tx, m.ty};
    LandmarkRow r = moved(base, m, k);
    for (size_t p = 0; p < r.x.size(); ++p) r.x[p] += noise(rng), r.y[p] += noise(rng);
    rows.push_back(r);
  }
  const double s = 1.0;  // scale between consecutive frames: 1.004 at most, (1+s^2) = 2 +- 1 %
  v = (1 + s * s) * sigma * sigma * (1.0 - 2.0 / c.points);
  iod = 60;  // the base shape's; the motion's scale moves it by up to 20 % (see tolerance)
  return measure_stability(table_of(rows), c.eyes, points_subset("all", c.points));
}

TEST(Stability, GaussianNoiseGivesTheDerivedFlicker) {
  const NoiseCase c{68, {36, 45}, 400};
  const double sigma = 0.6;
  double v = 0, iod = 0;
  const StabilityReport r = noisy_run(c, sigma, true, v, iod);
  // The inter-ocular distance grows with the motion's scale (1 to 1.2, cycling every 50
  // frames): the normalised mean is E|r| times the mean of 1/iod over frames, which for the
  // scales 1 + 0.004 j, j = 0..49, is 1/60 x 0.9070 (mean of 1/(1 + 0.004 j)).
  double inv_scale = 0;
  for (int j = 0; j < 50; ++j) inv_scale += 1.0 / (1.0 + 0.004 * j) / 50.0;
  const double expected_mean = std::sqrt(v * std::numbers::pi / 2) / iod * inv_scale;
  // Standard error: Rayleigh sd / sqrt(N), N halved because consecutive pairs share a frame's
  // noise; 4 standard errors, plus 1 % for the scale-dependent (1 + s^2) and point leverage.
  const double n = static_cast<double>(r.overall.samples) / 2;
  const double se = std::sqrt(v * (4 - std::numbers::pi) / 2) / iod / std::sqrt(n);
  EXPECT_NEAR(r.overall.mean, expected_mean, 4 * se + 0.01 * expected_mean);
  // p99 of the Rayleigh law, within 8 % (a tail quantile from ~27,000 samples).
  const double expected_p99 = std::sqrt(v) * std::sqrt(-2 * std::log(0.01)) / iod * inv_scale;
  EXPECT_NEAR(r.overall.p99, expected_p99, 0.08 * expected_p99);
  // A residual never left after the fit would be 0: the measure sees the noise.
  EXPECT_GT(r.overall.mean, 0.5 * expected_mean);
}

TEST(Stability, TheFitAbsorbsFourDegreesOfFreedom) {
  // With 5 points the fit takes 4 of 10 coordinates: the mean squared residual is 60 % of
  // the unfitted noise (1 - 2/5), which NMF (an RMS) shows directly: NMF = 100 sqrt(2 v) /
  // face scale.
  const NoiseCase c{5, {0, 1}, 4000};
  const double sigma = 0.2;
  double v = 0, iod = 0;
  const StabilityReport r = noisy_run(c, sigma, false, v, iod);
  const LandmarkRow base = shape(5, {0, 1});
  // Without rotation the face scale is the base shape's times the motion's scale; RMS over
  // pairs of
  // 1 / scale_k: sqrt(mean 1/(1 + 0.004 j)^2).
  double inv_sq = 0;
  for (int j = 0; j < 50; ++j) inv_sq += std::pow(1.0 + 0.004 * j, -2) / 50.0;
  const double expected_nmf =
      100 * std::sqrt(2 * v) / face_scale(base.x, base.y) * std::sqrt(inv_sq);
  const double unfitted_nmf = expected_nmf / std::sqrt(1.0 - 2.0 / 5);
  EXPECT_NEAR(r.overall.nmf, expected_nmf, 0.03 * expected_nmf);
  EXPECT_LT(r.overall.nmf, 0.9 * unfitted_nmf);
}

TEST(Stability, GapsAndFailedFramesSplitSegments) {
  const LandmarkRow base = shape(98, {60, 72});
  std::vector<LandmarkRow> rows;
  // Across the gap the face changes shape (a new fit of a lost face): a pair across it would
  // show large flicker; within each segment the motion is rigid.
  LandmarkRow reshaped = base;
  for (size_t p = 0; p < base.x.size(); ++p) reshaped.x[p] += p % 2 ? 30.0 : -10.0;
  for (long k = 1; k <= 20; ++k) {
    if (k == 11) continue;  // frame 11 missing: face 0 lost
    rows.push_back(moved(k < 11 ? base : reshaped, motion(k), k));
  }
  LandmarkRow failed = moved(base, motion(16), 16);
  failed.success = false;  // a success 0 row between frames 15 and 17 of face 1
  for (long k = 10; k <= 20; ++k) {
    if (k == 16) {
      rows.push_back(failed);
      continue;
    }
    rows.push_back(moved(base, motion(k), k, 1));
  }
  const StabilityReport r =
      measure_stability(table_of(rows), EyePair{60, 72}, points_subset("all", 98));
  ASSERT_EQ(r.tracks.size(), 2u);
  EXPECT_EQ(r.tracks[0].frames, 19u);
  EXPECT_EQ(r.tracks[0].segments, 2u);
  EXPECT_EQ(r.tracks[0].stats.pairs, 9u + 8u);
  EXPECT_EQ(r.tracks[1].face_id, 1);
  EXPECT_EQ(r.tracks[1].segments, 2u);
  EXPECT_EQ(r.tracks[1].stats.pairs, 5u + 3u);  // frames 10-15 and 17-20
  EXPECT_EQ(r.overall.pairs, 25u);
  EXPECT_LT(r.overall.max, 1e-9);
}

TEST(Stability, CoincidingEyeCornersSkipThePair) {
  LandmarkRow base = shape(98, {60, 72});
  base.x[72] = base.x[60], base.y[72] = base.y[60];
  std::vector<LandmarkRow> rows{moved(base, motion(1), 1), moved(base, motion(2), 2)};
  const StabilityReport r =
      measure_stability(table_of(rows), EyePair{60, 72}, points_subset("all", 98));
  EXPECT_EQ(r.tracks[0].degenerate_pairs, 1u);
  EXPECT_EQ(r.overall.pairs, 0u);
}

TEST(Stability, TwoRowsForOneFrameAreBadInput) {
  const LandmarkRow base = shape(68, {36, 45});
  std::vector<LandmarkRow> rows{moved(base, motion(1), 1), moved(base, motion(1), 1)};
  try {
    measure_stability(table_of(rows), EyePair{36, 45}, points_subset("all", 68));
    FAIL() << "duplicate frame accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("two rows for frame 1"), std::string::npos) << e.what();
  }
}

TEST(EyePairs, KnownLayoutsGivenPairsAndRefusals) {
  EXPECT_EQ(eye_pair(98, std::nullopt).left, 60);
  EXPECT_EQ(eye_pair(98, std::nullopt).right, 72);
  EXPECT_EQ(eye_pair(68, std::nullopt).left, 36);
  EXPECT_EQ(eye_pair(68, std::nullopt).right, 45);
  EXPECT_EQ(eye_pair(5, EyePair{3, 4}).right, 4);
  const auto code_and_message = [](auto call) -> std::pair<ErrorCode, std::string> {
    try {
      call();
    } catch (const Error& e) {
      return {e.code(), e.what()};
    }
    return {ErrorCode::kInternal, "no error"};
  };
  auto [code, message] = code_and_message([] { eye_pair(29, std::nullopt); });
  EXPECT_EQ(code, ErrorCode::kBadArgument);
  EXPECT_NE(message.find("--eyes"), std::string::npos) << message;
  std::tie(code, message) = code_and_message([] { eye_pair(98, EyePair{60, 98}); });
  EXPECT_EQ(code, ErrorCode::kBadArgument);
  std::tie(code, message) = code_and_message([] { parse_eye_pair("60;72"); });
  EXPECT_EQ(code, ErrorCode::kBadArgument);
  EXPECT_EQ(parse_eye_pair("3,14").right, 14);
}

TEST(PointsSubset, AllRigidAndLists) {
  EXPECT_EQ(points_subset("all", 68).size(), 68u);
  const std::vector<int> rigid98 = points_subset("rigid", 98);
  EXPECT_EQ(rigid98.size(), 13u);
  EXPECT_EQ(rigid98.front(), 51);
  EXPECT_EQ(rigid98.back(), 72);
  EXPECT_EQ(points_subset("rigid", 68).size(), 13u);
  EXPECT_EQ(points_subset("5,0-2,1", 98), (std::vector<int>{0, 1, 2, 5}));
  for (const std::string bad : {"0-98", "x", "3", "2-1", "1,,2"}) {
    EXPECT_THROW(points_subset(bad, 98), Error) << bad;
  }
  EXPECT_THROW(points_subset("rigid", 29), Error);
}

}  // namespace
}  // namespace starface::eval
