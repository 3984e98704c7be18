// Elementwise ops. Add and mul stay in float32: a float32 sum or product rounded once is
// exactly what double arithmetic rounded to float32 would give.
#include <cmath>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"

namespace starface::backends::ref {
namespace {

template <typename F>
Tensor unary(const Tensor& x_in, const char* op, F f) {
  const Tensor x = detail::float32_operand(x_in, op, "input");
  Tensor y(DType::kFloat32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  const int64_t count = x.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) yd[i] = f(xd[i]);
  return y;
}

template <typename F>
Tensor binary(const Tensor& a_in, const Tensor& b_in, const char* op, F f) {
  const Tensor a = detail::float32_operand(a_in, op, "first operand");
  const Tensor b = detail::float32_operand(b_in, op, "second operand");
  detail::expect_shape(b.shape(), a.shape(), op, "second operand");
  Tensor y(DType::kFloat32, a.shape());
  const float* ad = a.data<float>();
  const float* bd = b.data<float>();
  float* yd = y.data<float>();
  const int64_t count = a.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) yd[i] = f(ad[i], bd[i]);
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) {
  return unary(x, "relu", [](float v) { return v < 0.0f ? 0.0f : v; });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  return unary(x, "leaky_relu", [slope](float v) { return v < 0.0f ? v * slope : v; });
}

Tensor sigmoid(const Tensor& x) {
  return unary(x, "sigmoid", [](float v) {
    return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
  });
}

Tensor add(const Tensor& a, const Tensor& b) {
  return binary(a, b, "add", [](float u, float v) { return u + v; });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(a, b, "mul", [](float u, float v) { return u * v; });
}

}  // namespace starface::backends::ref
