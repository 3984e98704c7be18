// STAR's metrics on hand-made predictions and ground truth, every expected value worked out
// by hand in the comments.
#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace starface::eval {
namespace {

constexpr int kPoints = 98;

// A ground truth whose outer eye corners 60 and 72 are 0.5 apart: (-0.25, 0) and (0.25, 0).
std::vector<float> wflw_truth() {
  std::vector<float> gt(2 * kPoints);
  for (int p = 0; p < kPoints; ++p) {
    gt[2 * p] = -0.5f + 0.01f * static_cast<float>(p);
    gt[2 * p + 1] = 0.1f * static_cast<float>(p % 7) - 0.3f;
  }
  gt[2 * 60] = -0.25f, gt[2 * 60 + 1] = 0.0f;
  gt[2 * 72] = 0.25f, gt[2 * 72 + 1] = 0.0f;
  return gt;
}

void move(std::vector<float>& points, int index, float dx, float dy) {
  points[2 * index] += dx;
  points[2 * index + 1] += dy;
}

TEST(Nme, ConventionPerLayout) {
  const NmeConvention wflw = nme_convention(98);
  EXPECT_EQ(wflw.left, 60);
  EXPECT_EQ(wflw.right, 72);
  EXPECT_EQ(wflw.threshold, 0.1);
  const NmeConvention w300 = nme_convention(68);
  EXPECT_EQ(w300.left, 36);
  EXPECT_EQ(w300.right, 45);
  EXPECT_EQ(w300.threshold, 0.05);
  const NmeConvention cofw = nme_convention(29);
  EXPECT_EQ(cofw.left, 16);
  EXPECT_EQ(cofw.right, 17);
  try {
    nme_convention(5);
    FAIL() << "5 points accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("5 landmarks"), std::string::npos) << e.what();
  }
}

TEST(Nme, MeanPointErrorOverOcularDistance) {
  const std::vector<float> gt = wflw_truth();
  std::vector<float> pred = gt;
  // 49 points (0-48, neither eye corner) off by (0.03, 0.04): an error of 0.05 each, 0.1 of
  // the ocular distance 0.5. The other 49 are exact: NME = 49 * 0.1 / 98 = 0.05.
  for (int p = 0; p < 49; ++p) move(pred, p, 0.03f, 0.04f);
  EXPECT_NEAR(image_nme(pred.data(), gt.data(), kPoints, nme_convention(98)), 0.05, 1e-7);
  EXPECT_EQ(image_nme(gt.data(), gt.data(), kPoints, nme_convention(98)), 0.0);
}

TEST(Nme, NormalisesByTheGroundTruthNotThePrediction) {
  const std::vector<float> gt = wflw_truth();
  std::vector<float> pred = gt;
  // Moving the predicted corner 72 by (0.3, 0.4) is one error of 0.5 = 1.0 ocular distance
  // of the ground truth: NME = 1 / 98. Normalising by the prediction's corners (0.8, 0.4
  // apart, 0.894) would give 0.559 / 98 instead.
  move(pred, 72, 0.3f, 0.4f);
  EXPECT_NEAR(image_nme(pred.data(), gt.data(), kPoints, nme_convention(98)), 1.0 / 98, 1e-7);
}

TEST(FrAuc, StepCurveIntegratedBySimpsonNotTrapezoid) {
  // NMEs 0.02505 and 0.5 at threshold 0.1: the grid is x_k = k * 1e-4, k = 0..1000;
  // y_k = 0 for k <= 250 (x_250 = 0.025 < 0.02505) and 0.5 from k = 251 on (0.5 never
  // counts). FR = 1 - y_1000 = 0.5.
  // Simpson over the 500 pairs [x_2i, x_2i+2], each h/3 (y0 + 4 y1 + y2), h = 1e-4:
  //   pairs below 250: 0; pair 250-252: h/3 (0 + 2 + 0.5) = 2.5h/3;
  //   the 374 pairs from 252 to 1000: h/3 (0.5 + 2 + 0.5) = h each.
  //   integral = h (374 + 2.5/3), AUC = integral / 0.1 = 0.374833...
  // The trapezoid rule would give h (374.5 + 0.25) / 0.1 = 0.37475.
  const FrAuc r = fr_and_auc({0.02505, 0.5}, 0.1);
  EXPECT_DOUBLE_EQ(r.fr, 0.5);
  const double expected_auc = 1e-4 * (374.0 + 2.5 / 3.0) / 0.1;
  EXPECT_NEAR(r.auc, expected_auc, 1e-12);
  EXPECT_EQ(r.fr_rounded, 0.5);
  EXPECT_EQ(r.auc_rounded, 0.374833);
}

TEST(FrAuc, ThresholdIsInclusive) {
  // np.arange(0, 0.1 + 1e-4, 1e-4) ends exactly at 0.1, and STAR counts nme <= x.
  EXPECT_EQ(fr_and_auc({0.1}, 0.1).fr, 0.0);
  EXPECT_EQ(fr_and_auc({std::nextafter(0.1, 1.0)}, 0.1).fr, 1.0);
  // All NMEs 0: y = 1 everywhere, the integral is the whole 0.1, AUC = 1.
  EXPECT_NEAR(fr_and_auc({0.0, 0.0}, 0.1).auc, 1.0, 1e-12);
}

TEST(FrAuc, ThreeHundredWGridEndsAt0501AndAveragesOddIntervals) {
  // At threshold 0.05, np.arange(0, 0.0501, 1e-4) has 502 points ending at 0.0501: an NME
  // of 0.05005 > 0.05 still counts at the last point, so STAR's FR is 0.
  // y_k = 1 only at k = 501. 501 intervals is odd, so simps(even='avg') averages
  //   (Simpson on [0, x_500] = 0) + trapezoid [x_500, x_501] = h/2, and
  //   trapezoid [x_0, x_1] = 0 + Simpson on [x_1, x_501], whose last pair is h/3 (0+0+1);
  // AUC = (h/2 + h/3) / 2 / 0.05 = 5h / 12 / 0.05 = 0.000833...
  const FrAuc r = fr_and_auc({0.05005}, 0.05);
  EXPECT_EQ(r.fr, 0.0);
  EXPECT_NEAR(r.auc, 5e-4 / 12.0 / 0.05, 1e-12);
  EXPECT_EQ(r.auc_rounded, 0.000833);
}

TEST(Simpson, ExactOnCubicsAndMatchesTheAvgRuleOnFourPoints) {
  // Simpson's rule is exact for cubics: the integral of x^3 on [0, 2] is 4.
  std::vector<double> x = {0.0, 0.5, 1.0, 1.5, 2.0}, y;
  for (double v : x) y.push_back(v * v * v);
  EXPECT_NEAR(simpson(y, x), 4.0, 1e-12);
  // Four points y = 0, 0, 0, 3 at x = 0..3 (three intervals): Simpson on the first two plus a
  // trapezoid on the last = 0 + 1.5; trapezoid on the first plus Simpson on the last two
  // = 0 + (0 + 0 + 3) / 3 = 1; 'avg' = (1.5 + 1) / 2 = 1.25.
  EXPECT_NEAR(simpson({0, 0, 0, 3}, {0, 1, 2, 3}), 1.25, 1e-12);
}

TEST(Round, LikePython) {
  EXPECT_EQ(round_like_python(0.125, 2), 0.12);  // an exact tie goes to even
  EXPECT_EQ(round_like_python(0.375, 2), 0.38);
  EXPECT_EQ(round_like_python(2.675, 2), 2.67);  // 2.675 is 2.67499999... in binary
  EXPECT_EQ(round_like_python(0.0232000000001, 4), 0.0232);
}

TEST(Accuracy, OverallAndPerSubset) {
  // Face 0: pose and blur, NME 0.01; face 1: pose, 0.02; face 2: occlusion, 0.2.
  const std::vector<double> nmes = {0.01, 0.02, 0.2};
  using Flags = std::array<int, kSubsetCount>;
  const std::vector<std::optional<Flags>> flags = {Flags{1, 0, 0, 0, 0, 1}, Flags{1, 0, 0, 0, 0, 0},
                                                   Flags{0, 0, 0, 0, 1, 0}};
  const AccuracyReport r = accuracy_report(nmes, flags, 0.1);
  EXPECT_EQ(r.all.faces, 3u);
  EXPECT_NEAR(r.all.nme, (0.01 + 0.02 + 0.2) / 3, 1e-15);
  EXPECT_NEAR(r.all.curve.fr, 1.0 / 3, 1e-15);  // only 0.2 is above 0.1
  ASSERT_TRUE(r.subsets[0].has_value());        // pose: faces 0 and 1
  EXPECT_EQ(r.subsets[0]->faces, 2u);
  EXPECT_NEAR(r.subsets[0]->nme, 0.015, 1e-15);
  EXPECT_EQ(r.subsets[0]->curve.fr, 0.0);
  EXPECT_EQ(r.subsets[0]->curve.auc, fr_and_auc({0.01, 0.02}, 0.1).auc);
  EXPECT_EQ(r.subsets[1]->faces, 0u);  // expression: nobody
  EXPECT_EQ(r.subsets[4]->faces, 1u);  // occlusion: face 2 only, which fails
  EXPECT_EQ(r.subsets[4]->curve.fr, 1.0);
  EXPECT_EQ(r.subsets[4]->curve.auc, 0.0);
  EXPECT_EQ(r.subsets[5]->faces, 1u);  // blur: face 0
  EXPECT_NEAR(r.subsets[5]->nme, 0.01, 1e-15);

  const AccuracyReport untagged =
      accuracy_report(nmes, {std::nullopt, std::nullopt, std::nullopt}, 0.1);
  for (const auto& s : untagged.subsets) EXPECT_FALSE(s.has_value());
}

TEST(Percentile, NumpyLinear) {
  // np.percentile(range(10), 99): index 0.99 * 9 = 8.91, between 8 and 9 -> 8.91.
  EXPECT_NEAR(percentile_linear({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 99), 8.91, 1e-12);
  EXPECT_EQ(percentile_linear({0, 1, 2, 3}, 100), 3.0);
  EXPECT_EQ(percentile_linear({5}, 99), 5.0);
}

TEST(Drift, HandMadeDisplacements) {
  // Two faces of 98 points, B the reference with its eye corners 0.5 apart. In crop pixels a
  // normalised step is 128 px ((l + 1) * 256 - 1) / 2.
  std::vector<float> b = wflw_truth();
  b.insert(b.end(), b.begin(), b.end());
  std::vector<float> a = b;
  a[2 * 7] += 0.006f, a[2 * 7 + 1] += 0.008f;              // face 0: 0.01 -> 1.28 px
  a[2 * (98 + 5)] += 0.03f, a[2 * (98 + 5) + 1] += 0.04f;  // face 1: 0.05 -> 6.4 px
  a[2 * (98 + 9)] += 0.02f;                                // face 1: 0.02 -> 2.56 px
  const DriftStats d = drift(a, b, kPoints, nme_convention(98));
  EXPECT_EQ(d.faces, 2u);
  EXPECT_EQ(d.points, 98u);
  // 196 displacements: 193 zeros, 1.28, 2.56, 6.4.
  EXPECT_NEAR(d.mean_px, (1.28 + 2.56 + 6.4) / 196, 1e-5);
  EXPECT_NEAR(d.max_px, 6.4, 1e-5);
  // p99: index 0.99 * 195 = 193.05, between sorted[193] = 1.28 and sorted[194] = 2.56.
  EXPECT_NEAR(d.p99_px, 1.28 + 0.05 * (2.56 - 1.28), 1e-5);
  // NME of A against B: face 0 0.01 / 0.5 / 98, face 1 (0.05 + 0.02) / 0.5 / 98; mean of the
  // two = (0.02 + 0.14) / 2 / 98.
  EXPECT_NEAR(d.nme, 0.08 / 98, 1e-8);

  const DriftStats same = drift(b, b, kPoints, nme_convention(98));
  EXPECT_EQ(same.mean_px, 0.0);
  EXPECT_EQ(same.p99_px, 0.0);
  EXPECT_EQ(same.max_px, 0.0);
  EXPECT_EQ(same.nme, 0.0);
}

}  // namespace
}  // namespace starface::eval
