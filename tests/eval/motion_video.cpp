#include "eval/motion_video.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/error.h"

namespace starface::testing {

namespace {

// 0 -> 0, 1 -> 1 with zero speed at both ends: the motion starts and stops smoothly.
double smoothstep(double u) {
  u = std::clamp(u, 0.0, 1.0);
  return u * u * (3 - 2 * u);
}

struct Pose {
  std::string segment;
  double scale = 1, angle_deg = 0, shift_x = 0, shift_y = 0;
};

Pose pose_of(const MotionVideoSpec& s, int frame) {
  const int move_end = s.static_frames + s.move_frames;
  Pose p;
  p.segment = frame <= s.static_frames ? "static" : frame <= move_end ? "move" : "scale";
  const double u = smoothstep(static_cast<double>(frame - s.static_frames) / s.move_frames);
  const double v = smoothstep(static_cast<double>(frame - move_end) / s.scale_frames);
  p.shift_x = u * s.shift_x;
  p.shift_y = u * s.shift_y;
  p.angle_deg = u * s.turn_deg;
  p.scale = 1 + v * (s.zoom - 1);
  return p;
}

// Photo pixel -> frame pixel: scale and turn about the photo's centre, which lands on the
// frame's centre plus the shift.
cv::Matx23d matrix_of(const MotionVideoSpec& s, const Pose& p, cv::Size photo) {
  const double angle = p.angle_deg * std::numbers::pi / 180;
  const double a = s.photo_scale * p.scale * std::cos(angle);
  const double b = s.photo_scale * p.scale * std::sin(angle);
  const double cx = (photo.width - 1) / 2.0, cy = (photo.height - 1) / 2.0;
  const double tx = (s.width - 1) / 2.0 + p.shift_x - (a * cx - b * cy);
  const double ty = (s.height - 1) / 2.0 + p.shift_y - (b * cx + a * cy);
  return {a, -b, tx, b, a, ty};
}

cv::Mat noisy_frame(const cv::Mat& photo, const cv::Matx23d& m, const MotionVideoSpec& s,
                    cv::RNG& rng) {
  cv::Mat frame, noise(s.height, s.width, CV_32FC3), out;
  // Replicated borders: no sharp photo edge for the detector to lock onto.
  cv::warpAffine(photo, frame, cv::Mat(m), cv::Size(s.width, s.height), cv::INTER_LINEAR,
                 cv::BORDER_REPLICATE);
  frame.convertTo(frame, CV_32FC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, s.noise_sigma);
  cv::Mat(frame + noise).convertTo(out, CV_8UC3);  // rounds and saturates
  return out;
}

nlohmann::json spec_json(const MotionVideoSpec& s) {
  return {{"photo", s.photo},
          {"width", s.width},
          {"height", s.height},
          {"fps", s.fps},
          {"photo_scale", s.photo_scale},
          {"static_frames", s.static_frames},
          {"move_frames", s.move_frames},
          {"scale_frames", s.scale_frames},
          {"shift", {s.shift_x, s.shift_y}},
          {"turn_deg", s.turn_deg},
          {"zoom", s.zoom},
          {"noise_sigma", s.noise_sigma},
          {"codec", "MJPG"},
          {"seed", s.seed}};
}

}  // namespace

void write_motion_video(const MotionVideoSpec& spec, const std::filesystem::path& video,
                        const std::filesystem::path& trajectory) {
  const cv::Mat photo = cv::imread(spec.photo, cv::IMREAD_COLOR);
  if (photo.empty()) throw Error(ErrorCode::kIo, spec.photo + ": cannot read the photo");
  cv::VideoWriter writer(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), spec.fps,
                         cv::Size(spec.width, spec.height));
  if (!writer.isOpened()) throw Error(ErrorCode::kIo, video.string() + ": cannot write");
  cv::RNG rng(spec.seed);
  nlohmann::json frames = nlohmann::json::array();
  const int total = spec.static_frames + spec.move_frames + spec.scale_frames;
  for (int k = 1; k <= total; ++k) {
    const Pose p = pose_of(spec, k);
    const cv::Matx23d m = matrix_of(spec, p, photo.size());
    writer.write(noisy_frame(photo, m, spec, rng));
    frames.push_back({{"frame", k},
                      {"segment", p.segment},
                      {"scale", spec.photo_scale * p.scale},
                      {"angle_deg", p.angle_deg},
                      {"shift", {p.shift_x, p.shift_y}},
                      {"matrix", {m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2)}}});
  }
  writer.release();
  std::ofstream out(trajectory, std::ios::binary);
  out << nlohmann::json{{"spec", spec_json(spec)}, {"frames", frames}}.dump(1) << "\n";
  if (!out) throw Error(ErrorCode::kIo, trajectory.string() + ": cannot write");
}

}  // namespace starface::testing
