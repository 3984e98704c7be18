#include "backends/onednn/batch_shapes.h"

#include <string>

#include "core/error.h"

namespace starface::backends::onednn {

using graph::OpKind;
using graph::ValueId;

BatchShapes batch_shapes(const graph::Graph& graph, int64_t batch) {
  const auto& values = graph.values();
  BatchShapes s;
  s.batched.assign(values.size(), false);
  for (const graph::Value& v : values) s.shapes.push_back(v.shape);
  s.shapes[graph.input()][0] = batch;
  s.batched[graph.input()] = true;
  for (const graph::Node& node : graph.nodes()) {
    for (ValueId v : node.inputs) s.batched[node.output] = s.batched[node.output] || s.batched[v];
    if (s.batched[node.output]) s.shapes[node.output][0] = batch;
  }
  return s;
}

namespace {

[[noreturn]] void mismatch(const graph::Node& node, const std::string& message) {
  throw Error(ErrorCode::kShapeMismatch,
              "node '" + node.name + "' (" + graph::op_name(node.op) + "): " + message);
}

}  // namespace

void check_batch_shapes(const graph::Graph& graph, const BatchShapes& s) {
  for (const graph::Node& node : graph.nodes()) {
    const Shape& out = s.shapes[node.output];
    switch (node.op) {
      case OpKind::kAdd:
      case OpKind::kMul: {
        const Shape& a = s.shapes[node.inputs[0]];
        const Shape& b = s.shapes[node.inputs[1]];
        if (a != b) mismatch(node, "operands " + shape_str(a) + " and " + shape_str(b) + " differ");
        break;
      }
      case OpKind::kConv2d: {
        const ValueId residual = graph::conv_residual(node);
        if (residual >= 0 && s.shapes[residual] != out) {
          mismatch(node, "residual expected " + shape_str(out) + ", found " +
                             shape_str(s.shapes[residual]));
        }
        break;
      }
      case OpKind::kConcat:
        for (ValueId v : node.inputs) {
          const int64_t n = s.shapes[v][0];
          if (n != 1 && n != out[0]) {
            mismatch(node, "input " + shape_str(s.shapes[v]) + " has neither batch 1 nor " +
                               std::to_string(out[0]));
          }
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace starface::backends::onednn
