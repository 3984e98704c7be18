#include "vision/face_detector.h"

#include "core/error.h"

namespace starface::vision {

namespace {

// OpenFace 3.0's FaceDetector.preprocess_image: the BGR mean, no scaling, no channel swap.
constexpr float kMeanBgr[3] = {104.0f, 117.0f, 123.0f};

}  // namespace

Tensor detector_input(const cv::Mat& image_bgr) {
  if (image_bgr.empty() || image_bgr.type() != CV_8UC3 || image_bgr.dims != 2) {
    throw Error(ErrorCode::kBadInput,
                "detector input: expected a non-empty 8-bit 3-channel BGR image, found " +
                    std::to_string(image_bgr.rows) + "x" + std::to_string(image_bgr.cols) +
                    " with " + std::to_string(image_bgr.channels()) + " channels of depth " +
                    std::to_string(image_bgr.depth()));
  }
  const int64_t h = image_bgr.rows, w = image_bgr.cols;
  Tensor input(DType::kFloat32, {1, 3, h, w});
  float* planes = input.data<float>();
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = image_bgr.ptr<uint8_t>(static_cast<int>(y));
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        planes[(c * h + y) * w + x] = static_cast<float>(row[3 * x + c]) - kMeanBgr[c];
      }
    }
  }
  return input;
}

std::vector<retinaface::Detection> detect_faces(Detector& detector, const cv::Mat& image_bgr) {
  return detector.detect(detector_input(image_bgr));
}

}  // namespace starface::vision
