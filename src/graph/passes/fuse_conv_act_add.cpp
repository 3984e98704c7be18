#include <map>

#include "graph/passes/passes.h"
#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

namespace {

// A conv whose output only feeds `reader_op`, with nothing fused after it yet.
bool feeds_only(const Rewriter& r, const Node& n, OpKind reader_op) {
  return n.op == OpKind::kConv2d && !n.conv().relu && !n.conv().residual &&
         r.single_use(n.output) && r.node(r.readers(n.output)[0]).op == reader_op;
}

ValueId other_operand(const Node& add, ValueId operand) {
  return add.inputs[0] == operand ? add.inputs[1] : add.inputs[0];
}

// Emits `conv` with its inputs mapped plus `extra` appended, and `attrs`.
ValueId emit_conv(Rewriter& r, const Node& conv, const ConvAttrs& attrs, ValueId extra = -1) {
  std::vector<ValueId> inputs;
  for (ValueId v : conv.inputs) inputs.push_back(r.map(v));
  if (extra >= 0) inputs.push_back(extra);
  const ValueId out = r.add_node(OpKind::kConv2d, conv.name, conv.stage, inputs, attrs);
  r.alias(conv.output, out);
  return out;
}

// Add(conv(x), y) -> conv(x) with residual y. The conv moves to the Add's place, where y
// is computed; when both operands are convs, the later one absorbs the Add.
Graph fuse_residual_add(const Graph& graph) {
  Rewriter r(graph);
  const auto& nodes = graph.nodes();
  std::map<int, int> deferred;  // Add index -> the conv that absorbs it
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& n = nodes[i];
    if (feeds_only(r, n, OpKind::kAdd)) {
      const int add = r.readers(n.output)[0];
      const ValueId other = other_operand(nodes[add], n.output);
      const int other_producer = graph.value(other).producer;
      const bool other_absorbs = other != n.output && other_producer > i &&
                                 feeds_only(r, nodes[other_producer], OpKind::kAdd);
      if (other != n.output && !other_absorbs) {
        deferred[add] = i;
        continue;
      }
    }
    auto it = deferred.find(i);
    if (it == deferred.end()) {
      r.copy(i);
      continue;
    }
    const Node& conv = nodes[it->second];
    ConvAttrs attrs = conv.conv();
    attrs.residual = true;
    r.alias(n.output, emit_conv(r, conv, attrs, r.map(other_operand(n, conv.output))));
  }
  return r.finish();
}

// ReLU, or LeakyReLU, which a conv applies with its slope.
bool is_activation(const Node& n) { return n.op == OpKind::kRelu || n.op == OpKind::kLeakyRelu; }

Graph fuse_relu(const Graph& graph) {
  Rewriter r(graph);
  const auto& nodes = graph.nodes();
  std::vector<bool> done(nodes.size(), false);
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    if (done[i]) continue;
    const Node& n = nodes[i];
    // A conv that already absorbed a residual may still take the ReLU after it.
    if (n.op != OpKind::kConv2d || n.conv().relu || !r.single_use(n.output) ||
        !is_activation(r.node(r.readers(n.output)[0]))) {
      r.copy(i);
      continue;
    }
    const int relu = r.readers(n.output)[0];
    ConvAttrs attrs = n.conv();
    attrs.relu = true;
    attrs.slope = nodes[relu].op == OpKind::kLeakyRelu ? nodes[relu].leaky_relu().slope : 0.0f;
    r.alias(nodes[relu].output, emit_conv(r, n, attrs));
    done[relu] = true;
  }
  return r.finish();
}

}  // namespace

Graph fuse_conv_act_add(const Graph& graph) { return fuse_relu(fuse_residual_add(graph)); }

}  // namespace starface::graph::passes
