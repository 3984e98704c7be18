// RetinaFace on a BGR image as OpenFace 3.0's FaceDetector.detect_faces(image, resize=1.0)
// does it: native size, minus the BGR mean, no scaling. Another `resize` follows upstream
// Pytorch_Retinaface's detect.py rather than OpenFace's bug: the float image resized
// (bilinear), minus the mean, the priors following the resized size, results divided back.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "engine/detector.h"

namespace starface::vision {

// float32 [1, 3, H', W']: pixel - (104, 117, 123) per B, G, R channel of the image resized
// by `resize` (> 0; kBadArgument when no pixel is left).
Tensor detector_input(const cv::Mat& image_bgr, double resize = 1.0);

// All candidates with score > 0.02 after NMS, in descending score, in the image's pixels.
std::vector<retinaface::Detection> detect_faces(Detector& detector, const cv::Mat& image_bgr,
                                                double resize = 1.0);

}  // namespace starface::vision
