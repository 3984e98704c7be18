// Direct convolution with double accumulation.
//
// Each (n, output channel) plane is computed by one thread: a double accumulator plane
// starts at the bias, and every (input channel, kernel tap) adds weight * shifted input,
// row by row, over the contiguous output columns whose input column is inside the image
// (which is how zero padding is honoured without materialising a padded copy). A float32
// product is exact in double, so the only rounding is in the double sums and the final
// conversion to float32: orders of magnitude below float32 kernels' error.
//
// Speed still matters because the full model is 17 G multiply-adds per face. Two plain
// measures make it a few seconds on 2 cores: input channels are taken four at a time (one
// accumulator update per four products, and independent products the compiler vectorises),
// and output rows are processed in tiles whose accumulators stay in L1.
#include <omp.h>

#include <algorithm>
#include <array>
#include <vector>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"

namespace starface::backends::ref {
namespace {

constexpr int kChannelGroup = 4;
// Accumulator doubles per row tile: 8 KiB, a quarter of a typical L1 data cache.
constexpr int64_t kTileDoubles = 1024;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Geometry {
  int64_t in_channels, in_h, in_w;
  int64_t kernel_h, kernel_w;
  int64_t out_h, out_w;
  int64_t stride, pad;
};

// The output indices [lo, hi) along one axis whose input index o * stride - pad + tap lies
// in [0, size).
void valid_range(int64_t tap, int64_t size, int64_t out_size, const Geometry& g, int64_t* lo,
                 int64_t* hi) {
  // o * stride >= pad - tap  and  o * stride <= size - 1 + pad - tap.
  *lo = std::max<int64_t>(0, -floor_div(tap - g.pad, g.stride));
  *hi = std::min<int64_t>(out_size, floor_div(size - 1 + g.pad - tap, g.stride) + 1);
}

// acc[o] += sum_k w[k] * rows[k][o * stride] for o < count, with the G products summed
// first (left to right) so the loop over o carries no dependency and vectorises.
template <int G>
void accumulate_row(double* __restrict acc, const std::array<const float*, kChannelGroup>& rows,
                    const double* w, int64_t count, int64_t stride) {
  if (stride == 1) {
    for (int64_t o = 0; o < count; ++o) {
      double s = w[0] * rows[0][o];
      for (int k = 1; k < G; ++k) s += w[k] * rows[k][o];
      acc[o] += s;
    }
  } else {
    for (int64_t o = 0; o < count; ++o) {
      double s = w[0] * rows[0][o * stride];
      for (int k = 1; k < G; ++k) s += w[k] * rows[k][o * stride];
      acc[o] += s;
    }
  }
}

// Adds the contribution of input channels [c0, c0 + G) to the output rows [r0, r1) held in
// `acc` (row r at acc + (r - r0) * out_w). `x` is one image [Ci,H,W], `w` the weights of one
// output channel [Ci,Kh,Kw] in double.
template <int G>
void accumulate_channels(double* acc, const float* x, const double* w, int64_t c0, int64_t r0,
                         int64_t r1, const Geometry& g) {
  const int64_t plane = g.in_h * g.in_w;
  const int64_t taps = g.kernel_h * g.kernel_w;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    int64_t row_lo = 0;
    int64_t row_hi = 0;
    valid_range(ky, g.in_h, g.out_h, g, &row_lo, &row_hi);
    row_lo = std::max(row_lo, r0);
    row_hi = std::min(row_hi, r1);
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      int64_t col_lo = 0;
      int64_t col_hi = 0;
      valid_range(kx, g.in_w, g.out_w, g, &col_lo, &col_hi);
      if (col_lo >= col_hi) continue;
      std::array<double, kChannelGroup> wk{};
      for (int k = 0; k < G; ++k) wk[k] = w[(c0 + k) * taps + ky * g.kernel_w + kx];
      const int64_t first_col = col_lo * g.stride - g.pad + kx;
      for (int64_t r = row_lo; r < row_hi; ++r) {
        const int64_t in_row = r * g.stride - g.pad + ky;
        std::array<const float*, kChannelGroup> rows{};
        for (int k = 0; k < G; ++k) rows[k] = x + (c0 + k) * plane + in_row * g.in_w + first_col;
        accumulate_row<G>(acc + (r - r0) * g.out_w + col_lo, rows, wk.data(), col_hi - col_lo,
                          g.stride);
      }
    }
  }
}

// One output plane: y = bias [+ bias_map] + sum over input channels and taps, via row
// tiles of `acc`. `bias_map` is this channel's per-pixel bias plane or null.
void conv_plane(float* y, const float* x, const double* w, double bias, const float* bias_map,
                const Geometry& g, double* acc) {
  const int64_t tile_rows = std::max<int64_t>(1, kTileDoubles / g.out_w);
  for (int64_t r0 = 0; r0 < g.out_h; r0 += tile_rows) {
    const int64_t r1 = std::min(g.out_h, r0 + tile_rows);
    const int64_t count = (r1 - r0) * g.out_w;
    std::fill(acc, acc + count, bias);
    if (bias_map) {
      for (int64_t i = 0; i < count; ++i) acc[i] += bias_map[r0 * g.out_w + i];
    }
    int64_t c = 0;
    for (; c + kChannelGroup <= g.in_channels; c += kChannelGroup) {
      accumulate_channels<kChannelGroup>(acc, x, w, c, r0, r1, g);
    }
    for (; c < g.in_channels; ++c) accumulate_channels<1>(acc, x, w, c, r0, r1, g);
    float* out = y + r0 * g.out_w;
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(acc[i]);
  }
}

constexpr const char* kOp = "conv2d";

// The geometry of x convolved with weight in `groups` groups (Geometry counts the input
// channels of one group: each output channel reads only those), checked against the
// operands: kBadArgument or kShapeMismatch naming what does not fit.
Geometry conv_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride,
                       int pad, int groups) {
  if (stride < 1 || pad < 0 || groups < 1) {
    throw Error(ErrorCode::kBadArgument, std::string(kOp) + ": stride " + std::to_string(stride) +
                                             ", pad " + std::to_string(pad) + " and groups " +
                                             std::to_string(groups) +
                                             " must be >= 1, >= 0 and >= 1");
  }
  const int64_t out_channels = weight.dim(0);
  Geometry g{
      x.dim(1) / groups, x.dim(2), x.dim(3), weight.dim(2), weight.dim(3), 0, 0, stride, pad};
  if (x.dim(1) % groups != 0 || out_channels % groups != 0 || weight.dim(1) != g.in_channels) {
    detail::shape_error(kOp, "weight " + shape_str(weight.shape()) + " does not fit input " +
                                 shape_str(x.shape()) + " in " + std::to_string(groups) +
                                 " groups (" + std::to_string(x.dim(1)) + " input channels)");
  }
  detail::expect_shape(bias.shape(), {out_channels}, kOp, "bias");
  if (g.in_h + 2 * g.pad < g.kernel_h || g.in_w + 2 * g.pad < g.kernel_w) {
    detail::shape_error(kOp, "input " + shape_str(x.shape()) + " with pad " + std::to_string(pad) +
                                 " is smaller than the kernel " + shape_str(weight.shape()));
  }
  g.out_h = (g.in_h + 2 * g.pad - g.kernel_h) / g.stride + 1;
  g.out_w = (g.in_w + 2 * g.pad - g.kernel_w) / g.stride + 1;
  return g;
}

// The bias map as float32 [1, Co, OH, OW], or an undefined tensor where there is none.
Tensor checked_bias_map(const Tensor& bias_map_in, int64_t out_channels, const Geometry& g) {
  if (!bias_map_in.defined()) return Tensor();
  Tensor bias_map = detail::float32_operand(bias_map_in, kOp, "bias map", 4);
  detail::expect_shape(bias_map.shape(), {1, out_channels, g.out_h, g.out_w}, kOp, "bias map");
  return bias_map;
}

// Every (image, output channel) plane of y, each by one thread with its own accumulator tile.
void conv_planes(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& bias_map,
                 int groups, const Geometry& g, Tensor& y) {
  const int64_t batch = x.dim(0);
  const int64_t out_channels = weight.dim(0);
  const float* map = bias_map.defined() ? bias_map.data<float>() : nullptr;
  const float* wf = weight.data<float>();
  const std::vector<double> w(wf, wf + weight.numel());
  const float* b = bias.data<float>();
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  const int64_t in_image = x.dim(1) * g.in_h * g.in_w;
  const int64_t group_input = g.in_channels * g.in_h * g.in_w;
  const int64_t outputs_per_group = out_channels / groups;
  const int64_t out_plane = g.out_h * g.out_w;
  const int64_t filter = g.in_channels * g.kernel_h * g.kernel_w;
  const int64_t tile = std::max<int64_t>(1, kTileDoubles / g.out_w) * g.out_w;

  // Scratch is allocated here, not inside the parallel region, so that an allocation
  // failure is an ordinary exception.
  const int threads = omp_get_max_threads();
  std::vector<double> scratch(static_cast<size_t>(threads) * tile);
#pragma omp parallel num_threads(threads)
  {
    double* acc = scratch.data() + static_cast<size_t>(omp_get_thread_num()) * tile;
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t o = 0; o < out_channels; ++o) {
        conv_plane(yd + (n * out_channels + o) * out_plane,
                   xd + n * in_image + (o / outputs_per_group) * group_input, w.data() + o * filter,
                   b[o], map ? map + o * out_plane : nullptr, g, acc);
      }
    }
  }
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, int stride,
              int pad, const Tensor& bias_map_in, int groups) {
  const Tensor x = detail::float32_operand(x_in, kOp, "input", 4);
  const Tensor weight = detail::float32_operand(weight_in, kOp, "weight", 4);
  const Tensor bias = detail::float32_operand(bias_in, kOp, "bias", 1);
  const Geometry g = conv_geometry(x, weight, bias, stride, pad, groups);
  Tensor y(DType::kFloat32, {x.dim(0), weight.dim(0), g.out_h, g.out_w});
  if (y.numel() == 0) return y;
  const Tensor bias_map = checked_bias_map(bias_map_in, weight.dim(0), g);
  conv_planes(x, weight, bias, bias_map, groups, g, y);
  return y;
}

}  // namespace starface::backends::ref
