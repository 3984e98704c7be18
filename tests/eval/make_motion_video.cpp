// make_motion_video PHOTO VIDEO.avi TRAJECTORY.json [STATIC MOVE SCALE [NOISE_SIGMA]]: writes
// a known-motion video and its trajectory (motion_video.h), for `starface stability
// --trajectory` measurements outside the tests (docs/ACCURACY.md, "Stability").
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "eval/motion_video.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 7 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s PHOTO VIDEO.avi TRAJECTORY.json [STATIC MOVE SCALE [NOISE_SIGMA]]\n",
                 argv[0]);
    return 1;
  }
  starface::testing::MotionVideoSpec spec;
  spec.photo = argv[1];
  if (argc >= 7) {
    spec.static_frames = std::atoi(argv[4]);
    spec.move_frames = std::atoi(argv[5]);
    spec.scale_frames = std::atoi(argv[6]);
  }
  if (argc == 8) spec.noise_sigma = std::atof(argv[7]);
  try {
    starface::testing::write_motion_video(spec, argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_motion_video: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
