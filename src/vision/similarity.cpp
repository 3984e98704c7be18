#include "vision/similarity.h"

#include <cmath>

#include "core/error.h"

namespace starface::vision {

double Similarity::scale() const { return std::hypot(a, b); }

Similarity Similarity::inverse() const {
  const double n = a * a + b * b;
  check_internal(n > 0, "inverse of a singular similarity");
  Similarity inv;
  inv.a = a / n;
  inv.b = -b / n;
  // -R^-1 t
  inv.tx = -(inv.a * tx - inv.b * ty);
  inv.ty = -(inv.b * tx + inv.a * ty);
  return inv;
}

Similarity Similarity::compose(const Similarity& o) const {
  Similarity c;
  c.a = a * o.a - b * o.b;
  c.b = b * o.a + a * o.b;
  apply(o.tx, o.ty, c.tx, c.ty);
  return c;
}

Similarity fit_similarity(const std::vector<double>& src_x, const std::vector<double>& src_y,
                          const std::vector<double>& dst_x, const std::vector<double>& dst_y,
                          const std::vector<int>& indices) {
  check_internal(!indices.empty(), "fit_similarity: no points");
  const double n = static_cast<double>(indices.size());
  double msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (const int i : indices) {
    msx += src_x[i], msy += src_y[i], mdx += dst_x[i], mdy += dst_y[i];
  }
  msx /= n, msy /= n, mdx /= n, mdy /= n;
  // As complex numbers: dst - mdst ~= (a + ib)(src - msrc); least squares gives
  // a + ib = sum conj(s) d / sum |s|^2 (Umeyama's scale times rotation in 2D).
  double ss = 0, re = 0, im = 0;
  for (const int i : indices) {
    const double sx = src_x[i] - msx, sy = src_y[i] - msy;
    const double dx = dst_x[i] - mdx, dy = dst_y[i] - mdy;
    ss += sx * sx + sy * sy;
    re += sx * dx + sy * dy;
    im += sx * dy - sy * dx;
  }
  Similarity t;
  if (ss > 0) t.a = re / ss, t.b = im / ss;
  t.tx = mdx - (t.a * msx - t.b * msy);
  t.ty = mdy - (t.b * msx + t.a * msy);
  return t;
}

}  // namespace starface::vision
