#include "graph/int8.h"

#include <algorithm>
#include <cmath>

namespace starface::graph {

bool int8_candidate(const Graph& graph, const Node& node) {
  return node.op == OpKind::kConv2d && node.attrs.groups == 1 && node.attrs.slope == 0.0f &&
         !graph.value(node.inputs[0]).is_constant() && graph.value(node.inputs[1]).is_constant();
}

std::vector<float> int8_weight_scales(const Tensor& weights) {
  const Tensor w = weights.contiguous();
  const int64_t channels = w.dim(0);
  const int64_t per_channel = channels > 0 ? w.numel() / channels : 0;
  const float* data = w.data<float>();
  std::vector<float> scales(channels);
  for (int64_t o = 0; o < channels; ++o) {
    float largest = 0.0f;
    for (int64_t i = 0; i < per_channel; ++i) {
      largest = std::max(largest, std::abs(data[o * per_channel + i]));
    }
    scales[o] = largest > 0.0f ? largest / 127.0f : 1.0f;
  }
  return scales;
}

}  // namespace starface::graph
