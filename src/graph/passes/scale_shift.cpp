#include <cmath>

#include "graph/passes/passes.h"
#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

namespace {

// scale = gamma / sqrt(var + eps), shift = beta - mean * scale, in double.
std::pair<Tensor, Tensor> scale_and_shift(const Graph& g, const Node& bn) {
  const int64_t c = g.value(bn.inputs[1]).shape[0];
  const float* gamma = g.value(bn.inputs[1]).constant.data<float>();
  const float* beta = g.value(bn.inputs[2]).constant.data<float>();
  const float* mean = g.value(bn.inputs[3]).constant.data<float>();
  const float* var = g.value(bn.inputs[4]).constant.data<float>();
  Tensor scale(DType::kFloat32, {c});
  Tensor shift(DType::kFloat32, {c});
  for (int64_t i = 0; i < c; ++i) {
    const double s = gamma[i] / std::sqrt(static_cast<double>(var[i]) + bn.norm().eps);
    scale.data<float>()[i] = static_cast<float>(s);
    shift.data<float>()[i] = static_cast<float>(beta[i] - mean[i] * s);
  }
  return {scale, shift};
}

}  // namespace

Graph scale_shift(const Graph& graph) {
  Rewriter r(graph);
  const auto& nodes = graph.nodes();
  std::vector<bool> done(nodes.size(), false);
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    if (done[i]) continue;
    const Node& bn = nodes[i];
    if (bn.op != OpKind::kBatchNorm) {
      r.copy(i);
      continue;
    }
    const auto [scale, shift] = scale_and_shift(graph, bn);
    ScaleShiftAttrs attrs;
    const Node* relu = nullptr;
    if (r.single_use(bn.output) && r.node(r.readers(bn.output)[0]).op == OpKind::kRelu) {
      relu = &r.node(r.readers(bn.output)[0]);
      attrs.relu = true;
    }
    const ValueId out = r.add_node(OpKind::kScaleShift, bn.name, bn.stage,
                                   {r.map(bn.inputs[0]), r.add_constant(bn.name + ".scale", scale),
                                    r.add_constant(bn.name + ".shift", shift)},
                                   attrs);
    r.alias(bn.output, out);
    if (relu) {
      r.alias(relu->output, out);
      done[graph.value(relu->output).producer] = true;
    }
  }
  return r.finish();
}

}  // namespace starface::graph::passes
