#include "nets/star/landmark_net.h"

#include <nlohmann/json.hpp>

#include "nets/star/builder.h"
#include "nets/star/crop.h"
#include "nets/star/params.h"

namespace starface::star {

namespace {

using nlohmann::json;

std::string config_json(const Config& c) {
  const json j = {{"nstack", c.nstack},         {"nlevels", c.nlevels},  {"channels", c.channels},
                  {"points", c.points},         {"edges", c.edges},      {"aam", c.aam},
                  {"input_size", c.input_size}, {"map_size", c.map_size}};
  return j.dump();
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kNotACheckpoint, path + ": corrupt starface model file: " + what);
}

class StarNet final : public nets::LandmarkNet {
 public:
  std::string name() const override { return "star"; }

  // The keys detect_config reads first: the stem's last conv and the first heat-map head.
  bool recognises(const TensorMap& sd) const override {
    return sd.count("pre.4.conv3.conv.weight") && sd.count("out_heatmaps.0.conv.weight");
  }

  nets::BuiltNet build(const TensorMap& sd) const override {
    nets::BuiltNet built;
    const Config config = detect_config(sd);
    built.graph = build_graph(sd, config);
    built.info = net_info(config);
    built.params = count_parameters(sd, built.graph);
    return built;
  }

  nets::NetInfo read_config(const std::string& text, const std::string& path) const override {
    return net_info(parse_config(text, path));
  }

  nets::ParamReport count_graph_parameters(const graph::Graph& graph) const override {
    return star::count_graph_parameters(graph);
  }

  CropMatrix crop_matrix(const Box& truncated, const nets::NetInfo&) const override {
    return star::crop_matrix(truncated);
  }

  Point to_crop_pixels(float x, float y, const nets::NetInfo&) const override {
    return Point{star::to_crop_pixels(x), star::to_crop_pixels(y)};
  }
};

}  // namespace

const nets::LandmarkNet& landmark_net() {
  static const StarNet net;
  return net;
}

nets::NetInfo net_info(const Config& c) {
  nets::NetInfo info;
  info.net = &landmark_net();
  info.layout = c.layout();
  info.points = c.points;
  info.input_size = c.input_size;
  info.heatmaps = stack_output("fusion", c.nstack - 1);
  info.details = {{"stacks", std::to_string(c.nstack)},
                  {"levels", std::to_string(c.nlevels)},
                  {"channels", std::to_string(c.channels)},
                  {"edges", std::to_string(c.edges)},
                  {"aam", c.aam ? "yes" : "no"},
                  {"map_size", std::to_string(c.map_size)}};
  info.config = config_json(c);
  return info;
}

Config parse_config(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    corrupt(path, std::string("config is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) corrupt(path, "config is not a JSON object");
  auto count = [&](const char* key, int lo, int hi) {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      corrupt(path, std::string("config has no integer '") + key + "'");
    }
    const int64_t v = j[key].get<int64_t>();
    if (v < lo || v > hi) corrupt(path, std::string("config '") + key + "' is out of range");
    return static_cast<int>(v);
  };
  Config c;
  c.nstack = count("nstack", 1, 64);
  c.nlevels = count("nlevels", 1, 16);
  c.channels = count("channels", 1, 1 << 16);
  c.points = count("points", 1, 1 << 16);
  c.edges = count("edges", 0, 1 << 16);
  c.input_size = count("input_size", 1, 1 << 14);
  c.map_size = count("map_size", 1, 1 << 14);
  if (!j.contains("aam") || !j["aam"].is_boolean()) corrupt(path, "config has no boolean 'aam'");
  c.aam = j["aam"].get<bool>();
  return c;
}

}  // namespace starface::star
