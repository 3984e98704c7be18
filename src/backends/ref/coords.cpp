// Channel concatenation (with batch broadcast of constant planes) and the boundary planes:
// the coordinate grids gated by the guide's last channel.
#include <algorithm>
#include <cstring>

#include "backends/ref/checks.h"
#include "backends/ref/kernels.h"
#include "graph/grid.h"

namespace starface::backends::ref {

using graph::grid_coordinate;

Tensor concat(const std::vector<Tensor>& inputs_in) {
  constexpr const char* kOp = "concat";
  if (inputs_in.empty()) throw Error(ErrorCode::kBadArgument, "concat: no inputs");
  std::vector<Tensor> inputs;
  inputs.reserve(inputs_in.size());
  for (const Tensor& t : inputs_in) inputs.push_back(detail::float32_operand(t, kOp, "input", 4));

  int64_t batch = 1;
  for (const Tensor& t : inputs) batch = std::max(batch, t.dim(0));
  const int64_t h = inputs[0].dim(2);
  const int64_t w = inputs[0].dim(3);
  int64_t channels = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    if ((t.dim(0) != batch && t.dim(0) != 1) || t.dim(2) != h || t.dim(3) != w) {
      detail::shape_error(kOp, "input " + std::to_string(k) + " " + shape_str(t.shape()) +
                                   " does not fit input 0 " + shape_str(inputs[0].shape()) +
                                   " (batch must be " + std::to_string(batch) +
                                   " or 1, H and W equal)");
    }
    channels += t.dim(1);
  }
  if (inputs[0].dim(0) == 0) batch = 0;

  Tensor y(DType::kFloat32, {batch, channels, h, w});
  float* yd = y.data<float>();
  const int64_t plane = h * w;
  for (int64_t n = 0; n < batch; ++n) {
    float* dst = yd + n * channels * plane;
    for (const Tensor& t : inputs) {
      const int64_t block = t.dim(1) * plane;
      const int64_t src_n = t.dim(0) == 1 ? 0 : n;
      if (block > 0) {
        std::memcpy(dst, t.data<float>() + src_n * block,
                    static_cast<size_t>(block) * sizeof(float));
      }
      dst += block;
    }
  }
  return y;
}

Tensor boundary_planes(const Tensor& guide_in, float threshold) {
  constexpr const char* kOp = "boundary_planes";
  const Tensor guide = detail::float32_operand(guide_in, kOp, "guide", 4);
  const int64_t batch = guide.dim(0);
  const int64_t channels = guide.dim(1);
  const int64_t h = guide.dim(2);
  const int64_t w = guide.dim(3);
  if (channels < 1)
    detail::shape_error(kOp, "guide " + shape_str(guide.shape()) + " has no channels");
  Tensor y(DType::kFloat32, {batch, 2, h, w});
  const float* gd = guide.data<float>();
  float* yd = y.data<float>();
  const int64_t plane = h * w;
  for (int64_t n = 0; n < batch; ++n) {
    const float* g = gd + (n * channels + channels - 1) * plane;
    float* rows = yd + n * 2 * plane;
    float* cols = rows + plane;
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        // Clamp and compare in float32 like PyTorch (a float32 tensor against a Python
        // scalar compares in float32), so a guide of exactly 0.05f is outside.
        const float v = std::clamp(g[i * w + j], 0.0f, 1.0f);
        if (v > threshold) {
          rows[i * w + j] = static_cast<float>(grid_coordinate(i, h));
          cols[i * w + j] = static_cast<float>(grid_coordinate(j, w));
        }
      }
    }
  }
  return y;
}

}  // namespace starface::backends::ref
