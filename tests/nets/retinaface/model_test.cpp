// RetinaFace's loader, priors and post-processing, and the Detector / face_detector API:
// checked keys (missing, mis-shaped, unknown, a STAR checkpoint), prior grids against the
// img_0 golden and the README's counts, head-map gathering order, decode, the strict 0.02
// filter, "+1"-area NMS, and plans per input size.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "backends/onednn/onednn_backend.h"
#include "engine/detector.h"
#include "import/checkpoint.h"
#include "import/npy.h"
#include "nets/retinaface/builder.h"
#include "nets/retinaface/postprocess.h"
#include "nets/retinaface/retinaface_testing.h"
#include "vision/face_detector.h"
#include "vision/image.h"

namespace starface::retinaface {
namespace {

using starface::testing::rf_fixture;
using starface::testing::rf_model;

const TensorMap& weights() {
  static const TensorMap sd = import::load_state_dict(rf_model().string());
  return sd;
}

ErrorCode error_of(const std::function<void()>& f, std::string* message) {
  try {
    f();
  } catch (const Error& e) {
    *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

TEST(RetinaFaceWeights, CheckpointHas300KeysAndBuilds) {
  EXPECT_EQ(weights().size(), 300u);
  const graph::Graph g = build_graph(weights(), 720, 1280);
  EXPECT_EQ(g.value(g.output("class.0")).shape, (Shape{1, 4, 90, 160}));
  EXPECT_EQ(g.value(g.output("bbox.1")).shape, (Shape{1, 8, 45, 80}));
  EXPECT_EQ(g.value(g.output("landmark.2")).shape, (Shape{1, 20, 23, 40}));
  EXPECT_EQ(g.value(g.output("c3")).shape, (Shape{1, 256, 23, 40}));
  EXPECT_EQ(g.value(g.output("s1")).shape, (Shape{1, 64, 90, 160}));
}

TEST(RetinaFaceWeights, MissingKeyIsNamed) {
  TensorMap sd = weights();
  sd.erase("ssh2.conv7x7_3.1.running_var");
  std::string message;
  EXPECT_EQ(error_of([&] { build_graph(sd, 64, 64); }, &message), ErrorCode::kMissingKey);
  EXPECT_NE(message.find("ssh2.conv7x7_3.1.running_var"), std::string::npos) << message;
}

TEST(RetinaFaceWeights, MisShapedKeyIsNamed) {
  TensorMap sd = weights();
  sd["body.stage2.3.0.weight"] = Tensor(DType::kFloat32, {128, 128, 3, 3});  // not depthwise
  std::string message;
  EXPECT_EQ(error_of([&] { build_graph(sd, 64, 64); }, &message), ErrorCode::kShapeMismatch);
  EXPECT_NE(message.find("body.stage2.3.0.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[128, 1, 3, 3]"), std::string::npos) << message;
}

TEST(RetinaFaceWeights, UnknownKeyIsNamed) {
  TensorMap sd = weights();
  sd["fpn.output4.0.weight"] = Tensor(DType::kFloat32, {64, 512, 1, 1});
  std::string message;
  EXPECT_EQ(error_of([&] { build_graph(sd, 64, 64); }, &message), ErrorCode::kUnexpectedKey);
  EXPECT_NE(message.find("fpn.output4.0.weight"), std::string::npos) << message;
}

TEST(RetinaFaceDetector, StarCheckpointIsRefusedNamingTheFile) {
  const std::string star = starface::testing::star_fixture("models/star_wflw_tiny.pth").string();
  std::string message;
  EXPECT_EQ(error_of([&] { Detector::load(star); }, &message), ErrorCode::kBadArgument);
  EXPECT_NE(message.find(star), std::string::npos) << message;
  EXPECT_NE(message.find("RetinaFace"), std::string::npos) << message;
  EXPECT_EQ(error_of([&] { Detector::load("/no/such/retinaface.pth"); }, &message), ErrorCode::kIo);
  EXPECT_NE(message.find("/no/such/retinaface.pth"), std::string::npos) << message;
  EngineOptions bad;
  bad.backend = "gpu";
  EXPECT_EQ(error_of([&] { Detector::load(rf_model().string(), bad); }, &message),
            ErrorCode::kBadArgument);
}

TEST(RetinaFacePriors, MatchImg0GoldenExactly) {
  const Tensor want = import::read_npy(rf_fixture("img_0_priors.npy").string());
  const std::vector<Prior> priors = make_priors(224, 224);
  ASSERT_EQ(want.shape(), (Shape{static_cast<int64_t>(priors.size()), 4}));
  const float* w = want.data<float>();
  for (size_t i = 0; i < priors.size(); ++i) {
    const Prior& p = priors[i];
    const float got[4] = {static_cast<float>(p.cx), static_cast<float>(p.cy),
                          static_cast<float>(p.w), static_cast<float>(p.h)};
    for (int k = 0; k < 4; ++k) ASSERT_EQ(got[k], w[4 * i + k]) << "prior " << i << "." << k;
  }
}

TEST(RetinaFacePriors, CountsAndUnclippedCentres) {
  EXPECT_EQ(make_priors(720, 1280).size(), 37840u);
  EXPECT_EQ(make_priors(224, 224).size(), 2058u);
  EXPECT_EQ(make_priors(480, 640).size(), 12600u);
  // 705 rows give a 23-row 1/32 grid whose last centre, 22.5 * 32 = 720, lies below the
  // image: priors are not clipped.
  const std::vector<Prior> p = make_priors(705, 1280);
  EXPECT_NEAR(p.back().cy, (22 + 0.5) * 32 / 705.0, 1e-15);
  EXPECT_GT(p.back().cy, 1.0);
  EXPECT_DOUBLE_EQ(p.back().w, 512 / 1280.0);
}

// Head maps whose every value encodes (level, channel, y, x), gathered: row
// (y*W + x)*2 + a of level k, column v must come from channel a*k + v.
TEST(RetinaFaceHeads, GatherInAnchorOrderWithSoftmax) {
  const int64_t h = 40, w = 72;
  TensorMap maps;
  for (int level = 0; level < kLevels; ++level) {
    const int64_t step = 8 << level, lh = (h + step - 1) / step, lw = (w + step - 1) / step;
    for (Head head : {Head::kClass, Head::kBbox, Head::kLandmark}) {
      const int64_t channels = 2 * values_per_anchor(head);
      Tensor t(DType::kFloat32, {1, channels, lh, lw});
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t i = 0; i < lh * lw; ++i) {
          t.data<float>()[c * lh * lw + i] = static_cast<float>(level * 1e5 + c * 1e3 + i);
        }
      }
      if (head == Head::kClass) t.data<float>()[0] = 3.0f, t.data<float>()[lh * lw] = 1.0f;
      maps[head_output(head, level)] = t;
    }
  }
  const RawOutputs raw = gather_heads(maps, h, w);
  ASSERT_EQ(raw.loc.shape(), (Shape{2 * (5 * 9 + 3 * 5 + 2 * 3), 4}));
  ASSERT_EQ(raw.landms.shape(), (Shape{raw.loc.dim(0), 10}));
  // Level 1 starts after level 0's 5 x 9 cells; its cell (y=2, x=3) is pixel 2*5+3 = 13.
  const int64_t row = 2 * 5 * 9 + (2 * 5 + 3) * 2 + 1;  // anchor 1
  EXPECT_EQ(raw.loc.data<float>()[row * 4 + 2], 1e5f + (1 * 4 + 2) * 1e3f + 13);
  EXPECT_EQ(raw.landms.data<float>()[row * 10 + 7], 1e5f + (1 * 10 + 7) * 1e3f + 13);
  // Row 0: logits (3, 1) -> softmax; each row sums to 1.
  EXPECT_NEAR(raw.conf.data<float>()[0], 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
  EXPECT_NEAR(raw.conf.data<float>()[1], 1.0 / (1.0 + std::exp(2.0)), 1e-7);
  maps.erase("bbox.2");
  EXPECT_THROW(gather_heads(maps, h, w), Error);
  EXPECT_THROW(gather_heads(TensorMap(), h, w), Error);
}

RawOutputs one_anchor(float score, std::vector<float> loc, std::vector<float> landms) {
  RawOutputs raw{Tensor::from_vector<float>({1, 4}, loc),
                 Tensor::from_vector<float>({1, 2}, {1.0f - score, score}),
                 Tensor::from_vector<float>({1, 10}, landms)};
  return raw;
}

TEST(RetinaFaceDecode, PriorBoxAndOffsetsInPixels) {
  const std::vector<Prior> priors{{0.5, 0.25, 0.2, 0.4}};
  std::vector<float> landms{0, 0, 1, 0, 0, 1, -1, 0, 0, -1};
  const auto dets = decode(one_anchor(0.9f, {0, 0, 0, 0}, landms), priors, 100, 200);
  ASSERT_EQ(dets.size(), 1u);
  // Box = prior: centre (100, 25) px, size 40 x 40 px.
  EXPECT_FLOAT_EQ(dets[0].x1, 80.0f);
  EXPECT_FLOAT_EQ(dets[0].y1, 5.0f);
  EXPECT_FLOAT_EQ(dets[0].x2, 120.0f);
  EXPECT_FLOAT_EQ(dets[0].y2, 45.0f);
  EXPECT_FLOAT_EQ(dets[0].score, 0.9f);
  // Point 1 moves 0.1 * 0.2 * 200 = 4 px right; point 2 0.1 * 0.4 * 100 = 4 px down.
  EXPECT_FLOAT_EQ(dets[0].points[2], 104.0f);
  EXPECT_FLOAT_EQ(dets[0].points[5], 29.0f);
  EXPECT_FLOAT_EQ(dets[0].points[6], 96.0f);
  // Size: w = pw * exp(0.2 * l2).
  const auto grown = decode(one_anchor(0.9f, {1, 0, 5, 0}, landms), priors, 100, 200);
  const double bw = 0.2 * std::exp(1.0) * 200, cx = (0.5 + 0.1 * 0.2) * 200;
  EXPECT_NEAR(grown[0].x1, cx - bw / 2, 1e-4);
  EXPECT_NEAR(grown[0].x2, cx + bw / 2, 1e-4);
}

TEST(RetinaFaceDecode, ScoreThresholdIsStrict) {
  const std::vector<Prior> priors{{0.5, 0.5, 0.1, 0.1}};
  const std::vector<float> zeros(10, 0.0f);
  EXPECT_TRUE(decode(one_anchor(0.02f, {0, 0, 0, 0}, zeros), priors, 10, 10).empty());
  EXPECT_EQ(
      decode(one_anchor(std::nextafter(0.02f, 1.0f), {0, 0, 0, 0}, zeros), priors, 10, 10).size(),
      1u);
}

Detection box(float x1, float y1, float x2, float y2, float score) {
  Detection d;
  d.x1 = x1, d.y1 = y1, d.x2 = x2, d.y2 = y2, d.score = score;
  return d;
}

TEST(RetinaFaceNms, PlusOneAreasAndStrictIou) {
  // 10x10 boxes (+1: 11x11): 0.6 and 0.7 share 5 of 11 columns, IoU 55 / 187 = 0.294, both
  // kept; 0.5 shares 7 with 0.7, IoU 77 / 165 = 0.467 > 0.4, dropped.
  const auto kept = nms({box(0, 0, 10, 10, 0.6f), box(6, 0, 16, 10, 0.7f), box(2, 0, 12, 10, 0.5f),
                         box(100, 100, 110, 110, 0.9f)});
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.7f);
  EXPECT_FLOAT_EQ(kept[2].score, 0.6f);  // 0.5 overlaps the 0.7 box at 77 / 165 = 0.467
  // A pair only the +1 convention puts above 0.4: 2x2 boxes overlapping by 1 column give
  // 2*3 / (18 - 6) = 0.5, where plain areas would give 1*2 / (8 - 2) = 0.33.
  const auto small = nms({box(0, 0, 2, 2, 0.8f), box(1, 0, 3, 2, 0.3f)});
  EXPECT_EQ(small.size(), 1u);
}

TEST(RetinaFaceDetector, InputConversionAndShapeChecks) {
  cv::Mat image(2, 3, CV_8UC3);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(10 * x, 100 + y, 255);
  }
  const Tensor t = vision::detector_input(image);
  ASSERT_EQ(t.shape(), (Shape{1, 3, 2, 3}));
  EXPECT_EQ(t.data<float>()[0 * 6 + 1 * 3 + 2], 20.0f - 104.0f);   // B at (1, 2)
  EXPECT_EQ(t.data<float>()[1 * 6 + 1 * 3 + 0], 101.0f - 117.0f);  // G at (1, 0)
  EXPECT_EQ(t.data<float>()[2 * 6 + 0], 255.0f - 123.0f);          // R at (0, 0)
  EXPECT_THROW(vision::detector_input(cv::Mat()), Error);
  EXPECT_THROW(vision::detector_input(cv::Mat(4, 4, CV_8UC1)), Error);
  EXPECT_THROW(vision::detector_input(cv::Mat(4, 4, CV_32FC3)), Error);
}

// One thread: these tests compile many small plans, which on a busy shared machine is
// dominated by OpenMP threads waiting for each other; the goldens run with all cores.
EngineOptions one_thread() {
  EngineOptions options;
  options.threads = 1;
  return options;
}

TEST(RetinaFaceDetector, PlansPerInputSizeAndInputChecks) {
  const auto detector = Detector::load(rf_model().string(), one_thread());
  EXPECT_NE(detector->backend_info().find("onednn"), std::string::npos);
  // Odd sizes, a second size, the first again (cached), and maps down to 1x1.
  for (const auto& [h, w] :
       {std::pair<int64_t, int64_t>{37, 50}, {64, 33}, {37, 50}, {1, 1}, {9, 2}}) {
    const Tensor input = starface::testing::random_tensor({1, 3, h, w}, 3, -120.0f, 130.0f);
    const TensorMap out = detector->run(input);
    const int64_t priors = static_cast<int64_t>(make_priors(h, w).size());
    EXPECT_EQ(out.at("loc").shape(), (Shape{priors, 4}));
    EXPECT_EQ(out.at("conf").shape(), (Shape{priors, 2}));
    EXPECT_EQ(out.at("landms").shape(), (Shape{priors, 10}));
    for (const auto& d : detector->detect(input)) EXPECT_GT(d.score, kConfidenceThreshold);
  }
  std::string message;
  EXPECT_EQ(error_of(
                [&] {
                  detector->run(Tensor(DType::kFloat32, {2, 3, 8, 8}));
                },
                &message),
            ErrorCode::kShapeMismatch);
  EXPECT_NE(message.find("[2, 3, 8, 8]"), std::string::npos) << message;
  EXPECT_EQ(error_of(
                [&] {
                  detector->run(Tensor(DType::kFloat32, {1, 1, 8, 8}));
                },
                &message),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(error_of(
                [&] {
                  detector->run(Tensor(DType::kFloat64, {1, 3, 8, 8}));
                },
                &message),
            ErrorCode::kBadDtype);
}

// The fast backend against the oracle on sizes no golden covers (odd, tiny, 1x1), within
// the manifest's raw tolerances.
TEST(RetinaFaceDetector, OnednnMatchesReferenceOnAnySize) {
  EngineOptions ref_options = one_thread();
  ref_options.backend = "ref";
  const auto fast = Detector::load(rf_model().string(), one_thread());
  const auto ref = Detector::load(rf_model().string(), ref_options);
  for (const auto& [h, w] : {std::pair<int64_t, int64_t>{37, 50}, {1, 1}, {9, 2}, {70, 23}}) {
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w));
    const Tensor input = starface::testing::random_tensor({1, 3, h, w}, 5, -120.0f, 130.0f);
    const TensorMap got = fast->run(input);
    const TensorMap want = ref->run(input);
    using starface::testing::max_abs_diff;
    using starface::testing::rf_tolerance;
    EXPECT_LE(max_abs_diff(got.at("loc"), want.at("loc")), rf_tolerance("raw_loc_abs"));
    EXPECT_LE(max_abs_diff(got.at("conf"), want.at("conf")), rf_tolerance("raw_conf_abs"));
    EXPECT_LE(max_abs_diff(got.at("landms"), want.at("landms")), rf_tolerance("raw_landms_abs"));
  }
}

double box_iou(const Detection& a, const Detection& b) {
  const double w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const double h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const double area_a = (a.x2 - a.x1) * (a.y2 - a.y1), area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  return w * h / (area_a + area_b - w * h);
}

cv::Mat data_image(const char* name) {
  return vision::read_image((starface::testing::shared_dir() / "data/images" / name).string());
}

// int8 needs frames to calibrate on, all of one size; with them it runs int8 convs and
// finds every face fp32 finds (score >= 0.5) on the images it calibrated on.
TEST(RetinaFaceDetector, Int8CalibratesOnFramesAndFindsTheSameFaces) {
  EngineOptions int8 = one_thread();
  int8.precision = graph::Precision::kInt8;
  std::string message;
  EXPECT_EQ(error_of([&] { Detector::load(rf_model().string(), int8); }, &message),
            ErrorCode::kBadArgument);
  EXPECT_NE(message.find("no int8 calibration"), std::string::npos) << message;
  const cv::Mat a = data_image("0.jpg"), b = data_image("16.jpg");
  const cv::Mat other_size = data_image("no_face_gradient_640x480.png");
  EXPECT_EQ(error_of(
                [&] {
                  Detector::load(rf_model().string(), int8,
                                 {vision::detector_input(a), vision::detector_input(other_size)});
                },
                &message),
            ErrorCode::kBadArgument);
  EXPECT_NE(message.find("one size"), std::string::npos) << message;

  const auto exact = Detector::load(rf_model().string(), one_thread());
  for (const cv::Mat& image : {a, b}) {
    const auto reduced = Detector::load(rf_model().string(), int8, {vision::detector_input(image)});
    EXPECT_EQ(reduced->precision(), graph::Precision::kInt8);
    EXPECT_NE(reduced->backend_info().find("int8"), std::string::npos);
    int faces = 0;
    const auto got = vision::detect_faces(*reduced, image);
    for (const Detection& w : vision::detect_faces(*exact, image)) {
      if (w.score < 0.5f) continue;
      ++faces;
      double best = 0;
      for (const Detection& g : got) best = std::max(best, box_iou(w, g));
      EXPECT_GE(best, 0.5);  // the same face, wherever int8 puts its box
    }
    EXPECT_GE(faces, 1);
  }
}

// The detector runs the precision it is given, or refuses it by name: never a substitute.
// The float ones find every fp32 face (score >= 0.5) again with IoU >= 0.95.
TEST(RetinaFaceDetector, HonoursEveryFloatPrecision) {
  std::string message;

  const auto exact = Detector::load(rf_model().string(), one_thread());
  EXPECT_EQ(exact->precision(), graph::Precision::kFp32);
  for (graph::Precision p : {graph::Precision::kFp32Winograd, graph::Precision::kBf16}) {
    SCOPED_TRACE(graph::precision_name(p));
    EngineOptions options = one_thread();
    options.precision = p;
    if (p == graph::Precision::kBf16 && !backends::onednn::has_bf16()) {
      EXPECT_EQ(error_of([&] { Detector::load(rf_model().string(), options); }, &message),
                ErrorCode::kBadArgument);
      EXPECT_NE(message.find("avx512_bf16"), std::string::npos) << message;
      continue;
    }
    const auto reduced = Detector::load(rf_model().string(), options);
    EXPECT_EQ(reduced->precision(), p);
    for (const char* name : {"0.jpg", "16.jpg", "89.jpg"}) {
      const cv::Mat image = data_image(name);
      const auto want = vision::detect_faces(*exact, image);
      const auto got = vision::detect_faces(*reduced, image);
      int faces = 0;
      for (const Detection& w : want) {
        if (w.score < 0.5f) continue;
        ++faces;
        double best = 0;
        for (const Detection& g : got) best = std::max(best, box_iou(w, g));
        EXPECT_GE(best, 0.95) << name;
      }
      EXPECT_GE(faces, 1) << name;
    }
  }
}

}  // namespace
}  // namespace starface::retinaface
