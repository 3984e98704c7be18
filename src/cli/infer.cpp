// starface infer: the raw network on a float32 [N,3,256,256] .npy, for parity checks
// against any PyTorch install.
#include <filesystem>

#include "cli/commands.h"
#include "import/npy.h"

namespace starface::cli {

namespace {

struct InferFlags {
  std::string model;
  std::string input;
  std::string output;
  std::string heatmaps;
  ModelFlags flags;
};

// Writes through a temporary file so an interrupted run leaves no half .npy behind.
void write_npy_atomically(const std::string& path, const Tensor& tensor) {
  const std::string temp = path + ".tmp";
  try {
    import::write_npy(temp, tensor);
  } catch (...) {
    std::filesystem::remove(temp);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    throw Error(ErrorCode::kIo, path + ": cannot write (" + ec.message() + ")");
  }
}

void run_infer(const InferFlags& f) {
  Tensor input = import::read_npy(f.input);
  const auto engine = Engine::load(f.model, f.flags.engine_options());
  try {
    graph::check_batch_input(engine->graph(), input);
  } catch (const Error& e) {
    throw Error(e.code(), f.input + ": " + e.what());
  }
  std::vector<std::string> wanted{"landmarks"};
  if (!f.heatmaps.empty()) wanted.push_back(engine->net().heatmaps_output());
  const TensorMap out = engine->run(input, wanted);
  write_npy_atomically(f.output, out.at("landmarks"));
  if (!f.heatmaps.empty()) write_npy_atomically(f.heatmaps, out.at(engine->net().heatmaps));
}

}  // namespace

void add_infer(CLI::App& app) {
  auto f = std::make_shared<InferFlags>();
  CLI::App* cmd = app.add_subcommand(
      "infer",
      "Run the raw network on a float32 [N,3,256,256] .npy (BGR, v/255*2-1); write "
      "landmarks [N,P,2] in [-1,1] and optionally the last fusion heatmaps");
  cmd->add_option("--model", f->model, "Landmark checkpoint or starface model file (.safetensors)")
      ->required();
  cmd->add_option("--input", f->input, "Input .npy, float32 [N,3,256,256]")->required();
  cmd->add_option("--output", f->output, "Output .npy for landmarks [N,P,2]")->required();
  cmd->add_option("--heatmaps", f->heatmaps, "Also write the last fusion heatmaps [N,P,64,64]");
  add_model_flags(*cmd, f->flags);
  cmd->callback([f] { run_infer(*f); });
}

}  // namespace starface::cli
