// Landmark smoothing for `starface run --smooth`: per face track, in frame order, and never
// in place of the raw landmarks (the writers put the smoothed points in extra columns).
//
// online: the 1-euro filter (Casiez, Roussel, Vogel, CHI 2012) on each coordinate: a
//   first-order low-pass whose cut-off rises with the coordinate's speed, min_cutoff + beta x
//   speed, the speed measured in inter-ocular distances per second so that one setting fits
//   faces of every size. Causal, as a live camera needs: it trails a moving face a little.
// offline: a fixed-interval Rauch-Tung-Striebel smoother over each whole track segment, on a
//   constant-velocity model driven by white acceleration (a Kalman filter forward, then the
//   backward pass). Zero lag: for a steady frame rate its response is real and symmetric in
//   time, 1 / (1 + (f / cutoff)^4) (the cubic smoothing spline's), so nothing is delayed;
//   it is the optimal linear smoother for that model, its one setting is that cut-off, and it
//   takes uneven time steps as they come. Motion faster than the cut-off is flattened.
//
// A track is the faces of one face_id. A segment of it ends where the face is missing from
// a frame, or where time jumps by more than 4 of the track's previous steps (frames lost to
// a decode gap); the filters start afresh after it. Frames must come in order: frame numbers
// and times must increase from one call to the next, else kInternal. That is what makes the
// filter state advance in frame order whatever the pipeline does upstream.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/results.h"

namespace starface::pipeline {

enum class SmoothMode { kNone, kOnline, kOffline };

// "none", "online", "offline": the values of --smooth.
const std::vector<std::string>& smooth_mode_names();
// One of those names -> the mode; kBadArgument naming the valid values otherwise.
SmoothMode parse_smooth_mode(const std::string& name);
const char* smooth_mode_name(SmoothMode mode);

struct SmoothOptions {
  SmoothMode mode = SmoothMode::kNone;
  // online: the cut-off of a still face, Hz. Lower: steadier, and more lag once it moves.
  double min_cutoff_hz = 1.0;
  // online: Hz added to the cut-off per inter-ocular distance per second of speed.
  double beta = 20.0;
  // online: the low-pass on the speed estimate, Hz (the paper's value).
  double derivative_cutoff_hz = 1.0;
  // offline: where the smoother's gain falls to 1/2, Hz.
  double offline_cutoff_hz = 2.0;
};

// kBadArgument for a cut-off that is not positive and finite, or a negative beta.
void check_smooth_options(const SmoothOptions& options);

// The length that makes speeds comparable across faces: the distance of the outer eye corners
// (98 points: 60/72; 68: 36/45), else half the larger side of the points' bounding box; at
// least 1 pixel.
double smoothing_scale(const std::vector<Point>& points);

// The time each frame is smoothed at, in seconds. The stream's timestamps while they advance;
// without timestamps (images without --fps), or from the first one that does not advance,
// frame numbers over the frame rate (the input's, else 30). notice() tells that once.
class SmoothingClock {
 public:
  SmoothingClock(bool has_timestamps, double fps);
  double time_of(const FrameResult& frame);
  // A sentence for stderr the first time the clock falls back to frame numbers; then empty.
  std::optional<std::string> notice();

 private:
  bool use_timestamps_;
  double fps_;
  bool started_ = false;
  long last_number_ = 0;
  double last_time_ = 0;
  bool fell_back_ = false;
  long first_untimed_ = 0;  // the frame whose timestamp did not advance
  bool noticed_ = false;
};

// Checks that frames come in order (kInternal naming both frames otherwise).
class FrameOrder {
 public:
  void check(const FrameResult& frame, double time);

 private:
  bool started_ = false;
  long last_number_ = 0;
  double last_time_ = 0;
};

// Where a track's last frame was, to tell whether the next one continues its segment.
struct TrackTail {
  long frame = 0;
  double time = 0;
  double step = 0;  // the time step before it, 0 at a segment's first frame
  bool continued_by(long next_frame, double next_time) const;
};

// --smooth online: each face's `smoothed` is filled as its frame arrives.
class OnlineSmoother {
 public:
  explicit OnlineSmoother(const SmoothOptions& options);
  void add(FrameResult& frame, double time);

 private:
  struct Coordinate {
    double value = 0, speed = 0;
  };
  struct Track {
    TrackTail tail;
    std::vector<Coordinate> x, y;
  };
  double filter(Coordinate& c, double raw, double dt, double scale) const;
  void start(Track& track, const FaceResult& face, long number, double time) const;

  SmoothOptions options_;
  FrameOrder order_;
  std::map<int, Track> tracks_;
};

// --smooth offline: frames are kept until finish() smooths every track over its whole length.
class OfflineSmoother {
 public:
  explicit OfflineSmoother(const SmoothOptions& options);
  void add(FrameResult frame, double time);
  // The frames in the order they came, each face's `smoothed` filled.
  std::vector<FrameResult> finish();

 private:
  SmoothOptions options_;
  FrameOrder order_;
  std::vector<FrameResult> frames_;
  std::vector<double> times_;
};

// The RTS smoother of one coordinate over one segment: values at strictly increasing times.
std::vector<double> rts_smooth(const std::vector<double>& times, const std::vector<double>& values,
                               double cutoff_hz);

}  // namespace starface::pipeline
