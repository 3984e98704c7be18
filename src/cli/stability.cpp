// starface stability: how much landmarks flicker from frame to frame in the CSVs `starface
// run` writes (per face track and overall), and with --trajectory, how far they stray from
// a known motion and how many frames they trail it by.
#include "eval/stability.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/known_motion.h"

namespace starface::cli {

namespace {

struct StabilityFlags {
  std::vector<std::string> csvs;
  std::string subset = "all";
  std::string eyes;
  std::string trajectory;
  int max_lag = 8;
  std::string columns = "raw";
  std::string by;
  bool json = false;
};

nlohmann::json stats_json(const eval::FlickerStats& s) {
  if (s.pairs == 0) {
    return {{"pairs", 0}, {"mean", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"nmf", nullptr}};
  }
  return {{"pairs", s.pairs}, {"samples", s.samples}, {"mean", s.mean},
          {"p99", s.p99},     {"max", s.max},         {"nmf", s.nmf}};
}

nlohmann::json report_json(const eval::StabilityReport& r, const std::string& subset) {
  nlohmann::json tracks = nlohmann::json::array();
  for (const eval::TrackStability& t : r.tracks) {
    nlohmann::json j = stats_json(t.stats);
    j["face_id"] = t.face_id;
    j["frames"] = t.frames;
    j["segments"] = t.segments;
    j["degenerate_pairs"] = t.degenerate_pairs;
    tracks.push_back(j);
  }
  return {{"path", r.path},
          {"points", r.points},
          {"eyes", {r.eyes.left, r.eyes.right}},
          {"points_subset", subset},
          {"subset_size", r.subset.size()},
          {"tracks", tracks},
          {"overall", stats_json(r.overall)}};
}

nlohmann::json bins_json(const eval::StabilityReport& r, eval::BinAxis axis) {
  nlohmann::json bins = nlohmann::json::array();
  const std::vector<eval::FlickerStats> stats = eval::flicker_by_bin(r, axis);
  for (size_t b = 0; b < stats.size(); ++b) {
    nlohmann::json j = stats_json(stats[b]);
    j["bin"] = eval::bin_label(axis, static_cast<int>(b));
    bins.push_back(j);
  }
  return bins;
}

nlohmann::json motion_json(const eval::KnownMotionReport& m, const std::string& path) {
  nlohmann::json segments = nlohmann::json::array();
  for (const eval::SegmentFlicker& s : m.segments) {
    nlohmann::json j = stats_json(s.stats);
    j["segment"] = s.name;
    j["lag_frames"] = std::isnan(s.lag) ? nlohmann::json() : nlohmann::json(s.lag);
    segments.push_back(j);
  }
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& [shift, error] : m.lag_curve) curve.push_back({shift, error});
  return {{"trajectory", path},
          {"face_id", m.face_id},
          {"reference_frame", m.reference_frame},
          {"segments", segments},
          {"overall", stats_json(m.overall)},
          {"lag_frames", m.lag},
          {"lag_curve", curve}};
}

// `lag` (frames) is printed as a last column unless it is absent (nullopt).
void print_stats_row(const std::string& name, const std::string& counts,
                     const eval::FlickerStats& s, std::optional<double> lag = std::nullopt) {
  std::string lag_text;
  if (lag) {
    char text[32];
    std::snprintf(text, sizeof text, " %8.2f", *lag);
    lag_text = std::isnan(*lag) ? std::string(" ") + std::string(7, ' ') + "-" : text;
  }
  if (s.pairs == 0) {
    std::printf("  %-10s %-22s %8s %8s %8s %8s%s\n", name.c_str(), counts.c_str(), "-", "-", "-",
                "-", lag_text.c_str());
    return;
  }
  std::printf("  %-10s %-22s %8.3f %8.3f %8.3f %8.3f%s\n", name.c_str(), counts.c_str(),
              100.0 * s.mean, 100.0 * s.p99, 100.0 * s.max, s.nmf, lag_text.c_str());
}

void print_report(const eval::StabilityReport& r, const std::string& subset,
                  const std::string& columns) {
  std::printf(
      "%s: %d points (%s columns), flicker over points %s (%zu), / distance of points "
      "%d-%d\n",
      r.path.c_str(), r.points, columns.c_str(), subset.c_str(), r.subset.size(), r.eyes.left,
      r.eyes.right);
  std::printf("  frame to frame, after the best similarity fit (%% of inter-ocular distance):\n");
  std::printf("  %-10s %-22s %8s %8s %8s %8s\n", "face_id", "frames/segments/pairs", "mean %",
              "p99 %", "max %", "NMF");
  for (const eval::TrackStability& t : r.tracks) {
    const std::string counts = std::to_string(t.frames) + "/" + std::to_string(t.segments) + "/" +
                               std::to_string(t.stats.pairs);
    print_stats_row(std::to_string(t.face_id), counts, t.stats);
    if (t.degenerate_pairs > 0) {
      std::printf("  %-10s (%zu pairs skipped: eye corners or all points coincide)\n", "",
                  t.degenerate_pairs);
    }
  }
  print_stats_row("all", std::to_string(r.overall.pairs) + " pairs", r.overall);
}

void print_bins(const eval::StabilityReport& r, eval::BinAxis axis) {
  std::printf("  by %s:\n", eval::axis_title(axis));
  std::printf("  %-10s %-22s %8s %8s %8s %8s\n", "bin", "pairs", "mean %", "p99 %", "max %", "NMF");
  const std::vector<eval::FlickerStats> stats = eval::flicker_by_bin(r, axis);
  for (size_t b = 0; b < stats.size(); ++b) {
    print_stats_row(eval::bin_label(axis, static_cast<int>(b)), std::to_string(stats[b].pairs),
                    stats[b]);
  }
}

void print_motion(const eval::KnownMotionReport& m, const std::string& path) {
  std::printf("  against the known motion of %s (face_id %d, carried from frame %ld):\n",
              path.c_str(), m.face_id, m.reference_frame);
  std::printf("  %-10s %-22s %8s %8s %8s %8s %8s\n", "segment", "frames", "mean %", "p99 %",
              "max %", "NMF", "lag");
  for (const eval::SegmentFlicker& s : m.segments) {
    print_stats_row(s.name, std::to_string(s.stats.pairs), s.stats, s.lag);
  }
  print_stats_row("all", std::to_string(m.overall.pairs), m.overall, m.lag);
  std::printf("  lag: %.2f frames (landmarks of frame k match the known motion of frame k - lag)\n",
              m.lag);
}

void run_stability(const StabilityFlags& f) {
  const std::optional<eval::EyePair> given_eyes =
      f.eyes.empty() ? std::nullopt : std::optional(eval::parse_eye_pair(f.eyes));
  const std::optional<eval::Trajectory> trajectory =
      f.trajectory.empty() ? std::nullopt : std::optional(eval::read_trajectory(f.trajectory));
  const std::vector<eval::BinAxis> axes =
      f.by.empty() ? std::vector<eval::BinAxis>{} : eval::parse_bin_axes(f.by);
  const eval::PointColumns columns =
      f.columns == "smooth" ? eval::PointColumns::kSmooth : eval::PointColumns::kRaw;
  nlohmann::json files = nlohmann::json::array();
  for (const std::string& path : f.csvs) {
    const eval::LandmarkTable table = eval::read_landmark_csv(path, columns);
    const eval::EyePair eyes = eval::eye_pair(table.points, given_eyes);
    const std::vector<int> subset = eval::points_subset(f.subset, table.points);
    for (const eval::BinAxis axis : axes) {
      if (axis == eval::BinAxis::kYaw) eval::pose_landmarks(table.points, "--by yaw");
    }
    const eval::StabilityReport report = eval::measure_stability(table, eyes, subset);
    nlohmann::json j = report_json(report, f.subset);
    j["columns"] = f.columns;
    if (!f.json) print_report(report, f.subset, f.columns);
    for (const eval::BinAxis axis : axes) {
      j["by"][eval::axis_name(axis)] = bins_json(report, axis);
      if (!f.json) print_bins(report, axis);
    }
    if (trajectory) {
      const eval::KnownMotionReport motion =
          eval::check_known_motion(table, *trajectory, eyes, subset, f.max_lag);
      j["known_motion"] = motion_json(motion, f.trajectory);
      if (!f.json) print_motion(motion, f.trajectory);
    }
    files.push_back(j);
  }
  if (f.json) {
    std::cout << nlohmann::json{{"unit", "fraction of the inter-ocular distance (nmf: LDEQ's)"},
                                {"files", files}}
                     .dump(2)
              << "\n";
  }
}

}  // namespace

void add_stability(CLI::App& app) {
  auto flags = std::make_shared<StabilityFlags>();
  CLI::App* cmd = app.add_subcommand(
      "stability",
      "Landmark flicker in `starface run` CSVs: per face track, the residual of each point "
      "after the best similarity between consecutive frames, over the inter-ocular distance "
      "(mean, p99, max, LDEQ's NMF); with --trajectory, the error against a known motion and "
      "the lag behind it");
  cmd->add_option("csvs", flags->csvs, "Landmark CSVs written by `starface run`")->required();
  cmd->add_option("--points-subset", flags->subset,
                  "Points to fit and measure: all, rigid (eye corners and nose: least moved by "
                  "expressions) or indices and ranges, e.g. 0-32,60,72");
  cmd->add_option("--eyes", flags->eyes,
                  "i,j: the points whose distance normalises (default: outer eye corners, 98 "
                  "points 60,72; 68 points 36,45)");
  cmd->add_option("--trajectory", flags->trajectory,
                  "JSON of the known per-frame similarity of a generated video: also measure "
                  "the error against that motion per segment, and the lag");
  cmd->add_option("--max-lag", flags->max_lag, "Largest lag searched, in frames")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--columns", flags->columns,
                  "Which landmarks to measure: raw (x_*, y_*) or smooth (x_smooth_*, y_smooth_*, "
                  "written by `starface run --smooth`)")
      ->check(CLI::IsMember({"raw", "smooth"}));
  cmd->add_option("--by", flags->by,
                  "Also pool the flicker by face size (inter-ocular distance in pixels) and/or "
                  "yaw estimated from the landmarks: size, yaw or size,yaw");
  cmd->add_flag("--json", flags->json, "Print the results as JSON");
  cmd->callback([flags] { run_stability(*flags); });
}

}  // namespace starface::cli
