// Landmarks of faces given by boxes on an image: crop, run the landmark network on all crops
// in one batch, map back. The one place that does this, for the CLI, Python and the pipeline.
#pragma once

#include <functional>
#include <opencv2/core.hpp>
#include <vector>

#include "engine/engine.h"
#include "nets/star/crop.h"

namespace starface::vision {

struct FaceLandmarks {
  star::Box box;                    // as given
  star::CropMatrix matrix;          // image -> crop
  std::vector<star::Point> points;  // image pixels
};

// float32 [N, 3, 256, 256] crops -> landmarks [N, P, 2] in [-1, 1]: Engine::landmarks, or a
// stand-in where the caller has no Engine (the pipeline's tests run on fakes).
using LandmarkNet = std::function<Tensor(const Tensor& crops)>;

// Told the milliseconds of each step, under the pipeline's stage names: "crop" (boxes to the
// network input) and "landmarks" (the network and the mapping back).
using StageTime = std::function<void(const char* stage, double ms)>;

// The faces in the boxes' order. Every box is checked first (kBadInput naming the box), so a
// bad box runs nothing; no boxes run nothing either (and time nothing).
std::vector<FaceLandmarks> detect_landmarks(const LandmarkNet& net, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes,
                                            const StageTime& time = {});

std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes);

}  // namespace starface::vision
