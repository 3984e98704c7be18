#include "nets/star/crop.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace starface::star {

namespace {

std::string box_str(const Box& b) {
  std::ostringstream s;
  s << "[" << b.x1 << ", " << b.y1 << ", " << b.x2 << ", " << b.y2 << "]";
  return s.str();
}

[[noreturn]] void bad_box(const Box& box, int index, const std::string& why) {
  std::string which = index >= 0 ? "box " + std::to_string(index) + " " : "box ";
  throw Error(ErrorCode::kBadInput, which + box_str(box) + ": " + why);
}

}  // namespace

Box parse_box(const std::string& text) {
  std::vector<double> v;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kBadArgument,
                  "--box '" + text + "': '" + item + "' is not a number (expected x1,y1,x2,y2)");
    }
  }
  if (v.size() != 4) {
    throw Error(
        ErrorCode::kBadArgument,
        "--box '" + text + "': expected 4 numbers x1,y1,x2,y2, got " + std::to_string(v.size()));
  }
  return Box{v[0], v[1], v[2], v[3]};
}

Box truncate_and_check(const Box& box, int width, int height, int index) {
  for (double c : {box.x1, box.y1, box.x2, box.y2}) {
    if (!std::isfinite(c)) bad_box(box, index, "coordinates must be finite");
    if (std::fabs(c) > 1e9) bad_box(box, index, "coordinates are implausibly large");
  }
  const Box t{std::trunc(box.x1), std::trunc(box.y1), std::trunc(box.x2), std::trunc(box.y2)};
  if (t.x2 - t.x1 <= 0 || t.y2 - t.y1 <= 0) {
    bad_box(box, index, "zero or negative size after truncation to " + box_str(t));
  }
  if (t.x2 <= 0 || t.y2 <= 0 || t.x1 >= width || t.y1 >= height) {
    bad_box(
        box, index,
        "does not overlap the " + std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  return t;
}

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
  // Inverse of the affine part [[a, b, tx], [c, d, ty]] in double, as the goldens do.
  const double a = m[0], b = m[1], tx = m[2], c = m[3], d = m[4], ty = m[5];
  const double det = a * d - b * c;
  std::vector<Point> out(points);
  for (int p = 0; p < points; ++p) {
    const double u = ((landmarks[2 * p] + 1.0) * kCropSize - 1.0) / 2.0 - tx;
    const double v = ((landmarks[2 * p + 1] + 1.0) * kCropSize - 1.0) / 2.0 - ty;
    out[p] = Point{(d * u - b * v) / det, (-c * u + a * v) / det};
  }
  return out;
}

}  // namespace starface::star
