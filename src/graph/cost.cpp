#include "graph/cost.h"

namespace starface::graph {

namespace {

// How many nodes read each value.
std::vector<int> consumer_counts(const Graph& g) {
  std::vector<int> count(g.values().size(), 0);
  for (const Node& n : g.nodes()) {
    for (ValueId v : n.inputs) ++count[v];
  }
  for (const auto& [name, v] : g.outputs()) ++count[v];
  return count;
}

const Node* producer(const Graph& g, ValueId v) {
  const int p = g.value(v).producer;
  return p < 0 ? nullptr : &g.nodes()[p];
}

}  // namespace

int64_t node_macs(const Graph& g, const Node& n) {
  if (n.op != OpKind::kConv2d) return 0;
  const Shape& out = g.value(n.output).shape;
  const Shape& w = g.value(n.inputs[1]).shape;
  return shape_numel(out) * w[1] * w[2] * w[3];
}

Cost compute_cost(const Graph& g) {
  Cost cost;
  for (const Value& v : g.values()) {
    if (!v.is_constant()) continue;
    ++cost.constants;
    cost.constant_elements += v.constant.numel();
  }
  for (const Node& n : g.nodes()) {
    ++cost.nodes;
    ++cost.op_histogram[op_name(n.op)];
    const int64_t macs = node_macs(g, n);
    cost.macs += macs;
    if (cost.macs_by_stage.empty() || cost.macs_by_stage.back().first != n.stage) {
      cost.macs_by_stage.emplace_back(n.stage, 0);
    }
    cost.macs_by_stage.back().second += macs;
  }
  return cost;
}

Opportunities find_opportunities(const Graph& g) {
  Opportunities o;
  const std::vector<int> consumers = consumer_counts(g);
  auto sole_conv_output = [&](ValueId v) {
    const Node* p = producer(g, v);
    return p && p->op == OpKind::kConv2d && consumers[v] == 1;
  };
  for (const Node& n : g.nodes()) {
    switch (n.op) {
      case OpKind::kBatchNorm:
        if (sole_conv_output(n.inputs[0])) {
          ++o.bn_after_conv;
        } else {
          ++o.preact_bn_relu;
        }
        break;
      case OpKind::kRelu:
      case OpKind::kLeakyRelu: {
        const Node* p = producer(g, n.inputs[0]);
        const bool after_conv = sole_conv_output(n.inputs[0]) ||
                                (p && p->op == OpKind::kBatchNorm && consumers[n.inputs[0]] == 1 &&
                                 sole_conv_output(p->inputs[0]));
        if (after_conv) ++o.relu_after_conv;
        break;
      }
      case OpKind::kAdd:
        if (sole_conv_output(n.inputs[0]) || sole_conv_output(n.inputs[1])) ++o.add_after_conv;
        break;
      case OpKind::kConv2d: {
        const Node* p = producer(g, n.inputs[0]);
        if (!p || p->op != OpKind::kConcat) break;
        const Shape& out = g.value(n.output).shape;
        const Shape& w = g.value(n.inputs[1]).shape;
        int64_t constant_channels = 0;
        for (ValueId part : p->inputs) {
          if (g.value(part).is_constant()) constant_channels += g.value(part).shape[1];
        }
        if (constant_channels == 0) break;
        ++o.constant_input_convs;
        o.constant_input_macs += shape_numel(out) * constant_channels * w[2] * w[3];
        break;
      }
      default:
        break;
    }
  }
  return o;
}

}  // namespace starface::graph
