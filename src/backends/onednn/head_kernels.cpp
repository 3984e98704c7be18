#include "backends/onednn/head_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "graph/grid.h"

namespace starface::backends::onednn {

using graph::grid_coordinate;
namespace {

constexpr int kMaxLanes = 16;

// `lanes` adjacent channels c0.. of image n; `valid` of them are real, the rest padding.
struct Group {
  int64_t n = 0, c0 = 0;
  int lanes = 1, valid = 1;
};

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

// L > 0: a compile-time lane count the compiler vectorises; L == 0: g.lanes at run time.
template <int L>
[[gnu::always_inline]] inline void normalize_lanes(const ChannelView& v, const float* x, float* y,
                                                   const Group& g, float eps) {
  const int lanes = L > 0 ? L : g.lanes;
  const int64_t base = v.offset(g.n, g.c0, 0, 0);
  const double count = static_cast<double>(v.height * v.width);
  // One pass over deviations from each channel's first value: in double the shifted sums
  // do not cancel the way raw E[x^2] - E[x]^2 can, and the map is read once less.
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
    // Padded lanes map to 0 and stay 0.
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

STARFACE_ISA_CLONES void normalize_group(const ChannelView& v, const float* x, float* y,
                                         const Group& g, float eps) {
  if (g.lanes == 16) {
    normalize_lanes<16>(v, x, y, g, eps);
  } else if (g.lanes == 8) {
    normalize_lanes<8>(v, x, y, g, eps);
  } else {
    normalize_lanes<0>(v, x, y, g, eps);
  }
}

template <int L>
[[gnu::always_inline]] inline void soft_argmax_lanes(const ChannelView& v, const float* maps,
                                                     float* out, const Group& g,
                                                     const double* columns) {
  const int lanes = L > 0 ? L : g.lanes;
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
  for (int l = 0; l < g.valid; ++l) {
    const double s = std::max(total[l], 1e-6);
    float* o = out + (g.n * v.channels + g.c0 + l) * 2;
    o[0] = static_cast<float>(sum_x[l] / s);
    o[1] = static_cast<float>(sum_y[l] / s);
  }
}

STARFACE_ISA_CLONES void soft_argmax_group(const ChannelView& v, const float* maps, float* out,
                                           const Group& g, const double* columns) {
  if (g.lanes == 16) {
    soft_argmax_lanes<16>(v, maps, out, g, columns);
  } else if (g.lanes == 8) {
    soft_argmax_lanes<8>(v, maps, out, g, columns);
  } else {
    soft_argmax_lanes<0>(v, maps, out, g, columns);
  }
}

}  // namespace

void instance_norm(const ChannelView& view, const float* x, float* y, float eps) {
  const std::vector<Group> groups = channel_groups(view);
  const int64_t count = static_cast<int64_t>(groups.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) normalize_group(view, x, y, groups[i], eps);
}

void soft_argmax(const ChannelView& view, const float* maps, float* y) {
  const std::vector<Group> groups = channel_groups(view);
  std::vector<double> columns(view.width);
  for (int64_t w = 0; w < view.width; ++w) columns[w] = grid_coordinate(w, view.width);
  const int64_t count = static_cast<int64_t>(groups.size());
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
