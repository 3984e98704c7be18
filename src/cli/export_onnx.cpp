// starface export-onnx CKPT -o MODEL.onnx: the optimized graph (BN folded, coordinate
// channels as constant bias maps, fused convs split back into standard ONNX ops) for ONNX
// Runtime users, static 256x256 input, dynamic batch.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "export/onnx_export.h"

namespace starface::cli {

namespace {

struct ExportFlags {
  std::string checkpoint;
  std::string output;
  bool heatmaps = false;
  bool json = false;
  std::string weights = "net";
};

void run_export(const ExportFlags& f) {
  EngineOptions options;
  options.weights = checkpoint_entry(f.weights);
  options.backend = "ref";  // only the graph is needed; the reference plan costs nothing
  const auto engine = Engine::load(f.checkpoint, options);
  std::vector<exporter::OnnxOutput> outputs{{"landmarks", "landmarks"}};
  if (f.heatmaps) {
    outputs.push_back({engine->net().heatmaps_output(), "heatmaps"});
  }
  const exporter::OnnxExport model = exporter::export_optimized(
      engine->graph(), outputs,
      engine->net().name() + " landmarks exported by starface from " + f.checkpoint);
  write_file_atomically(f.output, model.bytes);

  nlohmann::json report = {{"output", f.output},
                           {"bytes", model.bytes.size()},
                           {"nodes", model.nodes},
                           {"initializers", model.initializers},
                           {"op_types", model.op_types}};
  if (f.json) {
    std::cout << report.dump(2) << "\n";
    return;
  }
  std::printf("wrote %s: %d nodes, %d initializers, %.1f MB\n ", f.output.c_str(), model.nodes,
              model.initializers, static_cast<double>(model.bytes.size()) / 1e6);
  for (const auto& [op, count] : model.op_types) std::printf(" %s %d", op.c_str(), count);
  std::printf("\n");
}

}  // namespace

void add_export_onnx(CLI::App& app) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "export-onnx",
      "Write the optimized network as ONNX (opset 17): input [N,3,256,256], output landmarks "
      "[N,P,2] in [-1,1] and optionally the last fusion heatmaps [N,P,64,64]");
  cmd->add_option("checkpoint", f->checkpoint, "Landmark checkpoint or starface model file")
      ->required();
  cmd->add_option("-o,--output", f->output, "ONNX file to write")->required();
  cmd->add_flag("--heatmaps", f->heatmaps, "Also output the last fusion heatmaps as 'heatmaps'");
  cmd->add_option("--weights", f->weights, "Checkpoint weights: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  cmd->add_flag("--json", f->json, "Print the export summary as JSON");
  cmd->callback([f] { run_export(*f); });
}

}  // namespace starface::cli
