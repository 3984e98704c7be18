// The crop convention: box truncation and checks, the float32 matrix, byte-exact crops and
// the network input made from them, against every pipeline case.
#include "nets/star/crop.h"

#include <gtest/gtest.h>

#include <cmath>

#include "import/npy.h"
#include "support/fixtures.h"
#include "vision/crop.h"

namespace starface {
namespace {

using nlohmann::json;
using testing::star_fixture;
using testing::star_manifest;

cv::Mat npy_image(const std::string& relative) {
  Tensor t = import::read_npy(star_fixture(relative));
  EXPECT_EQ(t.dtype(), DType::kUInt8);
  cv::Mat header(static_cast<int>(t.dim(0)), static_cast<int>(t.dim(1)), CV_8UC3,
                 t.data<uint8_t>());
  return header.clone();
}

star::Box box_of(const json& c) {
  const json& b = c["box_xyxy"];
  return star::Box{b[0], b[1], b[2], b[3]};
}

std::vector<std::string> pipeline_ids() {
  std::vector<std::string> ids;
  for (const json& c : star_manifest()["pipeline_cases"]) ids.push_back(c["id"]);
  return ids;
}

const json& pipeline_case(const std::string& id) {
  for (const json& c : star_manifest()["pipeline_cases"]) {
    if (c["id"] == id) return c;
  }
  throw std::runtime_error("no pipeline case " + id);
}

class PipelineCrop : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineCrop, TruncationCentreAndMatrixAreExact) {
  const json& c = pipeline_case(GetParam());
  const json& shape = c["image_shape"];
  const star::Box t = star::truncate_and_check(box_of(c), shape[1], shape[0]);
  EXPECT_EQ(t.x1, c["box_int_xyxy"][0].get<double>());
  EXPECT_EQ(t.y1, c["box_int_xyxy"][1].get<double>());
  EXPECT_EQ(t.x2, c["box_int_xyxy"][2].get<double>());
  EXPECT_EQ(t.y2, c["box_int_xyxy"][3].get<double>());
  const star::CropMatrix m = star::crop_matrix(t);
  const Tensor want = import::read_npy(star_fixture(c["files"]["matrix"]["file"]));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(m[i], want.data<float>()[i]) << "element " << i;
}

TEST_P(PipelineCrop, CropBytesAndNetworkInputAreExact) {
  const json& c = pipeline_case(GetParam());
  const cv::Mat image = npy_image(c["files"]["image"]["file"]);
  const star::CropMatrix m =
      star::crop_matrix(star::truncate_and_check(box_of(c), image.cols, image.rows));
  const cv::Mat crop = vision::warp_crop(image, m, star::kCropSize);
  const cv::Mat want = npy_image(c["files"]["crop"]["file"]);
  ASSERT_EQ(crop.size(), want.size());
  EXPECT_EQ(cv::norm(crop, want, cv::NORM_INF), 0.0);
  if (!c["network_input_file"].is_null()) {
    const Tensor input = vision::crops_to_input({crop});
    const Tensor stored = import::read_npy(star_fixture(c["network_input_file"]));
    EXPECT_EQ(testing::max_abs_diff(input, stored), 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PipelineCrop, ::testing::ValuesIn(pipeline_ids()),
                         [](const auto& info) { return info.param; });

TEST(BoxCheck, TruncatesTowardZero) {
  const star::Box t = star::truncate_and_check({-1.95, 98.7, 99.1, 318.3}, 256, 300);
  EXPECT_EQ(t.x1, -1.0);
  EXPECT_EQ(t.y1, 98.0);
  EXPECT_EQ(t.x2, 99.0);
  EXPECT_EQ(t.y2, 318.0);
}

TEST(BoxCheck, PartialOverlapIsValid) {
  EXPECT_NO_THROW(star::truncate_and_check({-42, -58, 136, 149}, 224, 224));
  EXPECT_NO_THROW(star::truncate_and_check({200, 200, 400, 400}, 224, 224));
}

TEST(BoxCheck, ZeroSizeNegativeSizeAndNoOverlapAreErrors) {
  const std::vector<star::Box> bad = {
      {10, 10, 10, 50},    // zero width
      {10, 10, 50, 10.9},  // zero height after truncation
      {50, 10, 10, 50},    // negative width
      {-50, 10, 0, 50},    // ends at the left edge: no pixel inside
      {224, 10, 300, 50},  // starts at the right edge
      {10, -80, 50, -1},   // above the image
      {10, 300, 50, 400},  // below the image
      {NAN, 0, 10, 10},   {0, 0, INFINITY, 10},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    try {
      star::truncate_and_check(bad[i], 224, 224, static_cast<int>(i));
      ADD_FAILURE() << "box " << i << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find("box " + std::to_string(i)), std::string::npos)
          << e.what();
    }
  }
}

TEST(BoxParse, AcceptsFourNumbersOnly) {
  const star::Box b = star::parse_box("-1.95,98.5,99,318");
  EXPECT_EQ(b.x1, -1.95);
  EXPECT_EQ(b.y2, 318.0);
  EXPECT_THROW(star::parse_box("1,2,3"), Error);
  EXPECT_THROW(star::parse_box("1,2,3,4,5"), Error);
  EXPECT_THROW(star::parse_box("1,2,x,4"), Error);
  EXPECT_THROW(star::parse_box("1,2,3,4abc"), Error);
  EXPECT_THROW(star::parse_box(""), Error);
}

TEST(LandmarksToImage, InvertsTheCrop) {
  const star::CropMatrix m = star::crop_matrix({0, 0, 200, 200});
  // -1 maps to crop pixel -0.5 and +1 to 255.5 (align_corners=False), then through M^-1.
  const float corners[] = {-1.0f, -1.0f, 1.0f, 1.0f, 0.0f, 0.0f};
  const auto p = star::landmarks_to_image(corners, 3, m);
  const double s = m[0];
  EXPECT_NEAR(p[0].x, (-0.5 - m[2]) / s, 1e-9);
  EXPECT_NEAR(p[1].y, (255.5 - m[5]) / s, 1e-9);
  EXPECT_NEAR(p[2].x, 100.0, 1e-3);  // the centre of the box
  EXPECT_NEAR(p[2].y, 100.0, 1e-3);
}

}  // namespace
}  // namespace starface
