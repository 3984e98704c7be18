// The face crop warp and the network input made from crops.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "core/tensor.h"
#include "nets/common/face_geometry.h"

namespace starface::vision {

// warpPerspective to size x size, bilinear, black border: byte-identical to STAR's demo
// (size 256) and to cv2.warpPerspective.
cv::Mat warp_crop(const cv::Mat& image_bgr, const CropMatrix& matrix, int size);

// uint8 HxWx3 BGR crops -> float32 [N, 3, H, W], BGR kept, v / 255 * 2 - 1 in float32.
Tensor crops_to_input(const std::vector<cv::Mat>& crops);

}  // namespace starface::vision
