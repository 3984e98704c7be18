// starface analyze CKPT: what the network is, what it costs, and what the optimizer can
// fold or fuse.
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "graph/cost.h"
#include "graph/passes/passes.h"

namespace starface::cli {

namespace {

struct AnalyzeFlags {
  std::string checkpoint;
  bool json = false;
  ModelFlags model;
};

// 17351606272 -> "17,351,606,272"
std::string grouped(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

int64_t macs_of_nodes_named(const graph::Graph& g, const std::string& prefix) {
  int64_t total = 0;
  for (const graph::Node& n : g.nodes()) {
    if (n.op == graph::OpKind::kConv2d && n.name.starts_with(prefix))
      total += graph::node_macs(g, n);
  }
  return total;
}

nlohmann::json graph_json(const graph::Cost& cost) {
  return {{"nodes", cost.nodes},
          {"constants", cost.constants},
          {"constant_elements", cost.constant_elements},
          {"macs", cost.macs},
          {"op_histogram", cost.op_histogram}};
}

void print_graph(const char* title, const nlohmann::json& g) {
  std::printf("\n%s: %d nodes, %d constants (%s values), %s multiply-adds\n ", title,
              g["nodes"].get<int>(), g["constants"].get<int>(),
              grouped(g["constant_elements"]).c_str(), grouped(g["macs"]).c_str());
  for (const auto& [op, count] : g["op_histogram"].items()) {
    std::printf(" %s %d", op.c_str(), count.get<int>());
  }
  std::printf("\n");
}

nlohmann::json report_json(const Engine& engine) {
  const nets::NetInfo& net = engine.net();
  const graph::Graph& g = engine.graph();
  const graph::Cost cost = graph::compute_cost(g);
  const graph::Opportunities o = graph::find_opportunities(g);
  const nets::ParamReport& p = engine.params();
  nlohmann::json j;
  j["file"] = engine.path();
  const ModelSource& source = engine.source();
  j["source"] = {{"kind", source.model_file ? "model_file" : "checkpoint"},
                 {"weights", source.weights},
                 {"weights_storage", source.storage}};
  if (source.model_file) j["source"]["converted_from"] = source.checkpoint;
  // The net's own configuration, with what every net has.
  j["config"] = nlohmann::json::parse(net.config);
  j["config"]["net"] = net.name();
  j["config"]["layout"] = net.layout;
  j["config"]["points"] = net.points;
  j["config"]["input_size"] = net.input_size;
  j["config"]["details"] = nlohmann::json::array();
  for (const auto& [name, value] : net.details) j["config"]["details"].push_back({name, value});
  j["parameters"] = {{"stored", p.total.stored},
                     {"executed", p.total.used},
                     {"unused_skip_layers", p.total.stored - p.total.used},
                     {"buffers", p.buffers}};
  j["macs"] = {{"total", cost.macs}, {"e2h", macs_of_nodes_named(g, "e2h_transform")}};
  std::map<std::string, int64_t> stage_macs(cost.macs_by_stage.begin(), cost.macs_by_stage.end());
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& [stage, count] : p.by_stage) {
    stages.push_back({{"stage", stage},
                      {"params_stored", count.stored},
                      {"params_executed", count.used},
                      {"macs", stage_macs[stage]}});
  }
  j["stages"] = stages;
  j["graph"] = graph_json(cost);
  // What the default plan runs: the passes applied for the final landmarks.
  const graph::Graph optimized = graph::passes::optimize(g, {"landmarks"});
  j["optimized_graph"] = graph_json(graph::compute_cost(optimized));
  std::map<std::string, int> fused;
  for (const graph::Node& n : optimized.nodes()) {
    if (n.op == graph::OpKind::kConv2d) ++fused[graph::node_kind(n)];
  }
  j["optimized_graph"]["conv_kinds"] = fused;
  j["optimizer_could"] = {{"fold_bn_into_conv", o.bn_after_conv},
                          {"fuse_relu_into_conv", o.relu_after_conv},
                          {"fuse_residual_add_into_conv", o.add_after_conv},
                          {"preactivation_bn_relu_to_scale_shift_relu", o.preact_bn_relu},
                          {"coordinate_channel_convs_to_bias_map", o.constant_input_convs},
                          {"coordinate_channel_macs_saved", o.constant_input_macs}};
  return j;
}

void print_text(const nlohmann::json& j) {
  const auto& c = j["config"];
  const auto& p = j["parameters"];
  const int64_t macs = j["macs"]["total"];
  const int64_t e2h = j["macs"]["e2h"];
  std::printf("%s\n", j["file"].get<std::string>().c_str());
  const auto& source = j["source"];
  if (source["kind"] == "model_file") {
    std::printf(
        "model file   starface optimized graph converted from %s ('%s' weights), weights "
        "stored as %s; the graph below is as stored (already folded and fused)\n",
        source["converted_from"].get<std::string>().c_str(),
        source["weights"].get<std::string>().c_str(),
        source["weights_storage"].get<std::string>().c_str());
  }
  std::string details;
  for (const auto& d : c["details"]) {
    details += ", " + d[0].get<std::string>() + " " + d[1].get<std::string>();
  }
  std::printf("network      %s %s: %d points, input 3x%dx%d%s\n",
              c["net"].get<std::string>().c_str(), c["layout"].get<std::string>().c_str(),
              c["points"].get<int>(), c["input_size"].get<int>(), c["input_size"].get<int>(),
              details.c_str());
  std::printf("parameters   %s stored (%.2f M), %s executed (%.2f M), %s buffers\n",
              grouped(p["stored"]).c_str(), p["stored"].get<int64_t>() / 1e6,
              grouped(p["executed"]).c_str(), p["executed"].get<int64_t>() / 1e6,
              grouped(p["buffers"]).c_str());
  std::printf("multiply-adds %s per face (%.2f G; %.2f G without the fixed E2H conv)\n",
              grouped(macs).c_str(), macs / 1e9, (macs - e2h) / 1e9);
  std::printf("\n%-14s %14s %14s %16s\n", "stage", "params stored", "params used", "multiply-adds");
  for (const auto& s : j["stages"]) {
    std::printf("%-14s %14s %14s %16s\n", s["stage"].get<std::string>().c_str(),
                grouped(s["params_stored"]).c_str(), grouped(s["params_executed"]).c_str(),
                grouped(s["macs"]).c_str());
  }
  print_graph("graph as built", j["graph"]);
  const auto& o = j["optimizer_could"];
  std::printf("\nthe optimizer could:\n");
  std::printf("  fold %d BatchNorms into the conv before them\n",
              o["fold_bn_into_conv"].get<int>());
  std::printf("  fuse %d ReLUs and %d residual adds into the conv that produces them\n",
              o["fuse_relu_into_conv"].get<int>(), o["fuse_residual_add_into_conv"].get<int>());
  std::printf("  turn %d pre-activation BN+ReLU pairs into one scale-shift-ReLU\n",
              o["preactivation_bn_relu_to_scale_shift_relu"].get<int>());
  std::printf("  precompute the coordinate channels of %d CoordConvs as bias maps (%s MACs)\n",
              o["coordinate_channel_convs_to_bias_map"].get<int>(),
              grouped(o["coordinate_channel_macs_saved"]).c_str());
  print_graph("graph after the passes, for the final landmarks", j["optimized_graph"]);
  std::printf("  convs:");
  for (const auto& [kind, count] : j["optimized_graph"]["conv_kinds"].items()) {
    std::printf(" %s %d", kind.c_str(), count.get<int>());
  }
  std::printf("\n");
}

}  // namespace

void add_analyze(CLI::App& app) {
  auto flags = std::make_shared<AnalyzeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Report a checkpoint's network: configuration, parameters, multiply-adds per "
      "stage, op histogram, and what the optimizer could fold or fuse");
  cmd->add_option("checkpoint", flags->checkpoint,
                  "Landmark checkpoint (.pth/.pkl, safetensors state dict) or starface model file")
      ->required();
  cmd->add_flag("--json", flags->json, "Print the report as JSON");
  add_model_flags(*cmd, flags->model);
  cmd->callback([flags] {
    const auto engine = Engine::load(flags->checkpoint, flags->model.engine_options());
    const nlohmann::json j = report_json(*engine);
    if (flags->json) {
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(j);
    }
  });
}

}  // namespace starface::cli
