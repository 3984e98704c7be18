#include "eval/known_motion.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace starface::eval {

namespace {

// A similarity's matrix has m00 = m11 and m01 = -m10; the JSON's 17 digits keep that to
// rounding.
constexpr double kSimilarityTolerance = 1e-9;

Error bad(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kBadInput, path + ": " + what);
}

TrajectoryFrame parse_frame(const nlohmann::json& f, const std::string& where) {
  if (!f.is_object() || !f.contains("segment") || !f.contains("matrix") ||
      !f["matrix"].is_array() || f["matrix"].size() != 6) {
    throw bad(where, "needs \"segment\" and \"matrix\" (6 numbers)");
  }
  std::vector<double> m;
  for (const auto& v : f["matrix"]) {
    if (!v.is_number()) throw bad(where, "\"matrix\" holds a value that is not a number");
    m.push_back(v.get<double>());
  }
  const double size = std::hypot(m[0], m[3]);
  if (std::abs(m[0] - m[4]) > kSimilarityTolerance * size ||
      std::abs(m[1] + m[3]) > kSimilarityTolerance * size || size == 0) {
    throw bad(where, "\"matrix\" is not a similarity (scale, rotation, translation)");
  }
  TrajectoryFrame frame;
  frame.segment = f["segment"].get<std::string>();
  frame.transform = {m[0], m[3], m[2], m[5]};
  return frame;
}

// Frames of the measured track inside the trajectory, by frame number.
using Track = std::map<long, const LandmarkRow*>;

Track best_track(const LandmarkTable& table, const Trajectory& trajectory, int& face_id) {
  std::map<int, Track> tracks;
  for (const LandmarkRow& row : table.rows) {
    if (row.success && trajectory.count(row.frame)) tracks[row.face_id][row.frame] = &row;
  }
  if (tracks.empty()) {
    throw Error(ErrorCode::kBadInput, table.path +
                                          ": no face found (success 1) in any frame of the "
                                          "trajectory");
  }
  auto best = tracks.begin();
  for (auto it = tracks.begin(); it != tracks.end(); ++it) {
    if (it->second.size() > best->second.size()) best = it;
  }
  face_id = best->first;
  return best->second;
}

// Where the known motion puts the reference landmarks in a frame whose transform is `to`.
struct Expected {
  std::vector<double> x, y;
  double iod = 0;
};

Expected carry(const LandmarkRow& ref, const Similarity& from, const Similarity& to,
               const EyePair& eyes) {
  const Similarity move = to.compose(from.inverse());
  Expected e;
  e.x.resize(ref.x.size());
  e.y.resize(ref.y.size());
  for (size_t p = 0; p < ref.x.size(); ++p) move.apply(ref.x[p], ref.y[p], e.x[p], e.y[p]);
  e.iod = std::hypot(e.x[eyes.left] - e.x[eyes.right], e.y[eyes.left] - e.y[eyes.right]);
  return e;
}

// Mean squared normalised error of the track against the motion shifted by `shift` frames,
// over the frames `frames`.
double shifted_error(const Track& track, const Trajectory& trajectory, const LandmarkRow& ref,
                     const Similarity& ref_transform, const std::vector<long>& frames, int shift,
                     const EyePair& eyes, const std::vector<int>& subset) {
  double sum = 0;
  size_t n = 0;
  for (const long k : frames) {
    const LandmarkRow& row = *track.at(k);
    const Expected e = carry(ref, ref_transform, trajectory.at(k - shift).transform, eyes);
    for (const int p : subset) {
      sum += (std::pow(row.x[p] - e.x[p], 2) + std::pow(row.y[p] - e.y[p], 2)) / (e.iod * e.iod);
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : 0;
}

// Whether the known motion stands still over these frames: a segment without motion has no
// lag to measure, and what the shifts find there is noise.
bool holds_still(const Trajectory& trajectory, const std::vector<long>& frames) {
  const Similarity& first = trajectory.at(frames.front()).transform;
  for (const long k : frames) {
    const Similarity& t = trajectory.at(k).transform;
    if (t.a != first.a || t.b != first.b || t.tx != first.tx || t.ty != first.ty) return false;
  }
  return true;
}

// The lag over the track's frames (those of `segment` only, unless it is empty); the error
// per shift goes to `curve`. NaN when no frame can be scored.
double estimate_lag(std::vector<std::pair<int, double>>& curve, const Track& track,
                    const Trajectory& trajectory, const LandmarkRow& ref, const EyePair& eyes,
                    const std::vector<int>& subset, int max_lag, const std::string& segment) {
  // Only frames every shift can reach, so that each shift is scored on the same frames.
  std::vector<long> frames;
  for (const auto& [k, row] : track) {
    if (k != ref.frame && trajectory.count(k - max_lag) && trajectory.count(k + max_lag) &&
        (segment.empty() || trajectory.at(k).segment == segment)) {
      frames.push_back(k);
    }
  }
  if (frames.empty() || (!segment.empty() && holds_still(trajectory, frames))) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const Similarity& ref_transform = trajectory.at(ref.frame).transform;
  for (int d = -max_lag; d <= max_lag; ++d) {
    curve.emplace_back(
        d, shifted_error(track, trajectory, ref, ref_transform, frames, d, eyes, subset));
  }
  size_t best = 0;
  for (size_t i = 1; i < curve.size(); ++i) {
    if (curve[i].second < curve[best].second) best = i;
  }
  double lag = curve[best].first;
  if (best > 0 && best + 1 < curve.size()) {
    // For motion of constant speed the squared error is a parabola in the shift.
    const double l = curve[best - 1].second, c = curve[best].second, r = curve[best + 1].second;
    const double curvature = l - 2 * c + r;
    if (curvature > 0) lag += 0.5 * (l - r) / curvature;
  }
  return lag;
}

}  // namespace

Trajectory read_trajectory(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": cannot open the trajectory file");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw bad(path, std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("frames") || !doc["frames"].is_array()) {
    throw bad(path, "no \"frames\" array");
  }
  Trajectory trajectory;
  for (size_t i = 0; i < doc["frames"].size(); ++i) {
    const nlohmann::json& f = doc["frames"][i];
    const std::string where = path + ": frames[" + std::to_string(i) + "]";
    if (!f.is_object() || !f.contains("frame") || !f["frame"].is_number_integer()) {
      throw bad(where, "needs an integer \"frame\"");
    }
    if (!trajectory.emplace(f["frame"].get<long>(), parse_frame(f, where)).second) {
      throw bad(where, "frame " + std::to_string(f["frame"].get<long>()) + " listed twice");
    }
  }
  if (trajectory.empty()) throw bad(path, "\"frames\" is empty");
  return trajectory;
}

KnownMotionReport check_known_motion(const LandmarkTable& table, const Trajectory& trajectory,
                                     const EyePair& eyes, const std::vector<int>& subset,
                                     int max_lag) {
  KnownMotionReport report;
  const Track track = best_track(table, trajectory, report.face_id);
  const LandmarkRow& ref = *track.begin()->second;
  report.reference_frame = ref.frame;
  const Similarity& ref_transform = trajectory.at(ref.frame).transform;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_segment;
  std::vector<double> all, all_nmf;
  for (const auto& [k, frame] : trajectory) {
    if (!by_segment.count(frame.segment)) report.segments.push_back({frame.segment, {}});
    auto& [values, nmf] = by_segment[frame.segment];
    const auto it = track.find(k);
    if (it == track.end() || k == ref.frame) continue;
    const Expected e = carry(ref, ref_transform, frame.transform, eyes);
    const double scale = face_scale(e.x, e.y);
    if (e.iod <= 0 || scale <= 0) continue;
    double nmf_sq = 0;
    for (const int p : subset) {
      const double r = std::hypot(it->second->x[p] - e.x[p], it->second->y[p] - e.y[p]);
      values.push_back(r / e.iod);
      nmf_sq += std::pow(100.0 * r / scale, 2);
    }
    nmf.push_back(std::sqrt(nmf_sq / static_cast<double>(subset.size())));
    all.insert(all.end(), values.end() - static_cast<long>(subset.size()), values.end());
    all_nmf.push_back(nmf.back());
  }
  for (SegmentFlicker& s : report.segments) {
    s.stats = summarize_flicker(by_segment[s.name].first, by_segment[s.name].second);
    std::vector<std::pair<int, double>> curve;
    s.lag = estimate_lag(curve, track, trajectory, ref, eyes, subset, max_lag, s.name);
  }
  report.overall = summarize_flicker(std::move(all), all_nmf);
  report.lag = estimate_lag(report.lag_curve, track, trajectory, ref, eyes, subset, max_lag, "");
  if (std::isnan(report.lag)) report.lag = 0;  // as before: no frame to score, no lag
  return report;
}

}  // namespace starface::eval
