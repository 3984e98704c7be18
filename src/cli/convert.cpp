// starface convert CKPT -o MODEL.safetensors: the optimized model file, which loads without
// the unpickler, the builder or the passes, optionally with float16 weights, or calibrated
// for int8 (--precision int8 --calibrate IMAGES_OR_VIDEOS... [--detector RF.pth]), with a
// report per conv of the range calibration chose and, with --report, of the landmark drift
// each conv causes when it alone is reduced; or with each conv's precision chosen against
// a drift budget (--precision auto --max-drift D --calibrate ...).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "core/timer.h"
#include "eval/sensitivity.h"
#include "nets/common/model_file.h"
#include "pipeline/auto_model.h"
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
  std::string clipping = clipping_name(CalibrationRules{}.clipping);
  bool no_bias_correction = false;
  bool report = false;
  std::vector<std::string> report_precisions{"int8"};
  std::vector<std::string> report_convs;  // empty: every int8 conv
  std::vector<std::string> fp32_convs;
  eval::DriftBudget budget;
  bool budget_given = false;
  bool json = false;
};

Clipping parse_clipping(const std::string& name) {
  for (Clipping c : {Clipping::kMse, Clipping::kPercentile, Clipping::kMax}) {
    if (name == clipping_name(c)) return c;
  }
  throw Error(ErrorCode::kBadArgument, "unknown --clipping '" + name + "'");
}

// --- The calibration, per layer ---

nlohmann::json layer_json(const graph::Int8Calibration& c, const std::string& conv,
                          const graph::Int8Layer& l) {
  return {{"precision", c.input_scales.count(conv) ? "int8" : "fp32"},
          {"signed", l.is_signed},
          {"min", l.min},
          {"max", l.max},
          {"clip", l.clip},
          {"clip_ratio", l.clip_ratio()},
          {"input_sqnr_db", l.input_sqnr_db},
          {"sqnr_db", l.sqnr_db},
          {"bias_shift", l.bias_shift}};
}

nlohmann::json int8_report(const graph::Int8Calibration& c) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [conv, layer] : c.layers) layers[conv] = layer_json(c, conv, layer);
  return {{"crops", c.crops},
          {"clipping", c.clipping},
          {"bias_corrected_convs", c.bias_corrections.size()},
          {"int8_convs", c.input_scales.size()},
          {"fp32_convs", c.fp32_layers},
          {"layers", layers}};
}

void print_int8_report(const ConvertReport& r) {
  const graph::Int8Calibration& c = r.int8;
  std::printf(
      "int8  %zu convs int8, %zu stay fp32; calibrated on %d crops in %.0f ms (clipping %s, "
      "%zu biases corrected)\n",
      c.input_scales.size(), c.fp32_layers.size(), c.crops, r.calibrate_ms, c.clipping.c_str(),
      c.bias_corrections.size());
  for (const auto& [conv, why] : c.fp32_layers) {
    std::printf("      fp32 %s: %s\n", conv.c_str(), why.c_str());
  }
  std::printf("      %-34s %-5s %-6s %10s %10s %10s %6s %8s %8s %10s\n", "conv", "prec", "input",
              "min", "max", "clip", "ratio", "SQNR in", "SQNR out", "bias shift");
  for (const auto& [conv, l] : c.layers) {
    std::printf("      %-34s %-5s %-6s %10.4g %10.4g %10.4g %6.3f %8.1f %8.1f %10.3g\n",
                conv.c_str(), c.input_scales.count(conv) ? "int8" : "fp32",
                l.is_signed ? "signed" : "u", l.min, l.max, l.clip, l.clip_ratio(), l.input_sqnr_db,
                l.sqnr_db, l.bias_shift);
  }
}

// --- Sensitivity (--report) ---

struct Sensitivity {
  int crops = 0;
  eval::ConvDrift all_int8;  // every calibrated conv int8, as the file runs
  std::map<std::string, std::vector<eval::ConvDrift>> by_precision;  // largest first
};

graph::Precision report_precision(const std::string& name) {
  const auto p = graph::parse_precision(name);
  if (!p || (*p != graph::Precision::kInt8 && *p != graph::Precision::kBf16)) {
    throw Error(ErrorCode::kBadArgument,
                "--report-precision must be int8 or bf16, not '" + name + "'");
  }
  return *p;
}

// Convs named by --report-convs or --fp32-convs must be convs int8 may take (checked
// before anything is written).
void check_int8_convs(const graph::Graph& exact, const std::vector<std::string>& convs,
                      const char* flag) {
  for (const std::string& name : convs) {
    const auto& nodes = exact.nodes();
    const auto it = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const graph::Node& n) { return n.name == name; });
    if (it == nodes.end() || !graph::int8_candidate(exact, *it)) {
      throw Error(ErrorCode::kBadArgument, std::string(flag) + ": '" + name +
                                               "' is not a conv of the network that int8 takes");
    }
  }
}

Sensitivity measure_sensitivity(const ConvertFlags& f, const graph::Graph& exact,
                                const graph::Int8Calibration& c,
                                const std::vector<Tensor>& held_out) {
  Sensitivity s;
  s.crops = static_cast<int>(held_out.size());
  const std::unique_ptr<graph::Plan> int8 = eval::int8_plan(exact, c);
  s.all_int8 = eval::plan_drift(exact, *int8, held_out);
  std::vector<std::string> convs = f.report_convs;
  if (convs.empty()) {
    for (const auto& [conv, scale] : c.input_scales) convs.push_back(conv);
  }
  for (const std::string& name : f.report_precisions) {
    const graph::Precision precision = report_precision(name);
    const auto progress = [&](int done, int total) {
      if (!f.json)
        std::fprintf(stderr, "\rsensitivity %s: %d / %d convs", name.c_str(), done, total);
    };
    s.by_precision[name] = eval::conv_sensitivity(exact, convs, held_out,
                                                  eval::reduce_one_conv(precision, &c), progress);
    if (!f.json) std::fprintf(stderr, "\n");
  }
  return s;
}

nlohmann::json sensitivity_json(const Sensitivity& s) {
  nlohmann::json j = {
      {"held_out_crops", s.crops},
      {"all_int8", {{"mean_px", s.all_int8.mean_px}, {"max_px", s.all_int8.max_px}}}};
  for (const auto& [precision, drifts] : s.by_precision) {
    nlohmann::json rows = nlohmann::json::array();
    for (const eval::ConvDrift& d : drifts) {
      rows.push_back({{"conv", d.conv}, {"mean_px", d.mean_px}, {"max_px", d.max_px}});
    }
    j[precision] = rows;
  }
  return j;
}

void print_sensitivity(const Sensitivity& s) {
  std::printf(
      "sensitivity  landmark drift vs exact fp32 (crop px, mean / max) on %d held-out crops\n"
      "      every calibrated conv int8 (as the file runs): %.3f / %.3f\n",
      s.crops, s.all_int8.mean_px, s.all_int8.max_px);
  for (const auto& [precision, drifts] : s.by_precision) {
    std::printf("      only one conv %s, largest first:\n", precision.c_str());
    for (const eval::ConvDrift& d : drifts) {
      std::printf("      %-34s %8.4f / %8.4f\n", d.conv.c_str(), d.mean_px, d.max_px);
    }
  }
}

// --- The command ---

// --- Precision auto ---

void print_auto(const ConvertFlags& f, const pipeline::AutoModelReport& r) {
  const eval::PrecisionChoice& c = r.choice;
  std::printf("wrote %s: %s %s, precision auto within %s:", f.output.c_str(),
              r.convert.net.name().c_str(), r.convert.net.layout.c_str(), f.budget.str().c_str());
  for (const auto& [precision, count] : c.conv_counts) {
    std::printf(" %d %s", count, precision.c_str());
  }
  std::printf(" convs\ncrops  %s\n", eval::describe(r.split).c_str());
  std::printf(
      "drift  %.3f / %.3f / %.3f crop px (mean / p99 / max) on the held-out crops; every "
      "calibrated conv int8: %.3f / %.3f / %.3f\n",
      c.drift.mean_px, c.drift.p99_px, c.drift.max_px, c.all_int8_drift.mean_px,
      c.all_int8_drift.p99_px, c.all_int8_drift.max_px);
  std::printf("search %s; %d assignments measured in %.1f s\n", c.search.c_str(), c.measurements,
              r.search_ms / 1000);
  for (const eval::RaisedConv& raised : c.raised) {
    std::printf("       stays %-4s %-34s (alone in int8: %.3f px)\n",
                graph::precision_name(raised.precision).c_str(), raised.conv.c_str(),
                raised.int8_drift_px);
  }
  std::printf(
      "speed  predicted conv time %.2f of exact fp32 (peak rates); measured at batch 1 here: "
      "fp32 %.1f ms, auto %.1f ms (%.2f)\n",
      c.predicted_conv_time, r.fp32_ms, r.auto_ms, r.auto_ms / r.fp32_ms);
}

void run_convert_auto(const ConvertFlags& f) {
  pipeline::AutoModelOptions o;
  o.budget = f.budget;
  o.weights = checkpoint_entry(f.weights);
  o.calibration = f.calibration;
  const pipeline::AutoModelReport r =
      pipeline::convert_auto(f.checkpoint, f.output, o,
                             f.json ? eval::SearchProgress{} : pipeline::stderr_search_progress());
  if (f.json) {
    nlohmann::json j = pipeline::precision_search_json(r, o);
    j["checkpoint"] = f.checkpoint;
    j["output"] = f.output;
    j["output_bytes"] = r.convert.bytes;
    j["search_ms"] = r.search_ms;
    j["measured_ms"] = {{"fp32", r.fp32_ms}, {"auto", r.auto_ms}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  print_auto(f, r);
}

void check_flags(const ConvertFlags& f) {
  if (f.precision == "auto") {
    if (f.calibration.paths.empty()) {
      throw Error(ErrorCode::kBadArgument,
                  "--precision auto needs --calibrate with face images or videos");
    }
    if (f.report || !f.fp32_convs.empty()) {
      throw Error(ErrorCode::kBadArgument, "--report and --fp32-convs go with --precision int8");
    }
    f.budget.check();
    return;
  }
  if (f.budget_given) {
    throw Error(ErrorCode::kBadArgument,
                "--max-drift and --max-drift-p99 go with --precision auto");
  }
  const bool int8 = f.precision == "int8";
  if (int8 != !f.calibration.paths.empty()) {
    throw Error(ErrorCode::kBadArgument,
                int8 ? "--precision int8 needs --calibrate with face images or videos"
                     : "--calibrate goes with --precision int8");
  }
  if (!f.calibration.detector.empty() && !int8) {
    throw Error(ErrorCode::kBadArgument, "--detector goes with --precision int8 --calibrate");
  }
  if (f.report && !int8)
    throw Error(ErrorCode::kBadArgument, "--report goes with --precision int8");
  if (!f.fp32_convs.empty() && !int8) {
    throw Error(ErrorCode::kBadArgument, "--fp32-convs goes with --precision int8");
  }
}

void run_convert(const ConvertFlags& f) {
  check_flags(f);
  if (f.precision == "auto") return run_convert_auto(f);
  ConvertOptions options;
  options.precision = f.precision;
  options.weights = checkpoint_entry(f.weights);
  const bool int8 = f.precision == "int8";
  options.rules.max_relative_error = f.max_error;
  options.rules.clipping = parse_clipping(f.clipping);
  options.rules.bias_correction = !f.no_bias_correction;
  for (const std::string& p : f.report_precisions) report_precision(p);  // before the work
  options.rules.keep_fp32.insert(f.fp32_convs.begin(), f.fp32_convs.end());
  std::vector<Tensor> held_out;
  // The checkpoint's optimized graph, for the checks and the report, and its net's crop.
  std::optional<OptimizedNetwork> exact;
  double load_ms = 0;
  if (int8 || f.report || !f.fp32_convs.empty()) {
    const Timer load_timer;
    exact = load_optimized(f.checkpoint, options.weights);
    load_ms = load_timer.elapsed_ms();
    check_int8_convs(exact->graph, f.report_convs, "--report-convs");
    check_int8_convs(exact->graph, f.fp32_convs, "--fp32-convs");
  }
  if (int8) {
    std::vector<Tensor> crops = pipeline::calibration_crops(f.calibration, exact->net);
    if (f.report) {
      const eval::CropSplit split = eval::split_calibration_crops(crops.size());
      held_out = eval::pick_crops(crops, split.held_out);
      crops = eval::pick_crops(crops, split.calibrate);
    }
    options.calibration_inputs = std::move(crops);
  }
  // Converted from the network loaded above where there is one, not read again.
  ConvertReport r = exact ? convert_model(*exact, f.output, options)
                          : convert_model(f.checkpoint, f.output, options);
  if (exact) r.load_ms = load_ms;
  std::optional<Sensitivity> sensitivity;
  if (f.report) sensitivity = measure_sensitivity(f, exact->graph, r.int8, held_out);
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
    if (sensitivity) j["sensitivity"] = sensitivity_json(*sensitivity);
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("wrote %s: %s %s, %d nodes, %d constants, weights stored as %s\n", f.output.c_str(),
              r.net.name().c_str(), r.net.layout.c_str(), r.nodes, r.constants,
              f.precision.c_str());
  std::printf("size  %.2f MB (checkpoint %.2f MB); load + passes %.0f ms, write %.0f ms\n",
              r.bytes / 1e6, input_bytes / 1e6, r.load_ms, r.write_ms);
  if (int8) print_int8_report(r);
  if (sensitivity) print_sensitivity(*sensitivity);
}

}  // namespace

void add_convert(CLI::App& app) {
  auto f = std::make_shared<ConvertFlags>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Write the optimized model file (safetensors): the folded and fused graph with its "
      "weights, which every subcommand loads in place of the checkpoint, and faster");
  cmd->add_option("checkpoint", f->checkpoint,
                  "Landmark checkpoint (.pth/.pkl, or a safetensors state dict) or model file")
      ->required();
  cmd->add_option("-o,--output", f->output, "Model file to write (.safetensors)")->required();
  std::vector<std::string> precisions = nets::storage_precisions();
  precisions.push_back("auto");
  cmd->add_option("--precision", f->precision,
                  "Weight storage: fp32 (exact), fp16 (half the size; computed in fp32), int8 "
                  "(calibrated for --precision int8: needs --calibrate), or auto: each conv in "
                  "the lowest precision (int8, bf16, fp32) that keeps the landmark drift within "
                  "--max-drift on calibration crops held out (needs --calibrate)")
      ->check(CLI::IsMember(precisions));
  cmd->add_option("--max-drift", f->budget.mean_px,
                  "auto: the mean landmark drift allowed against exact fp32, 256x256 crop px "
                  "(default 0.5)")
      ->each([f](const std::string&) { f->budget_given = true; });
  cmd->add_option("--max-drift-p99", f->budget.p99_px,
                  "auto: the 99th percentile of the drift allowed, crop px (default 2.0)")
      ->each([f](const std::string&) { f->budget_given = true; });
  cmd->add_option("--weights", f->weights, "Checkpoint weights: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  cmd->add_option("--calibrate", f->calibration.paths,
                  "int8, auto: face images, videos or folders of them to calibrate on");
  cmd->add_option("--detector", f->calibration.detector,
                  "int8, auto: RetinaFace checkpoint to find the faces (default: centre crops)");
  cmd->add_option("--calibration-crops", f->calibration.max_crops,
                  "int8, auto: crops to calibrate on at most (default 32)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--max-error", f->max_error,
                  "int8: a conv whose estimated int8 error (relative to its output) is above "
                  "this stays fp32 (default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--clipping", f->clipping,
                  "int8: each conv input's range: mse (default: the clip with the least "
                  "rounding + clipping error on the calibration values), percentile (99.99th "
                  "of |x|) or max (nothing clipped)")
      ->check(CLI::IsMember(clipping_names()));
  cmd->add_flag("--no-bias-correction", f->no_bias_correction,
                "int8: keep the biases (default: shift each int8 conv's bias by minus its mean "
                "output error per channel on the calibration crops)");
  cmd->add_flag("--report", f->report,
                "int8: also measure, per int8 conv, the landmark drift against exact fp32 when "
                "only that conv is reduced (on every 4th crop, held out of calibration), largest "
                "first; minutes on the full model");
  cmd->add_option("--report-precision", f->report_precisions,
                  "int8: the reduced precisions --report measures, comma-separated (int8, "
                  "bf16; default int8)")
      ->delimiter(',');
  cmd->add_option("--report-convs", f->report_convs,
                  "int8: the convs --report measures, comma-separated (default: every int8 "
                  "conv)")
      ->delimiter(',');
  cmd->add_option("--fp32-convs", f->fp32_convs,
                  "int8: convs to keep in fp32 whatever calibration finds, comma-separated "
                  "(e.g. the top of --report's list)")
      ->delimiter(',');
  cmd->add_flag("--json", f->json, "Print what was written as JSON");
  cmd->callback([f] { run_convert(*f); });
}

}  // namespace starface::cli
