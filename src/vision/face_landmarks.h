// Landmarks of faces given by boxes on an image: crop, run STAR in one batch, map back.
#pragma once

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

// Every box is checked first (kBadInput naming the box), so a bad box runs nothing.
std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes);

}  // namespace starface::vision
