#include "backends/ref/ref_backend.h"

#include <algorithm>

#include "backends/ref/kernels.h"
#include "core/error.h"
#include "core/timer.h"

namespace starface::backends::ref {
namespace {

using graph::Node;
using graph::OpKind;
using graph::ValueId;

// What a fused conv adds after the convolution: the residual, then the ReLU.
Tensor conv_epilogue(const Node& node, Tensor y, const std::vector<Tensor>& in) {
  if (node.attrs.residual) y = add(y, in.back());
  if (node.attrs.relu) y = node.attrs.slope != 0.0f ? leaky_relu(y, node.attrs.slope) : relu(y);
  return y;
}

Tensor evaluate(const Node& node, const std::vector<Tensor>& in) {
  const graph::Attrs& a = node.attrs;
  switch (node.op) {
    case OpKind::kConv2d:
      // The kernel size comes from the weight; a pass that swaps weights must keep the
      // node's attribute in step, or the graph's inferred shapes are wrong.
      if (in[1].rank() != 4 || in[1].dim(2) != a.kernel || in[1].dim(3) != a.kernel) {
        throw Error(ErrorCode::kShapeMismatch, "weight " + shape_str(in[1].shape()) +
                                                   " does not match kernel size " +
                                                   std::to_string(a.kernel));
      }
      return conv_epilogue(
          node,
          conv2d(in[0], in[1], in[2], a.stride, a.pad, a.bias_map ? in[3] : Tensor(), a.groups),
          in);
    case OpKind::kScaleShift:
      return scale_shift(in[0], in[1], in[2], a.relu);
    case OpKind::kBatchNorm:
      return batch_norm(in[0], in[1], in[2], in[3], in[4], a.eps);
    case OpKind::kRelu:
      return relu(in[0]);
    case OpKind::kLeakyRelu:
      return leaky_relu(in[0], a.slope);
    case OpKind::kSigmoid:
      return sigmoid(in[0]);
    case OpKind::kAdd:
      return add(in[0], in[1]);
    case OpKind::kMul:
      return mul(in[0], in[1]);
    case OpKind::kMaxPool2x2:
      return max_pool_2x2(in[0]);
    case OpKind::kUpsample2x:
      return upsample_2x(in[0]);
    case OpKind::kUpsampleNearest:
      if (in[1].rank() != 4) {
        throw Error(ErrorCode::kShapeMismatch,
                    "size reference must be [N,C,H,W], found " + shape_str(in[1].shape()));
      }
      return upsample_nearest(in[0], in[1].dim(2), in[1].dim(3));
    case OpKind::kConcat:
      return concat(in);
    case OpKind::kBoundaryPlanes:
      return boundary_planes(in[0], a.threshold);
    case OpKind::kInstanceNorm:
      return instance_norm(in[0], a.eps);
    case OpKind::kSoftArgmax:
      return soft_argmax(in[0]);
  }
  throw Error(ErrorCode::kInternal, "node " + node.name + ": unknown op");
}

}  // namespace

RefPlan::RefPlan(const graph::Graph& graph) : graph_(graph) {
  graph::check_well_formed(graph_, "ref backend");
}

TensorMap RefPlan::run(const Tensor& input, const std::vector<std::string>& outputs) {
  const auto& values = graph_.values();
  const auto& nodes = graph_.nodes();
  const ValueId input_id = graph_.input();

  graph::check_batch_input(graph_, input);

  // Resolve every name before computing anything, so a typo fails fast.
  std::vector<std::pair<std::string, ValueId>> requested;
  std::vector<bool> keep(values.size(), false);
  for (const std::string& name : outputs) {
    const ValueId v = values_.resolve(name);
    requested.emplace_back(name, v);
    keep[v] = true;
  }

  // Only the nodes the requested values depend on run; last_use[v] is the last of those
  // that reads v, after which v is dropped.
  std::vector<bool> needed(values.size(), false);
  for (const auto& [name, v] : requested) needed[v] = true;
  std::vector<int> last_use(values.size(), -1);
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    const Node& node = nodes[i];
    if (!needed[node.output]) continue;
    for (ValueId v : node.inputs) {
      needed[v] = true;
      last_use[v] = std::max(last_use[v], i);
    }
  }

  std::vector<Tensor> slots(values.size());
  profile_.clear();
  slots[input_id] = input.contiguous();
  size_t live = 0;
  size_t peak = 0;
  auto release = [&](ValueId v) {
    if (values[v].is_constant() || v == input_id || !slots[v].defined()) return;
    live -= slots[v].nbytes();
    slots[v] = Tensor();
  };

  std::vector<Tensor> args;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& node = nodes[i];
    if (!needed[node.output]) continue;
    args.clear();
    for (ValueId v : node.inputs) {
      args.push_back(values[v].is_constant() ? values[v].constant : slots[v]);
    }
    const Timer timer;
    try {
      slots[node.output] = evaluate(node, args);
    } catch (const Error& e) {
      throw Error(e.code(), "node '" + node.name + "' (" + op_name(node.op) + "): " + e.what());
    }
    if (profiling_)
      profile_.push_back({node.name, node_kind(node), node.stage, timer.elapsed_ms()});
    args.clear();
    live += slots[node.output].nbytes();
    peak = std::max(peak, live);
    for (ValueId v : node.inputs) {
      if (last_use[v] == i && !keep[v]) release(v);
    }
  }
  last_peak_bytes_ = peak;

  TensorMap result;
  for (const auto& [name, v] : requested) {
    result[name] = values[v].is_constant() ? values[v].constant : slots[v];
  }
  return result;
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph) {
  return std::make_unique<RefPlan>(graph);
}

}  // namespace starface::backends::ref
