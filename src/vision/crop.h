// The face crop warp and the network input made from crops.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "core/tensor.h"
#include "nets/star/crop.h"

namespace starface::vision {

// warpPerspective to 256x256, bilinear, black border: byte-identical to STAR's demo.
cv::Mat warp_crop(const cv::Mat& image_bgr, const star::CropMatrix& matrix);

// uint8 HxWx3 BGR crops -> float32 [N, 3, H, W], BGR kept, v / 255 * 2 - 1 in float32.
Tensor crops_to_input(const std::vector<cv::Mat>& crops);

}  // namespace starface::vision
