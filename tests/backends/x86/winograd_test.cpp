// The Winograd F(4x4, 3x3) kernel against the reference convolution, on every ISA this CPU
// runs (forced through set_max_simd_target), every activation layout, odd channel counts, map sizes
// that are not multiples of the 4x4 tile, batches 1..3 and every epilogue combination.
//
// Error bound. Winograd computes Y = A^T [sum_ci (G g G^T) . (B^T d B)] A, and its float
// rounding grows with the transform magnitudes, not with |Y|. To first order in the unit
// roundoff u = 2^-24, with |M| the elementwise absolute value:
//   V = B^T d B: each 1-D pass sums <= 4 terms with exact coefficients (0, +-1, +-2, +-4, -5)
//                in <= 3 roundings, two passes: |dV| <= 6u |B^T| |d| |B|
//   U = G g G^T: computed in double, rounded once:  |dU| <= u |G| |g| |G^T|
//   M = sum over Ci channels of U . V (FMA chain):  |dM| <= Ci u sum |U| . |V|
//   Y = A^T M A: <= 5 roundings per 1-D pass (coefficients 1, 2, 4, 8 exact), two passes
// so  |dY| <= (6 + 1 + Ci + 10) u W,  W = |A^T| [sum_ci (|G| |g| |G^T|) . (|B^T| |d| |B|)] |A|.
// The epilogue (bias, map, residual adds, and the reference's own rounding) adds at most
// 4u (|conv| + |bias| + |map| + |residual|). The test computes W per output in double and
// asserts |kernel - reference| <= (Ci + 20) u W + 4u (...) for every output element.
// W is what makes the bound honest: for these inputs it is 10-100x the direct conv's
// sum |g| |d|, and the observed errors sit well below the bound (the test also prints the
// worst error / bound ratio).
#include "backends/x86/winograd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/ref/kernels.h"
#include "core/error.h"
#include "support/fixtures.h"

namespace starface::backends::x86 {
namespace {

using starface::testing::random_tensor;

enum class Layout { kNchw, kNhwc, kNChw8c, kNChw16c };

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::kNchw:
      return "nchw";
    case Layout::kNhwc:
      return "nhwc";
    case Layout::kNChw8c:
      return "nChw8c";
    case Layout::kNChw16c:
      return "nChw16c";
  }
  return "?";
}

ActivationView make_view(Layout layout, int64_t n, int64_t c, int64_t h, int64_t w) {
  if (layout == Layout::kNchw) return nchw_view(n, c, h, w);
  ActivationView v;
  v.batch = n;
  v.channels = c;
  v.height = h;
  v.width = w;
  if (layout == Layout::kNhwc) {
    v.padded_channels = v.block = c;
    v.pixel = c;
    v.row = w * c;
    v.block_stride = 0;
    v.image = h * w * c;
    return v;
  }
  v.block = layout == Layout::kNChw8c ? 8 : 16;
  v.padded_channels = (c + v.block - 1) / v.block * v.block;
  v.pixel = v.block;
  v.row = w * v.block;
  v.block_stride = h * w * v.block;
  v.image = v.padded_channels * h * w;
  return v;
}

// The nchw tensor laid out as `view`, padding channels set to `padding`.
std::vector<float> pack(const Tensor& t, const ActivationView& view, float padding) {
  std::vector<float> out(view.batch * view.image, padding);
  const float* src = t.data<float>();
  for (int64_t n = 0; n < view.batch; ++n) {
    for (int64_t c = 0; c < view.channels; ++c) {
      for (int64_t y = 0; y < view.height; ++y) {
        for (int64_t x = 0; x < view.width; ++x) {
          out[view.offset(n, c, y, x)] =
              src[((n * view.channels + c) * view.height + y) * view.width + x];
        }
      }
    }
  }
  return out;
}

float at(const std::vector<float>& data, const ActivationView& view, int64_t n, int64_t c,
         int64_t y, int64_t x) {
  return data[view.offset(n, c, y, x)];
}

// |B^T|, |G|, |A^T| of F(4x4, 3x3).
constexpr double kBt[6][6] = {{4, 0, 5, 0, 1, 0}, {0, 4, 4, 1, 1, 0}, {0, 4, 4, 1, 1, 0},
                              {0, 2, 1, 2, 1, 0}, {0, 2, 1, 2, 1, 0}, {0, 4, 0, 5, 0, 1}};
constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                             {1.0 / 6, 1.0 / 6, 1.0 / 6},
                             {1.0 / 6, 1.0 / 6, 1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6},
                             {0, 0, 1}};
constexpr double kAt[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, 1, 8, 8, 1}};

// W of the header comment for every output [N, Co, H, W].
std::vector<double> transform_magnitude(const Tensor& x, const Tensor& w) {
  const int64_t batch = x.dim(0), ci_count = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t co_count = w.dim(0);
  const float* xs = x.data<float>();
  const float* ws = w.data<float>();
  // |G| |g| |G^T| per (co, ci).
  std::vector<double> u(co_count * ci_count * 36);
  for (int64_t k = 0; k < co_count * ci_count; ++k) {
    double gg[6][3] = {};
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 3; ++j) {
        for (int l = 0; l < 3; ++l) gg[i][j] += kG[i][l] * std::fabs(ws[k * 9 + l * 3 + j]);
      }
    }
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 6; ++j) {
        double s = 0;
        for (int l = 0; l < 3; ++l) s += gg[i][l] * kG[j][l];
        u[k * 36 + i * 6 + j] = s;
      }
    }
  }
  std::vector<double> out(batch * co_count * h * wd, 0.0);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t ty = 0; ty < h; ty += 4) {
      for (int64_t tx = 0; tx < wd; tx += 4) {
        // |B^T| |d| |B| per input channel of this tile.
        std::vector<double> v(ci_count * 36);
        for (int64_t ci = 0; ci < ci_count; ++ci) {
          double d[6][6], t[6][6];
          for (int i = 0; i < 6; ++i) {
            for (int j = 0; j < 6; ++j) {
              const int64_t y = ty - 1 + i, xx = tx - 1 + j;
              const bool inside = y >= 0 && y < h && xx >= 0 && xx < wd;
              d[i][j] = inside ? std::fabs(xs[((n * ci_count + ci) * h + y) * wd + xx]) : 0.0;
            }
          }
          for (int i = 0; i < 6; ++i) {
            for (int j = 0; j < 6; ++j) {
              t[i][j] = 0;
              for (int l = 0; l < 6; ++l) t[i][j] += kBt[i][l] * d[l][j];
            }
          }
          for (int i = 0; i < 6; ++i) {
            for (int j = 0; j < 6; ++j) {
              double s = 0;
              for (int l = 0; l < 6; ++l) s += t[i][l] * kBt[j][l];
              v[ci * 36 + i * 6 + j] = s;
            }
          }
        }
        for (int64_t co = 0; co < co_count; ++co) {
          double m[36] = {};
          for (int64_t ci = 0; ci < ci_count; ++ci) {
            for (int p = 0; p < 36; ++p) m[p] += u[(co * ci_count + ci) * 36 + p] * v[ci * 36 + p];
          }
          double t[4][6];
          for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 6; ++j) {
              t[i][j] = 0;
              for (int l = 0; l < 6; ++l) t[i][j] += kAt[i][l] * m[l * 6 + j];
            }
          }
          for (int i = 0; i < 4 && ty + i < h; ++i) {
            for (int j = 0; j < 4 && tx + j < wd; ++j) {
              double s = 0;
              for (int l = 0; l < 6; ++l) s += t[i][l] * kAt[j][l];
              out[((n * co_count + co) * h + ty + i) * wd + tx + j] = s;
            }
          }
        }
      }
    }
  }
  return out;
}

struct Case {
  int64_t batch, in_channels, out_channels, height, width;
  bool relu, map, residual;
  Layout layout;
};

std::string describe(const Case& c, SimdTarget isa) {
  return std::string(simd_target_name(isa)) + " " + layout_name(c.layout) + " N" +
         std::to_string(c.batch) + " Ci" + std::to_string(c.in_channels) + " Co" +
         std::to_string(c.out_channels) + " " + std::to_string(c.height) + "x" +
         std::to_string(c.width) + (c.relu ? " relu" : "") + (c.map ? " map" : "") +
         (c.residual ? " residual" : "");
}

// Runs one case; returns the worst |error| / bound.
double check_case(const Case& c, SimdTarget isa, uint32_t seed) {
  const std::string what = describe(c, isa);
  const Tensor x = random_tensor({c.batch, c.in_channels, c.height, c.width}, seed);
  const float bound_w = 1.5f / std::sqrt(static_cast<float>(c.in_channels * 9));
  const Tensor w =
      random_tensor({c.out_channels, c.in_channels, 3, 3}, seed + 1, -bound_w, bound_w);
  const Tensor b = random_tensor({c.out_channels}, seed + 2, -0.5f, 0.5f);
  const Tensor map = random_tensor({1, c.out_channels, c.height, c.width}, seed + 3);
  const Tensor res = random_tensor({c.batch, c.out_channels, c.height, c.width}, seed + 4);
  const Tensor conv = ref::conv2d(x, w, b, 1, 1, c.map ? map : Tensor());

  const ActivationView in = make_view(c.layout, c.batch, c.in_channels, c.height, c.width);
  const ActivationView out = make_view(c.layout, c.batch, c.out_channels, c.height, c.width);
  const std::vector<float> src = pack(x, in, 0.0f);
  // Without a residual, dst starts as garbage the kernel must overwrite, padding included.
  std::vector<float> dst =
      c.residual ? pack(res, out, 0.0f) : std::vector<float>(out.batch * out.image, 1234.5f);
  const Winograd3x3 layer(w.data<float>(), b.data<float>(), c.out_channels, c.in_channels, c.relu,
                          isa, c.map ? map.data<float>() : nullptr, c.height, c.width);
  EXPECT_EQ(layer.isa(), isa);
  std::vector<float> scratch(layer.scratch_floats(c.batch, c.height, c.width));
  layer.run(src.data(), in, dst.data(), out, c.residual, scratch.data(), scratch.size());

  const std::vector<double> magnitude = transform_magnitude(x, w);
  constexpr double u = 1.0 / (1 << 24);
  const double coefficient = (static_cast<double>(c.in_channels) + 20) * u;
  double worst = 0;
  int failures = 0;
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t co = 0; co < out.padded_channels; ++co) {
      for (int64_t y = 0; y < c.height; ++y) {
        for (int64_t xx = 0; xx < c.width; ++xx) {
          const float got = at(dst, out, n, co, y, xx);
          if (co >= c.out_channels) {  // layout padding
            if (got != 0.0f && ++failures <= 3) ADD_FAILURE() << what << ": padding " << got;
            continue;
          }
          const int64_t i = ((n * c.out_channels + co) * c.height + y) * c.width + xx;
          const int64_t plane = (co * c.height + y) * c.width + xx;
          double want = conv.data<float>()[i];
          double others = std::fabs(b.data<float>()[co]) + std::fabs(want);
          if (c.map) others += std::fabs(map.data<float>()[plane]);
          if (c.residual) {
            want += res.data<float>()[i];
            others += std::fabs(res.data<float>()[i]);
          }
          if (c.relu) want = std::max(want, 0.0);
          const double bound = coefficient * magnitude[i] + 4 * u * others;
          const double error = std::fabs(got - want);
          worst = std::max(worst, error / bound);
          if (!(error <= bound) && ++failures <= 3) {
            ADD_FAILURE() << what << ": at n" << n << " c" << co << " y" << y << " x" << xx
                          << " got " << got << " want " << want << " error " << error << " bound "
                          << bound;
          }
        }
      }
    }
  }
  return worst;
}

std::vector<SimdTarget> isas_here() {
  std::vector<SimdTarget> isas;
  for (SimdTarget isa : {SimdTarget::kAvx512, SimdTarget::kAvx2, SimdTarget::kScalar}) {
    if (simd_target_supported(isa)) isas.push_back(isa);
  }
  return isas;
}

TEST(Winograd, ScalarAndAvx2AreAlwaysThere) {
  // Every x86-64 CPU this project targets has AVX2+FMA; scalar runs anywhere (on aarch64 it
  // is the NEON baseline).
  EXPECT_TRUE(simd_target_supported(SimdTarget::kScalar));
#if defined(__x86_64__)
  EXPECT_TRUE(simd_target_supported(SimdTarget::kAvx2));
#endif
}

TEST(Winograd, MatchesReferenceOnEveryIsaLayoutAndEpilogue) {
  // Channel counts off the vector widths, sizes off the 4x4 tile, batches 1..3; from one
  // tile (one thread works) to several chunks of tiles per thread.
  const Case shapes[] = {{1, 5, 3, 7, 9, false, false, false, Layout::kNchw},
                         {2, 13, 17, 6, 5, false, false, false, Layout::kNhwc},
                         {3, 20, 9, 5, 11, false, false, false, Layout::kNChw8c},
                         {1, 37, 33, 10, 6, false, false, false, Layout::kNChw16c},
                         {2, 16, 32, 8, 8, false, false, false, Layout::kNhwc},
                         {1, 1, 1, 1, 1, false, false, false, Layout::kNchw},
                         {1, 24, 40, 13, 3, false, false, false, Layout::kNChw8c},
                         // 60 tiles: several chunks per thread on every ISA.
                         {2, 19, 35, 21, 18, false, false, false, Layout::kNhwc}};
  uint32_t seed = 100;
  for (SimdTarget isa : isas_here()) {
    double worst = 0;
    for (Case shape : shapes) {
      for (int epilogue = 0; epilogue < 8; ++epilogue) {
        Case c = shape;
        c.relu = epilogue & 1;
        c.map = epilogue & 2;
        c.residual = epilogue & 4;
        worst = std::max(worst, check_case(c, isa, seed += 10));
      }
    }
    // Far below 1 in practice; printed so a drift toward the bound shows up in logs.
    std::printf("%s: worst error / bound %.3g\n", simd_target_name(isa), worst);
  }
}

TEST(Winograd, EveryLayoutOnEveryIsa) {
  uint32_t seed = 900;
  for (SimdTarget isa : isas_here()) {
    for (Layout layout : {Layout::kNchw, Layout::kNhwc, Layout::kNChw8c, Layout::kNChw16c}) {
      check_case({2, 19, 21, 9, 7, true, true, true, layout}, isa, seed += 10);
    }
  }
}

TEST(Winograd, RejectsViewsThatDoNotFit) {
  const std::vector<float> w(4 * 3 * 9, 0.1f), b(4, 0.0f);
  const Winograd3x3 layer(w.data(), b.data(), 4, 3, false, SimdTarget::kScalar);
  std::vector<float> src(2 * 3 * 8 * 8), dst(2 * 4 * 8 * 8), scratch(layer.scratch_floats(2, 8, 8));
  EXPECT_THROW(layer.run(src.data(), nchw_view(2, 5, 8, 8), dst.data(), nchw_view(2, 4, 8, 8),
                         false, scratch.data(), scratch.size()),
               Error);
  EXPECT_THROW(layer.run(src.data(), nchw_view(2, 3, 8, 8), dst.data(), nchw_view(2, 4, 7, 8),
                         false, scratch.data(), scratch.size()),
               Error);
  EXPECT_THROW(layer.run(src.data(), nchw_view(2, 3, 8, 8), dst.data(), nchw_view(2, 4, 8, 8),
                         false, scratch.data(), 10),
               Error);
  EXPECT_THROW(Winograd3x3(w.data(), b.data(), 0, 3, false, SimdTarget::kScalar), Error);
}

}  // namespace
}  // namespace starface::backends::x86
