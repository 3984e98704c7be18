#include <cstdio>

#include "cli/commands.h"
#include "pipeline/atomic_file.h"

namespace starface::cli {

EngineOptions ModelFlags::engine_options() const {
  EngineOptions o;
  o.weights = checkpoint_entry(weights);
  o.backend = backend;
  o.threads = threads;
  o.precision = is_auto() ? std::nullopt : parse_requested_precision(precision);
  return o;
}

std::string ModelFlags::model_to_load(const std::string& model,
                                      const std::vector<std::string>& faces,
                                      const std::string& detector, bool quiet) const {
  if (!is_auto()) {
    if (budget_given || !calibrate.empty()) {
      throw Error(ErrorCode::kBadArgument,
                  "--max-drift, --max-drift-p99 and --calibrate go with --precision auto");
    }
    return model;
  }
  pipeline::AutoModelOptions o;
  o.budget = budget;
  o.weights = checkpoint_entry(weights);
  o.calibration.paths = calibrate.empty() ? faces : calibrate;
  o.calibration.detector = detector;
  const auto log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };
  return pipeline::cached_auto_model(
             model, o, log, quiet ? eval::SearchProgress{} : pipeline::stderr_search_progress())
      .path.string();
}

namespace {

std::vector<std::string> precision_choices(bool offer_auto) {
  std::vector<std::string> choices = requestable_precisions();
  if (offer_auto) choices.push_back(pipeline::kAutoPrecision);
  return choices;
}

void add_auto_flags(CLI::App& command, ModelFlags& flags) {
  command
      .add_option("--max-drift", flags.budget.mean_px,
                  "--precision auto: the mean landmark drift allowed against exact fp32, in "
                  "256x256 crop px (default 0.5)")
      ->each([&flags](const std::string&) { flags.budget_given = true; });
  command
      .add_option("--max-drift-p99", flags.budget.p99_px,
                  "--precision auto: the 99th percentile of the drift allowed (default 2.0)")
      ->each([&flags](const std::string&) { flags.budget_given = true; });
  command.add_option("--calibrate", flags.calibrate,
                     "--precision auto: face images, videos or folders to calibrate on when the "
                     "auto model is made (once; it is cached)");
}

}  // namespace

void add_model_flags(CLI::App& command, ModelFlags& flags, bool offer_auto) {
  command.add_option("--weights", flags.weights, "Checkpoint weights: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  command.add_option("--backend", flags.backend, "Compute backend")
      ->check(CLI::IsMember(available_backends()));
  command.add_option("--threads", flags.threads, "CPU threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
  command
      .add_option("--precision", flags.precision,
                  "Arithmetic of the convs: model (what the model file was made for: int8 for "
                  "a file made by `starface convert --precision int8 --calibrate ...`, else "
                  "fp32), fp32 (exact direct convolution), fp32-fast (Winograd 3x3 convs where "
                  "faster; landmarks within ~0.001 crop px), bf16 (bf16 inputs and weights, "
                  "float32 sums; CPUs with avx512_bf16) or int8 (the calibrated convs of such "
                  "a file)" +
                      std::string(offer_auto ? "; or auto: each conv in the lowest precision "
                                               "that keeps the drift within --max-drift, "
                                               "chosen once and cached (see `starface convert "
                                               "--precision auto`)"
                                             : ""))
      ->check(CLI::IsMember(precision_choices(offer_auto)));
  if (offer_auto) add_auto_flags(command, flags);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  pipeline::AtomicTextFile file(path);
  file.stream() << text;
  file.commit();
}

}  // namespace starface::cli
