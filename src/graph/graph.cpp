#include "graph/graph.h"

#include <algorithm>
#include <cmath>

namespace starface::graph {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::kConv2d:
      return "Conv2d";
    case OpKind::kBatchNorm:
      return "BatchNorm";
    case OpKind::kScaleShift:
      return "ScaleShift";
    case OpKind::kRelu:
      return "Relu";
    case OpKind::kLeakyRelu:
      return "LeakyRelu";
    case OpKind::kSigmoid:
      return "Sigmoid";
    case OpKind::kAdd:
      return "Add";
    case OpKind::kMul:
      return "Mul";
    case OpKind::kMaxPool2x2:
      return "MaxPool2x2";
    case OpKind::kUpsample2x:
      return "Upsample2x";
    case OpKind::kUpsampleNearest:
      return "UpsampleNearest";
    case OpKind::kConcat:
      return "Concat";
    case OpKind::kBoundaryPlanes:
      return "BoundaryPlanes";
    case OpKind::kInstanceNorm:
      return "InstanceNorm";
    case OpKind::kSoftArgmax:
      return "SoftArgmax";
  }
  return "Unknown";
}

namespace {

// The struct of the op's attributes, by the op; std::monostate for an op without any.
OpAttrs empty_attrs_of(OpKind op) {
  switch (op) {
    case OpKind::kConv2d:
      return ConvAttrs{};
    case OpKind::kBatchNorm:
    case OpKind::kInstanceNorm:
      return NormAttrs{};
    case OpKind::kScaleShift:
      return ScaleShiftAttrs{};
    default:
      return std::monostate{};
  }
}

// Whether `attrs` holds the struct `op` reads.
bool holds_attrs_of(OpKind op, const OpAttrs& attrs) {
  switch (op) {
    case OpKind::kConv2d:
      return std::holds_alternative<ConvAttrs>(attrs);
    case OpKind::kBatchNorm:
    case OpKind::kInstanceNorm:
      return std::holds_alternative<NormAttrs>(attrs);
    case OpKind::kScaleShift:
      return std::holds_alternative<ScaleShiftAttrs>(attrs);
    case OpKind::kLeakyRelu:
      return std::holds_alternative<LeakyReluAttrs>(attrs);
    case OpKind::kBoundaryPlanes:
      return std::holds_alternative<BoundaryAttrs>(attrs);
    default:
      return std::holds_alternative<std::monostate>(attrs);
  }
}

// `given` checked against `op`, or the op's defaults where it is empty and they exist.
OpAttrs checked_attrs(OpKind op, const std::string& node, OpAttrs given) {
  if (std::holds_alternative<std::monostate>(given)) given = empty_attrs_of(op);
  check_internal(holds_attrs_of(op, given),
                 "node " + node + " (" + op_name(op) + ") is given attributes of another op" +
                     (std::holds_alternative<std::monostate>(given)
                          ? std::string(" or none; its own have no default")
                          : std::string()));
  return given;
}

template <typename T>
const T& attrs_as(const Node& node, const char* which) {
  const T* attrs = std::get_if<T>(&node.attrs);
  check_internal(attrs != nullptr, "node " + node.name + " (" + op_name(node.op) + ") has no " +
                                       which + " (read as the wrong op)");
  return *attrs;
}

}  // namespace

const ConvAttrs& Node::conv() const { return attrs_as<ConvAttrs>(*this, "ConvAttrs"); }
const NormAttrs& Node::norm() const { return attrs_as<NormAttrs>(*this, "NormAttrs"); }
const LeakyReluAttrs& Node::leaky_relu() const {
  return attrs_as<LeakyReluAttrs>(*this, "LeakyReluAttrs");
}
const ScaleShiftAttrs& Node::scale_shift() const {
  return attrs_as<ScaleShiftAttrs>(*this, "ScaleShiftAttrs");
}
const BoundaryAttrs& Node::boundary() const {
  return attrs_as<BoundaryAttrs>(*this, "BoundaryAttrs");
}

std::string node_kind(const Node& node) {
  std::string kind = op_name(node.op);
  if (node.op != OpKind::kConv2d) return kind;
  const ConvAttrs& a = node.conv();
  if (a.bias_map) kind += "+BiasMap";
  if (a.residual) kind += "+Add";
  if (a.relu) kind += a.slope != 0.0f ? "+LeakyRelu" : "+Relu";
  return kind;
}

int64_t nearest_source_index(int64_t dst, int64_t in, int64_t out) {
  // PyTorch's nearest_idx: exact shortcuts for equal sizes and 2x, else floorf in float32.
  if (out == in) return dst;
  if (out == 2 * in) return dst >> 1;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  return std::min(static_cast<int64_t>(std::floor(static_cast<float>(dst) * scale)), in - 1);
}

ValueId conv_bias_map(const Node& node) {
  return node.op == OpKind::kConv2d && node.conv().bias_map ? node.inputs.at(3) : -1;
}

ValueId conv_residual(const Node& node) {
  return node.op == OpKind::kConv2d && node.conv().residual ? node.inputs.back() : -1;
}

namespace {

[[noreturn]] void mismatch(const std::string& node, const std::string& what) {
  throw Error(ErrorCode::kShapeMismatch, node + ": " + what);
}

void expect_rank4(const std::string& node, const Shape& s, const char* which) {
  if (s.size() != 4) mismatch(node, std::string(which) + " must be [N,C,H,W], got " + shape_str(s));
}

void expect_inputs(const std::string& node, const std::vector<Shape>& shapes, size_t n) {
  if (shapes.size() != n) {
    mismatch(node,
             "expects " + std::to_string(n) + " inputs, got " + std::to_string(shapes.size()));
  }
}

void expect_vector(const std::string& node, const Shape& s, int64_t n, const char* which) {
  if (s != Shape{n}) {
    mismatch(node, std::string(which) + " expected " + shape_str({n}) + ", found " + shape_str(s));
  }
}

Shape conv_shape(const std::string& node, const std::vector<Shape>& in, const ConvAttrs& a) {
  expect_inputs(node, in, 3 + (a.bias_map ? 1 : 0) + (a.residual ? 1 : 0));
  const Shape& x = in[0];
  const Shape& w = in[1];
  expect_rank4(node, x, "input");
  if (a.groups < 1 || x[1] % a.groups != 0) {
    mismatch(node, "groups " + std::to_string(a.groups) + " must divide the input channels of " +
                       shape_str(x));
  }
  const Shape want_w{w.empty() ? 0 : w[0], x[1] / a.groups, a.kernel, a.kernel};
  if (w.size() != 4 || w[1] != want_w[1] || w[2] != a.kernel || w[3] != a.kernel ||
      w[0] % a.groups != 0) {
    mismatch(node, "weight expected " + shape_str(want_w) + " (output channels a multiple of " +
                       std::to_string(a.groups) + " groups), found " + shape_str(w));
  }
  expect_vector(node, in[2], w[0], "bias");
  const int64_t oh = (x[2] + 2 * a.pad - a.kernel) / a.stride + 1;
  const int64_t ow = (x[3] + 2 * a.pad - a.kernel) / a.stride + 1;
  if (oh <= 0 || ow <= 0) mismatch(node, "input " + shape_str(x) + " is smaller than the kernel");
  const Shape out{x[0], w[0], oh, ow};
  if (a.bias_map && in[3] != Shape{1, w[0], oh, ow}) {
    mismatch(node,
             "bias map expected " + shape_str({1, w[0], oh, ow}) + ", found " + shape_str(in[3]));
  }
  if (a.residual && in.back() != out) {
    mismatch(node, "residual expected " + shape_str(out) + ", found " + shape_str(in.back()));
  }
  return out;
}

}  // namespace

Shape infer_shape(OpKind op, const std::string& node, const std::vector<Shape>& in,
                  const OpAttrs& attrs) {
  switch (op) {
    case OpKind::kConv2d: {
      const ConvAttrs* conv = std::get_if<ConvAttrs>(&attrs);
      check_internal(conv != nullptr, "node " + node + " (Conv2d) has no ConvAttrs");
      return conv_shape(node, in, *conv);
    }
    case OpKind::kBatchNorm:
      expect_inputs(node, in, 5);
      expect_rank4(node, in[0], "input");
      for (size_t i = 1; i < 5; ++i) expect_vector(node, in[i], in[0][1], "batch-norm parameter");
      return in[0];
    case OpKind::kScaleShift:
      expect_inputs(node, in, 3);
      expect_rank4(node, in[0], "input");
      expect_vector(node, in[1], in[0][1], "scale");
      expect_vector(node, in[2], in[0][1], "shift");
      return in[0];
    case OpKind::kRelu:
    case OpKind::kLeakyRelu:
    case OpKind::kSigmoid:
    case OpKind::kInstanceNorm:
      expect_inputs(node, in, 1);
      if (op == OpKind::kInstanceNorm) expect_rank4(node, in[0], "input");
      return in[0];
    case OpKind::kAdd:
    case OpKind::kMul:
      expect_inputs(node, in, 2);
      if (in[0] != in[1])
        mismatch(node, "operands " + shape_str(in[0]) + " and " + shape_str(in[1]));
      return in[0];
    case OpKind::kMaxPool2x2:
      expect_inputs(node, in, 1);
      expect_rank4(node, in[0], "input");
      return {in[0][0], in[0][1], in[0][2] / 2, in[0][3] / 2};
    case OpKind::kUpsample2x:
      expect_inputs(node, in, 1);
      expect_rank4(node, in[0], "input");
      return {in[0][0], in[0][1], in[0][2] * 2, in[0][3] * 2};
    case OpKind::kUpsampleNearest:
      expect_inputs(node, in, 2);
      expect_rank4(node, in[0], "input");
      expect_rank4(node, in[1], "size reference");
      return {in[0][0], in[0][1], in[1][2], in[1][3]};
    case OpKind::kConcat: {
      if (in.empty()) mismatch(node, "concat of nothing");
      Shape out = in[0];
      expect_rank4(node, out, "input");
      out[1] = 0;
      for (const Shape& s : in) {
        expect_rank4(node, s, "input");
        if (s[2] != out[2] || s[3] != out[3]) {
          mismatch(node, "concat of " + shape_str(in[0]) + " and " + shape_str(s));
        }
        out[1] += s[1];
      }
      return out;
    }
    case OpKind::kBoundaryPlanes:
      expect_inputs(node, in, 1);
      expect_rank4(node, in[0], "guide");
      return {in[0][0], 2, in[0][2], in[0][3]};
    case OpKind::kSoftArgmax:
      expect_inputs(node, in, 1);
      expect_rank4(node, in[0], "input");
      return {in[0][0], in[0][1], 2};
  }
  mismatch(node, "unknown op");
}

namespace {

// The number of inputs a node reads; 0 means "one or more" (concat).
size_t arity(const Node& node) {
  switch (node.op) {
    case OpKind::kConv2d:
      return 3 + (node.conv().bias_map ? 1 : 0) + (node.conv().residual ? 1 : 0);
    case OpKind::kScaleShift:
      return 3;
    case OpKind::kBatchNorm:
      return 5;
    case OpKind::kAdd:
    case OpKind::kMul:
    case OpKind::kUpsampleNearest:
      return 2;
    case OpKind::kConcat:
      return 0;
    default:
      return 1;
  }
}

std::string batch_shape_str(const Shape& shape) {
  std::string s = "[N";
  for (size_t i = 1; i < shape.size(); ++i) s += ", " + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

void check_well_formed(const Graph& g, const std::string& who) {
  const auto& values = g.values();
  const auto& nodes = g.nodes();
  const ValueId count = static_cast<ValueId>(values.size());
  check_internal(g.input() >= 0 && g.input() < count, who + ": graph has no input");
  check_internal(values[g.input()].shape.size() == 4, who + ": the graph input must have rank 4");
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    const std::string at = who + ": node " + node.name;
    check_internal(holds_attrs_of(node.op, node.attrs),
                   at + " (" + op_name(node.op) + ") holds another op's attributes");
    const size_t want = arity(node);
    check_internal(
        want == 0 ? !node.inputs.empty() : node.inputs.size() == want,
        at + " (" + op_name(node.op) + ") has " + std::to_string(node.inputs.size()) + " inputs");
    check_internal(node.output >= 0 && node.output < count &&
                       values[node.output].producer == static_cast<int>(i),
                   at + " has an inconsistent output value");
    for (ValueId v : node.inputs) {
      check_internal(v >= 0 && v < count, at + " reads an unknown value");
      const int producer = values[v].producer;
      check_internal(producer < static_cast<int>(i),
                     at + " reads " + values[v].name +
                         ", which is computed later (nodes must be in topological order)");
      check_internal(
          producer >= 0 || values[v].is_constant() || v == g.input(),
          at + " reads " + values[v].name + ", which is neither computed, constant nor the input");
    }
  }
}

std::vector<bool> needed_values(const Graph& graph, std::vector<bool> requested) {
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (!requested[it->output]) continue;
    for (ValueId v : it->inputs) requested[v] = true;
  }
  return requested;
}

void check_batch_input(const Graph& g, const Tensor& input) {
  const Value& in = g.value(g.input());
  const Shape& want = in.shape;
  if (!input.defined() || input.dtype() != DType::kFloat32) {
    throw Error(ErrorCode::kBadDtype,
                "input '" + in.name + "': expected float32 " + batch_shape_str(want) + ", found " +
                    (input.defined() ? dtype_name(input.dtype()) : "an undefined tensor"));
  }
  const Shape& got = input.shape();
  if (got.size() != 4 || want.size() != 4 || got[0] < 1 ||
      !std::equal(got.begin() + 1, got.end(), want.begin() + 1)) {
    throw Error(ErrorCode::kShapeMismatch, "input '" + in.name + "': expected " +
                                               batch_shape_str(want) + " with N >= 1, found " +
                                               shape_str(got));
  }
}

ValueId Graph::add_input(const std::string& name, Shape shape) {
  check_internal(input_ < 0, "graph already has an input");
  values_.push_back(Value{name, std::move(shape), Tensor(), -1});
  input_ = static_cast<ValueId>(values_.size()) - 1;
  return input_;
}

ValueId Graph::add_constant(const std::string& name, Tensor tensor) {
  check_internal(tensor.defined() && tensor.dtype() == DType::kFloat32 && tensor.is_contiguous(),
                 "constant " + name + " must be contiguous float32");
  Shape shape = tensor.shape();
  values_.push_back(Value{name, std::move(shape), std::move(tensor), -1});
  return static_cast<ValueId>(values_.size()) - 1;
}

ValueId Graph::add_node(OpKind op, const std::string& name, const std::string& stage,
                        std::vector<ValueId> inputs, OpAttrs attrs) {
  attrs = checked_attrs(op, name, std::move(attrs));
  std::vector<Shape> shapes;
  for (ValueId id : inputs) {
    check_internal(id >= 0 && id < static_cast<ValueId>(values_.size()),
                   "node " + name + " reads an unknown value");
    shapes.push_back(values_[id].shape);
  }
  Shape out = infer_shape(op, name, shapes, attrs);
  const int node_index = static_cast<int>(nodes_.size());
  values_.push_back(Value{name, std::move(out), Tensor(), node_index});
  const ValueId out_id = static_cast<ValueId>(values_.size()) - 1;
  nodes_.push_back(Node{op, name, stage, std::move(inputs), out_id, std::move(attrs)});
  return out_id;
}

void Graph::mark_output(const std::string& name, ValueId value) {
  check_internal(value >= 0 && value < static_cast<ValueId>(values_.size()),
                 "output " + name + " names an unknown value");
  outputs_[name] = value;
}

ValueId Graph::output(const std::string& name) const {
  auto it = outputs_.find(name);
  if (it == outputs_.end()) {
    std::string known;
    for (const auto& [n, v] : outputs_) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorCode::kBadArgument,
                "no graph output named '" + name + "' (outputs: " + known + ")");
  }
  return it->second;
}

}  // namespace starface::graph
