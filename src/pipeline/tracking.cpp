#include "pipeline/tracking.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace starface::pipeline {

star::Box bounding_box(const std::vector<star::Point>& points) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  star::Box b{kInf, kInf, -kInf, -kInf};
  for (const star::Point& p : points) {
    b.x1 = std::min(b.x1, p.x);
    b.y1 = std::min(b.y1, p.y);
    b.x2 = std::max(b.x2, p.x);
    b.y2 = std::max(b.y2, p.y);
  }
  return b;
}

BoxMargins measure_margins(const star::Box& d, const star::Box& l) {
  const double w = std::max(l.x2 - l.x1, 1e-6);
  const double h = std::max(l.y2 - l.y1, 1e-6);
  return BoxMargins{(l.x1 - d.x1) / w, (l.y1 - d.y1) / h, (d.x2 - l.x2) / w, (d.y2 - l.y2) / h};
}

star::Box apply_margins(const star::Box& l, const BoxMargins& m) {
  const double w = l.x2 - l.x1;
  const double h = l.y2 - l.y1;
  return star::Box{l.x1 - m.left * w, l.y1 - m.top * h, l.x2 + m.right * w, l.y2 + m.bottom * h};
}

bool tracking_lost(const star::Box& previous, const star::Box& current, int width, int height) {
  const double pw = previous.x2 - previous.x1, ph = previous.y2 - previous.y1;
  const double cw = current.x2 - current.x1, ch = current.y2 - current.y1;
  if (!std::isfinite(cw) || !std::isfinite(ch)) return true;
  if (cw < kMinFacePixels || ch < kMinFacePixels) return true;
  if (cw < 0.5 * pw || cw > 2 * pw || ch < 0.5 * ph || ch > 2 * ph) return true;
  const double dx = (current.x1 + current.x2 - previous.x1 - previous.x2) / 2;
  const double dy = (current.y1 + current.y2 - previous.y1 - previous.y2) / 2;
  if (std::fabs(dx) > 0.5 * pw || std::fabs(dy) > 0.5 * ph) return true;
  return current.x2 <= 0 || current.y2 <= 0 || current.x1 >= width || current.y1 >= height;
}

}  // namespace starface::pipeline
