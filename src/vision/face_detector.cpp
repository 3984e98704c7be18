#include "vision/face_detector.h"

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace starface::vision {

namespace {

// OpenFace 3.0's FaceDetector.preprocess_image: the BGR mean, no scaling, no channel swap.
constexpr float kMeanBgr[3] = {104.0f, 117.0f, 123.0f};

// float32 [1, 3, H, W] planes of an H x W BGR image of `Pixel`s, minus the mean.
template <typename Pixel>
Tensor mean_subtracted_planes(const cv::Mat& image) {
  const int64_t h = image.rows, w = image.cols;
  Tensor input(DType::kFloat32, {1, 3, h, w});
  float* planes = input.data<float>();
  for (int64_t y = 0; y < h; ++y) {
    const Pixel* row = image.ptr<Pixel>(static_cast<int>(y));
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        planes[(c * h + y) * w + x] = static_cast<float>(row[3 * x + c]) - kMeanBgr[c];
      }
    }
  }
  return input;
}

}  // namespace

Tensor detector_input(const cv::Mat& image_bgr, double resize) {
  if (image_bgr.empty() || image_bgr.type() != CV_8UC3 || image_bgr.dims != 2) {
    throw Error(ErrorCode::kBadInput,
                "detector input: expected a non-empty 8-bit 3-channel BGR image, found " +
                    std::to_string(image_bgr.rows) + "x" + std::to_string(image_bgr.cols) +
                    " with " + std::to_string(image_bgr.channels()) + " channels of depth " +
                    std::to_string(image_bgr.depth()));
  }
  // The native size straight from the uint8 pixels: going through a float32 copy of the
  // frame (an 11 MB OpenCV allocation per 720p frame) made the whole detector 4x slower on
  // two threads here (114.7 against 28.9 ms; perf: page faults and unmapping).
  if (resize == 1.0) return mean_subtracted_planes<uint8_t>(image_bgr);
  cv::Mat image;
  image_bgr.convertTo(image, CV_32FC3);
  cv::resize(image, image, cv::Size(), resize, resize, cv::INTER_LINEAR);
  if (image.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "resize " + std::to_string(resize) + " leaves no pixels of the image");
  }
  return mean_subtracted_planes<float>(image);
}

std::vector<retinaface::Detection> detect_faces(Detector& detector, const cv::Mat& image_bgr,
                                                double resize) {
  std::vector<retinaface::Detection> found = detector.detect(detector_input(image_bgr, resize));
  if (resize != 1.0) {
    const float s = static_cast<float>(resize);
    for (auto& d : found) {
      d.x1 /= s, d.y1 /= s, d.x2 /= s, d.y2 /= s;
      for (float& p : d.points) p /= s;
    }
  }
  return found;
}

}  // namespace starface::vision
