#include "vision/crop.h"

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace starface::vision {

cv::Mat warp_crop(const cv::Mat& image_bgr, const CropMatrix& matrix, int size) {
  check_internal(image_bgr.type() == CV_8UC3, "warp_crop expects a BGR uint8 image");
  const cv::Mat m(3, 3, CV_32F, const_cast<float*>(matrix.data()));
  cv::Mat crop;
  // warpPerspective, not warpAffine: with the same matrix they differ by a few grey levels.
  cv::warpPerspective(image_bgr, crop, m, cv::Size(size, size), cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  return crop;
}

Tensor crops_to_input(const std::vector<cv::Mat>& crops) {
  check_internal(!crops.empty(), "crops_to_input of no crops");
  const int h = crops[0].rows;
  const int w = crops[0].cols;
  Tensor input(DType::kFloat32, {static_cast<int64_t>(crops.size()), 3, h, w});
  float* out = input.data<float>();
  for (size_t n = 0; n < crops.size(); ++n) {
    const cv::Mat& crop = crops[n];
    check_internal(crop.type() == CV_8UC3 && crop.rows == h && crop.cols == w,
                   "crops must be uint8 BGR of one size");
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = crop.ptr<uint8_t>(y);
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {
          // Same float32 steps as STAR's demo: v / 255, then * 2, then - 1.
          const float v = static_cast<float>(row[3 * x + c]) / 255.0f;
          out[((n * 3 + c) * h + y) * w + x] = v * 2.0f - 1.0f;
        }
      }
    }
  }
  return input;
}

}  // namespace starface::vision
