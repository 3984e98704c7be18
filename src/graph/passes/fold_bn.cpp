#include <cmath>

#include "graph/passes/passes.h"
#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

namespace {

// The BatchNorm that is the only reader of a plain conv's output, or null.
const Node* foldable_bn(const Rewriter& r, const Node& conv) {
  if (conv.op != OpKind::kConv2d || conv.conv().relu || conv.conv().residual) return nullptr;
  if (!r.single_use(conv.output)) return nullptr;
  const Node& reader = r.node(r.readers(conv.output)[0]);
  return reader.op == OpKind::kBatchNorm ? &reader : nullptr;
}

// BN(conv(x) + b) = conv(x) * s + (b - mean) * s + beta with s = gamma / sqrt(var + eps):
// the weights of output channel o scale by s[o]. Computed in double, rounded once.
std::vector<double> bn_scale(const Graph& g, const Node& bn) {
  const float* gamma = g.value(bn.inputs[1]).constant.data<float>();
  const float* var = g.value(bn.inputs[4]).constant.data<float>();
  std::vector<double> s(g.value(bn.inputs[1]).shape[0]);
  for (size_t c = 0; c < s.size(); ++c) {
    s[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(bn.norm().eps));
  }
  return s;
}

// Multiplies every [.., per-channel block] of `t` (leading dim = channels) by s[c].
Tensor scale_channels(const Tensor& t, const std::vector<double>& s, int channel_dim) {
  Tensor out = t.clone();
  float* d = out.data<float>();
  const int64_t channels = t.dim(channel_dim);
  int64_t outer = 1;
  for (int i = 0; i < channel_dim; ++i) outer *= t.dim(i);
  const int64_t inner = t.numel() / outer / channels;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      float* block = d + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) block[i] = static_cast<float>(block[i] * s[c]);
    }
  }
  return out;
}

Tensor folded_bias(const Graph& g, const Node& conv, const Node& bn, const std::vector<double>& s) {
  const float* b = g.value(conv.inputs[2]).constant.data<float>();
  const float* beta = g.value(bn.inputs[2]).constant.data<float>();
  const float* mean = g.value(bn.inputs[3]).constant.data<float>();
  Tensor out(DType::kFloat32, {static_cast<int64_t>(s.size())});
  for (size_t c = 0; c < s.size(); ++c) {
    out.data<float>()[c] =
        static_cast<float>((static_cast<double>(b[c]) - mean[c]) * s[c] + beta[c]);
  }
  return out;
}

}  // namespace

Graph fold_bn(const Graph& graph) {
  Rewriter r(graph);
  const auto& nodes = graph.nodes();
  std::vector<bool> done(nodes.size(), false);
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    if (done[i]) continue;
    const Node& conv = nodes[i];
    const Node* bn = foldable_bn(r, conv);
    if (!bn) {
      r.copy(i);
      continue;
    }
    const std::vector<double> s = bn_scale(graph, *bn);
    std::vector<ValueId> inputs{
        r.map(conv.inputs[0]),
        r.add_constant(conv.name + ".weight",
                       scale_channels(graph.value(conv.inputs[1]).constant, s, 0)),
        r.add_constant(conv.name + ".bias", folded_bias(graph, conv, *bn, s))};
    if (conv.conv().bias_map) {
      inputs.push_back(
          r.add_constant(conv.name + ".bias_map",
                         scale_channels(graph.value(conv_bias_map(conv)).constant, s, 1)));
    }
    const ValueId out = r.add_node(OpKind::kConv2d, conv.name, conv.stage, inputs, conv.attrs);
    r.alias(conv.output, out);
    r.alias(bn->output, out);
    done[graph.value(bn->output).producer] = true;
  }
  return r.finish();
}

}  // namespace starface::graph::passes
