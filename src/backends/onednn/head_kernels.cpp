// The head kernels: per-target code (compiled once per Highway target by foreach_target.h
// re-including this file, for the targets core/simd_targets.h names) for the statistics and
// sums over a map, and the drivers that split a map over the threads.
#include "core/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/onednn/head_kernels.cpp"
#include <algorithm>
#include <cmath>

#include "backends/onednn/head_kernels.h"
#include "graph/grid.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep; must come before highway.h
#include "hwy/highway.h"

// Shared by every target's copy of the code below: defined once.
#ifndef STARFACE_HEAD_KERNELS_SHARED
#define STARFACE_HEAD_KERNELS_SHARED
namespace starface::backends::onednn::detail {

constexpr int kMaxLanes = 16;

// `lanes` adjacent channels c0.. of image n; `valid` of them are real, the rest padding.
struct Group {
  int64_t n = 0, c0 = 0;
  int lanes = 1, valid = 1;
};

}  // namespace starface::backends::onednn::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace starface::backends::onednn::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using graph::grid_coordinate;

// Double vectors and the float vectors of the same lane count, loaded and widened together.
using DD = hn::ScalableTag<double>;
using DF = hn::Rebind<float, DD>;
using VD = hn::Vec<DD>;
constexpr int kDoubles = static_cast<int>(HWY_LANES(double));

HWY_INLINE VD LoadWide(const float* p) { return hn::PromoteTo(DD(), hn::LoadU(DF(), p)); }

// kLanes (16 or 8) channels a pixel apart: kChunks double vectors each. Every lane sums in
// double in pixel order with separate multiplies and adds, as the scalar code below does, so
// every target gives the same bits.
template <int kLanes>
void NormalizeLanes(const ChannelView& v, const float* x, float* y, const Group& g, float eps) {
  constexpr int kChunks = kLanes / kDoubles;
  const DD dd;
  const int64_t base = v.offset(g.n, g.c0, 0, 0);
  const double count = static_cast<double>(v.height * v.width);
  // One pass over deviations from each channel's first value: in double the shifted sums
  // do not cancel the way raw E[x^2] - E[x]^2 can, and the map is read once less.
  VD origin[kChunks], sum[kChunks], squares[kChunks];
  for (int c = 0; c < kChunks; ++c) {
    origin[c] = LoadWide(x + base + c * kDoubles);
    sum[c] = squares[c] = hn::Zero(dd);
  }
  for (int64_t h = 0; h < v.height; ++h) {
    for (int64_t w = 0; w < v.width; ++w) {
      const float* p = x + base + h * v.row + w * v.pixel;
      for (int c = 0; c < kChunks; ++c) {
        const VD d = hn::Sub(LoadWide(p + c * kDoubles), origin[c]);
        sum[c] = hn::Add(sum[c], d);
        squares[c] = hn::Add(squares[c], hn::Mul(d, d));
      }
    }
  }
  HWY_ALIGN double first[kLanes], sums[kLanes], sum_squares[kLanes];
  for (int c = 0; c < kChunks; ++c) {
    hn::Store(origin[c], dd, first + c * kDoubles);
    hn::Store(sum[c], dd, sums + c * kDoubles);
    hn::Store(squares[c], dd, sum_squares + c * kDoubles);
  }
  HWY_ALIGN double mean[kLanes], scale[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const double shift = sums[l] / count;
    const double variance = std::max(sum_squares[l] / count - shift * shift, 0.0);
    // Padded lanes map to 0 and stay 0.
    mean[l] = l < g.valid ? first[l] + shift : 0.0;
    scale[l] = l < g.valid ? 1.0 / std::sqrt(variance + static_cast<double>(eps)) : 0.0;
  }
  VD means[kChunks], scales[kChunks];
  for (int c = 0; c < kChunks; ++c) {
    means[c] = hn::Load(dd, mean + c * kDoubles);
    scales[c] = hn::Load(dd, scale + c * kDoubles);
  }
  for (int64_t h = 0; h < v.height; ++h) {
    for (int64_t w = 0; w < v.width; ++w) {
      const int64_t at = base + h * v.row + w * v.pixel;
      for (int c = 0; c < kChunks; ++c) {
        const VD r = hn::Mul(hn::Sub(LoadWide(x + at + c * kDoubles), means[c]), scales[c]);
        hn::StoreU(hn::DemoteTo(DF(), r), DF(), y + at + c * kDoubles);
      }
    }
  }
}

// Any lane count (one channel of nchw, the last group of nhwc), one lane at a time.
void NormalizeAnyLanes(const ChannelView& v, const float* x, float* y, const Group& g, float eps) {
  const int lanes = g.lanes;
  const int64_t base = v.offset(g.n, g.c0, 0, 0);
  const double count = static_cast<double>(v.height * v.width);
  double origin[kMaxLanes] = {};
  double sum[kMaxLanes] = {};
  double squares[kMaxLanes] = {};
  for (int l = 0; l < lanes; ++l) origin[l] = x[base + l];
  for (int64_t h = 0; h < v.height; ++h) {
    for (int64_t w = 0; w < v.width; ++w) {
      const float* p = x + base + h * v.row + w * v.pixel;
      for (int l = 0; l < lanes; ++l) {
        const double d = p[l] - origin[l];
        sum[l] += d;
        squares[l] += d * d;
      }
    }
  }
  double mean[kMaxLanes] = {};
  double scale[kMaxLanes] = {};
  for (int l = 0; l < lanes; ++l) {
    const double shift = sum[l] / count;
    const double variance = std::max(squares[l] / count - shift * shift, 0.0);
    mean[l] = l < g.valid ? origin[l] + shift : 0.0;
    scale[l] = l < g.valid ? 1.0 / std::sqrt(variance + static_cast<double>(eps)) : 0.0;
  }
  for (int64_t h = 0; h < v.height; ++h) {
    for (int64_t w = 0; w < v.width; ++w) {
      const int64_t at = base + h * v.row + w * v.pixel;
      for (int l = 0; l < lanes; ++l) {
        y[at + l] = static_cast<float>((x[at + l] - mean[l]) * scale[l]);
      }
    }
  }
}

void NormalizeGroup(const ChannelView& v, const float* x, float* y, const Group& g, float eps) {
  if (g.lanes == 16) {
    NormalizeLanes<16>(v, x, y, g, eps);
  } else if (g.lanes == 8) {
    NormalizeLanes<8>(v, x, y, g, eps);
  } else {
    NormalizeAnyLanes(v, x, y, g, eps);
  }
}

// Writes (sum f * column, sum f * row) / max(sum f, 1e-6) of lane l for the valid lanes.
void StoreCentres(const ChannelView& v, const Group& g, const double* total, const double* sum_x,
                  const double* sum_y, float* out) {
  for (int l = 0; l < g.valid; ++l) {
    const double s = std::max(total[l], 1e-6);
    float* o = out + (g.n * v.channels + g.c0 + l) * 2;
    o[0] = static_cast<float>(sum_x[l] / s);
    o[1] = static_cast<float>(sum_y[l] / s);
  }
}

template <int kLanes>
void SoftArgmaxLanes(const ChannelView& v, const float* maps, float* out, const Group& g,
                     const double* columns) {
  constexpr int kChunks = kLanes / kDoubles;
  const DD dd;
  const int64_t base = v.offset(g.n, g.c0, 0, 0);
  VD total[kChunks], sum_x[kChunks], sum_y[kChunks];
  for (int c = 0; c < kChunks; ++c) total[c] = sum_x[c] = sum_y[c] = hn::Zero(dd);
  for (int64_t h = 0; h < v.height; ++h) {
    const VD row = hn::Set(dd, grid_coordinate(h, v.height));
    for (int64_t w = 0; w < v.width; ++w) {
      const float* p = maps + base + h * v.row + w * v.pixel;
      const VD col = hn::Set(dd, columns[w]);
      for (int c = 0; c < kChunks; ++c) {
        const VD f = LoadWide(p + c * kDoubles);
        total[c] = hn::Add(total[c], f);
        sum_x[c] = hn::Add(sum_x[c], hn::Mul(f, col));
        sum_y[c] = hn::Add(sum_y[c], hn::Mul(f, row));
      }
    }
  }
  HWY_ALIGN double totals[kLanes], xs[kLanes], ys[kLanes];
  for (int c = 0; c < kChunks; ++c) {
    hn::Store(total[c], dd, totals + c * kDoubles);
    hn::Store(sum_x[c], dd, xs + c * kDoubles);
    hn::Store(sum_y[c], dd, ys + c * kDoubles);
  }
  StoreCentres(v, g, totals, xs, ys, out);
}

void SoftArgmaxAnyLanes(const ChannelView& v, const float* maps, float* out, const Group& g,
                        const double* columns) {
  const int lanes = g.lanes;
  const int64_t base = v.offset(g.n, g.c0, 0, 0);
  double total[kMaxLanes] = {};
  double sum_x[kMaxLanes] = {};
  double sum_y[kMaxLanes] = {};
  for (int64_t h = 0; h < v.height; ++h) {
    const double row = grid_coordinate(h, v.height);
    for (int64_t w = 0; w < v.width; ++w) {
      const float* p = maps + base + h * v.row + w * v.pixel;
      const double col = columns[w];
      for (int l = 0; l < lanes; ++l) {
        const double f = p[l];
        total[l] += f;
        sum_x[l] += f * col;
        sum_y[l] += f * row;
      }
    }
  }
  StoreCentres(v, g, total, sum_x, sum_y, out);
}

void SoftArgmaxGroup(const ChannelView& v, const float* maps, float* out, const Group& g,
                     const double* columns) {
  if (g.lanes == 16) {
    SoftArgmaxLanes<16>(v, maps, out, g, columns);
  } else if (g.lanes == 8) {
    SoftArgmaxLanes<8>(v, maps, out, g, columns);
  } else {
    SoftArgmaxAnyLanes(v, maps, out, g, columns);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace starface::backends::onednn::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <vector>

#include "core/cpu.h"
#include "core/simd_dispatch.h"

namespace starface::backends::onednn {

namespace detail {
HWY_EXPORT(NormalizeGroup);
HWY_EXPORT(SoftArgmaxGroup);
}  // namespace detail

using detail::Group;
using detail::kMaxLanes;
using graph::grid_coordinate;

namespace {

// The work items of a map: one per block of nChw{8,16}c, 16 channels of nhwc, one channel
// of nchw.
std::vector<Group> channel_groups(const ChannelView& v) {
  std::vector<Group> groups;
  for (int64_t n = 0; n < v.batch; ++n) {
    for (int64_t c0 = 0; c0 < v.padded_channels;) {
      int64_t lanes = 1;
      if (v.block > 1) {
        lanes = std::min<int64_t>({kMaxLanes, v.block - c0 % v.block, v.padded_channels - c0});
      }
      const int64_t valid = std::clamp<int64_t>(v.channels - c0, 0, lanes);
      groups.push_back({n, c0, static_cast<int>(lanes), static_cast<int>(valid)});
      c0 += lanes;
    }
  }
  return groups;
}

}  // namespace

void instance_norm(const ChannelView& view, const float* x, float* y, float eps) {
  const std::vector<Group> groups = channel_groups(view);
  const int64_t count = static_cast<int64_t>(groups.size());
  const auto normalize = STARFACE_SIMD_FUNCTION(detail::NormalizeGroup, selected_simd_target());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) normalize(view, x, y, groups[i], eps);
}

void soft_argmax(const ChannelView& view, const float* maps, float* y) {
  const std::vector<Group> groups = channel_groups(view);
  std::vector<double> columns(view.width);
  for (int64_t w = 0; w < view.width; ++w) columns[w] = grid_coordinate(w, view.width);
  const int64_t count = static_cast<int64_t>(groups.size());
  const auto soft_argmax_group =
      STARFACE_SIMD_FUNCTION(detail::SoftArgmaxGroup, selected_simd_target());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) soft_argmax_group(view, maps, y, groups[i], columns.data());
}

void boundary_planes(const ChannelView& guide_view, const float* guide, float threshold,
                     const ChannelView& out, float* y) {
  const int64_t last = guide_view.channels - 1;
  const int64_t rows = out.batch * out.height;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / out.height;
    const int64_t h = r % out.height;
    const float row = static_cast<float>(grid_coordinate(h, out.height));
    for (int64_t w = 0; w < out.width; ++w) {
      // Clamp and compare in float32 like PyTorch, so a guide of exactly 0.05f is outside.
      const float g = std::clamp(guide[guide_view.offset(n, last, h, w)], 0.0f, 1.0f);
      const bool inside = g > threshold;
      y[out.offset(n, 0, h, w)] = inside ? row : 0.0f;
      y[out.offset(n, 1, h, w)] = inside ? static_cast<float>(grid_coordinate(w, out.width)) : 0.0f;
      for (int64_t c = 2; c < out.padded_channels; ++c) y[out.offset(n, c, h, w)] = 0.0f;
    }
  }
}

}  // namespace starface::backends::onednn

#endif  // HWY_ONCE
