#include "pipeline/tracking.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/similarity.h"

namespace starface::pipeline {

Box bounding_box(const std::vector<Point>& points) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Box b{kInf, kInf, -kInf, -kInf};
  for (const Point& p : points) {
    b.x1 = std::min(b.x1, p.x);
    b.y1 = std::min(b.y1, p.y);
    b.x2 = std::max(b.x2, p.x);
    b.y2 = std::max(b.y2, p.y);
  }
  return b;
}

Box carry_box(const Box& detection, const std::vector<Point>& at_detection,
              const std::vector<Point>& now) {
  std::vector<double> sx, sy, dx, dy;
  std::vector<int> all;
  for (size_t i = 0; i < at_detection.size() && i < now.size(); ++i) {
    sx.push_back(at_detection[i].x), sy.push_back(at_detection[i].y);
    dx.push_back(now[i].x), dy.push_back(now[i].y);
    all.push_back(static_cast<int>(i));
  }
  if (all.empty()) return detection;
  const vision::Similarity t = vision::fit_similarity(sx, sy, dx, dy, all);
  double cx = 0, cy = 0;
  t.apply((detection.x1 + detection.x2) / 2, (detection.y1 + detection.y2) / 2, cx, cy);
  // The crop is upright whatever the face's roll: the box keeps its axes, scaled.
  const double half_w = t.scale() * (detection.x2 - detection.x1) / 2;
  const double half_h = t.scale() * (detection.y2 - detection.y1) / 2;
  return Box{cx - half_w, cy - half_h, cx + half_w, cy + half_h};
}

bool boxes_agree(const Box& a, const Box& b) {
  const double aw = a.x2 - a.x1, ah = a.y2 - a.y1, bw = b.x2 - b.x1, bh = b.y2 - b.y1;
  if (!(bw > 0 && bh > 0 && aw > 0 && ah > 0)) return false;
  const double dx = std::fabs((a.x1 + a.x2 - b.x1 - b.x2) / 2);
  const double dy = std::fabs((a.y1 + a.y2 - b.y1 - b.y2) / 2);
  return dx <= kBoxAgreement * bw && dy <= kBoxAgreement * bh &&
         std::fabs(aw / bw - 1) <= kBoxAgreement && std::fabs(ah / bh - 1) <= kBoxAgreement;
}

bool tracking_lost(const Box& previous, const Box& current, int width, int height) {
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
