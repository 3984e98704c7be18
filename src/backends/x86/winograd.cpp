// Winograd F(4x4, 3x3): per-target kernels (compiled once per Highway target by
// foreach_target.h re-including this file, for the targets core/simd_targets.h names) and
// the layer object that drives them.
#include "core/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/x86/winograd.cpp"
#include <algorithm>

#include "backends/x86/winograd_kernels.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep; must come before highway.h
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace starface::backends::x86::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;
constexpr int64_t kLanes = HWY_LANES(float);
// Tiles per micro-kernel call: rows x 2 accumulator vectors, plus the two weight vectors
// and a broadcast, must fit the register file (32 zmm on AVX-512, 16 ymm / xmm otherwise).
constexpr int64_t kRows = kLanes == 16 ? 12 : 6;

// The vector of channels [c0, c0 + kLanes) at pixel (n, y, x): one load where they are
// adjacent, else one by one; channels at or past `valid` read as zero.
HWY_INLINE V LoadPixel(const float* base, const ActivationView& view, int64_t valid, int64_t n,
                       int64_t c0, int64_t y, int64_t x) {
  const D d;
  if (view.adjacent(c0, kLanes) && c0 + kLanes <= valid) {
    return hn::LoadU(d, base + view.offset(n, c0, y, x));
  }
  HWY_ALIGN float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    const int64_t c = c0 + l;
    lanes[l] = c < valid ? base[view.offset(n, c, y, x)] : 0.0f;
  }
  return hn::Load(d, lanes);
}

// Stores the channels of `v` that exist in the layout (padding included).
HWY_INLINE void StorePixel(V v, float* base, const ActivationView& view, int64_t n, int64_t c0,
                           int64_t y, int64_t x) {
  const D d;
  if (view.adjacent(c0, kLanes)) {
    hn::StoreU(v, d, base + view.offset(n, c0, y, x));
    return;
  }
  HWY_ALIGN float lanes[kLanes];
  hn::Store(v, d, lanes);
  const int64_t end = std::min(c0 + kLanes, view.padded_channels);
  for (int64_t c = c0; c < end; ++c) base[view.offset(n, c, y, x)] = lanes[c - c0];
}

// One dimension of B^T d for the points 0, 1, -1, 2, -2, infinity:
//   [4  0 -5  0 1 0]   [0 -4 -4  1 1 0]   [0 4 -4 -1 1 0]
//   [0 -2 -1  2 1 0]   [0  2 -1 -2 1 0]   [0 4  0 -5 0 1]
HWY_INLINE void InputTransform1D(const V* d, V* t) {
  const D tag;
  const V four = hn::Set(tag, 4.0f), minus_four = hn::Set(tag, -4.0f);
  const V minus_five = hn::Set(tag, -5.0f), two = hn::Set(tag, 2.0f),
          minus_two = hn::Set(tag, -2.0f);
  const V d4_minus_d2 = hn::Sub(d[4], d[2]);
  const V d1_minus_d3 = hn::Sub(d[1], d[3]);
  t[0] = hn::MulAdd(four, d[0], hn::MulAdd(minus_five, d[2], d[4]));
  t[1] = hn::MulAdd(minus_four, hn::Add(d[1], d[2]), hn::Add(d[3], d[4]));
  t[2] = hn::MulAdd(four, hn::Sub(d[1], d[2]), hn::Sub(d[4], d[3]));
  t[3] = hn::MulAdd(minus_two, d1_minus_d3, d4_minus_d2);
  t[4] = hn::MulAdd(two, d1_minus_d3, d4_minus_d2);
  t[5] = hn::MulAdd(four, d[1], hn::MulAdd(minus_five, d[3], d[5]));
}

// One dimension of A^T m: [1 1 1 1 1 0] [0 1 -1 2 -2 0] [0 1 1 4 4 0] [0 1 -1 8 -8 1].
HWY_INLINE void OutputTransform1D(const V* m, V* o) {
  const D tag;
  const V sum12 = hn::Add(m[1], m[2]), diff12 = hn::Sub(m[1], m[2]);
  const V sum34 = hn::Add(m[3], m[4]), diff34 = hn::Sub(m[3], m[4]);
  o[0] = hn::Add(hn::Add(m[0], sum12), sum34);
  o[1] = hn::MulAdd(hn::Set(tag, 2.0f), diff34, diff12);
  o[2] = hn::MulAdd(hn::Set(tag, 4.0f), sum34, sum12);
  o[3] = hn::Add(hn::MulAdd(hn::Set(tag, 8.0f), diff34, diff12), m[5]);
}

struct TilePosition {
  int64_t n, y0, x0;  // image, first output row and column
};

HWY_INLINE TilePosition Locate(const Problem& p, int64_t tile) {
  const int64_t per_image = p.tiles_y * p.tiles_x;
  const int64_t in_image = tile % per_image;
  return {tile / per_image, (in_image / p.tiles_x) * kTile, (in_image % p.tiles_x) * kTile};
}

// Where channels [c0, c0 + kLanes) of image n start: pixel (y, x) is then at
// y * view.row + x * view.pixel from here.
HWY_INLINE int64_t ChannelBase(const ActivationView& view, int64_t n, int64_t c0) {
  return n * view.image + (c0 / view.block) * view.block_stride + c0 % view.block;
}

void InputTile(const Problem& p, int64_t tile, int64_t c0) {
  const D d;
  const TilePosition at = Locate(p, tile);
  const ActivationView& in = p.in;
  // One load per pixel where the channels are adjacent (the layouts the backend uses),
  // else a gather.
  const bool vector = in.adjacent(c0, kLanes) && c0 + kLanes <= p.in_channels;
  const float* base = p.src + ChannelBase(in, at.n, c0);
  const bool interior = at.y0 >= 1 && at.x0 >= 1 && at.y0 + kTileIn - 1 <= in.height &&
                        at.x0 + kTileIn - 1 <= in.width;
  // Columns first (B^T d), then rows (... B), through `rows` to keep few vectors live.
  HWY_ALIGN float rows[kPoints * kLanes];
  for (int64_t j = 0; j < kTileIn; ++j) {
    const int64_t x = at.x0 - 1 + j;
    V column[kTileIn], t[kTileIn];
    if (vector && interior) {
      const float* pixel = base + (at.y0 - 1) * in.row + x * in.pixel;
      for (int64_t i = 0; i < kTileIn; ++i) column[i] = hn::LoadU(d, pixel + i * in.row);
    } else {
      for (int64_t i = 0; i < kTileIn; ++i) {
        const int64_t y = at.y0 - 1 + i;
        const bool inside = y >= 0 && y < in.height && x >= 0 && x < in.width;
        if (!inside) {
          column[i] = hn::Zero(d);
        } else if (vector) {
          column[i] = hn::LoadU(d, base + y * in.row + x * in.pixel);
        } else {
          column[i] = LoadPixel(p.src, in, p.in_channels, at.n, c0, y, x);
        }
      }
    }
    InputTransform1D(column, t);
    for (int64_t i = 0; i < kTileIn; ++i) hn::Store(t[i], d, rows + (i * kTileIn + j) * kLanes);
  }
  float* v = p.v + (tile - p.row_base) * p.in_stride + c0;
  for (int64_t i = 0; i < kTileIn; ++i) {
    V row[kTileIn], t[kTileIn];
    for (int64_t j = 0; j < kTileIn; ++j) row[j] = hn::Load(d, rows + (i * kTileIn + j) * kLanes);
    InputTransform1D(row, t);
    for (int64_t j = 0; j < kTileIn; ++j) {
      hn::StoreU(t[j], d, v + (i * kTileIn + j) * p.v_point);
    }
  }
}

// c[r][0 .. 2 * kLanes) = sum over k of a[r][k] * b[k][0 .. 2 * kLanes), for R rows:
// 2R accumulators stay in registers while the two weight vectors of each k are loaded once.
template <int64_t R>
HWY_INLINE void MicroKernel(const float* HWY_RESTRICT a, int64_t lda, const float* HWY_RESTRICT b,
                            int64_t depth, float* HWY_RESTRICT c, int64_t ldc) {
  const D d;
  V acc0[R], acc1[R];
  for (int64_t r = 0; r < R; ++r) acc0[r] = acc1[r] = hn::Zero(d);
  for (int64_t k = 0; k < depth; ++k) {
    const V b0 = hn::LoadU(d, b + k * 2 * kLanes);
    const V b1 = hn::LoadU(d, b + k * 2 * kLanes + kLanes);
#pragma GCC unroll 16
    for (int64_t r = 0; r < R; ++r) {
      const V ar = hn::Set(d, a[r * lda + k]);
      acc0[r] = hn::MulAdd(ar, b0, acc0[r]);
      acc1[r] = hn::MulAdd(ar, b1, acc1[r]);
    }
  }
  for (int64_t r = 0; r < R; ++r) {
    hn::StoreU(acc0[r], d, c + r * ldc);
    hn::StoreU(acc1[r], d, c + r * ldc + kLanes);
  }
}

// MicroKernel for the last `rows` (< R) rows of a block.
template <int64_t R>
HWY_INLINE void MicroKernelTail(int64_t rows, const float* a, int64_t lda, const float* b,
                                int64_t depth, float* c, int64_t ldc) {
  if (rows == R) return MicroKernel<R>(a, lda, b, depth, c, ldc);
  if constexpr (R > 1) MicroKernelTail<R - 1>(rows, a, lda, b, depth, c, ldc);
}

void GemmRows(const Problem& p, int64_t point, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kPanel = 2 * kLanes;
  // Rows of v and m count from tile p.row_base.
  const float* a = p.v + point * p.v_point + (row_begin - p.row_base) * p.in_stride;
  float* c = p.m + point * p.m_point + (row_begin - p.row_base) * p.out_stride;
  const int64_t rows = row_end - row_begin;
  const int64_t panels = p.out_stride / kPanel;
  const float* u = p.u + point * panels * p.in_channels * kPanel;
  // Panel outermost: its weights (in_channels x kPanel) stay in L1 across the rows.
  for (int64_t panel = 0; panel < panels; ++panel) {
    const float* b = u + panel * p.in_channels * kPanel;
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows) {
      MicroKernel<kRows>(a + r * p.in_stride, p.in_stride, b, p.in_channels,
                         c + r * p.out_stride + panel * kPanel, p.out_stride);
    }
    if (r < rows) {
      MicroKernelTail<kRows - 1>(rows - r, a + r * p.in_stride, p.in_stride, b, p.in_channels,
                                 c + r * p.out_stride + panel * kPanel, p.out_stride);
    }
  }
}

void OutputTile(const Problem& p, int64_t tile, int64_t c0) {
  const D d;
  const TilePosition at = Locate(p, tile);
  const ActivationView& out = p.out;
  // Columns first (A^T m), then rows (... A), through `rows`.
  HWY_ALIGN float rows[kTile * kTileIn * kLanes];
  const float* m = p.m + (tile - p.row_base) * p.out_stride + c0;
  for (int64_t j = 0; j < kTileIn; ++j) {
    V column[kTileIn], o[kTile];
    for (int64_t i = 0; i < kTileIn; ++i) {
      column[i] = hn::LoadU(d, m + (i * kTileIn + j) * p.m_point);
    }
    OutputTransform1D(column, o);
    for (int64_t i = 0; i < kTile; ++i) hn::Store(o[i], d, rows + (i * kTileIn + j) * kLanes);
  }
  // One load / store per pixel where the channels are adjacent, else a scatter.
  const bool vector = out.adjacent(c0, kLanes);
  float* base = p.dst + ChannelBase(out, at.n, c0);
  const V bias = hn::LoadU(d, p.bias + c0);
  const V zero = hn::Zero(d);
  for (int64_t i = 0; i < kTile; ++i) {
    const int64_t y = at.y0 + i;
    if (y >= out.height) break;
    V row[kTileIn], o[kTile];
    for (int64_t j = 0; j < kTileIn; ++j) row[j] = hn::Load(d, rows + (i * kTileIn + j) * kLanes);
    OutputTransform1D(row, o);
    for (int64_t j = 0; j < kTile; ++j) {
      const int64_t x = at.x0 + j;
      if (x >= out.width) break;
      float* pixel = base + y * out.row + x * out.pixel;
      V sum = hn::Add(o[j], bias);
      if (p.map) sum = hn::Add(sum, hn::LoadU(d, p.map + (y * out.width + x) * p.out_stride + c0));
      if (p.accumulate) {
        sum = hn::Add(sum, vector ? hn::LoadU(d, pixel)
                                  : LoadPixel(p.dst, out, out.padded_channels, at.n, c0, y, x));
      }
      if (p.relu) sum = hn::Max(sum, zero);
      if (vector) {
        hn::StoreU(sum, d, pixel);
      } else {
        StorePixel(sum, p.dst, out, at.n, c0, y, x);
      }
    }
  }
}

const Kernels* KernelTable() {
  static const Kernels kernels{kLanes, 2 * kLanes, kRows, &InputTile, &GemmRows, &OutputTile};
  return &kernels;
}

}  // namespace HWY_NAMESPACE
}  // namespace starface::backends::x86::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <omp.h>

#include "core/error.h"
#include "core/simd_dispatch.h"

namespace starface::backends::x86 {

namespace detail {
HWY_EXPORT(KernelTable);
}  // namespace detail

using detail::kChannelPad;
using detail::Kernels;
using detail::kPoints;
using detail::kPointSkew;
using detail::kTile;
using detail::Problem;

namespace {

// The kernels of `target`.
const Kernels& compiled_kernels(SimdTarget target) {
  return *STARFACE_SIMD_FUNCTION(detail::KernelTable, target)();
}

// Tiles per work item, in micro-kernel rows: enough rows to reuse each weight panel from L1
// a few times, few enough that the item's V and M rows (36 x tiles x (Ci + Co) floats,
// 884 KB for 24 tiles of a 128 -> 128 conv) stay in a 1 MB L2. Measured on Zen 4, one
// thread, 128 -> 128 at 64x64: 3.60 ms at 2 rows (24 tiles), 3.73 at 1, 3.97 at 4.
constexpr int64_t kMaxChunkRows = 2;

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// G g G^T for one 3x3 kernel, in double: G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
// 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
void transform_kernel(const float* g, double u[6][6]) {
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};
  double gg[6][3] = {};
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 3; ++k) gg[i][j] += G[i][k] * g[k * 3 + j];
    }
  }
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      u[i][j] = 0;
      for (int k = 0; k < 3; ++k) u[i][j] += gg[i][k] * G[j][k];
    }
  }
}

// How run() splits a layer over its threads, and the scratch that takes: each work item
// takes a chunk of tiles through all three steps (input transform, the 36 GEMMs of its
// rows, output transform) in its thread's own slot of scratch, so the chunk's transformed
// data stays in that core's L2, and the threads meet at one barrier per layer instead of
// one per step. That matters on a loaded machine, where each barrier costs a time slice
// whenever another process holds a core: splitting the steps separately on the small maps
// (three barriers) made a 2-thread run slower than oneDNN there. Small maps get small
// chunks (a 4x4 map is one tile: one thread works), and the timing at compile time keeps
// oneDNN where that loses.
struct WorkSplit {
  int64_t threads = 1;
  int64_t chunk = 0, chunks = 0;  // tiles per work item, work items
  size_t slot_floats = 0;         // scratch per thread
  size_t total_floats() const { return slot_floats * static_cast<size_t>(threads); }
};

WorkSplit split_work(const Kernels& k, int64_t tiles, int64_t threads, int64_t in_stride,
                     int64_t out_stride) {
  WorkSplit s;
  s.threads = threads;
  // Equal chunks, the same number per thread, of at most kMaxChunkRows micro-kernel rows.
  const int64_t per_thread = (tiles + threads - 1) / threads;
  const int64_t max_chunk = k.rows * kMaxChunkRows;
  const int64_t pieces = (per_thread + max_chunk - 1) / max_chunk;
  s.chunk = std::max<int64_t>(1, (per_thread + pieces - 1) / pieces);
  s.chunks = (tiles + s.chunk - 1) / s.chunk;
  s.slot_floats =
      static_cast<size_t>(kPoints * (s.chunk * (in_stride + out_stride) + 2 * kPointSkew));
  return s;
}

// Points p's transformed matrices at `slot` of `scratch`, holding a chunk of tiles from
// tile `row_base` on.
void use_slot(Problem& p, float* scratch, const WorkSplit& s, int64_t slot, int64_t row_base) {
  p.v_point = s.chunk * p.in_stride + kPointSkew;
  p.m_point = s.chunk * p.out_stride + kPointSkew;
  p.v = scratch + slot * s.slot_floats;
  p.m = p.v + kPoints * p.v_point;
  p.row_base = row_base;
}

void run_in_chunks(const Kernels& k, const Problem& problem, const WorkSplit& s, float* scratch) {
  const int64_t in_groups = (problem.in_channels + k.lanes - 1) / k.lanes;
  const int64_t out_groups = (problem.out.padded_channels + k.lanes - 1) / k.lanes;
#pragma omp parallel num_threads(s.threads)
  {
    Problem p = problem;
    const int64_t slot = omp_get_thread_num();
#pragma omp for schedule(static)
    for (int64_t c = 0; c < s.chunks; ++c) {
      const int64_t begin = c * s.chunk;
      const int64_t end = std::min(p.tiles, begin + s.chunk);
      use_slot(p, scratch, s, slot, begin);
      for (int64_t tile = begin; tile < end; ++tile) {
        for (int64_t g = 0; g < in_groups; ++g) k.input_tile(p, tile, g * k.lanes);
      }
      for (int64_t point = 0; point < kPoints; ++point) k.gemm_rows(p, point, begin, end);
      for (int64_t tile = begin; tile < end; ++tile) {
        for (int64_t g = 0; g < out_groups; ++g) k.output_tile(p, tile, g * k.lanes);
      }
    }
  }
}

int64_t tile_count(int64_t batch, int64_t height, int64_t width) {
  return batch * ((height + kTile - 1) / kTile) * ((width + kTile - 1) / kTile);
}

}  // namespace

Winograd3x3::Winograd3x3(const float* weights, const float* bias, int64_t out_channels,
                         int64_t in_channels, bool relu, SimdTarget isa, const float* bias_map,
                         int64_t map_height, int64_t map_width)
    : isa_(isa), in_channels_(in_channels), out_channels_(out_channels), relu_(relu) {
  if (out_channels < 1 || in_channels < 1) {
    throw Error(ErrorCode::kBadArgument, "winograd: channel counts must be positive, got " +
                                             std::to_string(out_channels) + " x " +
                                             std::to_string(in_channels));
  }
  if (!simd_target_supported(isa)) {
    throw Error(ErrorCode::kBadArgument, std::string("winograd: this CPU cannot run the ") +
                                             simd_target_name(isa) + " kernels");
  }
  const Kernels& k = compiled_kernels(isa);
  panel_ = k.panel;
  in_stride_ = round_up(in_channels, kChannelPad);
  out_stride_ = round_up(out_channels, std::max(kChannelPad, panel_));
  const int64_t panels = out_stride_ / panel_;

  weights_.assign(kPoints * out_stride_ * in_channels, 0.0f);
  double u[6][6];
  for (int64_t co = 0; co < out_channels; ++co) {
    for (int64_t ci = 0; ci < in_channels; ++ci) {
      transform_kernel(weights + (co * in_channels + ci) * 9, u);
      for (int64_t point = 0; point < kPoints; ++point) {
        const int64_t at =
            ((point * panels + co / panel_) * in_channels + ci) * panel_ + co % panel_;
        weights_[at] = static_cast<float>(u[point / 6][point % 6]);
      }
    }
  }
  bias_.assign(out_stride_, 0.0f);
  std::copy_n(bias, out_channels, bias_.begin());
  if (bias_map) {
    map_height_ = map_height;
    map_width_ = map_width;
    map_.assign(map_height * map_width * out_stride_, 0.0f);
    for (int64_t co = 0; co < out_channels; ++co) {
      for (int64_t i = 0; i < map_height * map_width; ++i) {
        map_[i * out_stride_ + co] = bias_map[co * map_height * map_width + i];
      }
    }
  }
}

size_t Winograd3x3::scratch_floats(int64_t batch, int64_t height, int64_t width) const {
  const Kernels& k = compiled_kernels(isa_);
  return split_work(k, tile_count(batch, height, width), omp_get_max_threads(), in_stride_,
                    out_stride_)
      .total_floats();
}

void Winograd3x3::run(const float* src, const ActivationView& in, float* dst,
                      const ActivationView& out, bool accumulate, float* scratch,
                      size_t scratch_size) const {
  if (in.channels != in_channels_ || out.channels != out_channels_ || in.batch != out.batch ||
      in.height != out.height || in.width != out.width ||
      (!map_.empty() && (out.height != map_height_ || out.width != map_width_))) {
    throw Error(ErrorCode::kShapeMismatch,
                "winograd: input [" + std::to_string(in.batch) + "," + std::to_string(in.channels) +
                    "," + std::to_string(in.height) + "," + std::to_string(in.width) +
                    "] does not fit the layer");
  }
  const Kernels& k = compiled_kernels(isa_);
  Problem p;
  p.src = src;
  p.in = in;
  p.dst = dst;
  p.out = out;
  p.in_channels = in_channels_;
  p.out_channels = out_channels_;
  p.in_stride = in_stride_;
  p.out_stride = out_stride_;
  p.tiles_y = (in.height + kTile - 1) / kTile;
  p.tiles_x = (in.width + kTile - 1) / kTile;
  p.tiles = tile_count(in.batch, in.height, in.width);
  p.u = weights_.data();
  p.bias = bias_.data();
  p.map = map_.empty() ? nullptr : map_.data();
  p.relu = relu_;
  p.accumulate = accumulate;

  // Fewer threads than OpenMP offers when the scratch was sized for fewer.
  WorkSplit split;
  for (int64_t threads = omp_get_max_threads(); threads >= 1; --threads) {
    split = split_work(k, p.tiles, threads, in_stride_, out_stride_);
    if (split.total_floats() <= scratch_size) break;
  }
  if (split.total_floats() > scratch_size) {
    throw Error(ErrorCode::kBadArgument, "winograd: scratch of " + std::to_string(scratch_size) +
                                             " floats is too small, need " +
                                             std::to_string(split.total_floats()));
  }
  run_in_chunks(k, p, split, scratch);
}

}  // namespace starface::backends::x86

#endif  // HWY_ONCE
