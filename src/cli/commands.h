// The subcommands of the starface executable, one file each. Each registers its options on
// the app and a callback that runs it; callbacks report failures by throwing starface::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/engine.h"

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
  EngineOptions engine_options() const;
};
void add_model_flags(CLI::App& command, ModelFlags& flags);

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
// half a file (pipeline::AtomicTextFile).
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace starface::cli
