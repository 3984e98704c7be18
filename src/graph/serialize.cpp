#include "graph/serialize.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace starface::graph {

namespace {

using nlohmann::json;

constexpr const char* kFormat = "starface.graph";
// Version 2 stores each op's own attributes (version 1: one flat bag on every node).
constexpr int kVersion = 2;
constexpr int kOldestVersion = 1;
constexpr OpKind kLastOp = OpKind::kSoftArgmax;
// Bounds a stored kernel, stride or pad so shape arithmetic cannot overflow.
constexpr int64_t kMaxGeometry = 1 << 16;

// Only the op's own attributes are stored ({} for an op without any).
json attrs_json(const OpAttrs& attrs) {
  if (const auto* a = std::get_if<ConvAttrs>(&attrs)) {
    return {{"kernel", a->kernel},     {"stride", a->stride},    {"pad", a->pad},
            {"groups", a->groups},     {"slope", a->slope},      {"relu", a->relu},
            {"bias_map", a->bias_map}, {"residual", a->residual}};
  }
  if (const auto* a = std::get_if<NormAttrs>(&attrs)) return {{"eps", a->eps}};
  if (const auto* a = std::get_if<LeakyReluAttrs>(&attrs)) return {{"slope", a->slope}};
  if (const auto* a = std::get_if<ScaleShiftAttrs>(&attrs)) return {{"relu", a->relu}};
  if (const auto* a = std::get_if<BoundaryAttrs>(&attrs)) return {{"threshold", a->threshold}};
  return json::object();
}

// A tensor key for each constant: its value name, made unique with "#<n>" where passes
// left two constants of one name.
std::string unique_key(const std::string& name, std::set<std::string>& taken) {
  std::string key = name;
  for (int n = 2; !taken.insert(key).second; ++n) key = name + "#" + std::to_string(n);
  return key;
}

}  // namespace

SerializedGraph serialize(const Graph& graph) {
  SerializedGraph out;
  std::vector<int> canonical(graph.values().size(), -1);
  canonical.at(graph.input()) = 0;
  json constants = json::array();
  std::set<std::string> taken;
  int next = 1;
  auto add_constant = [&](ValueId id) {
    if (canonical[id] >= 0) return;
    const Value& v = graph.value(id);
    const std::string key = unique_key(v.name, taken);
    constants.push_back({{"name", v.name}, {"tensor", key}});
    out.constants[key] = v.constant;
    canonical[id] = next++;
  };
  for (const Node& n : graph.nodes()) {
    for (ValueId in : n.inputs) {
      if (graph.value(in).is_constant()) add_constant(in);
    }
  }
  for (const auto& [name, id] : graph.outputs()) {
    if (graph.value(id).is_constant()) add_constant(id);
  }
  json nodes = json::array();
  for (const Node& n : graph.nodes()) {
    json inputs = json::array();
    for (ValueId in : n.inputs) {
      check_internal(canonical.at(in) >= 0, "serialize: node " + n.name + " reads a dropped value");
      inputs.push_back(canonical[in]);
    }
    nodes.push_back({{"op", op_name(n.op)},
                     {"name", n.name},
                     {"stage", n.stage},
                     {"inputs", inputs},
                     {"attrs", attrs_json(n.attrs)}});
    canonical.at(n.output) = next++;
  }
  json outputs = json::object();
  for (const auto& [name, id] : graph.outputs()) outputs[name] = canonical.at(id);
  const Value& input = graph.value(graph.input());
  const json doc = {{"format", kFormat},
                    {"version", kVersion},
                    {"input", {{"name", input.name}, {"shape", input.shape}}},
                    {"constants", constants},
                    {"nodes", nodes},
                    {"outputs", outputs}};
  out.json = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

namespace {

// Reads the stored JSON, naming `source` and what is wrong; a malformed field is a
// corrupt file, not a starface bug.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void corrupt(const std::string& what) const {
    throw Error(ErrorCode::kNotACheckpoint, source_ + ": corrupt model graph: " + what);
  }

  const json& field(const json& object, const char* key, const std::string& where) const {
    if (!object.is_object() || !object.contains(key)) corrupt(where + " has no '" + key + "'");
    return object.at(key);
  }

  std::string text(const json& object, const char* key, const std::string& where) const {
    const json& v = field(object, key, where);
    if (!v.is_string()) corrupt(where + " '" + key + "' is not a string");
    return v.get<std::string>();
  }

  int64_t integer(const json& v, const std::string& where) const {
    if (!v.is_number_integer()) corrupt(where + " is not an integer");
    return v.get<int64_t>();
  }

  const json& array(const json& object, const char* key, const std::string& where) const {
    const json& v = field(object, key, where);
    if (!v.is_array()) corrupt(where + " '" + key + "' is not an array");
    return v;
  }

  OpKind op(const std::string& name, const std::string& where) const {
    for (int k = 0; k <= static_cast<int>(kLastOp); ++k) {
      if (name == op_name(static_cast<OpKind>(k))) return static_cast<OpKind>(k);
    }
    corrupt(where + ": unknown op '" + name + "'");
  }

  // The attributes of `op` from the stored object. Version 1 files stored every field of
  // the old flat attribute bag on every node (but no groups or slope), so reading only the
  // op's own fields, with groups 1 and slope 0 where absent, reads both versions.
  OpAttrs attrs(OpKind op, const json& a, const std::string& where) const {
    if (!a.is_object()) corrupt(where + " attrs is not an object");
    switch (op) {
      case OpKind::kConv2d:
        return conv_attrs(a, where);
      case OpKind::kBatchNorm:
      case OpKind::kInstanceNorm:
        return NormAttrs{number(a, "eps", where)};
      case OpKind::kLeakyRelu:
        return LeakyReluAttrs(number(a, "slope", where));
      case OpKind::kScaleShift:
        return ScaleShiftAttrs{flag(a, "relu", where)};
      case OpKind::kBoundaryPlanes:
        return BoundaryAttrs(number(a, "threshold", where));
      default:
        return std::monostate{};
    }
  }

 private:
  ConvAttrs conv_attrs(const json& a, const std::string& where) const {
    ConvAttrs out;
    out.kernel = count(a, "kernel", where);
    out.stride = count(a, "stride", where);
    out.pad = count(a, "pad", where);
    if (a.contains("groups")) out.groups = count(a, "groups", where);
    if (a.contains("slope")) out.slope = number(a, "slope", where);
    out.relu = flag(a, "relu", where);
    out.bias_map = flag(a, "bias_map", where);
    out.residual = flag(a, "residual", where);
    if (out.kernel < 1 || out.stride < 1 || out.pad < 0 || out.pad >= out.kernel ||
        out.groups < 1) {
      corrupt(where + " has an impossible kernel, stride, pad or groups");
    }
    return out;
  }

  int count(const json& a, const char* key, const std::string& where) const {
    const int64_t v = integer(field(a, key, where + " attrs"), where + " attrs " + key);
    if (v < 0 || v > kMaxGeometry) corrupt(where + " attrs '" + key + "' is out of range");
    return static_cast<int>(v);
  }

  float number(const json& a, const char* key, const std::string& where) const {
    const json& v = field(a, key, where + " attrs");
    if (!v.is_number()) corrupt(where + " attrs '" + key + "' is not a number");
    return static_cast<float>(v.get<double>());
  }

  bool flag(const json& a, const char* key, const std::string& where) const {
    const json& v = field(a, key, where + " attrs");
    if (!v.is_boolean()) corrupt(where + " attrs '" + key + "' is not a boolean");
    return v.get<bool>();
  }

  std::string source_;
};

}  // namespace

Graph deserialize(const std::string& text, const TensorMap& constants, const std::string& source) {
  const Reader r(source);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    r.corrupt(std::string("not valid JSON (") + e.what() + ")");
  }
  if (r.text(doc, "format", "graph") != kFormat) r.corrupt("format is not " + std::string(kFormat));
  const int64_t version = r.integer(r.field(doc, "version", "graph"), "graph version");
  if (version < kOldestVersion || version > kVersion) {
    r.corrupt("graph version " + doc.at("version").dump() + " (this build reads " +
              std::to_string(kOldestVersion) + " to " + std::to_string(kVersion) + ")");
  }
  Graph g;
  const json& input = r.field(doc, "input", "graph");
  Shape input_shape;
  for (const json& d : r.array(input, "shape", "input")) {
    input_shape.push_back(r.integer(d, "input shape"));
  }
  if (input_shape.size() != 4 || input_shape[0] != 1 ||
      std::any_of(input_shape.begin(), input_shape.end(), [](int64_t d) { return d < 1; })) {
    r.corrupt("input shape " + shape_str(input_shape) + " is not [1, C, H, W]");
  }
  g.add_input(r.text(input, "name", "input"), input_shape);

  std::set<std::string> used;
  for (const json& c : r.array(doc, "constants", "graph")) {
    const std::string key = r.text(c, "tensor", "constant");
    auto it = constants.find(key);
    if (it == constants.end()) {
      throw Error(ErrorCode::kMissingKey, source + ": no tensor '" + key + "' for the graph");
    }
    if (!dtype_is_floating(it->second.dtype())) {
      throw Error(ErrorCode::kBadDtype, source + ": tensor '" + key + "' is " +
                                            dtype_name(it->second.dtype()) + ", not a float");
    }
    if (!used.insert(key).second) r.corrupt("tensor '" + key + "' is named twice");
    g.add_constant(r.text(c, "name", "constant"), it->second.to_float32());
  }
  for (const auto& [key, t] : constants) {
    if (!used.count(key)) {
      throw Error(ErrorCode::kUnexpectedKey,
                  source + ": tensor '" + key + "' is not used by the graph");
    }
  }

  for (const json& n : r.array(doc, "nodes", "graph")) {
    const std::string name = r.text(n, "name", "node");
    const std::string where = "node " + name;
    std::vector<ValueId> inputs;
    for (const json& v : r.array(n, "inputs", where)) {
      const int64_t id = r.integer(v, where + " input");
      if (id < 0 || id >= static_cast<int64_t>(g.values().size())) {
        r.corrupt(where + " reads value " + std::to_string(id) +
                  ", which is not defined before it");
      }
      inputs.push_back(static_cast<ValueId>(id));
    }
    const OpKind op = r.op(r.text(n, "op", where), where);
    g.add_node(op, name, r.text(n, "stage", where), std::move(inputs),
               r.attrs(op, r.field(n, "attrs", where), where));
  }
  const json& outputs = r.field(doc, "outputs", "graph");
  if (!outputs.is_object() || outputs.empty()) r.corrupt("outputs is not a non-empty object");
  for (const auto& [name, v] : outputs.items()) {
    const int64_t id = r.integer(v, "output " + name);
    if (id < 0 || id >= static_cast<int64_t>(g.values().size())) {
      r.corrupt("output " + name + " names value " + std::to_string(id) + ", which does not exist");
    }
    g.mark_output(name, static_cast<ValueId>(id));
  }
  try {
    check_well_formed(g, source);
  } catch (const Error& e) {
    r.corrupt(e.what());
  }
  return g;
}

}  // namespace starface::graph
