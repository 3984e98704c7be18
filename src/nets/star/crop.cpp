#include "nets/star/crop.h"

#include <algorithm>

namespace starface::star {

CropMatrix crop_matrix(const Box& b) {
  const double scale = std::min(b.x2 - b.x1, b.y2 - b.y1) / 200.0 * 1.05;
  return crop_matrix(scale, (b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
}

CropMatrix crop_matrix(double scale, double cx, double cy) {
  const double s = kCropSize / (scale * 1.0 * 200.0);
  const double centre = (kCropSize - 1) / 2.0;
  return CropMatrix{static_cast<float>(s),
                    0.0f,
                    static_cast<float>(centre - s * cx),
                    0.0f,
                    static_cast<float>(s),
                    static_cast<float>(centre - s * cy),
                    0.0f,
                    0.0f,
                    1.0f};
}

std::vector<Point> landmarks_to_image(const float* landmarks, int points, const CropMatrix& m) {
  std::vector<Point> crop(points);
  for (int p = 0; p < points; ++p) {
    crop[p] = Point{to_crop_pixels(landmarks[2 * p]), to_crop_pixels(landmarks[2 * p + 1])};
  }
  return crop_to_image(crop, m);
}

}  // namespace starface::star
