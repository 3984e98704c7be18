#include "eval/stability.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "eval/metrics.h"

namespace starface::eval {

namespace {

// Below this (in pixels) two eye corners count as one point: no distance to divide by.
constexpr double kTinyDistance = 1e-9;

double distance(const std::vector<double>& x, const std::vector<double>& y, int i, int j) {
  return std::hypot(x[i] - x[j], y[i] - y[j]);
}

int parse_index(const std::string& text, const std::string& spec) {
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < 0) {
    throw Error(ErrorCode::kBadArgument,
                "--points-subset '" + spec + "': '" + text + "' is not a point index");
  }
  return value;
}

std::vector<int> rigid_points(int points) {
  std::vector<int> rigid;
  if (points == 98) {
    rigid = {60, 64, 68, 72};                           // eye corners
    for (int p = 51; p <= 59; ++p) rigid.push_back(p);  // nose bridge and bottom
  } else if (points == 68) {
    rigid = {36, 39, 42, 45};
    for (int p = 27; p <= 35; ++p) rigid.push_back(p);
  } else {
    throw Error(ErrorCode::kBadArgument,
                "--points-subset rigid is defined for 98 (WFLW) and 68 (300W) points, not " +
                    std::to_string(points) + ": list the indices instead");
  }
  std::sort(rigid.begin(), rigid.end());
  return rigid;
}

// One track's frames (success rows of one face_id), sorted by frame number.
std::map<int, std::vector<const LandmarkRow*>> tracks_of(const LandmarkTable& table) {
  std::map<int, std::vector<const LandmarkRow*>> tracks;
  for (const LandmarkRow& row : table.rows) {
    if (row.success) tracks[row.face_id].push_back(&row);
  }
  for (auto& [id, rows] : tracks) {
    std::stable_sort(rows.begin(), rows.end(), [](const LandmarkRow* a, const LandmarkRow* b) {
      return a->frame < b->frame;
    });
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i]->frame == rows[i - 1]->frame) {
        throw Error(ErrorCode::kBadInput, table.path + ": face_id " + std::to_string(id) +
                                              " has two rows for frame " +
                                              std::to_string(rows[i]->frame));
      }
    }
  }
  return tracks;
}

// Accumulates one track's (or all tracks') residuals.
struct Residuals {
  std::vector<double> normalised;
  std::vector<double> nmf_per_pair;
};

// The yaw of a pair: the mean of its frames' estimates; NaN for a layout without a nose tip.
double pair_yaw(const LandmarkRow& src, const LandmarkRow& dst,
                const std::optional<PoseLandmarks>& pose) {
  if (!pose) return std::numeric_limits<double>::quiet_NaN();
  return 0.5 * (estimate_yaw_deg(src.x, src.y, *pose) + estimate_yaw_deg(dst.x, dst.y, *pose));
}

// Adds the residuals of the pair src -> dst; false when the pair has no scale to divide by.
bool add_pair(const LandmarkRow& src, const LandmarkRow& dst, const EyePair& eyes,
              const std::vector<int>& subset, const std::optional<PoseLandmarks>& pose,
              Residuals& out, std::vector<PairFlicker>& pairs) {
  const double iod = 0.5 * (distance(src.x, src.y, eyes.left, eyes.right) +
                            distance(dst.x, dst.y, eyes.left, eyes.right));
  const double scale = face_scale(dst.x, dst.y);
  if (iod < kTinyDistance || scale < kTinyDistance) return false;
  const Similarity t = fit_similarity(src.x, src.y, dst.x, dst.y, subset);
  PairFlicker pair;
  pair.iod_px = iod;
  pair.yaw_deg = pair_yaw(src, dst, pose);
  double nmf_sq = 0;
  for (const int p : subset) {
    double fx = 0, fy = 0;
    t.apply(src.x[p], src.y[p], fx, fy);
    const double r = std::hypot(dst.x[p] - fx, dst.y[p] - fy);
    pair.normalised.push_back(r / iod);
    nmf_sq += std::pow(100.0 * r / scale, 2);
  }
  pair.nmf = std::sqrt(nmf_sq / static_cast<double>(subset.size()));
  out.normalised.insert(out.normalised.end(), pair.normalised.begin(), pair.normalised.end());
  out.nmf_per_pair.push_back(pair.nmf);
  pairs.push_back(std::move(pair));
  return true;
}

TrackStability measure_track(int id, const std::vector<const LandmarkRow*>& rows,
                             const EyePair& eyes, const std::vector<int>& subset,
                             const std::optional<PoseLandmarks>& pose, Residuals& pooled,
                             std::vector<PairFlicker>& pairs) {
  TrackStability track;
  track.face_id = id;
  track.frames = rows.size();
  track.segments = rows.empty() ? 0 : 1;
  Residuals own;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i]->frame != rows[i - 1]->frame + 1) {
      ++track.segments;  // a gap: the face was lost or not found; no pair across it
      continue;
    }
    if (!add_pair(*rows[i - 1], *rows[i], eyes, subset, pose, own, pairs)) {
      ++track.degenerate_pairs;
    }
  }
  pooled.normalised.insert(pooled.normalised.end(), own.normalised.begin(), own.normalised.end());
  pooled.nmf_per_pair.insert(pooled.nmf_per_pair.end(), own.nmf_per_pair.begin(),
                             own.nmf_per_pair.end());
  track.stats = summarize_flicker(std::move(own.normalised), own.nmf_per_pair);
  return track;
}

}  // namespace

EyePair parse_eye_pair(const std::string& text) {
  const size_t comma = text.find(',');
  EyePair eyes;
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    size_t used_left = 0, used_right = 0;
    const std::string left = text.substr(0, comma), right = text.substr(comma + 1);
    eyes.left = std::stoi(left, &used_left);
    eyes.right = std::stoi(right, &used_right);
    if (used_left != left.size() || used_right != right.size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw Error(ErrorCode::kBadArgument,
                "--eyes '" + text + "': expected two point indices i,j (e.g. 60,72)");
  }
  return eyes;
}

EyePair eye_pair(int points, const std::optional<EyePair>& given) {
  if (given) {
    const EyePair e = *given;
    if (e.left < 0 || e.right < 0 || e.left >= points || e.right >= points || e.left == e.right) {
      throw Error(ErrorCode::kBadArgument,
                  "--eyes " + std::to_string(e.left) + "," + std::to_string(e.right) +
                      ": need two different point indices below " + std::to_string(points));
    }
    return e;
  }
  if (points == 98) return {60, 72};
  if (points == 68) return {36, 45};
  throw Error(ErrorCode::kBadArgument,
              std::to_string(points) +
                  " landmarks: no known outer eye corners for this layout (98: WFLW 60/72, "
                  "68: 300W 36/45); give them with --eyes i,j");
}

std::vector<int> points_subset(const std::string& spec, int points) {
  if (spec == "all" || spec.empty()) {
    std::vector<int> all(points);
    for (int p = 0; p < points; ++p) all[p] = p;
    return all;
  }
  if (spec == "rigid") return rigid_points(points);
  std::set<int> chosen;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t dash = item.find('-');
    const int first = parse_index(item.substr(0, dash), spec);
    const int last = dash == std::string::npos ? first : parse_index(item.substr(dash + 1), spec);
    if (last < first || last >= points) {
      throw Error(ErrorCode::kBadArgument, "--points-subset '" + spec + "': '" + item +
                                               "' is outside points 0-" +
                                               std::to_string(points - 1));
    }
    for (int p = first; p <= last; ++p) chosen.insert(p);
    start = comma + 1;
  }
  if (chosen.size() < 2) {
    throw Error(ErrorCode::kBadArgument,
                "--points-subset '" + spec + "': a similarity fit needs at least 2 points");
  }
  return {chosen.begin(), chosen.end()};
}

double face_scale(const std::vector<double>& x, const std::vector<double>& y) {
  const auto [x0, x1] = std::minmax_element(x.begin(), x.end());
  const auto [y0, y1] = std::minmax_element(y.begin(), y.end());
  return std::sqrt((*x1 - *x0) * (*y1 - *y0)) / 256.0;
}

FlickerStats summarize_flicker(std::vector<double> normalised,
                               const std::vector<double>& nmf_per_pair) {
  FlickerStats s;
  s.pairs = nmf_per_pair.size();
  s.samples = normalised.size();
  if (normalised.empty()) return s;
  std::sort(normalised.begin(), normalised.end());
  double sum = 0;
  for (const double v : normalised) sum += v;
  s.mean = sum / static_cast<double>(normalised.size());
  s.p99 = percentile_linear(normalised, 99.0);
  s.max = normalised.back();
  double sq = 0;
  for (const double v : nmf_per_pair) sq += v * v;
  s.nmf = nmf_per_pair.empty() ? 0 : std::sqrt(sq / static_cast<double>(nmf_per_pair.size()));
  return s;
}

StabilityReport measure_stability(const LandmarkTable& table, const EyePair& eyes,
                                  const std::vector<int>& subset) {
  StabilityReport report;
  report.path = table.path;
  report.points = table.points;
  report.eyes = eyes;
  report.subset = subset;
  Residuals pooled;
  const std::optional<PoseLandmarks> pose = table.points == 98 || table.points == 68
                                                ? std::optional(pose_landmarks(table.points, "yaw"))
                                                : std::nullopt;
  for (const auto& [id, rows] : tracks_of(table)) {
    report.tracks.push_back(measure_track(id, rows, eyes, subset, pose, pooled, report.pairs));
  }
  report.overall = summarize_flicker(std::move(pooled.normalised), pooled.nmf_per_pair);
  return report;
}

std::vector<FlickerStats> flicker_by_bin(const StabilityReport& report, BinAxis axis) {
  std::vector<double> keys;
  std::vector<const PairFlicker*> pairs;
  for (const PairFlicker& pair : report.pairs) {
    keys.push_back(axis == BinAxis::kSize ? pair.iod_px : pair.yaw_deg);
    pairs.push_back(&pair);
  }
  std::vector<FlickerStats> stats;
  for (const auto& group : group_by_bin(axis, keys, pairs)) {
    Residuals pooled;
    for (const PairFlicker* pair : group) {
      pooled.normalised.insert(pooled.normalised.end(), pair->normalised.begin(),
                               pair->normalised.end());
      pooled.nmf_per_pair.push_back(pair->nmf);
    }
    stats.push_back(summarize_flicker(std::move(pooled.normalised), pooled.nmf_per_pair));
  }
  return stats;
}

}  // namespace starface::eval
