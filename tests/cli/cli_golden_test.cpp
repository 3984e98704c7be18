// The full-size model through the CLI: `starface infer` and `starface landmarks` reproduce
// the goldens, and `starface analyze` reports the model's figures.
#include <opencv2/imgcodecs.hpp>

#include "cli/cli_run.h"
#include "import/npy.h"

namespace starface::testing {
namespace {

const std::string kFull = quoted(star_fixture("models/star_wflw_full_random.pth"));

TEST(CliFull, AnalyzeReportsParametersAndMultiplyAdds) {
  const CliResult r = run_starface("analyze " + kFull);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("17,177,332 stored (17.18 M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("13,476,468 executed (13.48 M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("17,351,606,272 per face (17.35 G; 17.34 G without"), std::string::npos)
      << r.out;
}

TEST(CliFull, InferMatchesFullAGoldens) {
  const auto dir = temp_dir("infer_full");
  const CliResult r = run_starface(
      "infer --model " + kFull + " --input " + quoted(star_fixture("cases/inputs/input_a.npy")) +
      " --output " + quoted(dir / "lm.npy") + " --heatmaps " + quoted(dir / "heat.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& c = star_manifest()["cases"][0];
  ASSERT_EQ(c["id"], "full_a");
  EXPECT_LE(max_abs_diff(import::read_npy((dir / "lm.npy").string()),
                         import::read_npy(star_fixture("cases/full_a/landmarks.npy").string())),
            c["tolerances"]["landmarks"].get<double>());
  EXPECT_LE(max_abs_diff(import::read_npy((dir / "heat.npy").string()),
                         import::read_npy(star_fixture("cases/full_a/fusion_last.npy").string())),
            c["tolerances"]["fusion"].get<double>());
}

// pipe_img0 (an ordinary photo) and pipe_edge (a box crossing the border at x = -1.95).
TEST(CliFull, LandmarksMatchImagePixelGoldens) {
  const auto dir = temp_dir("landmarks_full");
  for (const auto& c : star_manifest()["pipeline_cases"]) {
    if (c["id"] != "pipe_img0" && c["id"] != "pipe_edge") continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    Tensor pixels = import::read_npy(star_fixture(c["files"]["image"]["file"]).string());
    const cv::Mat image(static_cast<int>(pixels.dim(0)), static_cast<int>(pixels.dim(1)), CV_8UC3,
                        pixels.data<uint8_t>());
    const auto png = dir / (c["id"].get<std::string>() + ".png");
    ASSERT_TRUE(cv::imwrite(png.string(), image));
    char box[256];
    std::snprintf(box, sizeof box, "%.9g,%.9g,%.9g,%.9g", c["box_xyxy"][0].get<double>(),
                  c["box_xyxy"][1].get<double>(), c["box_xyxy"][2].get<double>(),
                  c["box_xyxy"][3].get<double>());
    const CliResult r = run_starface("landmarks --model " + kFull + " --image " + quoted(png) +
                                     " --box=" + box + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["faces"].size(), 1u);
    const auto& points = j["faces"][0]["landmarks"];
    const Tensor want =
        import::read_npy(star_fixture(c["files"]["landmarks_image"]["file"]).string());
    ASSERT_EQ(static_cast<int64_t>(points.size()), want.dim(0));
    double worst = 0;
    for (size_t p = 0; p < points.size(); ++p) {
      worst = std::max(worst, std::fabs(points[p][0].get<double>() - want.data<double>()[2 * p]));
      worst =
          std::max(worst, std::fabs(points[p][1].get<double>() - want.data<double>()[2 * p + 1]));
    }
    EXPECT_LE(worst, c["tolerances"]["landmarks_image_px"].get<double>());
  }
}

}  // namespace
}  // namespace starface::testing
