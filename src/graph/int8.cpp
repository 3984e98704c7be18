#include "graph/int8.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"

namespace starface::graph {

double Int8Layer::clip_ratio() const {
  const double largest = std::max(std::abs(double{min}), std::abs(double{max}));
  return largest > 0 ? clip / largest : 1.0;
}

bool int8_candidate(const Graph& graph, const Node& node) {
  return node.op == OpKind::kConv2d && node.conv().groups == 1 &&
         !graph.value(node.inputs[0]).is_constant() && graph.value(node.inputs[1]).is_constant();
}

namespace {

bool constant_may_be_negative(const Tensor& t) {
  const Tensor c = t.to_float32().contiguous();
  const float* data = c.data<float>();
  return std::any_of(data, data + c.numel(), [](float v) { return !(v >= 0.0f); });
}

// Ops whose output is >= 0 when their data inputs are.
bool keeps_sign(OpKind op) {
  switch (op) {
    case OpKind::kAdd:
    case OpKind::kMul:
    case OpKind::kMaxPool2x2:
    case OpKind::kUpsample2x:
    case OpKind::kConcat:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool may_be_negative(const Graph& graph, ValueId value) {
  std::map<ValueId, bool> known;
  std::function<bool(ValueId)> negative = [&](ValueId v) {
    const auto it = known.find(v);
    if (it != known.end()) return it->second;
    const Value& val = graph.value(v);
    bool result = true;
    if (val.is_constant()) {
      result = constant_may_be_negative(val.constant);
    } else if (val.producer >= 0) {
      const Node& n = graph.nodes()[val.producer];
      if (n.op == OpKind::kRelu || n.op == OpKind::kSigmoid) {
        result = false;
      } else if (n.op == OpKind::kConv2d && n.conv().relu) {
        result = n.conv().slope != 0.0f;  // LeakyReLU keeps negative values
      } else if (n.op == OpKind::kScaleShift && n.scale_shift().relu) {
        result = false;
      } else if (n.op == OpKind::kUpsampleNearest) {
        result = negative(n.inputs[0]);  // the second input only gives the size
      } else if (keeps_sign(n.op)) {
        result = std::any_of(n.inputs.begin(), n.inputs.end(), negative);
      }
    }
    known[v] = result;
    return result;
  };
  return negative(value);
}

bool int8_input_signed(const Graph& graph, const Node& conv) {
  return may_be_negative(graph, conv.inputs[0]);
}

int int8_input_levels(bool is_signed) { return is_signed ? 127 : 255; }

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

Tensor int8_rounded_weights(const Tensor& weights) {
  const Tensor w = weights.contiguous();
  const std::vector<float> scales = int8_weight_scales(w);
  const int64_t per = w.dim(0) > 0 ? w.numel() / w.dim(0) : 0;
  Tensor out(DType::kFloat32, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float s = scales[i / per];
    out.data<float>()[i] = s * std::nearbyint(w.data<float>()[i] / s);
  }
  return out;
}

void apply_bias_corrections(Graph& graph, const Int8Calibration& calibration) {
  for (const auto& [name, shift] : calibration.bias_corrections) {
    auto node = std::find_if(graph.mutable_nodes().begin(), graph.mutable_nodes().end(),
                             [&](const Node& n) { return n.name == name; });
    check_internal(node != graph.mutable_nodes().end() && node->op == OpKind::kConv2d,
                   "int8 bias correction for '" + name + "', which is no conv of the graph");
    const ValueId bias_id = node->inputs[2];
    const Tensor bias = graph.value(bias_id).constant.to_float32().contiguous();
    check_internal(bias.numel() == static_cast<int64_t>(shift.size()),
                   "int8 bias correction for '" + name + "' has " + std::to_string(shift.size()) +
                       " channels, its bias " + std::to_string(bias.numel()));
    Tensor corrected(DType::kFloat32, bias.shape());
    for (int64_t o = 0; o < bias.numel(); ++o) {
      corrected.data<float>()[o] = bias.data<float>()[o] + shift[o];
    }
    int readers = 0;
    for (const Node& n : graph.nodes()) {
      readers += static_cast<int>(std::count(n.inputs.begin(), n.inputs.end(), bias_id));
    }
    if (readers == 1) {
      graph.mutable_values()[bias_id].constant = corrected;
    } else {  // a bias another node shares keeps its value there
      const std::string new_name = graph.value(bias_id).name + ".int8_corrected";
      node->inputs[2] = graph.add_constant(new_name, corrected);
    }
  }
}

}  // namespace starface::graph
