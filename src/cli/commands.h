// The subcommands of the starface executable, one file each. Each registers its options on
// the app and a callback that runs it; callbacks report failures by throwing starface::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "eval/precision_search.h"
#include "pipeline/auto_model.h"

namespace starface::cli {

void add_analyze(CLI::App& app);
void add_bench(CLI::App& app);
void add_convert(CLI::App& app);
void add_detect(CLI::App& app);
void add_eval(CLI::App& app);
void add_export_onnx(CLI::App& app);
void add_infer(CLI::App& app);
void add_landmarks(CLI::App& app);
void add_models(CLI::App& app);
void add_run(CLI::App& app);
void add_stability(CLI::App& app);

// --weights, --backend, --threads and --precision, shared by every subcommand that runs a model.
struct ModelFlags {
  std::string weights = "net";
  std::string backend = "onednn";
  int threads = 0;
  std::string precision = kModelPrecision;
  // --precision auto (run, eval): the drift budget and the faces to calibrate on.
  eval::DriftBudget budget;
  bool budget_given = false;
  std::vector<std::string> calibrate;

  bool is_auto() const { return precision == pipeline::kAutoPrecision; }
  // With --precision auto: the auto file's own assignment.
  EngineOptions engine_options() const;
  // The file to load for `model`: itself, or with --precision auto its cached auto model
  // (pipeline::cached_auto_model), made on first use on --calibrate's faces, else on
  // `faces` found by `detector` (empty: centre crops). Prints what it did unless `quiet`.
  std::string model_to_load(const std::string& model, const std::vector<std::string>& faces,
                            const std::string& detector, bool quiet) const;
};
// `offer_auto`: --precision also takes auto, with --max-drift, --max-drift-p99, --calibrate.
void add_model_flags(CLI::App& command, ModelFlags& flags, bool offer_auto = false);

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
// half a file (pipeline::AtomicTextFile).
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace starface::cli
