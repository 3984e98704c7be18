// The known-motion check: a still face photo moved along a known trajectory (a similarity
// per frame; tests/eval/motion_video.h writes such videos), tracked by `starface run`, and
// the landmarks compared with where the known motion carries the first frame's landmarks.
// Unlike the frame-to-frame fit of stability.h, nothing is estimated from the landmarks: any
// departure from the known motion is error, and a delay behind it shows as lag.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "eval/landmark_csv.h"
#include "eval/stability.h"

namespace starface::eval {

struct TrajectoryFrame {
  std::string segment;   // e.g. "static", "move", "scale"
  Similarity transform;  // source photo pixels -> this frame's pixels
};

// The generator's JSON: {"frames": [{"frame": 1, "segment": "static", "matrix": [m00, m01,
// m02, m10, m11, m12]}, ...], ...}, frames numbered as `starface run` numbers them (from 1).
// A matrix that is not a similarity (m00 = m11, m01 = -m10) is kBadInput.
using Trajectory = std::map<long, TrajectoryFrame>;
Trajectory read_trajectory(const std::string& path);

struct SegmentFlicker {
  std::string name;
  FlickerStats stats;
  // The lag (below) over this segment's frames alone; NaN when no frame can be scored or the
  // known motion holds still over the segment (no lag to measure there).
  double lag = 0;
};

struct KnownMotionReport {
  int face_id = 0;           // the track measured: the face found in most trajectory frames
  long reference_frame = 0;  // its first frame; its landmarks are carried along the motion
  std::vector<SegmentFlicker> segments;  // in trajectory order
  FlickerStats overall;
  // The shift d (frames) for which the landmarks of frame k best match the known motion of
  // frame k - d (least mean squared error; refined between frames by a parabola through the
  // three best shifts): > 0 means the landmarks trail the face.
  double lag = 0;
  std::vector<std::pair<int, double>> lag_curve;  // shift -> mean squared normalised error
};

// The reference frame must fall where the face stands still for `max_lag` frames (the
// generator's static lead-in), so that shifting the known motion leaves it in place.
KnownMotionReport check_known_motion(const LandmarkTable& table, const Trajectory& trajectory,
                                     const EyePair& eyes, const std::vector<int>& subset,
                                     int max_lag = 8);

}  // namespace starface::eval
