// Models run on faces: drift of a model against itself is exactly zero, drift between two
// different weight sets equals an independent computation through vision::detect_landmarks,
// and accuracy against ground truth taken from the model itself.
#include "eval/evaluate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "support/fixtures.h"
#include "vision/face_landmarks.h"
#include "vision/image.h"

namespace starface::eval {
namespace {

using testing::shared_dir;
using testing::star_fixture;

const std::vector<Box> kBoxes = {{20, 18, 199, 220}, {-30.5, 40.2, 150.9, 230}};

std::string images_dir() { return (shared_dir() / "data" / "images").string(); }

std::vector<Face> faces_on_image0() {
  std::vector<Face> faces;
  for (size_t i = 0; i < kBoxes.size(); ++i) {
    Face f;
    f.where = "box " + std::to_string(i);
    f.image = "0.jpg";
    f.box = kBoxes[i];
    faces.push_back(f);
  }
  return faces;
}

std::unique_ptr<Engine> load(const std::string& model, const std::string& weights = "net") {
  EngineOptions o;
  o.weights = weights;
  o.threads = 1;
  return Engine::load(star_fixture("models/" + model).string(), o);
}

RunOptions options(int batch = 8) {
  RunOptions o;
  o.image_root = images_dir();
  o.batch = batch;
  return o;
}

TEST(Predict, DriftOfAModelAgainstItselfIsExactlyZero) {
  const auto a = load("star_wflw_tiny.pth");
  const auto b = load("star_wflw_tiny.pth");
  const Predictions p = predict(faces_on_image0(), *a, b.get(), options());
  ASSERT_EQ(p.faces(), 2u);
  EXPECT_EQ(p.points, 98);
  EXPECT_TRUE(p.truth.empty());
  EXPECT_EQ(p.model, p.reference);
  const DriftStats d = drift(p.model, p.reference, p.points, nme_convention(98));
  EXPECT_EQ(d.faces, 2u);
  EXPECT_EQ(d.mean_px, 0.0);
  EXPECT_EQ(d.p99_px, 0.0);
  EXPECT_EQ(d.max_px, 0.0);
  EXPECT_EQ(d.nme, 0.0);
}

TEST(Predict, DriftBetweenNetAndEmaMatchesImagePixelLandmarks) {
  const auto ema = load("star_wflw_tiny_train.pth", "net_ema");
  const auto net = load("star_wflw_tiny_train.pth", "net");
  const Predictions p = predict(faces_on_image0(), *ema, net.get(), options(1));
  const DriftStats d = drift(p.model, p.reference, p.points, nme_convention(98));

  // Independently: landmarks in image pixels from the landmarks pipeline; a crop pixel is
  // s = M[0] image pixels wide, so crop-pixel displacement = image-pixel displacement * s.
  const cv::Mat image = vision::read_image(images_dir() + "/0.jpg");
  const auto ema_faces = vision::detect_landmarks(*ema, image, kBoxes);
  const auto net_faces = vision::detect_landmarks(*net, image, kBoxes);
  std::vector<double> px;
  double nme_sum = 0;
  for (size_t f = 0; f < kBoxes.size(); ++f) {
    const double s = ema_faces[f].matrix[0];
    EXPECT_EQ(p.matrices[f], ema_faces[f].matrix);
    const auto& pa = ema_faces[f].points;
    const auto& pb = net_faces[f].points;
    double face_sum = 0;
    for (size_t i = 0; i < pa.size(); ++i) {
      const double image_px = std::hypot(pa[i].x - pb[i].x, pa[i].y - pb[i].y);
      px.push_back(image_px * s);
      face_sum += image_px;
    }
    // NME is a ratio, the same in image pixels: B's eye corners 60 and 72 normalise.
    nme_sum += face_sum / pa.size() / std::hypot(pb[60].x - pb[72].x, pb[60].y - pb[72].y);
  }
  std::sort(px.begin(), px.end());
  double mean = 0;
  for (double v : px) mean += v / px.size();
  // numpy's linear p99 over 196 values: index 0.99 * 195 = 193.05.
  const double p99 = px[193] + 0.05 * (px[194] - px[193]);

  EXPECT_GT(d.mean_px, 0.01);  // net_ema moves landmarks by up to 0.25 (README)
  EXPECT_NEAR(d.mean_px, mean, 1e-6);
  EXPECT_NEAR(d.p99_px, p99, 1e-6);
  EXPECT_NEAR(d.max_px, px.back(), 1e-6);
  EXPECT_NEAR(d.nme, nme_sum / kBoxes.size(), 1e-9);
}

TEST(Predict, GroundTruthFromTheModelItselfScoresZeroAndAShiftScoresItsRatio) {
  const auto model = load("star_wflw_tiny.pth");
  const cv::Mat image = vision::read_image(images_dir() + "/0.jpg");
  const auto predicted = vision::detect_landmarks(*model, image, {kBoxes[0]});
  // Face 0's truth is the prediction; face 1's is the prediction moved by (3, 4) pixels, so
  // every point is 5 px off, and NME = 5 / (ocular distance in pixels) since it is a ratio.
  std::vector<Face> faces(2, faces_on_image0()[0]);
  for (const Point& q : predicted[0].points) {
    faces[0].landmarks.insert(faces[0].landmarks.end(),
                              {static_cast<float>(q.x), static_cast<float>(q.y)});
    faces[1].landmarks.insert(faces[1].landmarks.end(),
                              {static_cast<float>(q.x + 3), static_cast<float>(q.y + 4)});
  }
  const auto& q = predicted[0].points;
  const double ocular = std::hypot(q[60].x - q[72].x, q[60].y - q[72].y);
  const Predictions p = predict(faces, *model, nullptr, options());
  ASSERT_EQ(p.truth.size(), p.model.size());
  EXPECT_TRUE(p.reference.empty());
  const auto nmes = face_nmes(p, p.model, nme_convention(98));
  ASSERT_EQ(nmes.size(), 2u);
  EXPECT_LT(nmes[0], 1e-5);
  EXPECT_NEAR(nmes[1], 5.0 / ocular, 1e-5);
}

TEST(Predict, BadInputsNameTheFace) {
  const auto model = load("star_wflw_tiny.pth");
  std::vector<Face> faces = faces_on_image0();
  faces[1].image = "no_such.jpg";
  faces[1].where = "list.txt:9";
  try {
    predict(faces, *model, nullptr, options());
    FAIL() << "missing image accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("list.txt:9"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_such.jpg"), std::string::npos) << e.what();
  }

  faces = faces_on_image0();
  for (Face& f : faces) f.landmarks.assign(2 * 68, 1.0f);
  try {
    predict(faces, *model, nullptr, options());
    FAIL() << "68-point truth accepted for a 98-point model";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("68 ground-truth points"), std::string::npos) << e.what();
  }

  const auto w300 = load("star_300w_tiny.pth");
  try {
    predict(faces_on_image0(), *model, w300.get(), options());
    FAIL() << "reference with another point count accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("68 landmarks"), std::string::npos) << e.what();
  }
}

TEST(Predict, ReportsProgressPerBatch) {
  const auto model = load("star_wflw_tiny.pth");
  RunOptions o = options(1);
  std::vector<size_t> seen;
  o.progress = [&](size_t done, size_t total) {
    EXPECT_EQ(total, 2u);
    seen.push_back(done);
  };
  predict(faces_on_image0(), *model, nullptr, o);
  EXPECT_EQ(seen, (std::vector<size_t>{1, 2}));
}

}  // namespace
}  // namespace starface::eval
