// The precision-auto model file: a checkpoint converted with each conv in the lowest
// precision that keeps the landmark drift within a budget (eval/precision_search.h), made by
// `starface convert --precision auto`, and by `starface run|eval --precision auto` and
// Python's precision="auto" on first use, cached under the cache folder.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/engine.h"
#include "eval/precision_search.h"
#include "pipeline/calibration_crops.h"

namespace starface::pipeline {

// The word front ends take for a precision chosen per conv against a drift budget.
inline constexpr const char* kAutoPrecision = "auto";

struct AutoModelOptions {
  eval::DriftBudget budget;
  std::string weights = "net";    // checkpoint entry
  CalibrationSource calibration;  // the faces: scales from 3 of every 4 crops, drift on the 4th
  bool measure_speed = true;      // time exact fp32 and the choice on one crop (not stored)
};

struct AutoModelReport {
  eval::CropSplit split;
  eval::PrecisionChoice choice;
  ConvertReport convert;
  double search_ms = 0;  // calibration and search
  // Measured on this machine, batch 1, median of a few alternating runs (0 unless asked).
  double fp32_ms = 0;
  double auto_ms = 0;
};

// The file's record of the search (ModelFileInfo::precision_search): deterministic, so the
// same inputs give the same file; the measured speed is printed, not stored.
nlohmann::json precision_search_json(const AutoModelReport& report, const AutoModelOptions& o);

// Converts `checkpoint` (a checkpoint or an fp32 model file) into the auto model file
// `output`. kBadArgument for a malformed budget or a quantized model file; errors of
// calibration_crops for the faces. `progress(stage, done, total)` as the search goes.
AutoModelReport convert_auto(const std::string& checkpoint, const std::string& output,
                             const AutoModelOptions& options,
                             const eval::SearchProgress& progress = {});

// Where the auto file of `checkpoint` under `options` is cached: keyed by a hash of the
// checkpoint's bytes, the weights, the budget and the CPU kind (the arithmetic int8 and bf16
// run in): <cache>/auto/<stem>-<hash>-<weights>-mean<m>-p99<p>-<cpu>.safetensors.
std::filesystem::path auto_model_cache_path(const std::string& checkpoint,
                                            const AutoModelOptions& options);
// "avx512-vnni-bf16", "avx2-vnni", "avx2", "scalar".
std::string cpu_kind();

struct CachedAutoModel {
  std::filesystem::path path;
  bool built = false;   // made now (else reused)
  std::string summary;  // the drift it proved and how it runs, one line
};
// The cached auto file of `checkpoint`, made first when missing, on options.calibration's
// faces (kBadArgument when it has none). `log` receives what is happening, one line each;
// `progress` how the search goes.
CachedAutoModel cached_auto_model(const std::string& checkpoint, const AutoModelOptions& options,
                                  const std::function<void(const std::string&)>& log,
                                  const eval::SearchProgress& progress = {});

// Search progress on stderr: one redrawn line on a terminal, else a line per stage.
eval::SearchProgress stderr_search_progress();

// One line from a model file's precision_search record: "drift 0.13 / 0.61 / 1.9 crop px
// (mean / p99 / max) on 8 held-out crops, budget mean 0.5 / p99 2; 170 int8, 3 bf16, 2 fp32".
std::string describe_precision_search(const std::string& record);

}  // namespace starface::pipeline
