// Batch norm and instance norm, computed in double and rounded once to float32.
#include <cmath>
#include <vector>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"

namespace starface::backends::ref {
namespace {

// y[n, c, i] = f(x[n, c, i] in double, c) for a per-channel affine map, one plane per
// thread in a fixed order.
template <typename F>
Tensor per_channel(const Tensor& x, F f) {
  const int64_t batch = x.dim(0);
  const int64_t channels = x.dim(1);
  const int64_t plane = x.dim(2) * x.dim(3);
  Tensor y(DType::kFloat32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) yd[base + i] = f(static_cast<double>(xd[base + i]), c);
    }
  }
  return y;
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& gamma_in, const Tensor& beta_in,
                  const Tensor& mean_in, const Tensor& var_in, float eps) {
  constexpr const char* kOp = "batch_norm";
  const Tensor x = detail::float32_operand(x_in, kOp, "input", 4);
  const int64_t channels = x.dim(1);
  const Tensor gamma = detail::float32_operand(gamma_in, kOp, "gamma");
  const Tensor beta = detail::float32_operand(beta_in, kOp, "beta");
  const Tensor mean = detail::float32_operand(mean_in, kOp, "running mean");
  const Tensor var = detail::float32_operand(var_in, kOp, "running var");
  detail::expect_shape(gamma.shape(), {channels}, kOp, "gamma");
  detail::expect_shape(beta.shape(), {channels}, kOp, "beta");
  detail::expect_shape(mean.shape(), {channels}, kOp, "running mean");
  detail::expect_shape(var.shape(), {channels}, kOp, "running var");

  // gamma / sqrt(var + eps) per channel in double; subtracting the mean before scaling
  // keeps the formula's order, so nothing cancels when the mean is large.
  std::vector<double> scale(channels);
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = static_cast<double>(gamma.data<float>()[c]) /
               std::sqrt(static_cast<double>(var.data<float>()[c]) + static_cast<double>(eps));
  }
  const float* md = mean.data<float>();
  const float* bd = beta.data<float>();
  return per_channel(
      x, [&](double v, int64_t c) { return static_cast<float>((v - md[c]) * scale[c] + bd[c]); });
}

Tensor scale_shift(const Tensor& x_in, const Tensor& scale_in, const Tensor& shift_in, bool relu) {
  constexpr const char* kOp = "scale_shift";
  const Tensor x = detail::float32_operand(x_in, kOp, "input", 4);
  const int64_t channels = x.dim(1);
  const Tensor scale = detail::float32_operand(scale_in, kOp, "scale");
  const Tensor shift = detail::float32_operand(shift_in, kOp, "shift");
  detail::expect_shape(scale.shape(), {channels}, kOp, "scale");
  detail::expect_shape(shift.shape(), {channels}, kOp, "shift");
  const float* sd = scale.data<float>();
  const float* hd = shift.data<float>();
  return per_channel(x, [&](double v, int64_t c) {
    const float y = static_cast<float>(v * sd[c] + static_cast<double>(hd[c]));
    return relu && y < 0.0f ? 0.0f : y;
  });
}

Tensor instance_norm(const Tensor& x_in, float eps) {
  const Tensor x = detail::float32_operand(x_in, "instance_norm", "input", 4);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = x.dim(2) * x.dim(3);
  Tensor y(DType::kFloat32, x.shape());
  if (size == 0) return y;
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = xd + p * size;
    float* out = yd + p * size;
    double sum = 0.0;
    for (int64_t i = 0; i < size; ++i) sum += in[i];
    const double mean = sum / static_cast<double>(size);
    // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2, which
    // cancels badly when the mean is large against the spread.
    double squares = 0.0;
    for (int64_t i = 0; i < size; ++i) {
      const double d = in[i] - mean;
      squares += d * d;
    }
    const double inv_std =
        1.0 / std::sqrt(squares / static_cast<double>(size) + static_cast<double>(eps));
    for (int64_t i = 0; i < size; ++i) out[i] = static_cast<float>((in[i] - mean) * inv_std);
  }
  return y;
}

}  // namespace starface::backends::ref
