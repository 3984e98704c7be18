// The full landmark pipeline on every pipeline case (full model): crop, run, map back.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "import/npy.h"
#include "nets/star/golden_precision.h"
#include "support/fixtures.h"
#include "vision/face_landmarks.h"

namespace starface {
namespace {

using nlohmann::json;
using testing::star_fixture;
using testing::star_manifest;

TEST(Pipeline, EveryCaseMatchesImagePixelGoldens) {
  const EngineOptions options = testing::golden_options(STARFACE_GOLDEN_BACKEND);
  const auto engine = Engine::load(star_fixture("models/star_wflw_full_random.pth"), options);
  for (const json& c : star_manifest()["pipeline_cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    Tensor pixels = import::read_npy(star_fixture(c["files"]["image"]["file"]));
    const cv::Mat image(static_cast<int>(pixels.dim(0)), static_cast<int>(pixels.dim(1)), CV_8UC3,
                        pixels.data<uint8_t>());
    const json& b = c["box_xyxy"];
    const auto faces = vision::detect_landmarks(*engine, image, {Box{b[0], b[1], b[2], b[3]}});
    ASSERT_EQ(faces.size(), 1u);
    const Tensor want = import::read_npy(star_fixture(c["files"]["landmarks_image"]["file"]));
    ASSERT_EQ(want.dim(0), static_cast<int64_t>(faces[0].points.size()));
    const double tol =
        static_cast<double>(c["tolerances"]["landmarks_image_px"]) * testing::golden_slack();
    double worst = 0;
    for (size_t p = 0; p < faces[0].points.size(); ++p) {
      worst = std::max(worst, std::fabs(faces[0].points[p].x - want.data<double>()[2 * p]));
      worst = std::max(worst, std::fabs(faces[0].points[p].y - want.data<double>()[2 * p + 1]));
    }
    EXPECT_LE(worst, tol);
  }
}

}  // namespace
}  // namespace starface
