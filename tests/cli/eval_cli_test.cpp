// starface eval end to end on the tiny models: annotation files written by the test whose
// ground truth is the model's own landmarks (NME 0) or those moved by (3, 4) pixels (NME =
// 5 px / ocular distance), drift against a reference, drift-only mode, and bad input.
// Every run uses one thread: ctest runs tests side by side, and OpenMP teams that wait on
// each other for cores make a two-face run ten times slower.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli/cli_run.h"
#include "support/scoped_env.h"

namespace starface::testing {
namespace {

const std::string kTiny = quoted(star_fixture("models/star_wflw_tiny.pth"));
const std::string kTrain = quoted(star_fixture("models/star_wflw_tiny_train.pth"));
const std::string kBox = "20,18,199,220";  // the face in data/images/0.jpg (pipe_img0)

std::string images() { return quoted(shared_dir() / "data" / "images"); }
std::string image0() { return quoted(shared_dir() / "data" / "images" / "0.jpg"); }

struct Point {
  double x, y;
};

// The tiny model's landmarks on 0.jpg in image pixels, from `starface landmarks`.
std::vector<Point> tiny_landmarks() {
  const CliResult r = run_starface("landmarks --threads 1 --model " + kTiny + " --image " +
                                   image0() + " --box " + kBox + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::vector<Point> points;
  for (const auto& p : j["faces"][0]["landmarks"]) {
    points.push_back({p[0].get<double>(), p[1].get<double>()});
  }
  return points;
}

std::string coords(const std::vector<Point>& points, double dx, double dy, char sep) {
  std::string s;
  char number[64];
  for (size_t i = 0; i < points.size(); ++i) {
    std::snprintf(number, sizeof(number), "%s%.9g%c%.9g", i ? std::string(1, sep).c_str() : "",
                  points[i].x + dx, sep, points[i].y + dy);
    s += number;
  }
  return s;
}

// A WFLW line on 0.jpg: the points moved by (dx, dy), the pipe_img0 box, the given flags.
std::string wflw_line(const std::vector<Point>& points, double dx, double dy,
                      const std::string& flags, const std::string& image = "0.jpg") {
  return coords(points, dx, dy, ' ') + " 20 18 199 220 " + flags + " " + image;
}

std::filesystem::path write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

double ocular(const std::vector<Point>& p) {
  return std::hypot(p[60].x - p[72].x, p[60].y - p[72].y);
}

nlohmann::json run_json(const std::string& args) {
  const CliResult r = run_starface(args + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

TEST(EvalCli, HelpListsTheModes) {
  const CliResult r = run_starface("eval --threads 1 --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--reference", "--wflw", "--tsv", "--faces", "--box", "--images",
                           "--limit", "--json", "--reference-precision", "--backend"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST(EvalCli, WflwAccuracyOverallAndPerSubset) {
  const auto points = tiny_landmarks();
  ASSERT_EQ(points.size(), 98u);
  const auto dir = temp_dir("eval_wflw");
  // Face 1 (pose): the model's own points, NME 0. Face 2 (pose, blur): moved by (3, 4) px,
  // every point 5 px off: NME = 5 / ocular distance, no point leaves the crop.
  const auto file = write(dir / "list.txt", wflw_line(points, 0, 0, "1 0 0 0 0 0") + "\n" +
                                                wflw_line(points, 3, 4, "1 0 0 0 0 1") + "\n");
  const double shifted = 5.0 / ocular(points);
  const auto j = run_json("eval --threads 1 --model " + kTiny + " --wflw " + quoted(file) +
                          " --images " + images());
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["faces"], 2);
  EXPECT_EQ(j["layout"], "WFLW");
  EXPECT_EQ(j["nme_points"], nlohmann::json::array({60, 72}));
  const auto& all = j["accuracy"]["all"];
  EXPECT_NEAR(all["nme"].get<double>(), shifted / 2, 1e-5);
  EXPECT_EQ(all["fr"], 0.0);  // both NMEs are below 0.1
  const auto& subsets = j["accuracy"]["subsets"];
  EXPECT_EQ(subsets["pose"]["faces"], 2);
  EXPECT_NEAR(subsets["pose"]["nme"].get<double>(), shifted / 2, 1e-5);
  EXPECT_EQ(subsets["blur"]["faces"], 1);
  EXPECT_NEAR(subsets["blur"]["nme"].get<double>(), shifted, 1e-5);
  EXPECT_EQ(subsets["expression"]["faces"], 0);
  EXPECT_TRUE(subsets["expression"]["nme"].is_null());
  EXPECT_FALSE(j.contains("drift"));

  const CliResult text = run_starface("eval --threads 1 --model " + kTiny + " --wflw " +
                                      quoted(file) + " --images " + images());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("blur"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("NME %"), std::string::npos) << text.out;

  const auto first = run_json("eval --threads 1 --model " + kTiny + " --wflw " + quoted(file) +
                              " --images " + images() + " --limit 1");
  EXPECT_EQ(first["faces"], 1);
  EXPECT_LT(first["accuracy"]["all"]["nme"].get<double>(), 1e-5);
}

TEST(EvalCli, TsvWithTheSameCropGivesTheSameNme) {
  const auto points = tiny_landmarks();
  const auto dir = temp_dir("eval_tsv");
  // The box 20,18,199,220 as STAR's metadata: centre (109.5, 119), scale 179 / 200 * 1.05.
  const std::string row = "0.jpg\t1,2,3,4,5,6,7,8,9,10\t" + coords(points, 3, 4, ',') +
                          "\t0.93975\t109.5\t119\t0,0,0,0,1,0\n";
  const auto file = write(dir / "test.tsv",
                          "image_path\tlandmarks_5pts\tlandmarks_target\tscale\tcenter_w\t"
                          "center_h\ttags\n" +
                              row);
  const auto j = run_json("eval --threads 1 --model " + kTiny + " --tsv " + quoted(file) +
                          " --images " + images());
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["faces"], 1);
  EXPECT_NEAR(j["accuracy"]["all"]["nme"].get<double>(), 5.0 / ocular(points), 1e-5);
  EXPECT_EQ(j["accuracy"]["subsets"]["occlusion"]["faces"], 1);
}

TEST(EvalCli, BySizeAndYawBinsTheFacesByTheirGroundTruth) {
  const auto points = tiny_landmarks();
  const auto dir = temp_dir("eval_by");
  const auto file = write(dir / "list.txt", wflw_line(points, 0, 0, "0 0 0 0 0 0") + "\n" +
                                                wflw_line(points, 3, 4, "0 0 0 0 0 0") + "\n");
  const std::string base = "eval --threads 1 --model " + kTiny + " --wflw " + quoted(file) +
                           " --images " + images() + " --by size,yaw";
  const auto j = run_json(base + " --json");
  ASSERT_TRUE(j.contains("by")) << j.dump();
  // Both faces have the same ground-truth shape (one moved), so the same size and yaw bin.
  const double iod = ocular(points);
  const int size_bin = iod < 32 ? 0 : iod < 64 ? 1 : iod < 128 ? 2 : iod < 256 ? 3 : 4;
  ASSERT_EQ(j["by"]["size"].size(), 5u);
  EXPECT_EQ(j["by"]["size"][size_bin]["faces"], 2) << j["by"].dump();
  EXPECT_EQ(j["by"]["size"][size_bin]["nme"], j["accuracy"]["all"]["nme"]);
  size_t yaw_faces = 0;
  for (const auto& bin : j["by"]["yaw"]) {
    EXPECT_TRUE(bin["faces"] == 0 || bin["faces"] == 2) << bin.dump();
    yaw_faces += bin["faces"].get<size_t>();
  }
  EXPECT_EQ(yaw_faces, 2u);
  const CliResult text = run_starface(base);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("by face size"), std::string::npos) << text.out;
  const CliResult bad = run_starface("eval --threads 1 --model " + kTiny + " --wflw " +
                                     quoted(file) + " --images " + images() + " --by roll");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--by 'roll'"), std::string::npos) << bad.err;
}

TEST(EvalCli, DriftAgainstAReference) {
  const auto points = tiny_landmarks();
  const auto dir = temp_dir("eval_drift");
  const auto file = write(dir / "list.txt", wflw_line(points, 0, 0, "0 0 0 0 0 0") + "\n");
  const std::string base = "eval --threads 1 --wflw " + quoted(file) + " --images " + images();
  const auto same = run_json(base + " --model " + kTiny + " --reference " + kTiny);
  ASSERT_TRUE(same.contains("drift"));
  EXPECT_EQ(same["drift"]["max_px"], 0.0);
  EXPECT_EQ(same["drift"]["nme"], 0.0);
  EXPECT_EQ(same["reference_accuracy"]["all"]["nme"], same["accuracy"]["all"]["nme"]);

  const auto ema = run_json(base + " --model " + kTrain + " --weights ema --reference " + kTrain);
  ASSERT_TRUE(ema.contains("drift"));
  EXPECT_EQ(ema["model"]["weights"], "ema");
  EXPECT_EQ(ema["reference"]["weights"], "net");
  EXPECT_GT(ema["drift"]["mean_px"].get<double>(), 0.01);
  EXPECT_GE(ema["drift"]["p99_px"].get<double>(), ema["drift"]["mean_px"].get<double>());
  EXPECT_GE(ema["drift"]["max_px"].get<double>(), ema["drift"]["p99_px"].get<double>());
  // The reference (net) is the tiny model's weights: its NME against the truth is ~0.
  EXPECT_LT(ema["reference_accuracy"]["all"]["nme"].get<double>(), 1e-5);
  EXPECT_GT(ema["accuracy"]["all"]["nme"].get<double>(), 1e-3);
}

TEST(EvalCli, DriftOnlyOnPlainImagesAndBoxes) {
  const auto boxes =
      run_json("eval --threads 1 --model " + kTrain + " --weights ema --reference " + kTrain +
               " --image " + image0() + " --box " + kBox + " --box 0,0,100,120");
  ASSERT_FALSE(boxes.is_null());
  EXPECT_EQ(boxes["faces"], 2);
  EXPECT_FALSE(boxes.contains("accuracy"));
  EXPECT_EQ(boxes["drift"]["faces"], 2);
  EXPECT_GT(boxes["drift"]["max_px"].get<double>(), 0.0);

  const auto dir = temp_dir("eval_faces");
  const auto list =
      write(dir / "faces.txt", "# image box\n0.jpg " + kBox + "\n0.jpg 0,0,100,120\n");
  const auto listed =
      run_json("eval --threads 1 --model " + kTrain + " --weights ema --reference " + kTrain +
               " --faces " + quoted(list) + " --images " + images());
  EXPECT_EQ(listed["drift"], boxes["drift"]);

  const CliResult text = run_starface("eval --threads 1 --model " + kTiny + " --reference " +
                                      kTiny + " --image " + image0() + " --box " + kBox);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("drift"), std::string::npos) << text.out;

  const CliResult alone =
      run_starface("eval --threads 1 --model " + kTiny + " --image " + image0() + " --box " + kBox);
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(alone.err.find("--reference"), std::string::npos) << alone.err;
}

// --precision auto: the model's auto file (made once from --calibrate) against the same
// checkpoint in exact fp32, without naming a reference; the drift it reports is what the
// file proved only on other crops, so it is checked for being a drift, not a figure.
TEST(EvalCli, PrecisionAutoMeasuresAgainstTheExactCheckpoint) {
  const auto dir = temp_dir("eval_auto");
  const ScopedEnv cache("XDG_CACHE_HOME", (dir / "cache").string());
  const std::string base = "eval --threads 1 --model " + kTiny + " --image " + image0() +
                           " --box " + kBox + " --precision auto --max-drift-p99 200";
  const auto made = run_json(base + " --max-drift 40 --calibrate " + images());
  ASSERT_FALSE(made.is_null());
  EXPECT_EQ(made["model"]["precision"], "int8");
  EXPECT_EQ(made["reference"]["precision"], "fp32");
  EXPECT_GT(made["drift"]["mean_px"].get<double>(), 0.0);
  EXPECT_LE(made["drift"]["mean_px"].get<double>(), 40.0);
  const auto reused = run_json(base + " --max-drift 40");  // cached: no faces needed
  EXPECT_EQ(reused["drift"], made["drift"]);
  const CliResult other = run_starface(base + " --max-drift 30");  // not cached
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("--calibrate"), std::string::npos) << other.err;
}

// Runs eval and expects exit code 1 with every part in the message.
void expect_user_error(const std::string& args, const std::vector<std::string>& parts) {
  const CliResult r = run_starface("eval --threads 1 --model " + kTiny + " " + args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.out << r.err;
  for (const std::string& part : parts) {
    EXPECT_NE(r.err.find(part), std::string::npos) << "'" << part << "' not in: " << r.err;
  }
}

TEST(EvalCli, BadInputIsAUserErrorNamingFileAndLine) {
  const auto points = tiny_landmarks();
  const auto dir = temp_dir("eval_bad");
  const std::string good = wflw_line(points, 0, 0, "0 0 0 0 0 0");
  const auto malformed = write(dir / "malformed.txt", good + "\n" + good.substr(0, 40) + "\n");
  expect_user_error("--wflw " + quoted(malformed) + " --images " + images(),
                    {"malformed.txt:2", "expected 207 fields"});

  expect_user_error("--wflw " + quoted(dir / "absent.txt"), {"absent.txt", "no such file"});

  const auto no_image =
      write(dir / "no_image.txt", good + "\n" + wflw_line(points, 0, 0, "0 0 0 0 0 0", "x.jpg"));
  expect_user_error("--wflw " + quoted(no_image) + " --images " + images(),
                    {"no_image.txt:2", "x.jpg"});

  // A 68-point tsv against the 98-point model.
  const std::vector<Point> few(points.begin(), points.begin() + 68);
  const auto tsv = write(dir / "few.tsv", "0.jpg\t1,2,3,4,5,6,7,8,9,10\t" + coords(few, 0, 0, ',') +
                                              "\t0.93975\t109.5\t119\n");
  expect_user_error("--tsv " + quoted(tsv) + " --images " + images(),
                    {"few.tsv:1", "68 ground-truth points"});

  const auto bad_box =
      write(dir / "bad_box.txt", good + "\n" + good + "\n" + coords(points, 0, 0, ' ') +
                                     " 50 50 50 90 0 0 0 0 0 0 0.jpg\n");
  expect_user_error("--wflw " + quoted(bad_box) + " --images " + images(),
                    {"bad_box.txt:3", "zero or negative size"});

  expect_user_error("--wflw " + quoted(malformed) + " --tsv " + quoted(tsv), {"exactly one"});
  expect_user_error("--image " + image0(), {"--box"});
  const auto empty = write(dir / "empty.txt", "\n\n");
  expect_user_error("--wflw " + quoted(empty), {"empty.txt", "no faces"});
}

}  // namespace
}  // namespace starface::testing
