// starface eval on the full-size model once: an annotation file whose ground truth is the
// model's own landmarks scores NME ~0, and the model's drift against itself is exactly 0.
#include <cstdio>
#include <fstream>

#include "cli/cli_run.h"

namespace starface::testing {
namespace {

TEST(EvalCliFull, OwnLandmarksScoreZeroAndSelfDriftIsZero) {
  const std::string full = quoted(star_fixture("models/star_wflw_full_random.pth"));
  const std::string images = quoted(shared_dir() / "data" / "images");
  const CliResult lm = run_starface("landmarks --threads 1 --model " + full + " --image " +
                                    quoted(shared_dir() / "data" / "images" / "0.jpg") +
                                    " --box 20,18,199,220 --json");
  ASSERT_EQ(lm.exit_code, 0) << lm.err;
  std::string line;
  char number[64];
  const auto faces = nlohmann::json::parse(lm.out)["faces"];
  for (const auto& p : faces[0]["landmarks"]) {
    std::snprintf(number, sizeof(number), "%.9g %.9g ", p[0].get<double>(), p[1].get<double>());
    line += number;
  }
  line += "20 18 199 220 0 1 0 0 0 0 0.jpg\n";
  const auto file = temp_dir("eval_full") / "list.txt";
  std::ofstream(file) << line;

  const CliResult r = run_starface("eval --threads 1 --model " + full + " --reference " + full +
                                   " --wflw " + quoted(file) + " --images " + images + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["faces"], 1);
  EXPECT_LT(j["accuracy"]["all"]["nme"].get<double>(), 1e-5);
  EXPECT_EQ(j["accuracy"]["all"]["fr"], 0.0);
  EXPECT_EQ(j["accuracy"]["subsets"]["expression"]["faces"], 1);
  EXPECT_EQ(j["drift"]["max_px"], 0.0);
  EXPECT_EQ(j["drift"]["nme"], 0.0);
}

}  // namespace
}  // namespace starface::testing
