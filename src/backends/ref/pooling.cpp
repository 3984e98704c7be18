// 2x2 max pooling, 2x nearest upsampling, and the nearest resize to another map's size
// (PyTorch's legacy index rule).
#include <cmath>
#include <string>
#include <vector>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"
#include "graph/graph.h"

namespace starface::backends::ref {
namespace {

// max that propagates NaN, as PyTorch's max pooling does.
float nan_max(float m, float v) { return (v > m || std::isnan(v)) ? v : m; }

}  // namespace

Tensor max_pool_2x2(const Tensor& x_in) {
  const Tensor x = detail::float32_operand(x_in, "max_pool_2x2", "input", 4);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t h = x.dim(2);
  const int64_t w = x.dim(3);
  const int64_t oh = h / 2;
  const int64_t ow = w / 2;
  Tensor y(DType::kFloat32, {x.dim(0), x.dim(1), oh, ow});
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = xd + p * h * w;
    float* out = yd + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const float* top = in + 2 * i * w;
      const float* bottom = top + w;
      for (int64_t j = 0; j < ow; ++j) {
        float m = top[2 * j];
        if (std::isnan(m)) {
          out[i * ow + j] = m;
          continue;
        }
        m = nan_max(m, top[2 * j + 1]);
        m = nan_max(m, bottom[2 * j]);
        m = nan_max(m, bottom[2 * j + 1]);
        out[i * ow + j] = m;
      }
    }
  }
  return y;
}

Tensor upsample_2x(const Tensor& x_in) {
  const Tensor x = detail::float32_operand(x_in, "upsample_2x", "input", 4);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t h = x.dim(2);
  const int64_t w = x.dim(3);
  Tensor y(DType::kFloat32, {x.dim(0), x.dim(1), 2 * h, 2 * w});
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = xd + p * h * w;
    float* out = yd + p * 4 * h * w;
    for (int64_t i = 0; i < 2 * h; ++i) {
      const float* src = in + (i / 2) * w;
      float* dst = out + i * 2 * w;
      for (int64_t j = 0; j < 2 * w; ++j) dst[j] = src[j / 2];
    }
  }
  return y;
}

Tensor upsample_nearest(const Tensor& x_in, int64_t out_h, int64_t out_w) {
  const Tensor x = detail::float32_operand(x_in, "upsample_nearest", "input", 4);
  if (out_h < 1 || out_w < 1) {
    throw Error(ErrorCode::kBadArgument, "upsample_nearest: output size " + std::to_string(out_h) +
                                             "x" + std::to_string(out_w) + " must be positive");
  }
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t h = x.dim(2);
  const int64_t w = x.dim(3);
  Tensor y(DType::kFloat32, {x.dim(0), x.dim(1), out_h, out_w});
  if (y.numel() == 0) return y;
  std::vector<int64_t> cols(out_w);
  for (int64_t j = 0; j < out_w; ++j) cols[j] = graph::nearest_source_index(j, w, out_w);
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < out_h; ++i) {
      const float* src = xd + (p * h + graph::nearest_source_index(i, h, out_h)) * w;
      float* dst = yd + (p * out_h + i) * out_w;
      for (int64_t j = 0; j < out_w; ++j) dst[j] = src[cols[j]];
    }
  }
  return y;
}

}  // namespace starface::backends::ref
