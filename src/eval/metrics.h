// STAR's accuracy metrics (lib/metric/nme.py, fr_and_auc.py; ecosystem.md section 4) and
// the drift of one model's landmarks against another's.
//
// Landmarks are float32 arrays of P (x, y) points, interleaved, in STAR's [-1, 1] crop
// space: STAR computes NME there, and since the crop is a uniform scale of the image the
// ratio is the same in any of these spaces. We compute in double from the float32 inputs,
// where STAR's numpy works in float32; the two differ by float32 rounding (~1e-7 relative),
// far below the 1e-4 grid step FR and AUC read the NMEs on.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "eval/dataset.h"

namespace starface::eval {

// The two ground-truth points whose distance normalises the error, and the FR/AUC
// threshold, of STAR's default ('ocular') NME for a layout.
struct NmeConvention {
  int left = 0, right = 0;
  double threshold = 0.1;
  std::string layout;
};
// WFLW (98): outer eye corners 60/72, 0.1; 300W (68): 36/45, 0.05; COFW (29): pupils 16/17
// (its 'default'), 0.1. Any other point count is kBadArgument.
NmeConvention nme_convention(int points);

// One image's NME: mean over points of |pred - gt| / |gt[left] - gt[right]|. Coinciding
// normalising points give an infinite or NaN NME, as numpy would.
double image_nme(const float* pred, const float* gt, int points, const NmeConvention& c);

// scipy.integrate.simps(y, x=x) as SciPy <= 1.10 computes it (even='avg' for an odd number
// of intervals), the version STAR pins (scipy 1.5.4).
double simpson(const std::vector<double>& y, const std::vector<double>& x);

// Python's round(value, digits): correctly rounded, ties to even on the exact binary value.
double round_like_python(double value, int digits);

struct FrAuc {
  double fr = 0, auc = 0;                  // unrounded
  double fr_rounded = 0, auc_rounded = 0;  // as STAR reports them: 4 and 6 decimals
};
// STAR's FR_AUC.test: xs = np.arange(0, thr + step, step) (for thr = 0.05 that grid ends at
// 0.0501, as STAR's does), ys = share of NMEs <= each x, FR = 1 - ys[-1],
// AUC = simps(ys, xs) / thr.
FrAuc fr_and_auc(const std::vector<double>& nmes, double threshold, double step = 1e-4);

struct Summary {
  size_t faces = 0;
  double nme = 0;  // plain mean of the per-image NMEs
  FrAuc curve;
};
Summary summarize(const std::vector<double>& nmes, double threshold);

// Overall and per WFLW attribute subset (faces whose flag is 1). A subset is absent when no
// face carries attribute flags, and has faces = 0 when none is in it.
struct AccuracyReport {
  Summary all;
  std::array<std::optional<Summary>, kSubsetCount> subsets;
};
AccuracyReport accuracy_report(
    const std::vector<double>& nmes,
    const std::vector<std::optional<std::array<int, kSubsetCount>>>& attributes, double threshold);

// How far model A's landmarks are from model B's on the same crops, B taken as the
// reference. Displacements are Euclidean distances in 256x256 crop pixels (the [-1, 1]
// landmarks denormalised as STAR does: p = ((l + 1) * 256 - 1) / 2). p99 is numpy's default
// (linear interpolation) percentile over all faces' points; nme is the mean per-face NME of
// A against B with B's normalising points.
struct DriftStats {
  size_t faces = 0, points = 0;
  double mean_px = 0, p99_px = 0, max_px = 0;
  double nme = 0;
};
// `a` and `b` hold faces x points x 2 values.
DriftStats drift(const std::vector<float>& a, const std::vector<float>& b, int points,
                 const NmeConvention& convention);

// numpy.percentile(values, q) with the default linear interpolation; `values` is sorted.
double percentile_linear(const std::vector<double>& sorted, double q);

}  // namespace starface::eval
