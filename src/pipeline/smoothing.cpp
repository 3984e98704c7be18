#include "pipeline/smoothing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "core/error.h"

namespace starface::pipeline {

namespace {

// A segment ends where time jumps by more than this many of the track's previous steps.
constexpr double kGapSteps = 4.0;
// Frames per second assumed when an input has neither timestamps nor a frame rate.
constexpr double kDefaultFps = 30.0;

std::string number_text(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

void check_cutoff(double hz, const char* name) {
  if (!(hz > 0) || !std::isfinite(hz)) {
    throw Error(ErrorCode::kBadArgument,
                std::string(name) + " must be a positive number of Hz, got " + number_text(hz));
  }
}

// The weight of a new sample in a first-order low-pass with this cut-off, after dt seconds.
double smoothing_factor(double cutoff_hz, double dt) {
  const double tau = 1.0 / (2.0 * std::numbers::pi * cutoff_hz);
  return 1.0 / (1.0 + tau / dt);
}

double distance(const Point& a, const Point& b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace

const std::vector<std::string>& smooth_mode_names() {
  static const std::vector<std::string> kNames = {"none", "online", "offline"};
  return kNames;
}

SmoothMode parse_smooth_mode(const std::string& name) {
  if (name == "none") return SmoothMode::kNone;
  if (name == "online") return SmoothMode::kOnline;
  if (name == "offline") return SmoothMode::kOffline;
  throw Error(ErrorCode::kBadArgument,
              "--smooth '" + name +
                  "': expected none, online (1-euro filter, causal) or offline "
                  "(zero-lag smoother over each whole track)");
}

const char* smooth_mode_name(SmoothMode mode) {
  switch (mode) {
    case SmoothMode::kOnline:
      return "online";
    case SmoothMode::kOffline:
      return "offline";
    case SmoothMode::kNone:
      break;
  }
  return "none";
}

void check_smooth_options(const SmoothOptions& o) {
  check_cutoff(o.min_cutoff_hz, "--smooth-min-cutoff");
  check_cutoff(o.derivative_cutoff_hz, "the speed cut-off of --smooth online");
  check_cutoff(o.offline_cutoff_hz, "--smooth-offline-cutoff");
  if (!(o.beta >= 0) || !std::isfinite(o.beta)) {
    throw Error(ErrorCode::kBadArgument,
                "--smooth-beta must be zero or positive (Hz per inter-ocular distance per "
                "second), got " +
                    number_text(o.beta));
  }
}

double smoothing_scale(const std::vector<Point>& points) {
  double scale = 0;
  if (points.size() == 98) {
    scale = distance(points[60], points[72]);
  } else if (points.size() == 68) {
    scale = distance(points[36], points[45]);
  } else if (!points.empty()) {
    const auto [xmin, xmax] = std::minmax_element(
        points.begin(), points.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
    const auto [ymin, ymax] = std::minmax_element(
        points.begin(), points.end(), [](const auto& a, const auto& b) { return a.y < b.y; });
    scale = 0.5 * std::max(xmax->x - xmin->x, ymax->y - ymin->y);
  }
  return std::isfinite(scale) ? std::max(scale, 1.0) : 1.0;
}

SmoothingClock::SmoothingClock(bool has_timestamps, double fps)
    : use_timestamps_(has_timestamps), fps_(fps > 0 ? fps : kDefaultFps) {}

double SmoothingClock::time_of(const FrameResult& frame) {
  if (use_timestamps_ && !fell_back_) {
    if (!started_ || frame.timestamp > last_time_) {
      started_ = true;
      last_number_ = frame.number;
      last_time_ = frame.timestamp;
      return last_time_;
    }
    fell_back_ = true;  // a timestamp that does not advance: time by frame numbers from here
    first_untimed_ = frame.number;
  }
  fell_back_ = true;
  last_time_ =
      started_ ? last_time_ + (frame.number - last_number_) / fps_ : (frame.number - 1) / fps_;
  started_ = true;
  last_number_ = frame.number;
  return last_time_;
}

std::optional<std::string> SmoothingClock::notice() {
  if (!fell_back_ || noticed_) return std::nullopt;
  noticed_ = true;
  const std::string how = "frame numbers at " + number_text(fps_) + " fps";
  if (!use_timestamps_) return "no timestamps: smoothing takes the time from " + how;
  return "timestamps stop advancing at frame " + std::to_string(first_untimed_) +
         ": smoothing takes the time from " + how + " from there";
}

void FrameOrder::check(const FrameResult& frame, double time) {
  if (started_ && (frame.number <= last_number_ || !(time > last_time_))) {
    throw Error(ErrorCode::kInternal,
                "smoothing: frame " + std::to_string(frame.number) + " (time " + number_text(time) +
                    " s) came after frame " + std::to_string(last_number_) + " (time " +
                    number_text(last_time_) + " s): frames must come in order");
  }
  started_ = true;
  last_number_ = frame.number;
  last_time_ = time;
}

bool TrackTail::continued_by(long next_frame, double next_time) const {
  if (next_frame != frame + 1) return false;
  return step <= 0 || next_time - time <= kGapSteps * step;
}

OnlineSmoother::OnlineSmoother(const SmoothOptions& options) : options_(options) {
  check_smooth_options(options_);
}

double OnlineSmoother::filter(Coordinate& c, double raw, double dt, double scale) const {
  const double raw_speed = (raw - c.value) / dt;
  c.speed += smoothing_factor(options_.derivative_cutoff_hz, dt) * (raw_speed - c.speed);
  const double cutoff = options_.min_cutoff_hz + options_.beta * std::abs(c.speed) / scale;
  c.value += smoothing_factor(cutoff, dt) * (raw - c.value);
  return c.value;
}

void OnlineSmoother::start(Track& track, const FaceResult& face, long number, double time) const {
  track.tail = {number, time, 0};
  track.x.assign(face.points.size(), {});
  track.y.assign(face.points.size(), {});
  for (size_t p = 0; p < face.points.size(); ++p) {
    track.x[p].value = face.points[p].x;
    track.y[p].value = face.points[p].y;
  }
}

void OnlineSmoother::add(FrameResult& frame, double time) {
  order_.check(frame, time);
  for (FaceResult& face : frame.faces) {
    Track& track = tracks_[face.face_id];
    if (!track.tail.continued_by(frame.number, time) || track.x.size() != face.points.size()) {
      start(track, face, frame.number, time);
      face.smoothed = face.points;
      continue;
    }
    const double dt = time - track.tail.time;
    const double scale = smoothing_scale(face.points);
    face.smoothed.resize(face.points.size());
    for (size_t p = 0; p < face.points.size(); ++p) {
      face.smoothed[p].x = filter(track.x[p], face.points[p].x, dt, scale);
      face.smoothed[p].y = filter(track.y[p], face.points[p].y, dt, scale);
    }
    track.tail = {frame.number, time, dt};
  }
}

OfflineSmoother::OfflineSmoother(const SmoothOptions& options) : options_(options) {
  check_smooth_options(options_);
}

void OfflineSmoother::add(FrameResult frame, double time) {
  order_.check(frame, time);
  frames_.push_back(std::move(frame));
  times_.push_back(time);
}

std::vector<FrameResult> OfflineSmoother::finish() {
  // Each track as (frame index, face index) in frame order, cut into segments.
  struct Sample {
    size_t frame, face;
  };
  std::map<int, std::vector<std::vector<Sample>>> segments;
  std::map<int, TrackTail> tails;
  for (size_t f = 0; f < frames_.size(); ++f) {
    for (size_t i = 0; i < frames_[f].faces.size(); ++i) {
      FaceResult& face = frames_[f].faces[i];
      face.smoothed = face.points;
      auto& track = segments[face.face_id];
      const auto tail = tails.find(face.face_id);
      const bool continues =
          tail != tails.end() && tail->second.continued_by(frames_[f].number, times_[f]) &&
          frames_[track.back().back().frame].faces[track.back().back().face].points.size() ==
              face.points.size();
      if (!continues) track.emplace_back();
      const double step = continues ? times_[f] - tail->second.time : 0.0;
      tails[face.face_id] = {frames_[f].number, times_[f], step};
      track.back().push_back({f, i});
    }
  }
  for (auto& [id, track_segments] : segments) {
    for (const std::vector<Sample>& segment : track_segments) {
      if (segment.size() < 2) continue;
      std::vector<double> times, xs, ys;
      for (const Sample& s : segment) times.push_back(times_[s.frame]);
      const size_t points = frames_[segment[0].frame].faces[segment[0].face].points.size();
      for (size_t p = 0; p < points; ++p) {
        xs.clear();
        ys.clear();
        for (const Sample& s : segment) {
          xs.push_back(frames_[s.frame].faces[s.face].points[p].x);
          ys.push_back(frames_[s.frame].faces[s.face].points[p].y);
        }
        const std::vector<double> sx = rts_smooth(times, xs, options_.offline_cutoff_hz);
        const std::vector<double> sy = rts_smooth(times, ys, options_.offline_cutoff_hz);
        for (size_t k = 0; k < segment.size(); ++k) {
          frames_[segment[k].frame].faces[segment[k].face].smoothed[p] = {sx[k], sy[k]};
        }
      }
    }
  }
  times_.clear();
  return std::move(frames_);
}

std::vector<double> rts_smooth(const std::vector<double>& times, const std::vector<double>& values,
                               double cutoff_hz) {
  check_internal(times.size() == values.size(), "rts_smooth: one time per value");
  const size_t n = values.size();
  if (n < 2) return values;
  // Measurement variance 1 and white acceleration of spectral density q: only q / r matters
  // (r = the measurements' variance per unit time), and q / r = (2 pi cutoff)^4 puts the
  // smoother's half-gain at the cut-off.
  const double mean_step = (times.back() - times.front()) / static_cast<double>(n - 1);
  const double w = 2.0 * std::numbers::pi * cutoff_hz;
  const double measurement = 1.0;
  const double q = measurement * mean_step * w * w * w * w;
  const double unknown_speed = 1e8;  // variance (px/s)^2: the first velocity comes from the data
  struct State {
    double p = 0, v = 0;               // position, velocity
    double ppp = 0, ppv = 0, pvv = 0;  // covariance (symmetric)
  };
  std::vector<State> filtered(n), predicted(n);
  filtered[0] = {values[0], 0, measurement, 0, unknown_speed};
  for (size_t i = 1; i < n; ++i) {
    const double dt = times[i] - times[i - 1];
    check_internal(dt > 0, "rts_smooth: times must increase");
    const State& f = filtered[i - 1];
    State& pr = predicted[i];
    pr.p = f.p + dt * f.v;
    pr.v = f.v;
    pr.ppp = f.ppp + 2 * dt * f.ppv + dt * dt * f.pvv + q * dt * dt * dt / 3;
    pr.ppv = f.ppv + dt * f.pvv + q * dt * dt / 2;
    pr.pvv = f.pvv + q * dt;
    const double gain_p = pr.ppp / (pr.ppp + measurement), gain_v = pr.ppv / (pr.ppp + measurement);
    const double innovation = values[i] - pr.p;
    State& u = filtered[i];
    u.p = pr.p + gain_p * innovation;
    u.v = pr.v + gain_v * innovation;
    u.ppp = (1 - gain_p) * pr.ppp;
    u.ppv = (1 - gain_p) * pr.ppv;
    u.pvv = pr.pvv - gain_v * pr.ppv;
  }
  std::vector<double> out(n);
  double next_p = filtered[n - 1].p, next_v = filtered[n - 1].v;
  out[n - 1] = next_p;
  for (size_t i = n - 1; i-- > 0;) {
    const double dt = times[i + 1] - times[i];
    const State& f = filtered[i];
    const State& pr = predicted[i + 1];
    // C = P_f F^T P_pred^-1 (2x2)
    const double a = f.ppp + dt * f.ppv, b = f.ppv;  // first row of P_f F^T
    const double c = f.ppv + dt * f.pvv, d = f.pvv;  // second row
    const double det = pr.ppp * pr.pvv - pr.ppv * pr.ppv;
    const double i00 = pr.pvv / det, i01 = -pr.ppv / det, i11 = pr.ppp / det;
    const double dp = next_p - pr.p, dv = next_v - pr.v;
    const double p = f.p + (a * i00 + b * i01) * dp + (a * i01 + b * i11) * dv;
    const double v = f.v + (c * i00 + d * i01) * dp + (c * i01 + d * i11) * dv;
    out[i] = p;
    next_p = p;
    next_v = v;
  }
  return out;
}

}  // namespace starface::pipeline
