#include "cli/commands.h"
#include "pipeline/atomic_file.h"

namespace starface::cli {

EngineOptions ModelFlags::engine_options() const {
  EngineOptions o;
  o.weights = checkpoint_entry(weights);
  o.backend = backend;
  o.threads = threads;
  o.precision = parse_requested_precision(precision);
  return o;
}

void add_model_flags(CLI::App& command, ModelFlags& flags) {
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
                  "a file)")
      ->check(CLI::IsMember(requestable_precisions()));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  pipeline::AtomicTextFile file(path);
  file.stream() << text;
  file.commit();
}

}  // namespace starface::cli
