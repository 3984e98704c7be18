// RetinaFace on a BGR image as OpenFace 3.0's FaceDetector.detect_faces(image, resize=1.0)
// does it: native size, minus the BGR mean, no scaling.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "engine/detector.h"

namespace starface::vision {

// float32 [1, 3, H, W]: pixel - (104, 117, 123) per B, G, R channel.
Tensor detector_input(const cv::Mat& image_bgr);

// All candidates with score > 0.02 after NMS, in descending score.
std::vector<retinaface::Detection> detect_faces(Detector& detector, const cv::Mat& image_bgr);

}  // namespace starface::vision
