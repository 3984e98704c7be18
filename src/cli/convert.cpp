// starface convert CKPT -o MODEL.safetensors: the optimized model file, which loads without
// the unpickler, the builder or the passes, optionally with float16 weights.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "nets/star/model_file.h"

namespace starface::cli {

namespace {

struct ConvertFlags {
  std::string checkpoint;
  std::string output;
  std::string precision = "fp32";
  std::string weights = "net";
  bool json = false;
};

void run_convert(const ConvertFlags& f) {
  ConvertOptions options;
  options.precision = f.precision;
  options.weights = f.weights == "ema" ? "net_ema" : f.weights;
  const ConvertReport r = convert_model(f.checkpoint, f.output, options);
  const int64_t input_bytes = static_cast<int64_t>(std::filesystem::file_size(f.checkpoint));
  if (f.json) {
    const nlohmann::json j = {{"checkpoint", f.checkpoint},
                              {"output", f.output},
                              {"precision", f.precision},
                              {"weights", options.weights},
                              {"nodes", r.nodes},
                              {"constants", r.constants},
                              {"checkpoint_bytes", input_bytes},
                              {"output_bytes", r.bytes},
                              {"load_and_optimize_ms", r.load_ms},
                              {"write_ms", r.write_ms}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("wrote %s: STAR %s, %d nodes, %d constants, weights stored as %s\n", f.output.c_str(),
              r.config.layout().c_str(), r.nodes, r.constants, f.precision.c_str());
  std::printf("size  %.2f MB (checkpoint %.2f MB); load + passes %.0f ms, write %.0f ms\n",
              r.bytes / 1e6, input_bytes / 1e6, r.load_ms, r.write_ms);
}

}  // namespace

void add_convert(CLI::App& app) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Write the optimized model file (safetensors): the folded and fused graph with its "
      "weights, which every subcommand loads in place of the checkpoint, and faster");
  cmd->add_option("checkpoint", f->checkpoint, "STAR checkpoint (.pth/.pkl) or model file")
      ->required();
  cmd->add_option("-o,--output", f->output, "Model file to write (.safetensors)")->required();
  cmd->add_option("--precision", f->precision,
                  "Weight storage: fp32 (exact) or fp16 (half the size; computed in fp32)")
      ->check(CLI::IsMember(star::storage_precisions()));
  cmd->add_option("--weights", f->weights, "Checkpoint weights: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  cmd->add_flag("--json", f->json, "Print what was written as JSON");
  cmd->callback([f] { run_convert(*f); });
}

}  // namespace starface::cli
