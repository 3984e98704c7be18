// The graph IR: values (the network input, constants such as weights, and op results) and
// nodes that compute one value each, in topological order. Shapes are inferred when a node
// is added, for batch 1; a backend runs the same graph for any batch N, and constants whose
// batch dimension is 1 broadcast over N where an op allows it (Concat).
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace starface::graph {

using ValueId = int;

enum class OpKind {
  kConv2d,           // (x, weight [Co,Ci,k,k], bias [Co] [, bias_map] [, residual]) -> y:
                     //   conv(x) + bias [+ bias_map, a constant [1,Co,OH,OW] broadcast over N]
                     //   [+ residual, same shape as y], then ReLU if relu (ConvAttrs); kernel,
                     //   stride, pad, groups say the geometry (weight [Co,Ci/groups,k,k]).
                     //   With slope != 0 the activation is LeakyReLU(slope) instead.
                     //   Passes fuse into this form.
  kBatchNorm,        // (x, gamma, beta, mean, var) -> (x - mean) / sqrt(var + eps) * gamma + beta
                     //   (NormAttrs)
  kScaleShift,       // (x, scale [C], shift [C]) -> x * scale + shift per channel, ReLU if relu
                     //   (ScaleShiftAttrs)
  kRelu,             // max(x, 0)
  kLeakyRelu,        // x >= 0 ? x : x * slope (LeakyReluAttrs)
  kSigmoid,          // 1 / (1 + exp(-x))
  kAdd,              // a + b (same shape)
  kMul,              // a * b (same shape)
  kMaxPool2x2,       // max of each non-overlapping 2x2 block
  kUpsample2x,       // nearest neighbour: each value to a 2x2 block
  kUpsampleNearest,  // (x, like) -> x resized to like's H x W, PyTorch's legacy nearest:
                     //   src = min(floor(dst * (float)in / out), in - 1) on each axis
  kConcat,           // along channels; inputs with batch 1 broadcast over N
  kBoundaryPlanes,   // (guide [N,C,H,W]) -> [N,2,H,W]: row and column planes where
                     //   clamp(guide[:, C-1], 0, 1) > threshold (BoundaryAttrs), else 0
  kInstanceNorm,     // per (n, c): (x - mean) / sqrt(biased var + eps) (NormAttrs); no affine
  kSoftArgmax,       // [N,P,H,W] -> [N,P,2] (x, y) in [-1, 1]
};

const char* op_name(OpKind op);

// Each op's attributes, in the op's own struct; an op without attributes holds none. The
// IR states what an op computes: net policy (STAR's boundary threshold, RetinaFace's leaky
// slope) is passed by the net's builder and stored in the model file, never defaulted here.
struct ConvAttrs {
  int kernel = 1;
  int stride = 1;
  int pad = 0;
  int groups = 1;         // input and output channels split into this many groups
  float slope = 0.0f;     // with relu: the negative slope of the fused activation (0 = ReLU)
  bool relu = false;      // ReLU (LeakyReLU with a slope) last
  bool bias_map = false;  // input 3 is a constant per-pixel bias [1, Co, OH, OW]
  bool residual = false;  // the last input is added before the ReLU
  friend bool operator==(const ConvAttrs&, const ConvAttrs&) = default;
};
// BatchNorm and InstanceNorm. 1e-5 is the op's usual definition (PyTorch's default).
struct NormAttrs {
  float eps = 1e-5f;
  friend bool operator==(const NormAttrs&, const NormAttrs&) = default;
};
struct LeakyReluAttrs {
  explicit LeakyReluAttrs(float negative_slope) : slope(negative_slope) {}
  float slope;
  friend bool operator==(const LeakyReluAttrs&, const LeakyReluAttrs&) = default;
};
struct ScaleShiftAttrs {
  bool relu = false;  // ReLU last
  friend bool operator==(const ScaleShiftAttrs&, const ScaleShiftAttrs&) = default;
};
struct BoundaryAttrs {
  explicit BoundaryAttrs(float gate) : threshold(gate) {}
  float threshold;  // a plane is on where the clamped guide exceeds this
  friend bool operator==(const BoundaryAttrs&, const BoundaryAttrs&) = default;
};
using OpAttrs = std::variant<std::monostate, ConvAttrs, NormAttrs, LeakyReluAttrs, ScaleShiftAttrs,
                             BoundaryAttrs>;

struct Value {
  std::string name;
  Shape shape;        // for batch 1
  Tensor constant;    // defined for constants (weights, coordinate planes)
  int producer = -1;  // index of the node that computes it; -1 for input and constants
  bool is_constant() const { return constant.defined(); }
};

struct Node {
  OpKind op;
  std::string name;   // e.g. "hgs.0.up1.conv2"
  std::string stage;  // cost-report stage: "stem", "hourglass[0]", "features[0]", ...
  std::vector<ValueId> inputs;
  ValueId output = -1;
  OpAttrs attrs;  // the alternative of `op` (Graph::add_node checks it)

  // The attributes of the node's op; each throws kInternal naming the node when the node
  // holds another op's. Backends read them once, when they compile.
  const ConvAttrs& conv() const;
  const NormAttrs& norm() const;
  const LeakyReluAttrs& leaky_relu() const;
  const ScaleShiftAttrs& scale_shift() const;
  const BoundaryAttrs& boundary() const;
};

// The op name with what is fused into it, for profiles: "Conv2d+BiasMap+Add+Relu"
// ("+LeakyRelu" when the fused activation has a slope).
std::string node_kind(const Node& node);

// The optional inputs of a Conv2d node, or -1 when it has none (or is another op).
ValueId conv_bias_map(const Node& node);
ValueId conv_residual(const Node& node);

class Graph {
 public:
  ValueId add_input(const std::string& name, Shape shape);
  ValueId add_constant(const std::string& name, Tensor tensor);
  // Adds a node, infers its output shape (throws kShapeMismatch naming the node on a
  // mismatch) and returns the output value, named after the node. `attrs` must be the
  // op's struct (kInternal naming the node otherwise); left empty, a Conv2d, norm or
  // ScaleShift takes its struct's defaults, while LeakyRelu and BoundaryPlanes, whose
  // attributes have no neutral value, must be given theirs.
  ValueId add_node(OpKind op, const std::string& name, const std::string& stage,
                   std::vector<ValueId> inputs, OpAttrs attrs = {});
  // Publishes a value under an output name ("landmarks", "heatmaps.3", ...).
  void mark_output(const std::string& name, ValueId value);

  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const Value& value(ValueId id) const { return values_.at(id); }
  ValueId input() const { return input_; }
  const std::map<std::string, ValueId>& outputs() const { return outputs_; }
  // The value published under `name`; throws kBadArgument listing the outputs otherwise.
  ValueId output(const std::string& name) const;

  // Mutable access for passes.
  std::vector<Value>& mutable_values() { return values_; }
  std::vector<Node>& mutable_nodes() { return nodes_; }

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::map<std::string, ValueId> outputs_;
  ValueId input_ = -1;
};

// The IR's rules, for a backend to check once when it compiles: one input of rank 4,
// every node with its op's number of inputs, reading only the input, constants or values
// computed earlier. Throws kInternal naming `who` and the node.
void check_well_formed(const Graph& graph, const std::string& who);

// Throws kBadDtype / kShapeMismatch unless `input` is float32 [N, ...] with the graph
// input's shape apart from N >= 1.
void check_batch_input(const Graph& graph, const Tensor& input);

// Per value: whether computing the `requested` values (marked per value) needs it, the
// requested ones included. What every plan runs for a set of outputs.
std::vector<bool> needed_values(const Graph& graph, std::vector<bool> requested);

// The legacy nearest source index (PyTorch's F.interpolate(mode="nearest")) of output
// index `dst` when `in` cells are resized to `out`: the scale is computed in float32, as
// PyTorch does, so odd sizes (23 -> 45) pick the same cells.
int64_t nearest_source_index(int64_t dst, int64_t in, int64_t out);

// The output shape of `op` on inputs of `shapes` (batch 1), or kShapeMismatch naming `node`.
// `attrs` is the op's struct (as Graph::add_node leaves it).
Shape infer_shape(OpKind op, const std::string& node, const std::vector<Shape>& shapes,
                  const OpAttrs& attrs);

}  // namespace starface::graph
