// Face size and yaw from landmarks, and the reports binned by them: the yaw estimator on a
// generic 3D face turned by known angles (exact, by construction of its geometry), bin edges
// and labels, flicker pooled per bin, NME per bin binned by the ground truth.
#include "eval/face_bins.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "eval/evaluate.h"
#include "eval/stability.h"

namespace starface::eval {
namespace {

constexpr double kDegree = std::numbers::pi / 180;

// 68 points at the circle of radius 40 around (cx, cy), except the outer eye corners 36 and 45
// and the nose tip 30: those of a head with the corners `eyes` apart and the nose tip
// 0.3 x `eyes` in front of them (the estimator's face), turned by `yaw`, rolled by `roll` in
// the image, seen from far (orthographic).
LandmarkRow posed_face(double yaw_deg, double roll_deg, double eyes, double cx, double cy,
                       long frame = 1) {
  LandmarkRow r;
  r.frame = frame;
  r.success = true;
  for (int p = 0; p < 68; ++p) {
    r.x.push_back(cx + 40 * std::cos(2 * std::numbers::pi * p / 68));
    r.y.push_back(cy + 40 * std::sin(2 * std::numbers::pi * p / 68));
  }
  // Head coordinates (x right, y down, z toward the camera) -> image.
  const auto place = [&](int p, double x, double y, double z) {
    const double yaw = yaw_deg * kDegree, roll = roll_deg * kDegree;
    const double u = x * std::cos(yaw) + z * std::sin(yaw);  // turned about the vertical
    r.x[p] = cx + u * std::cos(roll) - y * std::sin(roll);
    r.y[p] = cy + u * std::sin(roll) + y * std::cos(roll);
  };
  place(36, -eyes / 2, 0, 0);
  place(45, eyes / 2, 0, 0);
  place(30, 0, 0.6 * eyes, 0.3 * eyes);
  return r;
}

TEST(FaceBins, YawOfTheGenericFaceIsRecoveredExactly) {
  const PoseLandmarks at = pose_landmarks(68, "test");
  for (const double yaw : {-50.0, -20.0, 0.0, 10.0, 35.0}) {
    for (const double roll : {0.0, 25.0}) {
      const LandmarkRow r = posed_face(yaw, roll, 80, 300, 200);
      EXPECT_NEAR(estimate_yaw_deg(r.x, r.y, at), yaw, 1e-9) << yaw << " " << roll;
      // The corners appear 80 cos(yaw) apart.
      EXPECT_NEAR(inter_ocular_px(r.x, r.y, at), 80 * std::cos(yaw * kDegree), 1e-9);
    }
  }
  LandmarkRow same = posed_face(0, 0, 80, 300, 200);
  same.x[45] = same.x[36];
  EXPECT_TRUE(std::isnan(estimate_yaw_deg(same.x, same.y, at)));
  EXPECT_EQ(pose_landmarks(98, "test").nose_tip, 54);
  EXPECT_THROW(pose_landmarks(29, "--by yaw"), Error);
}

TEST(FaceBins, EdgesLabelsAndAxes) {
  EXPECT_EQ(bin_count(BinAxis::kSize), 5);
  EXPECT_EQ(bin_index(BinAxis::kSize, 31.9), 0);
  EXPECT_EQ(bin_index(BinAxis::kSize, 32), 1);
  EXPECT_EQ(bin_index(BinAxis::kSize, 1000), 4);
  EXPECT_EQ(bin_label(BinAxis::kSize, 0), "< 32 px");
  EXPECT_EQ(bin_label(BinAxis::kSize, 2), "64-128 px");
  EXPECT_EQ(bin_label(BinAxis::kSize, 4), ">= 256 px");
  EXPECT_EQ(bin_index(BinAxis::kYaw, -20), 1);  // by |yaw|
  EXPECT_EQ(bin_index(BinAxis::kYaw, 45), 3);
  EXPECT_EQ(bin_index(BinAxis::kYaw, std::nan("")), -1);
  EXPECT_EQ(bin_label(BinAxis::kYaw, 1), "15-30 deg");
  EXPECT_EQ(parse_bin_axes("size,yaw"), (std::vector<BinAxis>{BinAxis::kSize, BinAxis::kYaw}));
  EXPECT_EQ(parse_bin_axes("yaw"), std::vector<BinAxis>{BinAxis::kYaw});
  try {
    parse_bin_axes("size,pitch");
    FAIL() << "pitch was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("'pitch'"), std::string::npos) << e.what();
  }
}

TEST(FaceBins, FlickerPooledPerBinAddsUpToTheTracks) {
  // Face 0: small (corners 40 px apart), frontal; face 1: large (150 px), turned by 35 deg.
  // Each jitters differently, so each bin's figures must be its own track's.
  LandmarkTable table;
  table.points = 68;
  for (long k = 1; k <= 6; ++k) {
    LandmarkRow small = posed_face(0, 0, 40, 100, 100, k);
    small.face_id = 0;
    small.y[10] += (k % 2) * 0.5;
    LandmarkRow large = posed_face(35, 0, 150, 400, 300, k);
    large.face_id = 1;
    large.y[12] += (k % 2) * 3.0;
    table.rows.push_back(small);
    table.rows.push_back(large);
  }
  const std::vector<int> all = points_subset("all", 68);
  const StabilityReport report = measure_stability(table, {36, 45}, all);
  ASSERT_EQ(report.pairs.size(), 10u);
  const auto by_size = flicker_by_bin(report, BinAxis::kSize);
  const auto by_yaw = flicker_by_bin(report, BinAxis::kYaw);
  // 40 px -> 32-64 px; 150 cos(35 deg) = 123 px -> 64-128 px.
  EXPECT_EQ(by_size[1].pairs, 5u);
  EXPECT_EQ(by_size[2].pairs, 5u);
  EXPECT_DOUBLE_EQ(by_size[1].mean, report.tracks[0].stats.mean);
  EXPECT_DOUBLE_EQ(by_size[2].p99, report.tracks[1].stats.p99);
  EXPECT_EQ(by_yaw[0].pairs, 5u);
  EXPECT_EQ(by_yaw[2].pairs, 5u);  // 30-45 deg
  EXPECT_DOUBLE_EQ(by_yaw[2].mean, report.tracks[1].stats.mean);
}

TEST(FaceBins, AccuracyIsBinnedByTheGroundTruth) {
  std::vector<Face> faces(3);
  const double sizes[3] = {50, 100, 110};
  for (int i = 0; i < 3; ++i) {
    const LandmarkRow r =
        posed_face(i == 0 ? 40 : 0, 0, sizes[i] / std::cos((i == 0 ? 40 : 0) * kDegree), 200, 200);
    for (int p = 0; p < 68; ++p) {
      faces[i].landmarks.push_back(static_cast<float>(r.x[p]));
      faces[i].landmarks.push_back(static_cast<float>(r.y[p]));
    }
  }
  const std::vector<double> nmes = {0.08, 0.02, 0.04};
  const auto by_size = accuracy_by_bin(faces, nmes, BinAxis::kSize, 0.05);
  EXPECT_EQ(by_size[1].faces, 1u);
  EXPECT_DOUBLE_EQ(by_size[1].nme, 0.08);
  EXPECT_EQ(by_size[2].faces, 2u);
  EXPECT_NEAR(by_size[2].nme, 0.03, 1e-15);
  EXPECT_NEAR(by_size[2].curve.fr, 0.0, 1e-15);
  const auto by_yaw = accuracy_by_bin(faces, nmes, BinAxis::kYaw, 0.05);
  EXPECT_EQ(by_yaw[0].faces, 2u);
  EXPECT_EQ(by_yaw[2].faces, 1u);  // 40 deg
  faces[1].landmarks.clear();
  EXPECT_THROW(accuracy_by_bin(faces, nmes, BinAxis::kSize, 0.05), Error);
}

}  // namespace
}  // namespace starface::eval
