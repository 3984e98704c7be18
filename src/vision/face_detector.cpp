#include "vision/face_detector.h"

#include "core/error.h"

namespace starface::vision {

Tensor detector_input(const cv::Mat&) {
  throw Error(ErrorCode::kInternal, "the RetinaFace detector is not built yet");
}

std::vector<retinaface::Detection> detect_faces(Detector& detector, const cv::Mat& image_bgr) {
  return detector.detect(detector_input(image_bgr));
}

}  // namespace starface::vision
