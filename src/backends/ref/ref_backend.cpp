#include "backends/ref/ref_backend.h"

#include <algorithm>
#include <utility>

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
  const graph::ConvAttrs& a = node.conv();
  if (a.residual) y = add(y, in.back());
  if (a.relu) y = a.slope != 0.0f ? leaky_relu(y, a.slope) : relu(y);
  return y;
}

Tensor evaluate(const Node& node, const std::vector<Tensor>& in) {
  switch (node.op) {
    case OpKind::kConv2d: {
      const graph::ConvAttrs& a = node.conv();
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
    }
    case OpKind::kScaleShift:
      return scale_shift(in[0], in[1], in[2], node.scale_shift().relu);
    case OpKind::kBatchNorm:
      return batch_norm(in[0], in[1], in[2], in[3], in[4], node.norm().eps);
    case OpKind::kRelu:
      return relu(in[0]);
    case OpKind::kLeakyRelu:
      return leaky_relu(in[0], node.leaky_relu().slope);
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
      return boundary_planes(in[0], node.boundary().threshold);
    case OpKind::kInstanceNorm:
      return instance_norm(in[0], node.norm().eps);
    case OpKind::kSoftArgmax:
      return soft_argmax(in[0]);
  }
  throw Error(ErrorCode::kInternal, "node " + node.name + ": unknown op");
}

// Each requested name with its value. Every name is resolved before anything is computed,
// so a typo fails fast.
std::vector<std::pair<std::string, ValueId>> resolve_all(const graph::ValueLookup& values,
                                                         const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, ValueId>> requested;
  for (const std::string& name : names) requested.emplace_back(name, values.resolve(name));
  return requested;
}

// Which nodes run and when each value may go: only the nodes the requested values depend on
// run (needed[node.output]); last_use[v] is the last of those that reads v, after which v is
// dropped unless it is requested (keep[v]).
struct Liveness {
  std::vector<bool> needed, keep;
  std::vector<int> last_use;
};

Liveness liveness(const graph::Graph& g,
                  const std::vector<std::pair<std::string, ValueId>>& requested) {
  const size_t count = g.values().size();
  Liveness l{{}, std::vector<bool>(count, false), std::vector<int>(count, -1)};
  for (const auto& [name, v] : requested) l.keep[v] = true;
  l.needed = graph::needed_values(g, l.keep);
  const auto& nodes = g.nodes();
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    if (!l.needed[nodes[i].output]) continue;
    for (ValueId v : nodes[i].inputs) l.last_use[v] = i;
  }
  return l;
}

// The values of one run: the constants, the caller's input and the computed tensors, with
// the bytes the computed ones hold now and at most.
class Slots {
 public:
  Slots(const graph::Graph& g, const Tensor& input)
      : values_(g.values()), input_(g.input()), slots_(values_.size()) {
    slots_[input_] = input.contiguous();
  }

  const Tensor& operator[](ValueId v) const {
    return values_[v].is_constant() ? values_[v].constant : slots_[v];
  }

  std::vector<Tensor> operands(const Node& node) const {
    std::vector<Tensor> args;
    for (ValueId v : node.inputs) args.push_back((*this)[v]);
    return args;
  }

  void set(ValueId v, Tensor t) {
    slots_[v] = std::move(t);
    live_ += slots_[v].nbytes();
    peak_ = std::max(peak_, live_);
  }

  void release(ValueId v) {
    if (values_[v].is_constant() || v == input_ || !slots_[v].defined()) return;
    live_ -= slots_[v].nbytes();
    slots_[v] = Tensor();
  }

  size_t peak() const { return peak_; }

 private:
  const std::vector<graph::Value>& values_;
  ValueId input_;
  std::vector<Tensor> slots_;
  size_t live_ = 0, peak_ = 0;
};

}  // namespace

Tensor evaluate_node(const Node& node, const std::vector<Tensor>& operands) {
  try {
    return evaluate(node, operands);
  } catch (const Error& e) {
    throw Error(e.code(), "node '" + node.name + "' (" + op_name(node.op) + "): " + e.what());
  }
}

RefPlan::RefPlan(const graph::Graph& graph) : graph_(graph) {
  graph::check_well_formed(graph_, "ref backend");
}

TensorMap RefPlan::run(const Tensor& input, const std::vector<std::string>& outputs) {
  graph::check_batch_input(graph_, input);
  const auto requested = resolve_all(values_, outputs);
  const Liveness live = liveness(graph_, requested);
  const auto& nodes = graph_.nodes();
  Slots slots(graph_, input);
  profile_.clear();
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& node = nodes[i];
    if (!live.needed[node.output]) continue;
    {
      // The operands die with this scope, so that releasing their slots below frees them.
      const std::vector<Tensor> args = slots.operands(node);
      const Timer timer;
      Tensor y = evaluate_node(node, args);
      if (profiling_) {
        profile_.push_back({node.name, node_kind(node), node.stage, timer.elapsed_ms()});
      }
      slots.set(node.output, std::move(y));
    }
    for (ValueId v : node.inputs) {
      if (live.last_use[v] == i && !live.keep[v]) slots.release(v);
    }
  }
  last_peak_bytes_ = slots.peak();

  TensorMap result;
  for (const auto& [name, v] : requested) result[name] = slots[v];
  return result;
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph) {
  return std::make_unique<RefPlan>(graph);
}

}  // namespace starface::backends::ref
