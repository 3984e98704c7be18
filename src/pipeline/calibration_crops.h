// The crops `starface convert --precision int8 --calibrate PATH...` calibrates on: faces
// in images and videos (files or folders), found by RetinaFace when a detector is given,
// else the centred square of each frame, each warped to the network input as `starface
// run` would crop it.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "nets/common/landmark_net.h"
#include "pipeline/inputs.h"

namespace starface::pipeline {

struct CalibrationSource {
  std::vector<std::string> paths;
  std::string detector;  // RetinaFace checkpoint; empty: centre crops
  int max_crops = 32;    // stop after this many
  // Every k-th frame of a video, k spreading this many over it: as many as the crops, so a
  // video with one face gives max_crops crops, held-out ones included.
  int frames_per_video = 32;
  float min_score = 0.5f;  // detections kept
};

// float32 [1, 3, S, S] crops made by `net`'s crop convention, at least one. kBadInput
// naming the path for an input that cannot be read; kBadInput when no crop was found.
std::vector<Tensor> calibration_crops(const CalibrationSource& source, const nets::NetInfo& net);

// What the detector calibrates its int8 convs on (Detector::load's int8_frames): the
// detector inputs of up to `count` frames spread over the first video among `paths`, or of
// the images of the first image's size when there is no video. kBadInput when none.
std::vector<Tensor> calibration_frames(const std::vector<Input>& inputs, int count);
// How many frames `starface run` and `detect` calibrate the detector's int8 convs on.
constexpr int kDetectorCalibrationFrames = 8;

}  // namespace starface::pipeline
