// Parity of the detector with the float64 goldens of fixtures/retinaface (manifest
// tolerances and comparison_rules): raw loc / conf / landms, the img_0 feature maps, and
// the detections. STARFACE_RF_FULL 0 runs the small images (224x224 crops, the 640x480
// no-face image), 1 the 1280x720 video frames (frame 0 from its lossless PNG, frame 120 by
// sequential decode of the video).
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "engine/detector.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "nets/retinaface/builder.h"
#include "nets/retinaface/postprocess.h"
#include "nets/retinaface/retinaface_testing.h"
#include "vision/face_detector.h"
#include "vision/image.h"

#ifndef STARFACE_RF_FULL
#error "define STARFACE_RF_FULL to 0 (small images) or 1 (the 1280x720 video frames)"
#endif
#ifndef STARFACE_RF_BACKEND
#error "define STARFACE_RF_BACKEND to the backend under test"
#endif

namespace starface {
namespace {

using namespace starface::testing;

Detector& detector() {
  static const std::unique_ptr<Detector> d = [] {
    EngineOptions options;
    options.backend = STARFACE_RF_BACKEND;
    return Detector::load(rf_model().string(), options);
  }();
  return *d;
}

cv::Mat case_image(const std::string& stem) {
  const auto& source = rf_case(stem)["source"];
  const std::string file =
      source.contains("lossless_copy") ? source["lossless_copy"] : source["image"];
  return vision::read_image((shared_dir() / file).string());
}

std::vector<DetRow> rows(const std::vector<retinaface::Detection>& dets) {
  std::vector<DetRow> out;
  for (const auto& d : dets) out.push_back(to_row(d));
  return out;
}

void expect_raw_outputs_match(const std::string& stem) {
  const cv::Mat image = case_image(stem);
  const auto& c = rf_case(stem);
  ASSERT_EQ(image.rows, c["height"].get<int>());
  ASSERT_EQ(image.cols, c["width"].get<int>());
  const TensorMap out = detector().run(vision::detector_input(image));
  const std::pair<const char*, const char*> checks[] = {
      {"loc", "raw_loc_abs"}, {"conf", "raw_conf_abs"}, {"landms", "raw_landms_abs"}};
  for (const auto& [name, tolerance] : checks) {
    const Tensor want = import::read_npy((shared_dir() / c[name]["file"]).string());
    const double diff = max_abs_diff(out.at(name), want);
    EXPECT_LE(diff, rf_tolerance(tolerance)) << stem << " " << name;
    ::testing::Test::RecordProperty(stem + "_" + name + "_max_abs_diff", std::to_string(diff));
  }
}

void expect_detections_match(const std::string& stem, const cv::Mat& image) {
  const std::vector<DetRow> got = rows(vision::detect_faces(detector(), image));
  const std::vector<DetRow> want = golden_dets(stem);
  ASSERT_EQ(want.size(), rf_case(stem)["num_dets_all"].get<size_t>());
  expect_vis_rows_match(got, want, stem);
  expect_all_rows_match_by_box(got, want, stem);
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_GE(got[i - 1][4], got[i][4]) << stem << ": rows in descending score";
  }
  for (const DetRow& r : got) EXPECT_GT(r[4], 0.02) << stem;
}

#if STARFACE_RF_FULL

TEST(RetinaFaceGolden, Frame000RawOutputs) { expect_raw_outputs_match("frame000"); }

TEST(RetinaFaceGolden, Frame000Detections) {
  expect_detections_match("frame000", case_image("frame000"));
}

// Frame 120 (three faces, one small) by sequential read(), as the goldens were made; frame
// 0 of the same decode must equal its lossless PNG, or this decoder differs from theirs.
TEST(RetinaFaceGolden, Frame120DecodedFromVideo) {
  const auto& source = rf_case("frame120")["source"];
  cv::VideoCapture video((shared_dir() / source["video"].get<std::string>()).string());
  ASSERT_TRUE(video.isOpened());
  const int index = source["frame_index"];
  cv::Mat frame;
  for (int i = 0; i <= index; ++i) {
    ASSERT_TRUE(video.read(frame)) << "frame " << i;
    if (i == 0) {
      const cv::Mat png = case_image("frame000");
      ASSERT_EQ(frame.size(), png.size());
      ASSERT_EQ(cv::norm(frame, png, cv::NORM_INF), 0.0) << "this decoder's frame 0 differs";
    }
  }
  expect_detections_match("frame120", frame);
}

#else

TEST(RetinaFaceGolden, Img0RawOutputs) { expect_raw_outputs_match("img_0"); }

TEST(RetinaFaceGolden, NoFaceRawOutputs) {
  expect_raw_outputs_match("img_no_face_gradient_640x480");
}

TEST(RetinaFaceGolden, SmallImageDetections) {
  for (const char* stem : {"img_0", "img_16", "img_89"}) {
    SCOPED_TRACE(stem);
    expect_detections_match(stem, case_image(stem));
  }
}

TEST(RetinaFaceGolden, NoFaceImageHasNoCandidates) {
  const std::string stem = "img_no_face_gradient_640x480";
  EXPECT_EQ(golden_dets(stem).size(), 0u);
  EXPECT_TRUE(vision::detect_faces(detector(), case_image(stem)).empty());
}

// The intermediate maps c1..s3 of img_0, from a plan asked for them by name. No tolerance
// is given for them: float32 against float64 stays within 2e-5 of each map's magnitude.
TEST(RetinaFaceGolden, Img0FeatureMaps) {
  const cv::Mat image = case_image("img_0");
  const graph::Graph g =
      retinaface::build_graph(import::load_state_dict(rf_model().string()), image.rows, image.cols);
  const std::vector<std::string> names{"c1", "c2", "c3", "p1", "p2", "p3", "s1", "s2", "s3"};
  const std::string backend = STARFACE_RF_BACKEND;
  const auto plan = backend == "ref" ? backends::ref::compile(g)
                                     : backends::onednn::compile(graph::passes::optimize(g, names));
  const TensorMap out = plan->run(vision::detector_input(image), names);
  for (const std::string& name : names) {
    const auto& file = rf_case("img_0")["debug"][name]["file"];
    const Tensor want = import::read_npy((shared_dir() / file).string());
    Tensor got = out.at(name);
    ASSERT_EQ(got.dim(0), 1) << name;
    got = got.reshape(want.shape());
    double magnitude = 1.0;
    for (int64_t i = 0; i < want.numel(); ++i) {
      magnitude = std::max(magnitude, std::fabs(static_cast<double>(want.data<float>()[i])));
    }
    EXPECT_LE(max_abs_diff(got, want), 2e-5 * magnitude) << name;
  }
}

#endif

}  // namespace
}  // namespace starface
