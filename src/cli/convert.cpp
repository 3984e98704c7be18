// starface convert CKPT -o MODEL.safetensors: the optimized model file, which loads without
// the unpickler, the builder or the passes, optionally with float16 weights, or calibrated
// for int8 (--precision int8 --calibrate IMAGES_OR_VIDEOS... [--detector RF.pth]).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "nets/star/model_file.h"
#include "pipeline/calibration_crops.h"

namespace starface::cli {

namespace {

struct ConvertFlags {
  std::string checkpoint;
  std::string output;
  std::string precision = "fp32";
  std::string weights = "net";
  pipeline::CalibrationSource calibration;
  double max_error = CalibrationRules{}.max_relative_error;
  bool json = false;
};

nlohmann::json int8_report(const graph::Int8Calibration& c) {
  return {{"crops", c.crops}, {"int8_convs", c.input_scales.size()}, {"fp32_convs", c.fp32_layers}};
}

void print_int8_report(const ConvertReport& r) {
  const graph::Int8Calibration& c = r.int8;
  std::printf("int8  %zu convs int8, %zu stay fp32; calibrated on %d crops in %.0f ms\n",
              c.input_scales.size(), c.fp32_layers.size(), c.crops, r.calibrate_ms);
  for (const auto& [conv, why] : c.fp32_layers) {
    std::printf("      fp32 %s: %s\n", conv.c_str(), why.c_str());
  }
}

void run_convert(const ConvertFlags& f) {
  ConvertOptions options;
  options.precision = f.precision;
  options.weights = f.weights == "ema" ? "net_ema" : f.weights;
  const bool int8 = f.precision == "int8";
  if (int8 != !f.calibration.paths.empty()) {
    throw Error(ErrorCode::kBadArgument,
                int8 ? "--precision int8 needs --calibrate with face images or videos"
                     : "--calibrate goes with --precision int8");
  }
  if (!f.calibration.detector.empty() && !int8) {
    throw Error(ErrorCode::kBadArgument, "--detector goes with --precision int8 --calibrate");
  }
  options.rules.max_relative_error = f.max_error;
  if (int8) options.calibration_inputs = pipeline::calibration_crops(f.calibration);
  const ConvertReport r = convert_model(f.checkpoint, f.output, options);
  const int64_t input_bytes = static_cast<int64_t>(std::filesystem::file_size(f.checkpoint));
  if (f.json) {
    nlohmann::json j = {{"checkpoint", f.checkpoint},
                        {"output", f.output},
                        {"precision", f.precision},
                        {"weights", options.weights},
                        {"nodes", r.nodes},
                        {"constants", r.constants},
                        {"checkpoint_bytes", input_bytes},
                        {"output_bytes", r.bytes},
                        {"load_and_optimize_ms", r.load_ms},
                        {"write_ms", r.write_ms}};
    if (int8) {
      j["calibrate_ms"] = r.calibrate_ms;
      j["int8"] = int8_report(r.int8);
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("wrote %s: STAR %s, %d nodes, %d constants, weights stored as %s\n", f.output.c_str(),
              r.config.layout().c_str(), r.nodes, r.constants, f.precision.c_str());
  std::printf("size  %.2f MB (checkpoint %.2f MB); load + passes %.0f ms, write %.0f ms\n",
              r.bytes / 1e6, input_bytes / 1e6, r.load_ms, r.write_ms);
  if (int8) print_int8_report(r);
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
                  "Weight storage: fp32 (exact), fp16 (half the size; computed in fp32) or int8 "
                  "(calibrated for --precision int8: needs --calibrate)")
      ->check(CLI::IsMember(star::storage_precisions()));
  cmd->add_option("--weights", f->weights, "Checkpoint weights: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  cmd->add_option("--calibrate", f->calibration.paths,
                  "int8: face images, videos or folders of them to calibrate on");
  cmd->add_option("--detector", f->calibration.detector,
                  "int8: RetinaFace checkpoint to find the faces (default: centre crops)");
  cmd->add_option("--calibration-crops", f->calibration.max_crops,
                  "int8: crops to calibrate on at most (default 32)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--max-error", f->max_error,
                  "int8: a conv whose estimated int8 error (relative to its output) is above "
                  "this stays fp32 (default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--json", f->json, "Print what was written as JSON");
  cmd->callback([f] { run_convert(*f); });
}

}  // namespace starface::cli
