// 2D similarity transforms (scale, rotation, translation) and their least-squares fit between
// two point sets: how a face moved between two frames, as its landmarks say.
#pragma once

#include <vector>

namespace starface::vision {

// x' = a x - b y + tx, y' = b x + a y + ty (scale hypot(a, b), angle atan2(b, a)).
struct Similarity {
  double a = 1, b = 0, tx = 0, ty = 0;
  void apply(double x, double y, double& out_x, double& out_y) const {
    out_x = a * x - b * y + tx;
    out_y = b * x + a * y + ty;
  }
  double scale() const;
  Similarity inverse() const;
  // (this * other)(p) = this(other(p)).
  Similarity compose(const Similarity& other) const;
};

// The similarity T minimising sum_i |dst_i - T(src_i)|^2 over the points `indices` of the
// two point sets (Umeyama 1991 restricted to 2D, where no reflection can arise). Fewer than 2
// points, or points that all coincide, give the pure translation between the centroids.
Similarity fit_similarity(const std::vector<double>& src_x, const std::vector<double>& src_y,
                          const std::vector<double>& dst_x, const std::vector<double>& dst_y,
                          const std::vector<int>& indices);

}  // namespace starface::vision
