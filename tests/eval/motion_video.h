// Known-motion test videos: a still face photo moved along a known smooth trajectory (a
// static lead-in, a slow translation with rotation, then a scale change), with Gaussian
// sensor noise on every frame, written with a lossy codec (MJPG), plus a JSON of the
// similarity applied to each frame (what `starface stability --trajectory` reads).
#pragma once

#include <filesystem>
#include <string>

namespace starface::testing {

struct MotionVideoSpec {
  std::string photo;              // the still face (e.g. shared/data/images/0.jpg)
  int width = 640, height = 480;  // frame size
  double fps = 25;
  double photo_scale = 1.5;  // the photo's size in the frame, at the start
  int static_frames = 12;    // frames 1..static_frames stand still
  int move_frames = 24;      // then translate by (shift_x, shift_y) and turn by turn_deg
  int scale_frames = 24;     // then zoom by the factor zoom
  double shift_x = 60, shift_y = 24, turn_deg = 10, zoom = 1.25;
  double noise_sigma = 4;  // Gaussian noise per pixel and channel, 8-bit levels
  unsigned seed = 1;
};

// Writes `video` (MJPG in AVI) and `trajectory` (JSON: the spec, then per frame its number
// from 1, segment name, scale, angle, shift and the 2x3 "matrix" from photo pixels to frame
// pixels, row-major). kIo if OpenCV cannot read the photo or write the video.
void write_motion_video(const MotionVideoSpec& spec, const std::filesystem::path& video,
                        const std::filesystem::path& trajectory);

}  // namespace starface::testing
