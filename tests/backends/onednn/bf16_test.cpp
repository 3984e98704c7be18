// --precision bf16 and mixed precisions: convs with bf16 inputs and weights against the
// reference, element by element within the bound bf16's rounding allows, and a plan whose
// convs run in int8, bf16 and fp32 within the sum of its parts' bounds.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/onednn/onednn_testing.h"
#include "graph/int8.h"

namespace starface::backends::onednn::testing {
namespace {

using graph::ConvPrecisions;
using graph::Precision;

// bf16 keeps 8 significant bits: rounding to nearest moves a value by at most u = 2^-8 of
// itself, so a product of two rounded factors is off by at most (2u + u^2) of |w x|. The
// float32 sums add K 2^-24 of the same magnitude for K terms (K < 2^10 here).
constexpr double kBf16Unit = 1.0 / 256;
constexpr double kProductError = 2 * kBf16Unit + kBf16Unit * kBf16Unit + 1024.0 / (1 << 24);

// Per output element of conv `node` on input `x` (dense NCHW): the sums over its window of
// |w| |x| ("magnitude") and of |w| ("weight_sum") and |x| ("input_sum"), the quantities
// the rounding bounds of bf16 and int8 are made of.
struct ConvSums {
  std::vector<double> magnitude, weight_sum, input_sum;
  Shape shape;
};

ConvSums conv_sums(const Graph& g, const graph::Node& node, const Tensor& x) {
  const Tensor w = g.value(node.inputs[1]).constant.contiguous();
  const graph::ConvAttrs& a = node.conv();
  const int64_t n = x.dim(0), ci = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t co = w.dim(0), cig = w.dim(1), k = a.kernel;
  const int64_t oh = (h + 2 * a.pad - k) / a.stride + 1, ow = (wd + 2 * a.pad - k) / a.stride + 1;
  const int64_t groups = ci / cig;
  ConvSums s;
  s.shape = {n, co, oh, ow};
  const size_t total = static_cast<size_t>(n * co * oh * ow);
  s.magnitude.assign(total, 0.0);
  s.weight_sum.assign(total, 0.0);
  s.input_sum.assign(total, 0.0);
  const float* xd = x.data<float>();
  const float* wdp = w.data<float>();
  size_t out = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < co; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx, ++out)
          for (int64_t c = 0; c < cig; ++c)
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = y * a.stride - a.pad + ky, ix = xx * a.stride - a.pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t channel = (o / (co / groups)) * cig + c;
                const double wv = std::fabs(wdp[((o * cig + c) * k + ky) * k + kx]);
                const double xv = std::fabs(xd[((b * ci + channel) * h + iy) * wd + ix]);
                s.magnitude[out] += wv * xv;
                s.weight_sum[out] += wv;
                s.input_sum[out] += xv;
              }
  return s;
}

const graph::Node& producer(const Graph& g, ValueId v) { return g.nodes()[g.value(v).producer]; }

// Whether this CPU runs bf16; where it does not (or oneDNN is held to AVX2), compiling a
// bf16 plan must be refused with a message naming the missing instructions.
bool runs_bf16_else_refuses() {
  if (has_bf16()) return true;
  Net net({1, 2, 3, 3});
  net.output(net.conv(net.x, 2, 1, 1, 0));
  try {
    compile(net.g, ConvPrecisions::uniform(Precision::kBf16));
    ADD_FAILURE() << "bf16 compiled on a CPU without avx512_bf16";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadArgument);
    EXPECT_NE(std::string(e.what()).find("avx512_bf16"), std::string::npos) << e.what();
  }
  return false;
}

TEST(Bf16Plans, EveryConvShapeAndEpilogueWithinBf16sRoundingBound) {
  if (!runs_bf16_else_refuses()) return;
  struct Case {
    int kernel, stride, pad;
    int64_t groups;
  };
  for (const Case c : {Case{1, 1, 0, 1}, Case{3, 1, 1, 1}, Case{3, 2, 1, 1}, Case{3, 1, 1, 8}}) {
    for (int epilogue = 0; epilogue < 4; ++epilogue) {
      const bool relu = epilogue & 1, residual = epilogue & 2;
      Net net({1, 8, 9, 7});
      ValueId conv;
      if (c.groups > 1) {
        graph::ConvAttrs a;
        a.kernel = c.kernel, a.stride = c.stride, a.pad = c.pad, a.groups = c.groups, a.relu = relu;
        conv = net.op(OpKind::kConv2d,
                      {net.x, net.constant({8, 1, 3, 3}, -0.5f, 0.5f), net.constant({8})}, a);
      } else {
        const ValueId res = residual && c.stride == 1 ? net.constant({1, 8, 9, 7}) : -1;
        conv = net.conv(net.x, 8, c.kernel, c.stride, c.pad, relu, res);
      }
      const std::string out = net.output(conv);
      for (int64_t batch : {1, 2}) {
        const Tensor input = random_tensor({batch, 8, 9, 7}, 70 + epilogue, -2.0f, 2.0f);
        const std::string what = "kernel " + std::to_string(c.kernel) + " stride " +
                                 std::to_string(c.stride) + " groups " + std::to_string(c.groups) +
                                 " epilogue " + std::to_string(epilogue) + " batch " +
                                 std::to_string(batch);
        const Tensor want = ref::compile(net.g)->run(input, {out}).at(out);
        OnednnPlan plan(net.g, 1, ConvPrecisions::uniform(Precision::kBf16));
        const Tensor got = plan.run(input, {out}).at(out);
        EXPECT_EQ(plan.last_program_stats().bf16_convs, 1) << what;
        EXPECT_TRUE(plan.last_program_stats().fallbacks.empty()) << what;
        const ConvSums sums = conv_sums(net.g, producer(net.g, conv), input);
        ASSERT_EQ(got.shape(), sums.shape) << what;
        double worst_ratio = 0;
        for (int64_t i = 0; i < got.numel(); ++i) {
          const double err = std::fabs(double{got.data<float>()[i]} - want.data<float>()[i]);
          const double bound = kProductError * sums.magnitude[i] +
                               kRelativeTolerance * std::fabs(want.data<float>()[i]) + 1e-6;
          worst_ratio = std::max(worst_ratio, err / bound);
        }
        EXPECT_LE(worst_ratio, 1.0) << what;
        // The bound is reached in order of magnitude: bf16 really ran (float32 would be
        // ~100x below it).
        EXPECT_GT(worst_ratio, 0.01) << what;
      }
    }
  }
}

// A value only bf16 convs read is stored as bf16 (no reorder between them); its error is
// the rounding the reader would apply anyway, so the chain stays within the bound of b on
// an input off by a's worst error.
TEST(Bf16Plans, ChainsStoreBf16MapsWithinTheirRoundingBound) {
  if (!runs_bf16_else_refuses()) return;
  Net net({1, 16, 10, 10});
  const ValueId a = net.conv(net.x, 16, 3, 1, 1, true);
  const ValueId b = net.conv(a, 8, 3, 1, 1, true);
  const std::string out_b = net.output(b);
  const Tensor input = random_tensor({1, 16, 10, 10}, 9, -1.0f, 1.0f);
  OnednnPlan plan(net.g, 1, ConvPrecisions::uniform(Precision::kBf16));
  const Tensor got = plan.run(input, {out_b}).at(out_b);
  EXPECT_EQ(plan.last_program_stats().bf16_convs, 2);
  EXPECT_EQ(plan.last_program_stats().layout_reorders, 1);  // the float32 input, once

  Net exact_net = net;  // the same graph: a as an output too, for its exact value
  const std::string out_a = exact_net.output(a);
  const TensorMap want = ref::compile(exact_net.g)->run(input, {out_a, out_b});
  const ConvSums sa = conv_sums(net.g, producer(net.g, a), input);
  double err_a = 0;
  for (double m : sa.magnitude) err_a = std::max(err_a, kProductError * m + 1e-6);
  const ConvSums sb = conv_sums(net.g, producer(net.g, b), want.at(out_a));
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double bound = err_a * sb.weight_sum[i] * (1 + kProductError) +
                         kProductError * (sb.magnitude[i] + err_a * sb.weight_sum[i]) + 1e-5;
    EXPECT_LE(std::fabs(double{got.data<float>()[i]} - want.at(out_b).data<float>()[i]), bound)
        << "element " << i;
  }
}

// A conv assigned int8, then one assigned bf16, then one left fp32, in one program. Each
// value is within its own conv's rounding bound plus what the error of its input can add
// through the conv (sum over the window of |w| times the input's worst error).
TEST(Bf16Plans, MixedInt8Bf16Fp32PlanWithinTheSumOfItsPartsBounds) {
  if (!runs_bf16_else_refuses()) return;
  Net net({1, 6, 8, 8});
  // p (fp32, ReLU) gives the int8 conv a non-negative input, which it takes as uint8.
  const ValueId p = net.conv(net.x, 6, 1, 1, 0, true);
  const ValueId a = net.conv(p, 8, 3, 1, 1, true);
  const ValueId b = net.conv(a, 8, 3, 1, 1, true);
  const ValueId c = net.conv(b, 4, 1, 1, 0);
  const std::vector<std::string> outs{net.output(a), net.output(b), net.output(c), net.output(p)};
  const graph::Node& na = producer(net.g, a);
  const graph::Node& nb = producer(net.g, b);
  const graph::Node& nc = producer(net.g, c);

  const Tensor input = random_tensor({1, 6, 8, 8}, 5, -1.0f, 1.0f);
  const TensorMap want = ref::compile(net.g)->run(input, outs);
  const float calibrated = static_cast<float>(max_abs(want.at(outs[3])) / 255);  // max / 255
  ConvPrecisions mixed = ConvPrecisions::int8_at({{na.name, calibrated}});
  mixed.convs[nb.name] = Precision::kBf16;
  mixed.convs[nc.name] = Precision::kFp32;
  OnednnPlan plan(net.g, 1, mixed);
  const TensorMap got = plan.run(input, outs);
  const auto stats = plan.last_program_stats();
  EXPECT_EQ(stats.int8_convs, 1);
  EXPECT_EQ(stats.bf16_convs, 1);
  EXPECT_TRUE(stats.fallbacks.empty());

  // int8: the input rounds to its step sx (error <= sx / 2 each), the weights of output
  // channel o to theirs, sw[o] = max |w[o]| / 127.
  const float sx = int8_input_scale(calibrated);
  const std::vector<float> sw = graph::int8_weight_scales(net.g.value(na.inputs[1]).constant);
  const ConvSums sa = conv_sums(net.g, na, want.at(outs[3]));
  const int64_t plane_a = 8 * 8;
  double err_a = 0, bound_a = 0;
  for (int64_t i = 0; i < got.at(outs[0]).numel(); ++i) {
    const int64_t o = (i / plane_a) % 8;
    const double bound =
        sx / 2 * sa.weight_sum[i] + sw[o] / 2 * sa.input_sum[i] + sx / 2 * sw[o] / 2 * 9 * 6 + 1e-5;
    const double err =
        std::fabs(double{got.at(outs[0]).data<float>()[i]} - want.at(outs[0]).data<float>()[i]);
    EXPECT_LE(err, bound) << "int8 conv, element " << i;
    err_a = std::max(err_a, err);
    bound_a = std::max(bound_a, bound);
  }
  // bf16 on an input off by at most err_a.
  const ConvSums sb = conv_sums(net.g, nb, want.at(outs[0]));
  double err_b = 0;
  for (int64_t i = 0; i < got.at(outs[1]).numel(); ++i) {
    const double bound = err_a * sb.weight_sum[i] * (1 + kProductError) +
                         kProductError * (sb.magnitude[i] + err_a * sb.weight_sum[i]) + 1e-5;
    const double err =
        std::fabs(double{got.at(outs[1]).data<float>()[i]} - want.at(outs[1]).data<float>()[i]);
    EXPECT_LE(err, bound) << "bf16 conv, element " << i;
    err_b = std::max(err_b, err);
  }
  // fp32 on an input off by at most err_b.
  const ConvSums sc = conv_sums(net.g, nc, want.at(outs[1]));
  for (int64_t i = 0; i < got.at(outs[2]).numel(); ++i) {
    const double bound = err_b * sc.weight_sum[i] + 1e-5;
    const double err =
        std::fabs(double{got.at(outs[2]).data<float>()[i]} - want.at(outs[2]).data<float>()[i]);
    EXPECT_LE(err, bound) << "fp32 conv, element " << i;
  }
  EXPECT_GT(err_a, 0.0);  // the int8 conv really rounded
}

TEST(PrecisionFallbacks, ConvsThatCannotTakeTheirPrecisionRunFp32AndSayWhy) {
  Net net({1, 4, 6, 6});
  const ValueId a = net.conv(net.x, 4, 1, 1, 0);  // 1x1: not a Winograd shape
  const std::string out = net.output(a);
  const Tensor input = random_tensor({1, 4, 6, 6}, 3);
  OnednnPlan plan(net.g, 1, ConvPrecisions::uniform(Precision::kFp32Winograd));
  const Tensor got = plan.run(input, {out}).at(out);
  const auto stats = plan.last_program_stats();
  EXPECT_EQ(stats.winograd_convs, 0);
  ASSERT_EQ(stats.fallbacks.size(), 1u);
  EXPECT_NE(stats.fallbacks.begin()->second.find("3x3"), std::string::npos)
      << stats.fallbacks.begin()->second;
  // A fallback is the exact float32 conv.
  const Tensor exact = compile(net.g)->run(input, {out}).at(out);
  EXPECT_EQ(max_abs_diff(got, exact), 0.0);

  // int8 assigned without a scale for the conv: float32, named.
  ConvPrecisions int8_elsewhere = ConvPrecisions::int8_at({{"no such conv", 0.01f}});
  int8_elsewhere.convs[producer(net.g, a).name] = Precision::kInt8;
  OnednnPlan unscaled(net.g, 1, int8_elsewhere);
  EXPECT_EQ(max_abs_diff(unscaled.run(input, {out}).at(out), exact), 0.0);
  EXPECT_EQ(unscaled.last_program_stats().fallbacks.count(producer(net.g, a).name), 1u);
}

}  // namespace
}  // namespace starface::backends::onednn::testing
