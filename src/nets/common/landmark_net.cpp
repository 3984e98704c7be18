#include "nets/common/landmark_net.h"

#include "core/error.h"

namespace starface::nets {

std::string NetInfo::name() const { return net ? net->name() : std::string(); }

const std::string& NetInfo::heatmaps_output() const {
  if (heatmaps.empty()) {
    throw Error(ErrorCode::kBadArgument, "the " + name() + " landmark net publishes no heat maps");
  }
  return heatmaps;
}

CropMatrix NetInfo::crop_matrix(const Box& truncated) const {
  return net->crop_matrix(truncated, *this);
}

std::vector<Point> NetInfo::to_image(const float* landmarks, const CropMatrix& matrix) const {
  std::vector<Point> crop(points);
  for (int p = 0; p < points; ++p) {
    crop[p] = net->to_crop_pixels(landmarks[2 * p], landmarks[2 * p + 1], *this);
  }
  return crop_to_image(crop, matrix);
}

std::string layout_of(int points) {
  switch (points) {
    case 98:
      return "WFLW";
    case 68:
      return "300W";
    case 29:
      return "COFW";
    default:
      return "custom";
  }
}

}  // namespace starface::nets
