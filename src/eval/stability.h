// How still landmarks hold from frame to frame: "flicker", measured on the landmark tracks of
// a `starface run` CSV without ground truth.
//
// For each pair of consecutive frames of one face track we fit the least-squares similarity
// (scale, rotation, translation: Umeyama's fit, which in 2D has a closed form) that carries
// frame t's landmarks onto frame t+1's. What the fit explains is the head's rigid motion in
// the image; what it leaves, point by point, is the flicker, divided by the inter-ocular
// distance (outer eye corners). Non-rigid real motion (speech, blinks, expressions) also
// stays in the residual, so on real video this is an upper bound of pure jitter; the 4
// degrees of freedom of the fit absorb a share 4 / (2P) of isotropic noise (the tests derive
// it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eval/face_bins.h"
#include "eval/landmark_csv.h"
#include "vision/similarity.h"

namespace starface::eval {

// The similarity fit lives in vision/ (tracking uses it too).
using vision::fit_similarity;
using vision::Similarity;

// The two points whose distance normalises flicker.
struct EyePair {
  int left = 0, right = 0;
};
// WFLW 98: outer eye corners 60/72; 300W/iBUG 68: 36/45. `given` (from --eyes) wins and is
// checked against `points`; any other layout without it is kBadArgument.
EyePair eye_pair(int points, const std::optional<EyePair>& given);
// "i,j" -> {i, j}; kBadArgument otherwise.
EyePair parse_eye_pair(const std::string& text);

// The points the fit and the statistics use: "all"; "rigid" (eye corners and nose: the
// points expressions move least; 98 and 68 points only); or a list of indices and ranges
// "0-32,60,72". Sorted, without duplicates; kBadArgument for an index out of range.
std::vector<int> points_subset(const std::string& spec, int points);

struct FlickerStats {
  size_t pairs = 0;                   // frame pairs (stability) or frames (known motion) measured
  size_t samples = 0;                 // point values: pairs x points
  double mean = 0, p99 = 0, max = 0;  // of |residual| / inter-ocular distance
  // LDEQ's normalised mean flicker as their code computes it (utils/loss_function.py,
  // video_NMJ): per pair, 100 x |residual| / face scale, RMS over points, then RMS over
  // pairs; face scale = sqrt(w h) / 256 with w, h the extent of the later frame's landmarks.
  double nmf = 0;
};

struct TrackStability {
  int face_id = 0;
  size_t frames = 0;            // rows with success 1
  size_t segments = 0;          // runs of consecutive frames
  size_t degenerate_pairs = 0;  // pairs skipped: eye corners or all points coincide
                                // (no distance or face scale to divide by)
  FlickerStats stats;
};

// One measured frame pair, kept for reports by face size and yaw (--by).
struct PairFlicker {
  double iod_px = 0;   // the inter-ocular distance (mean of the two frames), pixels
  double yaw_deg = 0;  // the mean of the two frames' estimates (face_bins.h); NaN if unknown
  std::vector<double> normalised;  // |residual| / inter-ocular distance, per point
  double nmf = 0;                  // RMS over points of the NMF terms
};

struct StabilityReport {
  std::string path;
  int points = 0;
  EyePair eyes;
  std::vector<int> subset;
  std::vector<TrackStability> tracks;  // by face_id
  FlickerStats overall;                // all pairs of all tracks pooled
  std::vector<PairFlicker> pairs;      // every pair measured, all tracks
};

// The pairs' flicker pooled per bin of face size or yaw (bin_count(axis) entries).
std::vector<FlickerStats> flicker_by_bin(const StabilityReport& report, BinAxis axis);

StabilityReport measure_stability(const LandmarkTable& table, const EyePair& eyes,
                                  const std::vector<int>& subset);

// Pools per-pair residuals into FlickerStats: `normalised` holds |r| / inter-ocular distance
// per point (all pairs), `nmf_per_pair` the RMS over points of one pair's NMF terms.
FlickerStats summarize_flicker(std::vector<double> normalised,
                               const std::vector<double>& nmf_per_pair);

// LDEQ's face scale of one frame: sqrt(w h) / 256 of the landmarks' bounding box (all
// points).
double face_scale(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace starface::eval
