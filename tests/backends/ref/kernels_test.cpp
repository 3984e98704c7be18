// Each reference kernel against an independent naive definition written here (plain loops
// in double), on random shapes and values with fixed seeds, plus hand-computed cases.
#include "backends/ref/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "support/fixtures.h"

namespace starface::backends::ref {
namespace {

using starface::testing::random_tensor;

// Element (n, c, i, j) of a contiguous rank-4 tensor.
float at(const Tensor& t, int64_t n, int64_t c, int64_t i, int64_t j) {
  return t.data<float>()[((n * t.dim(1) + c) * t.dim(2) + i) * t.dim(3) + j];
}

// A float32 result of a double computation: at most half an ulp of rounding plus the
// double error, which is bounded by `scale` (the sum of |terms|) times a few ulps of double.
void expect_rounded_from(float got, double want, double scale, const std::string& where) {
  const double tol = 0.51 * std::ldexp(1.0, -23) * std::fabs(want) + 1e-13 * scale + 1e-37;
  ASSERT_LE(std::fabs(got - want), tol) << where << ": got " << got << ", want " << want;
}

// ---------------------------------------------------------------------------------------
// Conv2d

struct ConvCase {
  int64_t n, ci, co, h, w, kh, kw;
  int stride, pad;
};

std::string describe(const ConvCase& c) {
  return "n" + std::to_string(c.n) + " ci" + std::to_string(c.ci) + " co" + std::to_string(c.co) +
         " " + std::to_string(c.h) + "x" + std::to_string(c.w) + " k" + std::to_string(c.kh) + "x" +
         std::to_string(c.kw) + " s" + std::to_string(c.stride) + " p" + std::to_string(c.pad);
}

// The definition: y[n,o,r,c] = b[o] + sum_{i,ky,kx} w[o,i,ky,kx] * x[n,i,r*s-p+ky,c*s-p+kx],
// with x = 0 outside the image.
void check_conv_against_naive(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(describe(c));
  const Tensor x = random_tensor({c.n, c.ci, c.h, c.w}, seed);
  const Tensor w = random_tensor({c.co, c.ci, c.kh, c.kw}, seed + 1);
  const Tensor b = random_tensor({c.co}, seed + 2);
  const Tensor y = conv2d(x, w, b, c.stride, c.pad);
  const int64_t oh = (c.h + 2 * c.pad - c.kh) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - c.kw) / c.stride + 1;
  ASSERT_EQ(y.shape(), (Shape{c.n, c.co, oh, ow}));
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t o = 0; o < c.co; ++o) {
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t col = 0; col < ow; ++col) {
          double sum = b.data<float>()[o];
          double scale = std::fabs(sum);
          for (int64_t i = 0; i < c.ci; ++i) {
            for (int64_t ky = 0; ky < c.kh; ++ky) {
              for (int64_t kx = 0; kx < c.kw; ++kx) {
                const int64_t iy = r * c.stride - c.pad + ky;
                const int64_t ix = col * c.stride - c.pad + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const double term = static_cast<double>(at(w, o, i, ky, kx)) * at(x, n, i, iy, ix);
                sum += term;
                scale += std::fabs(term);
              }
            }
          }
          expect_rounded_from(at(y, n, o, r, col), sum, scale,
                              "y[" + std::to_string(n) + "," + std::to_string(o) + "," +
                                  std::to_string(r) + "," + std::to_string(col) + "]");
        }
      }
    }
  }
}

TEST(RefConv2d, HandComputed2x2) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor w = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector<float>({1}, {0.5f});
  // No padding: the single output is the dot product plus bias.
  Tensor y = conv2d(x, w, b, 1, 0);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(y.data<float>()[0], 30.5f);
  // Pad 1: every partial overlap of the kernel with the zero-padded image.
  y = conv2d(x, w, b, 1, 1);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  const std::vector<float> want{4.5f, 11.5f, 6.5f, 14.5f, 30.5f, 14.5f, 6.5f, 11.5f, 4.5f};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(y.data<float>()[i], want[i]) << i;
  // Stride 2 keeps the corners of the pad-1 result.
  y = conv2d(x, w, b, 2, 1);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  const std::vector<float> corners{4.5f, 6.5f, 6.5f, 4.5f};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y.data<float>()[i], corners[i]) << i;
}

TEST(RefConv2d, StarShapesMatchNaive) {
  // The three kinds STAR uses (stem 7x7 s2 p3 on the coord-conv input, 3x3 p1, 1x1), with
  // batch 2 and channel counts that leave a remainder after groups of four.
  check_conv_against_naive({2, 6, 5, 20, 20, 7, 7, 2, 3}, 11);
  check_conv_against_naive({2, 7, 6, 9, 9, 3, 3, 1, 1}, 12);
  check_conv_against_naive({2, 13, 9, 8, 8, 1, 1, 1, 0}, 13);
}

TEST(RefConv2d, RandomShapesMatchNaive) {
  std::mt19937 gen(2024);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  for (int trial = 0; trial < 40; ++trial) {
    ConvCase c{};
    c.n = pick(1, 3);
    c.ci = pick(1, 10);
    c.co = pick(1, 5);
    c.kh = pick(1, 7);
    c.kw = trial % 2 ? c.kh : pick(1, 7);  // square and rectangular kernels
    c.stride = pick(1, 3);
    c.pad = pick(0, 3);
    c.h = std::max<int64_t>(pick(1, 17), c.kh - 2 * c.pad);
    c.w = std::max<int64_t>(pick(1, 17), c.kw - 2 * c.pad);
    check_conv_against_naive(c, 100 + trial);
    if (HasFatalFailure()) return;
  }
}

TEST(RefConv2d, WideImagesUseSeveralRowTiles) {
  // More output columns than one accumulator tile holds, and a tile split mid-image.
  check_conv_against_naive({1, 5, 3, 7, 1100, 3, 3, 1, 1}, 21);
  check_conv_against_naive({1, 4, 2, 150, 33, 7, 7, 2, 3}, 22);
}

TEST(RefConv2d, AccumulatesInDouble) {
  // 1 + 1e-8 * 1000 terms: a float32 running sum would stay at 1 (each 1e-8 is below half
  // an ulp of 1), the double sum gives 1.00001.
  const int64_t ci = 1000;
  Tensor x(DType::kFloat32, {1, ci + 1, 1, 1});
  Tensor w(DType::kFloat32, {1, ci + 1, 1, 1});
  x.data<float>()[0] = 1.0f;
  w.data<float>()[0] = 1.0f;
  for (int64_t i = 1; i <= ci; ++i) {
    x.data<float>()[i] = 1e-4f;
    w.data<float>()[i] = 1e-4f;
  }
  const Tensor b(DType::kFloat32, {1});
  const Tensor y = conv2d(x, w, b, 1, 0);
  const double want = 1.0 + 1000.0 * static_cast<double>(1e-4f) * static_cast<double>(1e-4f);
  EXPECT_EQ(y.data<float>()[0], static_cast<float>(want));
}

TEST(RefConv2d, ResultDoesNotDependOnThreadCount) {
  const Tensor x = random_tensor({2, 9, 15, 15}, 31);
  const Tensor w = random_tensor({6, 9, 3, 3}, 32);
  const Tensor b = random_tensor({6}, 33);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor one = conv2d(x, w, b, 1, 1);
  set_num_threads(2);
  const Tensor two = conv2d(x, w, b, 1, 1);
  set_num_threads(saved);
  for (int64_t i = 0; i < one.numel(); ++i) ASSERT_EQ(one.data<float>()[i], two.data<float>()[i]);
}

TEST(RefConv2d, StridedViewInputIsAccepted) {
  // A transposed view (non-contiguous) gives the same result as its dense copy.
  const Tensor base = random_tensor({1, 2, 5, 4}, 41);
  const Tensor view =
      Tensor::view(base.storage(), DType::kFloat32, {1, 2, 4, 5}, {40, 20, 1, 4}, 0);
  const Tensor w = random_tensor({3, 2, 3, 3}, 42);
  const Tensor b = random_tensor({3}, 43);
  const Tensor a = conv2d(view, w, b, 1, 1);
  const Tensor c = conv2d(view.contiguous(), w, b, 1, 1);
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], c.data<float>()[i]);
}

TEST(RefConv2d, BadOperandsAreErrors) {
  const Tensor x = random_tensor({1, 4, 5, 5}, 1);
  const Tensor w = random_tensor({2, 4, 3, 3}, 2);
  const Tensor b = random_tensor({2}, 3);
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of([&] {
              conv2d(x, random_tensor({2, 3, 3, 3}, 4), b, 1, 1);
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] { conv2d(x, w, random_tensor({3}, 5), 1, 1); }), ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              conv2d(random_tensor({1, 4, 2, 2}, 6), w, b, 1, 0);
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] { conv2d(x, w, b, 0, 1); }), ErrorCode::kBadArgument);
  EXPECT_EQ(code_of([&] {
              conv2d(Tensor(DType::kFloat64, {1, 4, 5, 5}), w, b, 1, 1);
            }),
            ErrorCode::kBadDtype);
  try {
    conv2d(x, random_tensor({2, 3, 3, 3}, 4), b, 1, 1);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3, 3, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[1, 4, 5, 5]"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// Normalisation

TEST(RefBatchNorm, MatchesNaive) {
  const int64_t n = 3, c = 5, h = 7, w = 3;
  const Tensor x = random_tensor({n, c, h, w}, 51, -4.0f, 4.0f);
  const Tensor gamma = random_tensor({c}, 52, 0.75f, 1.25f);
  const Tensor beta = random_tensor({c}, 53);
  const Tensor mean = random_tensor({c}, 54, -2.0f, 2.0f);
  const Tensor var = random_tensor({c}, 55, 0.0f, 3.0f);
  const float eps = 1e-5f;
  const Tensor y = batch_norm(x, gamma, beta, mean, var, eps);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) {
          const double want = (static_cast<double>(at(x, b, ch, i, j)) - mean.data<float>()[ch]) /
                                  std::sqrt(static_cast<double>(var.data<float>()[ch]) + eps) *
                                  gamma.data<float>()[ch] +
                              beta.data<float>()[ch];
          expect_rounded_from(at(y, b, ch, i, j), want, 100.0, "bn");
        }
      }
    }
  }
}

TEST(RefBatchNorm, ParameterShapesAreChecked) {
  const Tensor x = random_tensor({1, 3, 2, 2}, 1);
  const Tensor p3 = random_tensor({3}, 2, 0.5f, 1.0f);
  const Tensor p4 = random_tensor({4}, 3, 0.5f, 1.0f);
  EXPECT_THROW(batch_norm(x, p3, p3, p3, p4, 1e-5f), Error);
  EXPECT_NO_THROW(batch_norm(x, p3, p3, p3, p3, 1e-5f));
}

TEST(RefInstanceNorm, MatchesNaive) {
  const int64_t n = 2, c = 3, h = 9, w = 11;
  // An offset mean checks that the variance is not computed as E[x^2] - E[x]^2.
  const Tensor x = random_tensor({n, c, h, w}, 61, 99.0f, 101.0f);
  const Tensor y = instance_norm(x, 1e-5f);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      double mean = 0.0;
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) mean += at(x, b, ch, i, j);
      }
      mean /= static_cast<double>(h * w);
      double var = 0.0;
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) var += std::pow(at(x, b, ch, i, j) - mean, 2);
      }
      var /= static_cast<double>(h * w);  // biased
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) {
          const double want =
              (at(x, b, ch, i, j) - mean) / std::sqrt(var + static_cast<double>(1e-5f));
          expect_rounded_from(at(y, b, ch, i, j), want, 1e3, "in");
        }
      }
    }
  }
}

TEST(RefInstanceNorm, ConstantPlaneIsZeroAndEpsIsUsed) {
  Tensor x(DType::kFloat32, {1, 2, 4, 4});
  for (int i = 0; i < 16; ++i) x.data<float>()[i] = 7.25f;  // channel 0 constant
  for (int i = 0; i < 16; ++i) x.data<float>()[16 + i] = (i % 2) ? 1.0f : -1.0f;
  const Tensor y = instance_norm(x, 1e-5f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y.data<float>()[i], 0.0f);
  // Mean 0, biased variance 1: +-1 / sqrt(1 + eps).
  const float one = static_cast<float>(1.0 / std::sqrt(1.0 + static_cast<double>(1e-5f)));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y.data<float>()[16 + i], (i % 2) ? one : -one);
}

// ---------------------------------------------------------------------------------------
// Elementwise

TEST(RefElementwise, ReluSigmoidAddMul) {
  const Tensor a = random_tensor({2, 3, 5, 7}, 71, -5.0f, 5.0f);
  const Tensor b = random_tensor({2, 3, 5, 7}, 72, -5.0f, 5.0f);
  const Tensor r = relu(a);
  const Tensor s = sigmoid(a);
  const Tensor sum = add(a, b);
  const Tensor prod = mul(a, b);
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float u = a.data<float>()[i];
    const float v = b.data<float>()[i];
    EXPECT_EQ(r.data<float>()[i], u > 0 ? u : 0.0f);
    expect_rounded_from(s.data<float>()[i], 1.0 / (1.0 + std::exp(-static_cast<double>(u))), 1.0,
                        "sigmoid");
    EXPECT_EQ(sum.data<float>()[i], static_cast<float>(static_cast<double>(u) + v));
    EXPECT_EQ(prod.data<float>()[i], static_cast<float>(static_cast<double>(u) * v));
  }
}

TEST(RefElementwise, EdgeValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = Tensor::from_vector<float>({5}, {nan, -inf, inf, -0.5f, 0.0f});
  const Tensor r = relu(x);
  EXPECT_TRUE(std::isnan(r.data<float>()[0]));
  EXPECT_EQ(r.data<float>()[1], 0.0f);
  EXPECT_EQ(r.data<float>()[2], inf);
  EXPECT_EQ(r.data<float>()[3], 0.0f);
  const Tensor s = sigmoid(x);
  EXPECT_EQ(s.data<float>()[1], 0.0f);
  EXPECT_EQ(s.data<float>()[2], 1.0f);
  EXPECT_EQ(s.data<float>()[4], 0.5f);
}

TEST(RefElementwise, ShapeMismatchIsAnError) {
  try {
    add(Tensor(DType::kFloat32, {1, 2, 3, 3}), Tensor(DType::kFloat32, {2, 2, 3, 3}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("[2, 2, 3, 3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mul(Tensor(DType::kFloat32, {4}), Tensor(DType::kFloat32, {5})), Error);
}

// ---------------------------------------------------------------------------------------
// Pooling

TEST(RefPooling, MaxPoolMatchesNaiveOnEvenAndOddSizes) {
  for (const Shape& shape : {Shape{2, 3, 8, 6}, Shape{1, 2, 7, 9}, Shape{1, 1, 1, 5}}) {
    const Tensor x = random_tensor(shape, 81);
    const Tensor y = max_pool_2x2(x);
    const int64_t oh = shape[2] / 2;
    const int64_t ow = shape[3] / 2;
    ASSERT_EQ(y.shape(), (Shape{shape[0], shape[1], oh, ow}));
    for (int64_t n = 0; n < shape[0]; ++n) {
      for (int64_t c = 0; c < shape[1]; ++c) {
        for (int64_t i = 0; i < oh; ++i) {
          for (int64_t j = 0; j < ow; ++j) {
            float m = -std::numeric_limits<float>::infinity();
            for (int dy = 0; dy < 2; ++dy) {
              for (int dx = 0; dx < 2; ++dx) m = std::max(m, at(x, n, c, 2 * i + dy, 2 * j + dx));
            }
            EXPECT_EQ(at(y, n, c, i, j), m);
          }
        }
      }
    }
  }
}

TEST(RefPooling, MaxPoolPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int k = 0; k < 4; ++k) {
    std::vector<float> v{1.0f, 2.0f, 3.0f, 4.0f};
    v[k] = nan;
    const Tensor y = max_pool_2x2(Tensor::from_vector<float>({1, 1, 2, 2}, v));
    EXPECT_TRUE(std::isnan(y.data<float>()[0])) << k;
  }
}

TEST(RefPooling, UpsampleCopiesEachValueToA2x2Block) {
  const Tensor x = random_tensor({2, 3, 3, 5}, 91);
  const Tensor y = upsample_2x(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 6, 10}));
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 10; ++j) EXPECT_EQ(at(y, n, c, i, j), at(x, n, c, i / 2, j / 2));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Concat and boundary planes

TEST(RefConcat, BroadcastsBatchOneInputs) {
  const Tensor a = random_tensor({3, 2, 4, 5}, 101);
  const Tensor planes = random_tensor({1, 3, 4, 5}, 102);
  const Tensor b = random_tensor({3, 1, 4, 5}, 103);
  const Tensor y = concat({a, planes, b});
  ASSERT_EQ(y.shape(), (Shape{3, 6, 4, 5}));
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 5; ++j) {
        for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(at(y, n, c, i, j), at(a, n, c, i, j));
        for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(at(y, n, 2 + c, i, j), at(planes, 0, c, i, j));
        EXPECT_EQ(at(y, n, 5, i, j), at(b, n, 0, i, j));
      }
    }
  }
}

TEST(RefConcat, MismatchedShapesAreErrors) {
  const Tensor a(DType::kFloat32, {2, 1, 4, 4});
  EXPECT_THROW(concat({a, Tensor(DType::kFloat32, {3, 1, 4, 4})}), Error);
  EXPECT_THROW(concat({a, Tensor(DType::kFloat32, {2, 1, 4, 5})}), Error);
  EXPECT_THROW(concat({}), Error);
  EXPECT_EQ(concat({a}).shape(), a.shape());
}

TEST(RefBoundaryPlanes, ThresholdIsStrictAfterClamping) {
  const int64_t h = 3, w = 4;
  Tensor guide(DType::kFloat32, {1, 2, h, w});
  float* g = guide.data<float>();
  // Channel 0 is ignored (only the last channel guides): make it all "on".
  for (int64_t i = 0; i < h * w; ++i) g[i] = 1.0f;
  float* last = g + h * w;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values{
      0.05f, std::nextafter(0.05f, 1.0f), 2.0f, -3.0f, 0.0f, 1.0f, nan, 0.5f, 0.049f, 0.06f, 0.0f,
      100.0f};
  const std::vector<bool> on{false, true, true,  false, false, true,
                             false, true, false, true,  false, true};
  for (int64_t i = 0; i < h * w; ++i) last[i] = values[i];
  const Tensor y = boundary_planes(guide, 0.05f);
  ASSERT_EQ(y.shape(), (Shape{1, 2, h, w}));
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const bool m = on[i * w + j];
      const float row = static_cast<float>(2.0 * i / (h - 1) - 1.0);
      const float col = static_cast<float>(2.0 * j / (w - 1) - 1.0);
      EXPECT_EQ(at(y, 0, 0, i, j), m ? row : 0.0f) << i << "," << j;
      EXPECT_EQ(at(y, 0, 1, i, j), m ? col : 0.0f) << i << "," << j;
    }
  }
}

TEST(RefBoundaryPlanes, MatchesNaivePerBatchRow) {
  const Tensor guide = random_tensor({3, 4, 64, 64}, 111, -0.2f, 0.4f);
  const Tensor y = boundary_planes(guide, 0.05f);
  ASSERT_EQ(y.shape(), (Shape{3, 2, 64, 64}));
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t i = 0; i < 64; ++i) {
      for (int64_t j = 0; j < 64; ++j) {
        const double v = std::min(std::max(static_cast<double>(at(guide, n, 3, i, j)), 0.0), 1.0);
        const bool m = static_cast<float>(v) > 0.05f;
        EXPECT_EQ(at(y, n, 0, i, j), m ? static_cast<float>(2.0 * i / 63 - 1) : 0.0f);
        EXPECT_EQ(at(y, n, 1, i, j), m ? static_cast<float>(2.0 * j / 63 - 1) : 0.0f);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Soft-argmax

TEST(RefSoftArgmax, OneHotGivesThatCell) {
  const int64_t h = 5, w = 8;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      Tensor maps(DType::kFloat32, {1, 1, h, w});
      maps.data<float>()[i * w + j] = 3.0f;
      const Tensor y = soft_argmax(maps);
      ASSERT_EQ(y.shape(), (Shape{1, 1, 2}));
      EXPECT_EQ(y.data<float>()[0], static_cast<float>(2.0 * j / (w - 1) - 1.0));  // x: column
      EXPECT_EQ(y.data<float>()[1], static_cast<float>(2.0 * i / (h - 1) - 1.0));  // y: row
    }
  }
}

TEST(RefSoftArgmax, ZeroMapUsesTheFloorOfTheDenominator) {
  // Sum 0 -> S = 1e-6; a tiny map keeps its ratio only while its sum exceeds 1e-6.
  Tensor maps(DType::kFloat32, {1, 2, 3, 3});
  maps.data<float>()[9 + 8] = 1e-7f;  // channel 1, bottom-right cell, sum < 1e-6
  const Tensor y = soft_argmax(maps);
  EXPECT_EQ(y.data<float>()[0], 0.0f);
  EXPECT_EQ(y.data<float>()[1], 0.0f);
  EXPECT_EQ(y.data<float>()[2], static_cast<float>(static_cast<double>(1e-7f) / 1e-6));
  EXPECT_EQ(y.data<float>()[3], static_cast<float>(static_cast<double>(1e-7f) / 1e-6));
}

TEST(RefSoftArgmax, MatchesNaive) {
  const Tensor maps = random_tensor({2, 5, 64, 64}, 121, 0.0f, 6.0f);
  const Tensor y = soft_argmax(maps);
  ASSERT_EQ(y.shape(), (Shape{2, 5, 2}));
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t p = 0; p < 5; ++p) {
      double s = 0.0, sx = 0.0, sy = 0.0;
      for (int64_t i = 0; i < 64; ++i) {
        for (int64_t j = 0; j < 64; ++j) {
          const double f = at(maps, n, p, i, j);
          s += f;
          sx += f * (2.0 * j / 63 - 1);
          sy += f * (2.0 * i / 63 - 1);
        }
      }
      s = std::max(s, 1e-6);
      const float* out = y.data<float>() + (n * 5 + p) * 2;
      expect_rounded_from(out[0], sx / s, 10.0, "x");
      expect_rounded_from(out[1], sy / s, 10.0, "y");
    }
  }
}

}  // namespace
}  // namespace starface::backends::ref
