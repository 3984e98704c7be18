// starface stability as a user runs it: text and --json output on a CSV written by the test
// (a face moved rigidly, so no flicker, and a second face with one point off by a known
// amount), --points-subset, --eyes, and the bad inputs that must exit 1 with a message.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

#include "cli/cli_run.h"

namespace starface::testing {
namespace {

// `points` points on a circle of radius 50 around (200 + 3 k, 150 - k): face 0 translates
// rigidly; face 1 is still, except that point 2 moves by `jump` pixels on even frames.
std::string csv(int points, int frames, double jump, bool with_file = false) {
  std::string text = with_file ? "frame, file, face_id, timestamp, confidence, success"
                               : "frame, face_id, timestamp, confidence, success";
  for (const char* axis : {"x", "y"}) {
    for (int p = 0; p < points; ++p) text += std::string(", ") + axis + "_" + std::to_string(p);
  }
  text += "\n";
  char number[64];
  for (int k = 1; k <= frames; ++k) {
    for (int face = 0; face < 2; ++face) {
      text += std::to_string(k) + (with_file ? ", \"a, b.png\"" : "") + ", " +
              std::to_string(face) + ", 0.0, 0.99, 1";
      for (int axis = 0; axis < 2; ++axis) {
        for (int p = 0; p < points; ++p) {
          const double angle = 2 * std::numbers::pi * p / points;
          double v = axis == 0 ? 200 + 50 * std::cos(angle) : 150 + 50 * std::sin(angle);
          if (face == 0) v += axis == 0 ? 3.0 * k : -1.0 * k;
          if (face == 1 && p == 2 && axis == 1 && k % 2 == 0) v += jump;
          std::snprintf(number, sizeof number, ", %.4f", v);
          text += number;
        }
      }
      text += "\n";
    }
  }
  return text;
}

std::filesystem::path write(const std::string& name, const std::string& text) {
  const auto path = temp_dir("stability_cli") / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(StabilityCli, JsonPerTrackAndOverall) {
  const auto path = write("two_faces.csv", csv(68, 10, 2.0, true));
  const CliResult r = run_starface("stability " + quoted(path) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out)["files"][0];
  EXPECT_EQ(j["points"], 68);
  EXPECT_EQ(j["eyes"], nlohmann::json({36, 45}));
  ASSERT_EQ(j["tracks"].size(), 2u);
  EXPECT_EQ(j["tracks"][0]["pairs"], 9);
  EXPECT_LT(j["tracks"][0]["max"].get<double>(), 1e-4);  // rigid: only the CSV's rounding
  // Face 1: point 2 moves 2 px up and down every frame; the similarity fit of 68 points takes
  // little of it, so its residual is ~2 px of the eye distance (points 36/45 of the circle,
  // 2 x 50 x sin(9 / 68 x pi) = 40.4 px apart): max ~ 2 / 40.4 = 4.9 %.
  EXPECT_NEAR(j["tracks"][1]["max"].get<double>(), 2.0 / 40.4, 0.004);
  EXPECT_EQ(j["overall"]["pairs"], 18);
  EXPECT_FALSE(j.contains("known_motion"));
}

TEST(StabilityCli, TextAndSubsetAndEyes) {
  const auto path = write("five.csv", csv(5, 6, 1.0));
  const CliResult r = run_starface("stability " + quoted(path) + " --eyes 0,1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("5 points"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("all"), std::string::npos) << r.out;
  // Without the moving point 2, face 1 holds still.
  const CliResult subset =
      run_starface("stability " + quoted(path) + " --eyes 0,1 --json --points-subset 0,1,3-4");
  ASSERT_EQ(subset.exit_code, 0) << subset.err;
  const auto j = nlohmann::json::parse(subset.out)["files"][0];
  EXPECT_EQ(j["subset_size"], 4);
  EXPECT_LT(j["tracks"][1]["max"].get<double>(), 1e-4);
}

// The CSV of `csv` with smoothed columns that hold each face where its first row has it: a
// still face, without face 1's jumping point.
std::string with_smooth_columns(const std::string& text) {
  std::stringstream in(text);
  std::string out, line;
  std::map<std::string, std::string> first_points;  // face_id -> its first row's values
  for (bool header = true; std::getline(in, line); header = false) {
    std::string extra;
    if (header) {
      for (const char* axis : {"x", "y"}) {
        for (int p = 0; p < 68; ++p) {
          extra += std::string(", ") + axis + "_smooth_" + std::to_string(p);
        }
      }
    } else {
      size_t at = 0;  // after the fifth comma: frame, face_id, timestamp, confidence, success
      for (int comma = 0; comma < 5; ++comma) at = line.find(',', at) + 1;
      const size_t id_start = line.find(',') + 1;
      const std::string face = line.substr(id_start, line.find(',', id_start) - id_start);
      first_points.emplace(face, line.substr(at - 1));
      extra = first_points[face];
    }
    out += line + extra + "\n";
  }
  return out;
}

TEST(StabilityCli, SmoothColumnsAndBinsBySizeAndYaw) {
  const std::string text = csv(68, 10, 2.0);
  const auto path = write("smooth.csv", with_smooth_columns(text));
  const CliResult raw = run_starface("stability " + quoted(path) + " --json --by size,yaw");
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const auto r = nlohmann::json::parse(raw.out)["files"][0];
  EXPECT_EQ(r["columns"], "raw");
  // Both faces have the circle's eye corners 40.4 px apart: all 18 pairs in 32-64 px; the
  // nose tip (point 30) of the circle sits off the middle of the corners, the same for both.
  ASSERT_EQ(r["by"]["size"].size(), 5u);
  EXPECT_EQ(r["by"]["size"][1]["bin"], "32-64 px");
  EXPECT_EQ(r["by"]["size"][1]["pairs"], 18);
  EXPECT_EQ(r["by"]["size"][1]["mean"], r["overall"]["mean"]);
  size_t yaw_pairs = 0;
  for (const auto& bin : r["by"]["yaw"]) yaw_pairs += bin["pairs"].get<size_t>();
  EXPECT_EQ(yaw_pairs, 18u);
  const CliResult smooth = run_starface("stability " + quoted(path) + " --json --columns smooth");
  ASSERT_EQ(smooth.exit_code, 0) << smooth.err;
  const auto s = nlohmann::json::parse(smooth.out)["files"][0];
  EXPECT_EQ(s["columns"], "smooth");
  EXPECT_GT(r["tracks"][1]["max"].get<double>(), 0.04);  // the raw point jumps
  EXPECT_LT(s["tracks"][1]["max"].get<double>(), 0.04);  // the smoothed columns differ
  const CliResult text_out = run_starface("stability " + quoted(path) + " --by yaw");
  ASSERT_EQ(text_out.exit_code, 0) << text_out.err;
  EXPECT_NE(text_out.out.find("|yaw|"), std::string::npos) << text_out.out;
}

void expect_user_error(const std::string& args, const std::string& message) {
  const CliResult r = run_starface("stability " + args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_NE(r.err.find("starface: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
}

TEST(StabilityCli, BadInputExitsOneWithAMessage) {
  expect_user_error(quoted(temp_dir("stability_cli_missing") / "none.csv"), "cannot open");
  expect_user_error(quoted(write("no_points.csv", "frame, face_id, success, AU01_r\n1, 0, 1, 0\n")),
                    "no landmark columns");
  expect_user_error(quoted(write("five_no_eyes.csv", csv(5, 3, 0.0))), "--eyes");
  const std::string ok = quoted(write("ok.csv", csv(68, 3, 0.0)));
  expect_user_error(ok + " --eyes 36,68", "--eyes 36,68");
  expect_user_error(ok + " --eyes left", "--eyes 'left'");
  expect_user_error(ok + " --points-subset 0-99", "--points-subset");
  expect_user_error(ok + " --trajectory " + quoted(write("t.json", "{}")), "\"frames\"");
  // write() starts a fresh folder each time: `ok` went with t.json.
  const std::string plain = quoted(write("plain.csv", csv(68, 3, 0.0)));
  expect_user_error(plain + " --columns smooth", "x_smooth_0");
  expect_user_error(plain + " --by pitch", "--by 'pitch'");
  expect_user_error(quoted(write("five_eyes.csv", csv(5, 3, 0.0))) + " --eyes 0,1 --by yaw",
                    "--by yaw");
}

}  // namespace
}  // namespace starface::testing
