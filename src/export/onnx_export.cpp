#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <set>

#include "core/error.h"
#include "graph/grid.h"
#include "graph/passes/passes.h"

namespace starface::exporter {

using graph::Graph;
using graph::Node;
using graph::OpKind;
using graph::ValueId;

namespace {

constexpr int kOpset = 17;
constexpr int kIrVersion = 8;  // what onnx 1.12 (Debian 12) checks against

// The backends' grid, rounded once to float32 as they round it.
float grid_coordinate(int64_t i, int64_t size) {
  return static_cast<float>(graph::grid_coordinate(i, size));
}

// Builds the GraphProto: unique value names, initializers, and nodes with attributes.
class OnnxBuilder {
 public:
  explicit OnnxBuilder(onnx::GraphProto* g) : g_(g) {}

  std::string unique(const std::string& base) {
    std::string name = base.empty() ? "v" : base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  std::string floats(const std::string& base, const Tensor& tensor) {
    const Tensor t = tensor.to_float32().contiguous();
    onnx::TensorProto* init = g_->add_initializer();
    init->set_name(unique(base));
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.shape()) init->add_dims(d);
    init->set_raw_data(t.bytes(), t.nbytes());
    return init->name();
  }

  std::string floats(const std::string& base, const Shape& shape, const std::vector<float>& v) {
    return floats(base, Tensor::from_vector(shape, v));
  }

  std::string int64s(const std::string& base, const std::vector<int64_t>& values) {
    onnx::TensorProto* init = g_->add_initializer();
    init->set_name(unique(base));
    init->set_data_type(onnx::TensorProto::INT64);
    init->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) init->add_int64_data(v);
    return init->name();
  }

  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::string& output) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }

  static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void integer(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void real(onnx::NodeProto* n, const std::string& name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void text(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }

 private:
  onnx::GraphProto* g_;
  std::set<std::string> names_;
};

void set_type(onnx::ValueInfoProto* info, const std::string& name, const Shape& shape) {
  info->set_name(name);
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (size_t i = 0; i < shape.size(); ++i) {
    onnx::TensorShapeProto_Dimension* d = t->mutable_shape()->add_dim();
    if (i == 0) {
      d->set_dim_param("N");  // dynamic batch
    } else {
      d->set_dim_value(shape[i]);
    }
  }
}

// Emits the ONNX nodes of each IR node; a fused IR op becomes a short chain whose last
// node writes the IR value's name.
class Exporter {
 public:
  Exporter(const Graph& graph, onnx::GraphProto* g) : graph_(graph), b_(g) {}

  void name_value(ValueId id, const std::string& name) { names_[id] = b_.unique(name); }

  void emit(const Node& n) {
    switch (n.op) {
      case OpKind::kConv2d:
        return conv(n);
      case OpKind::kBatchNorm:
        return batch_norm(n);
      case OpKind::kScaleShift:
        return scale_shift(n);
      case OpKind::kRelu:
        return unary(n, "Relu");
      case OpKind::kLeakyRelu:
        return leaky_relu(n);
      case OpKind::kSigmoid:
        return sigmoid(n);
      case OpKind::kAdd:
        return binary(n, "Add");
      case OpKind::kMul:
        return binary(n, "Mul");
      case OpKind::kMaxPool2x2:
        return max_pool(n);
      case OpKind::kUpsample2x:
        return upsample(n);
      case OpKind::kUpsampleNearest:  // RetinaFace's FPN: the export is STAR's (static 256x256)
        unsupported(n, "op");
      case OpKind::kConcat:
        return concat(n);
      case OpKind::kBoundaryPlanes:
        return boundary_planes(n);
      case OpKind::kInstanceNorm:
        return instance_norm(n);
      case OpKind::kSoftArgmax:
        return soft_argmax(n);
    }
    unsupported(n, "op");
  }

 private:
  [[noreturn]] static void unsupported(const Node& n, const std::string& what) {
    throw Error(ErrorCode::kInternal, "ONNX export: node '" + n.name + "' (" + graph::node_kind(n) +
                                          "): unsupported " + what);
  }

  // The ONNX name of an IR value; constants become initializers on first use.
  std::string in(ValueId id) {
    auto it = names_.find(id);
    if (it != names_.end()) return it->second;
    const graph::Value& v = graph_.value(id);
    check_internal(v.is_constant(), "ONNX export: value '" + v.name + "' used before computed");
    return names_[id] = b_.floats(v.name, v.constant);
  }
  std::string out(const Node& n) {
    auto it = names_.find(n.output);
    if (it != names_.end()) return it->second;
    return names_[n.output] = b_.unique(n.name);
  }
  std::string temp(const Node& n, const std::string& suffix) { return b_.unique(n.name + suffix); }
  int64_t channels(ValueId id) const { return graph_.value(id).shape.at(1); }

  // Per-channel [C] -> [1, C, 1, 1] so it broadcasts over N, H, W.
  std::string per_channel(ValueId id) {
    const graph::Value& v = graph_.value(id);
    if (!v.is_constant()) throw Error(ErrorCode::kInternal, v.name + ": not a constant");
    return b_.floats(v.name,
                     v.constant.to_float32().contiguous().reshape({1, v.shape.at(0), 1, 1}));
  }

  void conv(const Node& n) {
    const graph::ConvAttrs& a = n.conv();
    const ValueId map = graph::conv_bias_map(n);
    const ValueId residual = graph::conv_residual(n);
    std::vector<std::pair<std::string, std::string>> tail;  // (op, second input) after Conv
    if (map >= 0) tail.push_back({"Add", in(map)});
    if (residual >= 0) tail.push_back({"Add", in(residual)});
    if (a.relu) tail.push_back({a.slope != 0.0f ? "LeakyRelu" : "Relu", ""});
    std::string x = tail.empty() ? out(n) : temp(n, "/conv");
    onnx::NodeProto* c = b_.node("Conv", {in(n.inputs[0]), in(n.inputs[1]), in(n.inputs[2])}, x);
    OnnxBuilder::ints(c, "kernel_shape", {a.kernel, a.kernel});
    OnnxBuilder::ints(c, "strides", {a.stride, a.stride});
    OnnxBuilder::ints(c, "pads", {a.pad, a.pad, a.pad, a.pad});
    if (a.groups != 1) OnnxBuilder::ints(c, "group", {a.groups});
    for (size_t i = 0; i < tail.size(); ++i) {
      const auto& [op, second] = tail[i];
      const std::string y =
          i + 1 == tail.size() ? out(n) : temp(n, "/" + std::string(i == 0 ? "a" : "b"));
      std::vector<std::string> inputs{x};
      if (!second.empty()) inputs.push_back(second);
      onnx::NodeProto* t = b_.node(op, inputs, y);
      if (op == "LeakyRelu") OnnxBuilder::real(t, "alpha", a.slope);
      x = y;
    }
  }

  void batch_norm(const Node& n) {
    onnx::NodeProto* bn = b_.node(
        "BatchNormalization",
        {in(n.inputs[0]), in(n.inputs[1]), in(n.inputs[2]), in(n.inputs[3]), in(n.inputs[4])},
        out(n));
    OnnxBuilder::real(bn, "epsilon", n.norm().eps);
  }

  void scale_shift(const Node& n) {
    const std::string scaled = temp(n, "/scale");
    b_.node("Mul", {in(n.inputs[0]), per_channel(n.inputs[1])}, scaled);
    const bool relu = n.scale_shift().relu;
    const std::string shifted = relu ? temp(n, "/shift") : out(n);
    b_.node("Add", {scaled, per_channel(n.inputs[2])}, shifted);
    if (relu) b_.node("Relu", {shifted}, out(n));
  }

  void unary(const Node& n, const std::string& op) { b_.node(op, {in(n.inputs[0])}, out(n)); }
  void leaky_relu(const Node& n) {
    OnnxBuilder::real(b_.node("LeakyRelu", {in(n.inputs[0])}, out(n)), "alpha",
                      n.leaky_relu().slope);
  }
  // 1 / (1 + exp(-x)) rather than Sigmoid: ONNX Runtime's Sigmoid is a fast approximation
  // whose error, through the fusion maps of low-mass channels, moved tiny-model landmarks
  // by 1.85e-5 (over the 1.29e-5 tolerance); written out they are 1.8e-6 off.
  void sigmoid(const Node& n) {
    if (one_.empty()) one_ = b_.floats("one", {}, {1.0f});
    const std::string neg = temp(n, "/neg"), exp = temp(n, "/exp"), den = temp(n, "/den");
    b_.node("Neg", {in(n.inputs[0])}, neg);
    b_.node("Exp", {neg}, exp);
    b_.node("Add", {exp, one_}, den);
    b_.node("Div", {one_, den}, out(n));
  }

  void binary(const Node& n, const std::string& op) {
    b_.node(op, {in(n.inputs[0]), in(n.inputs[1])}, out(n));
  }

  void max_pool(const Node& n) {
    onnx::NodeProto* p = b_.node("MaxPool", {in(n.inputs[0])}, out(n));
    OnnxBuilder::ints(p, "kernel_shape", {2, 2});
    OnnxBuilder::ints(p, "strides", {2, 2});
  }

  // Nearest 2x: asymmetric coordinates with floor copy each value to a 2x2 block exactly.
  void upsample(const Node& n) {
    if (scales_2x_.empty()) scales_2x_ = b_.floats("scales_2x", {4}, {1.f, 1.f, 2.f, 2.f});
    onnx::NodeProto* r = b_.node("Resize", {in(n.inputs[0]), "", scales_2x_}, out(n));
    OnnxBuilder::text(r, "mode", "nearest");
    OnnxBuilder::text(r, "coordinate_transformation_mode", "asymmetric");
    OnnxBuilder::text(r, "nearest_mode", "floor");
  }

  // ONNX Concat does not broadcast, so a batch-1 constant part (which coord_bias turns into
  // a bias map) cannot be exported as is.
  void concat(const Node& n) {
    std::vector<std::string> inputs;
    for (ValueId id : n.inputs) {
      if (graph_.value(id).is_constant()) unsupported(n, "constant Concat input (run the passes)");
      inputs.push_back(in(id));
    }
    OnnxBuilder::integer(b_.node("Concat", inputs, out(n)), "axis", 1);
  }

  // guide[:, C-1] > t as a float 0/1 mask times the [rows; cols] planes. clamp(v, 0, 1) > t
  // equals v > t for 0 <= t < 1, so the Clip is left out; the compare is float32 as in the
  // kernels. Greater -> Cast -> Mul rather than Where (OpenCV DNN 4.6 has no Where layer),
  // and the mask is concatenated with itself into both plane channels first because OpenCV
  // mis-shapes a Mul that broadcasts [N,1,H,W] against [1,2,H,W]. A mask of 0 or 1 times a
  // plane value is exact, so the planes are those Where gave (up to the sign of zero).
  void boundary_planes(const Node& n) {
    const float t = n.boundary().threshold;
    if (!(t >= 0.0f && t < 1.0f)) unsupported(n, "threshold outside [0, 1)");
    const Shape& s = graph_.value(n.inputs[0]).shape;
    const int64_t c = s.at(1), h = s.at(2), w = s.at(3);
    const std::string last = temp(n, "/last_channel");
    b_.node("Slice",
            {in(n.inputs[0]), b_.int64s(n.name + "/starts", {c - 1}),
             b_.int64s(n.name + "/ends", {c}), b_.int64s(n.name + "/axes", {1})},
            last);
    const std::string above = temp(n, "/above");
    b_.node("Greater", {last, b_.floats(n.name + "/threshold", {}, {t})}, above);
    const std::string mask = temp(n, "/mask");
    OnnxBuilder::integer(b_.node("Cast", {above}, mask), "to", onnx::TensorProto::FLOAT);
    const std::string mask2 = temp(n, "/mask2");
    OnnxBuilder::integer(b_.node("Concat", {mask, mask}, mask2), "axis", 1);
    b_.node("Mul", {mask2, b_.floats(n.name + "/planes", {1, 2, h, w}, coordinate_planes(h, w))},
            out(n));
  }

  // [rows; cols] as a [2, H, W] constant: plane 0 holds each cell's row coordinate, plane 1
  // its column coordinate.
  static std::vector<float> coordinate_planes(int64_t h, int64_t w) {
    std::vector<float> planes(static_cast<size_t>(2 * h * w));
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        planes[i * w + j] = grid_coordinate(i, h);
        planes[h * w + i * w + j] = grid_coordinate(j, w);
      }
    }
    return planes;
  }

  // (x - mean) / sqrt(var + eps) per (n, c), written out rather than as
  // InstanceNormalization: OpenCV DNN 4.6 turns that into its MVN layer, which divides by
  // std + eps instead of sqrt(var + eps); with eps = 1e-5 that scales every map by about
  // 1 - 5e-6 / std and moved the tiny 300W model's landmarks by 1.7e-3 crop px. The
  // per-channel statistics broadcast over H and W only, which OpenCV runs (its Scale layer).
  void instance_norm(const Node& n) {
    const std::string x = in(n.inputs[0]);
    const std::string mean = temp(n, "/mean"), centered = temp(n, "/centered");
    b_.node("GlobalAveragePool", {x}, mean);
    b_.node("Sub", {x, mean}, centered);
    const std::string squares = temp(n, "/squares"), var = temp(n, "/variance");
    b_.node("Mul", {centered, centered}, squares);
    b_.node("GlobalAveragePool", {squares}, var);
    const std::string shifted = temp(n, "/variance_eps"), inv_std = temp(n, "/inv_std");
    b_.node("Add", {var, b_.floats(n.name + "/eps", {}, {n.norm().eps})}, shifted);
    b_.node("Pow", {shifted, b_.floats(n.name + "/minus_half", {}, {-0.5f})}, inv_std);
    b_.node("Mul", {centered, inv_std}, out(n));
  }

  // [N,P,H,W] -> [N,P,H*W]; (maps @ grid[H*W, 2]) / max(maps @ ones[H*W, 1], 1e-6). The
  // reshape target is a constant (0 copies N), so no shape computation is needed. The total
  // is a MatMul with a column of ones rather than ReduceSum, whose axes input (opset 13+)
  // OpenCV DNN 4.6 does not read.
  void soft_argmax(const Node& n) {
    const Shape& s = graph_.value(n.inputs[0]).shape;
    const int64_t h = s.at(2), w = s.at(3);
    const std::string flat = temp(n, "/flat");
    b_.node("Reshape", {in(n.inputs[0]), b_.int64s(n.name + "/flat_shape", {0, 0, h * w})}, flat);
    const std::string weighted = temp(n, "/weighted");
    b_.node("MatMul", {flat, b_.floats(n.name + "/grid", {h * w, 2}, soft_argmax_grid(h, w))},
            weighted);
    const std::string total = temp(n, "/total");
    const std::vector<float> ones(static_cast<size_t>(h * w), 1.0f);
    b_.node("MatMul", {flat, b_.floats(n.name + "/ones", {h * w, 1}, ones)}, total);
    b_.node("Div", {weighted, at_least(n, total, 1e-6f)}, out(n));
  }

  // max(x, floor) as x + relu(floor - x): OpenCV DNN 4.6 takes neither Max with a constant
  // nor Clip with its bounds as inputs (opset 11+). Where x >= floor (every live heatmap's
  // total) relu gives 0 and the sum is x exactly, so ONNX Runtime's result does not move;
  // below, it is floor up to one rounding.
  std::string at_least(const Node& n, const std::string& x, float floor) {
    const std::string negated = temp(n, "/negated"), gap = temp(n, "/gap");
    const std::string lift = temp(n, "/lift"), floored = temp(n, "/floored");
    b_.node("Neg", {x}, negated);
    b_.node("Add", {negated, b_.floats(n.name + "/floor", {}, {floor})}, gap);
    b_.node("Relu", {gap}, lift);
    b_.node("Add", {x, lift}, floored);
    return floored;
  }

  // Row k = i * W + j of the [H*W, 2] matrix holds cell (i, j)'s (x, y) = (column, row).
  static std::vector<float> soft_argmax_grid(int64_t h, int64_t w) {
    std::vector<float> grid(static_cast<size_t>(h * w * 2));
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        grid[2 * (i * w + j)] = grid_coordinate(j, w);
        grid[2 * (i * w + j) + 1] = grid_coordinate(i, h);
      }
    }
    return grid;
  }

  const Graph& graph_;
  OnnxBuilder b_;
  std::map<ValueId, std::string> names_;
  std::string scales_2x_;
  std::string one_;
};

}  // namespace

OnnxExport to_onnx(const Graph& graph, const std::vector<OnnxOutput>& outputs,
                   const std::string& doc) {
  graph::check_well_formed(graph, "ONNX export");
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("starface");
  model.set_doc_string(doc);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("star");

  Exporter exporter(graph, g);
  const graph::Value& input = graph.value(graph.input());
  exporter.name_value(graph.input(), "input");
  set_type(g->add_input(), "input", input.shape);
  for (const OnnxOutput& o : outputs) {
    const ValueId id = graph.output(o.graph_name);
    exporter.name_value(id, o.onnx_name);
    set_type(g->add_output(), o.onnx_name, graph.value(id).shape);
  }
  for (const Node& n : graph.nodes()) exporter.emit(n);

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInternal,
                std::string("ONNX export fails the ONNX checker: ") + e.what());
  }
  OnnxExport result;
  result.nodes = g->node_size();
  result.initializers = g->initializer_size();
  for (const onnx::NodeProto& n : g->node()) ++result.op_types[n.op_type()];
  if (!model.SerializeToString(&result.bytes)) {
    throw Error(ErrorCode::kInternal, "ONNX export: the model does not serialize");
  }
  return result;
}

OnnxExport export_optimized(const Graph& graph, const std::vector<OnnxOutput>& outputs,
                            const std::string& doc) {
  std::vector<std::string> kept;
  for (const OnnxOutput& o : outputs) kept.push_back(o.graph_name);
  return to_onnx(graph::passes::optimize(graph, kept), outputs, doc);
}

}  // namespace starface::exporter
