// Landmarks of faces given by boxes on an image: crop, run the landmark network on all crops
// in one batch, map back, by the net's crop convention (nets::NetInfo). The one place that does
// this, for the CLI, Python and the pipeline.
#pragma once

#include <functional>
#include <opencv2/core.hpp>
#include <vector>

#include "engine/engine.h"
#include "nets/common/face_geometry.h"
#include "nets/common/landmark_net.h"

namespace starface::vision {

struct FaceLandmarks {
  Box box;                    // as given
  CropMatrix matrix;          // image -> crop
  std::vector<Point> points;  // image pixels
};

// float32 [N, 3, S, S] crops -> landmarks [N, P, 2] in the net's coordinates:
// Engine::landmarks, or a stand-in where the caller has no Engine (the pipeline's tests run
// on fakes).
using RunLandmarks = std::function<Tensor(const Tensor& crops)>;

// Told the milliseconds of each step, under the pipeline's stage names: "crop" (boxes to the
// network input) and "landmarks" (the network and the mapping back).
using StageTime = std::function<void(const char* stage, double ms)>;

// The faces in the boxes' order, cropped and mapped back by `net`'s crop convention. Every
// box is checked first (kBadInput naming the box), so a bad box runs nothing; no boxes run
// nothing either (and time nothing).
std::vector<FaceLandmarks> detect_landmarks(const RunLandmarks& run, const nets::NetInfo& net,
                                            const cv::Mat& image_bgr, const std::vector<Box>& boxes,
                                            const StageTime& time = {});

std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<Box>& boxes);

}  // namespace starface::vision
