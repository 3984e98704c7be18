// Fakes for the pipeline: synthetic frames with bright squares as faces, a detector that
// finds them, and a landmark "network" that puts its points on the bright square in each
// crop, so tracking follows real motion without any model.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <vector>

#include "pipeline/face_pipeline.h"
#include "vision/video.h"

namespace starface::testing {

struct FakeFace {
  int x = 0, y = 0;  // top-left of the bright square
  int size = 60;
  int brightness = 255;  // the fake detector's score is brightness / 255
};

constexpr int kFrameWidth = 320;
constexpr int kFrameHeight = 240;

// A black frame with the faces drawn as filled squares.
vision::Frame fake_frame(int number, const std::vector<FakeFace>& faces);

// The square's bounding box grown by a quarter of its size on each side (a detector box is
// larger than the landmarks), in descending brightness; counts its calls.
struct FakeDetector {
  int calls = 0;
  pipeline::DetectFaces fn();
};

// Points on the border of the bright region in each crop (corners first); all points at the
// crop centre when the crop holds nothing bright, which tracking must call lost.
Tensor fake_landmarks(const Tensor& crops);

// What fake_landmarks stands in for: STAR's 98-point WFLW net and its crop convention.
nets::NetInfo fake_net();
pipeline::FaceModels fake_models(FakeDetector& detector);

// A copy of `video` at `to` with 64 KiB of pseudo-random bytes over its middle, as a bad
// sector or a damaged download leaves a file.
void copy_with_corrupt_middle(const std::filesystem::path& video, const std::filesystem::path& to);

}  // namespace starface::testing
