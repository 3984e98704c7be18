#include "nets/common/face_geometry.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace starface {

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

std::vector<Point> crop_to_image(const std::vector<Point>& crop_points, const CropMatrix& m) {
  // Inverse of the affine part [[a, b, tx], [c, d, ty]] in double, as the goldens do.
  const double a = m[0], b = m[1], tx = m[2], c = m[3], d = m[4], ty = m[5];
  const double det = a * d - b * c;
  std::vector<Point> out;
  out.reserve(crop_points.size());
  for (const Point& p : crop_points) {
    const double u = p.x - tx, v = p.y - ty;
    out.push_back(Point{(d * u - b * v) / det, (-c * u + a * v) / det});
  }
  return out;
}

}  // namespace starface
