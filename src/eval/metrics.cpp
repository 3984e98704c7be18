#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "nets/star/crop.h"

namespace starface::eval {

namespace {

// numpy's pairwise summation of a contiguous float64 array (pairwise_sum_DOUBLE), which
// np.sum uses: blocks of at most 128 summed with 8 accumulators, halves above that.
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

// np.sum of a 1-D array: the reduction starts from the first element and adds the pairwise
// sum of the rest.
double numpy_sum(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  return values[0] + pairwise_sum(values.data() + 1, values.size() - 1);
}

// SciPy's _basic_simps with sample points: Simpson's rule on the intervals [start, stop)
// taken two at a time, allowing unequal spacing.
double basic_simpson(const std::vector<double>& y, const std::vector<double>& x, size_t start,
                     size_t stop) {
  std::vector<double> terms;
  for (size_t i = start; i < stop; i += 2) {
    const double h0 = x[i + 1] - x[i];
    const double h1 = x[i + 2] - x[i + 1];
    const double hsum = h0 + h1;
    const double hprod = h0 * h1;
    const double h0divh1 = h0 / h1;
    terms.push_back(
        hsum / 6.0 *
        (y[i] * (2 - 1.0 / h0divh1) + y[i + 1] * hsum * hsum / hprod + y[i + 2] * (2 - h0divh1)));
  }
  return numpy_sum(terms);
}

// np.arange(0, stop, step) for floats: ceil(stop / step) points, the k-th is k * step.
std::vector<double> numpy_arange(double stop, double step) {
  const auto count = static_cast<size_t>(std::ceil(stop / step));
  std::vector<double> xs(count);
  for (size_t k = 0; k < count; ++k) xs[k] = static_cast<double>(k) * step;
  return xs;
}

double crop_pixel(float normalised) {
  return ((static_cast<double>(normalised) + 1.0) * star::kCropSize - 1.0) / 2.0;
}

}  // namespace

NmeConvention nme_convention(int points) {
  switch (points) {
    case 98:
      return {60, 72, 0.1, "WFLW"};
    case 68:
      return {36, 45, 0.05, "300W"};
    case 29:
      return {16, 17, 0.1, "COFW"};
    default:
      throw Error(ErrorCode::kBadArgument,
                  "no NME convention for " + std::to_string(points) +
                      " landmarks (STAR defines WFLW 98, 300W 68 and COFW 29)");
  }
}

double image_nme(const float* pred, const float* gt, int points, const NmeConvention& c) {
  const double norm = std::hypot(static_cast<double>(gt[2 * c.left]) - gt[2 * c.right],
                                 static_cast<double>(gt[2 * c.left + 1]) - gt[2 * c.right + 1]);
  double sum = 0.0;
  for (int p = 0; p < points; ++p) {
    const double dx = static_cast<double>(pred[2 * p]) - gt[2 * p];
    const double dy = static_cast<double>(pred[2 * p + 1]) - gt[2 * p + 1];
    sum += std::sqrt(dx * dx + dy * dy) / norm;
  }
  return sum / points;
}

double simpson(const std::vector<double>& y, const std::vector<double>& x) {
  check_internal(y.size() == x.size() && y.size() >= 3, "simpson: need 3+ matching samples");
  const size_t n = y.size();
  if (n % 2 == 1) return basic_simpson(y, x, 0, n - 2);
  // An odd number of intervals: the average of Simpson on the first n-2 intervals plus a
  // trapezoid on the last, and a trapezoid on the first plus Simpson on the rest.
  const double last_trapezoid = 0.5 * (x[n - 1] - x[n - 2]) * (y[n - 1] + y[n - 2]);
  const double first_trapezoid = 0.5 * (x[1] - x[0]) * (y[1] + y[0]);
  const double simpsons = basic_simpson(y, x, 0, n - 3) + basic_simpson(y, x, 1, n - 2);
  return simpsons / 2.0 + (last_trapezoid + first_trapezoid) / 2.0;
}

double round_like_python(double value, int digits) {
  if (!std::isfinite(value)) return value;
  // printf rounds the exact binary value correctly (ties to even), as Python's round does.
  char text[512];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return std::strtod(text, nullptr);
}

FrAuc fr_and_auc(const std::vector<double>& nmes, double threshold, double step) {
  check_internal(!nmes.empty(), "fr_and_auc: no NMEs");
  const std::vector<double> xs = numpy_arange(threshold + step, step);
  std::vector<double> sorted = nmes;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> ys(xs.size());
  for (size_t k = 0; k < xs.size(); ++k) {
    const auto at_or_below = std::upper_bound(sorted.begin(), sorted.end(), xs[k]) - sorted.begin();
    ys[k] = static_cast<double>(at_or_below) / static_cast<double>(nmes.size());
  }
  FrAuc r;
  r.fr = 1.0 - ys.back();
  r.auc = simpson(ys, xs) / threshold;
  r.fr_rounded = round_like_python(r.fr, 4);
  r.auc_rounded = round_like_python(r.auc, 6);
  return r;
}

Summary summarize(const std::vector<double>& nmes, double threshold) {
  Summary s;
  s.faces = nmes.size();
  if (nmes.empty()) return s;
  double sum = 0.0;
  for (double v : nmes) sum += v;
  s.nme = sum / static_cast<double>(nmes.size());
  s.curve = fr_and_auc(nmes, threshold);
  return s;
}

AccuracyReport accuracy_report(
    const std::vector<double>& nmes,
    const std::vector<std::optional<std::array<int, kSubsetCount>>>& attributes, double threshold) {
  check_internal(nmes.size() == attributes.size(), "accuracy_report: one attribute set per NME");
  AccuracyReport report;
  report.all = summarize(nmes, threshold);
  const bool any_flags = std::any_of(attributes.begin(), attributes.end(),
                                     [](const auto& a) { return a.has_value(); });
  if (!any_flags) return report;
  for (int s = 0; s < kSubsetCount; ++s) {
    std::vector<double> members;
    for (size_t i = 0; i < nmes.size(); ++i) {
      if (attributes[i] && (*attributes[i])[s] == 1) members.push_back(nmes[i]);
    }
    report.subsets[s] = summarize(members, threshold);
  }
  return report;
}

double percentile_linear(const std::vector<double>& sorted, double q) {
  check_internal(!sorted.empty(), "percentile of nothing");
  const double index = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(index));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double t = index - static_cast<double>(below);
  const double a = sorted[below], b = sorted[above];
  // numpy's _lerp: from the nearer end, so t = 1 gives b exactly.
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

DriftStats drift(const std::vector<float>& a, const std::vector<float>& b, int points,
                 const NmeConvention& convention) {
  check_internal(a.size() == b.size() && points > 0 && a.size() % (2 * points) == 0,
                 "drift: landmark arrays of different or ragged sizes");
  DriftStats d;
  d.points = static_cast<size_t>(points);
  d.faces = a.size() / (2 * points);
  if (d.faces == 0) return d;
  std::vector<double> px(a.size() / 2);
  for (size_t i = 0; i < px.size(); ++i) {
    const double dx = crop_pixel(a[2 * i]) - crop_pixel(b[2 * i]);
    const double dy = crop_pixel(a[2 * i + 1]) - crop_pixel(b[2 * i + 1]);
    px[i] = std::sqrt(dx * dx + dy * dy);
  }
  double sum = 0.0, nme_sum = 0.0;
  for (double v : px) sum += v;
  for (size_t f = 0; f < d.faces; ++f) {
    const size_t at = f * 2 * points;
    nme_sum += image_nme(a.data() + at, b.data() + at, points, convention);
  }
  std::sort(px.begin(), px.end());
  d.mean_px = sum / static_cast<double>(px.size());
  d.p99_px = percentile_linear(px, 99.0);
  d.max_px = px.back();
  d.nme = nme_sum / static_cast<double>(d.faces);
  return d;
}

}  // namespace starface::eval
