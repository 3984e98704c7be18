#include "nets/common/model_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "graph/serialize.h"
#include "import/safetensors.h"

namespace starface::nets {

namespace {

using nlohmann::json;

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kNotACheckpoint, path + ": corrupt starface model file: " + what);
}

const std::string& metadata(const import::Metadata& m, const std::string& key,
                            const std::string& path) {
  auto it = m.find(key);
  if (it == m.end()) corrupt(path, "no '" + key + "' in the metadata");
  return it->second;
}

// The float16 form of a large constant, or the constant itself where float16 would
// overflow (a value beyond 65504) or the tensor is small.
Tensor stored_form(const Tensor& t, const std::string& precision) {
  if (precision != "fp16" || t.numel() < kFloat16MinElements) return t;
  const Tensor src = t.contiguous();
  const float* in = src.data<float>();
  Tensor out(DType::kFloat16, src.shape());
  auto* bits = reinterpret_cast<uint16_t*>(out.bytes());
  for (int64_t i = 0; i < src.numel(); ++i) {
    bits[i] = float_to_half(in[i]);
    if (std::isfinite(in[i]) && (bits[i] & 0x7c00u) == 0x7c00u) return t;
  }
  return out;
}

constexpr const char* kInt8ScaleSuffix = ".int8_scale";

json int8_layer_json(const graph::Int8Layer& l) {
  return {{"signed", l.is_signed},
          {"min", l.min},
          {"max", l.max},
          {"clip", l.clip},
          {"input_sqnr_db", l.input_sqnr_db},
          {"sqnr_db", l.sqnr_db},
          {"bias_shift", l.bias_shift}};
}

// Since MSE clipping: "clipping" and "layers" (what calibration measured per conv, for
// reports). Files made before have neither and read as clipping "max".
json int8_json(const graph::Int8Calibration& c) {
  json layers = json::object();
  for (const auto& [conv, layer] : c.layers) layers[conv] = int8_layer_json(layer);
  return {{"input_scales", c.input_scales},
          {"fp32_layers", c.fp32_layers},
          {"crops", c.crops},
          {"clipping", c.clipping},
          {"layers", layers}};
}

// One field of a layer's entry, named in the error when it is missing or of another type.
template <typename T>
T layer_field(const json& layer, const std::string& conv, const char* field,
              const std::string& path) {
  const bool ok = layer.contains(field) &&
                  (std::is_same_v<T, bool> ? layer[field].is_boolean() : layer[field].is_number());
  if (!ok) {
    corrupt(path, "int8 calibration: layer '" + conv + "' has no " +
                      (std::is_same_v<T, bool> ? "boolean" : "number") + " '" + field + "'");
  }
  return layer[field].get<T>();
}

graph::Int8Layer parse_int8_layer(const json& j, const std::string& conv, const std::string& path) {
  if (!j.is_object()) corrupt(path, "int8 calibration: layer '" + conv + "' is not an object");
  graph::Int8Layer l;
  l.is_signed = layer_field<bool>(j, conv, "signed", path);
  l.min = layer_field<float>(j, conv, "min", path);
  l.max = layer_field<float>(j, conv, "max", path);
  l.clip = layer_field<float>(j, conv, "clip", path);
  l.input_sqnr_db = layer_field<double>(j, conv, "input_sqnr_db", path);
  l.sqnr_db = layer_field<double>(j, conv, "sqnr_db", path);
  l.bias_shift = layer_field<double>(j, conv, "bias_shift", path);
  if (!(l.clip >= 0) || !std::isfinite(l.clip)) {
    corrupt(path, "int8 calibration: layer '" + conv + "' has clip " + std::to_string(l.clip));
  }
  return l;
}

graph::Int8Calibration parse_int8(const std::string& text, const std::string& path) {
  graph::Int8Calibration c;
  try {
    const json j = json::parse(text);
    for (const auto& [conv, scale] : j.at("input_scales").items()) {
      const float s = scale.get<float>();
      if (!(s > 0.0f) || !std::isfinite(s))
        corrupt(path, "int8 scale of '" + conv + "' is not > 0");
      c.input_scales[conv] = s;
    }
    c.fp32_layers = j.at("fp32_layers").get<std::map<std::string, std::string>>();
    c.crops = j.at("crops").get<int>();
    if (j.contains("clipping")) {
      c.clipping = j["clipping"].get<std::string>();
      if (c.clipping != "max" && c.clipping != "mse" && c.clipping != "percentile") {
        corrupt(path, "int8 calibration: unknown clipping '" + c.clipping + "'");
      }
    }
    if (j.contains("layers")) {
      if (!j["layers"].is_object()) corrupt(path, "int8 calibration: 'layers' is not an object");
      for (const auto& [conv, layer] : j["layers"].items()) {
        c.layers[conv] = parse_int8_layer(layer, conv, path);
      }
    }
  } catch (const json::exception& e) {
    corrupt(path, std::string("int8 calibration is not valid (") + e.what() + ")");
  }
  return c;
}

json precisions_json(const graph::ConvPrecisions& p) {
  json convs = json::object();
  for (const auto& [conv, precision] : p.convs) convs[conv] = graph::precision_name(precision);
  return {{"others", graph::precision_name(p.others)}, {"convs", convs}};
}

graph::Precision parse_precision_named(const json& name, const std::string& what,
                                       const std::string& path) {
  const auto precision = graph::parse_precision(name.is_string() ? name.get<std::string>() : "");
  if (!precision) {
    corrupt(path, "precision table: " + what + " has precision " + name.dump() + ", not one of " +
                      graph::precision_names());
  }
  return *precision;
}

// The stored per-conv assignment, checked against the graph and the calibration: every
// conv it names exists, and every int8 conv has an input scale.
graph::ConvPrecisions parse_precisions(const std::string& text, const graph::Graph& g,
                                       const graph::Int8Calibration& int8,
                                       const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    corrupt(path, std::string("precision table is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("others") || !j.contains("convs") || !j["convs"].is_object()) {
    corrupt(path, "precision table needs 'others' and an object 'convs'");
  }
  std::set<std::string> conv_names;
  for (const graph::Node& n : g.nodes()) {
    if (n.op == graph::OpKind::kConv2d) conv_names.insert(n.name);
  }
  graph::ConvPrecisions p;
  p.others = parse_precision_named(j["others"], "'others'", path);
  for (const auto& [conv, name] : j["convs"].items()) {
    if (!conv_names.count(conv)) {
      corrupt(path, "precision table names '" + conv + "', which is not a conv of the graph");
    }
    p.convs[conv] = parse_precision_named(name, "conv '" + conv + "'", path);
  }
  p.int8_input_scales = int8.input_scales;
  for (const auto& [conv, precision] : p.convs) {
    if (precision == graph::Precision::kInt8 && !p.int8_input_scales.count(conv)) {
      corrupt(path, "precision table: conv '" + conv + "' is int8 but has no calibrated scale");
    }
  }
  if (p.others == graph::Precision::kInt8) {
    corrupt(path, "precision table: 'others' cannot be int8 (int8 needs a scale per conv)");
  }
  return p;
}

bool is_all_fp32(const graph::ConvPrecisions& p) {
  return !p.uses(graph::Precision::kFp32Winograd) && !p.uses(graph::Precision::kBf16) &&
         !p.uses(graph::Precision::kInt8);
}

// The tensor keys of the weights of the convs named in `convs`, from the graph's JSON
// (a node's inputs are value ids: 0 the input, 1..K the constants in order).
std::set<std::string> conv_weight_keys(const std::string& graph_json,
                                       const std::map<std::string, float>& convs) {
  const json doc = json::parse(graph_json);
  const json& constants = doc.at("constants");
  std::set<std::string> keys;
  for (const json& n : doc.at("nodes")) {
    if (n.at("op") != "Conv2d" || !convs.count(n.at("name").get<std::string>())) continue;
    const auto id = n.at("inputs").at(1).get<size_t>();
    if (id >= 1 && id <= constants.size()) keys.insert(constants[id - 1].at("tensor"));
  }
  return keys;
}

// Weights [Co, ...] as int8 q = round(w / scale[o]) (graph::int8_weight_scales), the scales
// beside them: the int8 conv derives the same scales and q again at load.
void store_int8(TensorMap& tensors, const std::string& key) {
  const Tensor w = tensors.at(key).to_float32().contiguous();
  const std::vector<float> channel_scales = graph::int8_weight_scales(w);
  const int64_t channels = w.dim(0), per = w.numel() / channels;
  Tensor q(DType::kInt8, w.shape());
  Tensor scales(DType::kFloat32, {channels});
  std::copy(channel_scales.begin(), channel_scales.end(), scales.data<float>());
  for (int64_t o = 0; o < channels; ++o) {
    const float* row = w.data<float>() + o * per;
    auto* out = reinterpret_cast<int8_t*>(q.bytes()) + o * per;
    for (int64_t i = 0; i < per; ++i) {
      out[i] = static_cast<int8_t>(std::nearbyint(row[i] / channel_scales[o]));
    }
  }
  tensors[key] = q;
  tensors[key + kInt8ScaleSuffix] = scales;
}

// Every int8 tensor with its scales back to float32 w = scale[o] * q, in place.
void widen_int8(TensorMap& tensors, const std::string& path) {
  std::vector<std::string> scale_keys;
  for (const auto& [key, t] : tensors) {
    if (key.size() > std::strlen(kInt8ScaleSuffix) &&
        key.compare(key.size() - std::strlen(kInt8ScaleSuffix), std::string::npos,
                    kInt8ScaleSuffix) == 0) {
      scale_keys.push_back(key);
    }
  }
  for (const std::string& scale_key : scale_keys) {
    const std::string key = scale_key.substr(0, scale_key.size() - std::strlen(kInt8ScaleSuffix));
    auto it = tensors.find(key);
    const Tensor& scales = tensors.at(scale_key);
    if (it == tensors.end() || it->second.dtype() != DType::kInt8 || it->second.rank() < 1 ||
        scales.dtype() != DType::kFloat32 || scales.rank() != 1 ||
        scales.numel() != it->second.shape()[0]) {
      corrupt(path, "'" + scale_key + "' does not scale an int8 tensor [" +
                        std::to_string(scales.numel()) + ", ...]");
    }
    const Tensor q = it->second.contiguous();
    const int64_t per = q.shape()[0] > 0 ? q.numel() / q.shape()[0] : 0;
    Tensor w(DType::kFloat32, q.shape());
    const auto* in = reinterpret_cast<const int8_t*>(q.bytes());
    for (int64_t i = 0; i < q.numel(); ++i) {
      w.data<float>()[i] = scales.data<float>()[i / per] * static_cast<float>(in[i]);
    }
    it->second = w;
    tensors.erase(scale_key);
  }
}

}  // namespace

std::vector<std::string> storage_precisions() { return {"fp32", "fp16", "int8"}; }

void write_model_file(const std::string& path, const graph::Graph& graph, const NetInfo& net,
                      const ModelFileInfo& info) {
  const auto known = storage_precisions();
  if (std::find(known.begin(), known.end(), info.precision) == known.end()) {
    throw Error(ErrorCode::kBadArgument,
                "unknown model file precision '" + info.precision + "' (fp32 or fp16)");
  }
  graph::SerializedGraph serialized = graph::serialize(graph);
  TensorMap tensors;
  for (auto& [key, t] : serialized.constants) tensors[key] = stored_form(t, info.precision);
  if (info.precision == "int8") {
    for (const std::string& key : conv_weight_keys(serialized.json, info.int8.input_scales)) {
      store_int8(tensors, key);
    }
  }
  import::Metadata metadata = {
      {"format", kModelFileFormat}, {"format_version", std::to_string(kModelFileVersion)},
      {"net", net.name()},          {"graph", serialized.json},
      {"config", net.config},       {"precision", info.precision},
      {"source", info.source},      {"weights", info.weights},
  };
  if (info.precision == "int8") metadata["int8"] = int8_json(info.int8).dump();
  if (!is_all_fp32(info.precisions)) {
    metadata["precisions"] = precisions_json(info.precisions).dump();
  }
  if (!info.precision_search.empty()) metadata["precision_search"] = info.precision_search;
  import::write_safetensors(path, tensors, metadata);
}

ModelFile read_model_file(const std::string& path) {
  import::SafetensorsFile file = import::read_safetensors(path);
  const import::Metadata& m = file.metadata;
  auto format = m.find("format");
  if (format == m.end() || format->second != kModelFileFormat) {
    throw Error(ErrorCode::kNotACheckpoint,
                path +
                    ": a safetensors file, but not a starface model (its metadata has no "
                    "format '" +
                    std::string(kModelFileFormat) +
                    "'); make one from a checkpoint with `starface convert CKPT -o " +
                    std::filesystem::path(path).filename().string() + "`");
  }
  const std::string& version = metadata(m, "format_version", path);
  if (version != std::to_string(kModelFileVersion)) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": starface model format version " + version + ", this build reads " +
                    std::to_string(kModelFileVersion) + "; convert the checkpoint again");
  }
  ModelFile model;
  const auto net = m.find("net");
  if (net != m.end()) model.net = net->second;
  model.config = metadata(m, "config", path);
  model.info.precision = metadata(m, "precision", path);
  const auto known = storage_precisions();
  if (std::find(known.begin(), known.end(), model.info.precision) == known.end()) {
    corrupt(path, "unknown precision '" + model.info.precision + "'");
  }
  model.info.source = metadata(m, "source", path);
  model.info.weights = metadata(m, "weights", path);
  if (model.info.precision == "int8") {
    model.info.int8 = parse_int8(metadata(m, "int8", path), path);
    widen_int8(file.tensors, path);
  }
  model.graph = graph::deserialize(metadata(m, "graph", path), file.tensors, path);
  // Without a table (older files) an int8 file runs its calibrated convs in int8.
  const auto table = m.find("precisions");
  model.info.precisions = table != m.end()
                              ? parse_precisions(table->second, model.graph, model.info.int8, path)
                              : graph::ConvPrecisions::int8_at(model.info.int8.input_scales);
  const auto search = m.find("precision_search");
  if (search != m.end()) {
    if (!json::accept(search->second)) corrupt(path, "precision_search is not valid JSON");
    model.info.precision_search = search->second;
  }
  return model;
}

void check_stored_graph(const graph::Graph& g, const NetInfo& info, const std::string& path) {
  const Shape want_input{1, 3, info.input_size, info.input_size};
  if (g.value(g.input()).shape != want_input) {
    corrupt(path, "graph input " + shape_str(g.value(g.input()).shape) + " is not " +
                      shape_str(want_input) + " of the config");
  }
  const auto& outputs = g.outputs();
  auto landmarks = outputs.find("landmarks");
  if (landmarks == outputs.end()) corrupt(path, "graph has no 'landmarks' output");
  const Shape want_landmarks{1, info.points, 2};
  if (g.value(landmarks->second).shape != want_landmarks) {
    corrupt(path, "graph output 'landmarks' " + shape_str(g.value(landmarks->second).shape) +
                      " is not " + shape_str(want_landmarks) + " of the config");
  }
}

}  // namespace starface::nets
