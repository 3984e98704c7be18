// Soft-argmax: per channel, the mean of the coordinate grids weighted by the map values.
#include <algorithm>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"
#include "graph/grid.h"

namespace starface::backends::ref {

using graph::grid_coordinate;

Tensor soft_argmax(const Tensor& maps_in) {
  const Tensor maps = detail::float32_operand(maps_in, "soft_argmax", "input", 4);
  const int64_t planes = maps.dim(0) * maps.dim(1);
  const int64_t h = maps.dim(2);
  const int64_t w = maps.dim(3);
  Tensor y(DType::kFloat32, {maps.dim(0), maps.dim(1), 2});
  const float* md = maps.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* f = md + p * h * w;
    double total = 0.0;
    double sum_x = 0.0;
    double sum_y = 0.0;
    for (int64_t i = 0; i < h; ++i) {
      const double row = grid_coordinate(i, h);
      for (int64_t j = 0; j < w; ++j) {
        const double v = f[i * w + j];
        total += v;
        sum_x += v * grid_coordinate(j, w);
        sum_y += v * row;
      }
    }
    const double s = std::max(total, 1e-6);
    yd[2 * p] = static_cast<float>(sum_x / s);
    yd[2 * p + 1] = static_cast<float>(sum_y / s);
  }
  return y;
}

}  // namespace starface::backends::ref
