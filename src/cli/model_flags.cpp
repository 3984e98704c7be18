#include <cstdio>
#include <fstream>

#include "cli/commands.h"

namespace starface::cli {

EngineOptions ModelFlags::engine_options() const {
  EngineOptions o;
  o.weights = weights == "ema" ? "net_ema" : weights;
  o.backend = backend;
  o.threads = threads;
  o.precision = precision;
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
                  "Arithmetic: model (what the model file was made for: int8 for a file made by "
                  "`starface convert --precision int8 --calibrate ...`, else fp32), fp32 (exact "
                  "direct convolution), fp32-fast (Winograd 3x3 convs where faster; landmarks "
                  "within ~0.001 crop px) or int8 (the calibrated convs of such a file; the "
                  "detector then runs fp32-fast)")
      ->check(CLI::IsMember(requestable_precisions()));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      throw Error(ErrorCode::kIo, path + ": cannot write");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw Error(ErrorCode::kIo, path + ": cannot write");
  }
}

}  // namespace starface::cli
