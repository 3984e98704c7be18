// starface: STAR facial landmarks, exactly as PyTorch computes them.
#include <oneapi/dnnl/dnnl.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace {

// `starface --version`: what a bug report needs to say which build ran on which CPU path.
std::string version_text() {
  const dnnl_version_t* dnnl = dnnl_version();
  const std::string hash = dnnl->hash;  // "N/A" in Debian's build
  const starface::CpuInfo cpu = starface::cpu_info();
  char text[1024];
  std::snprintf(text, sizeof text,
                "starface %s\noneDNN %d.%d.%d%s\nCPU: %s, %d logical cores; own kernels: %s "
                "(features: %s)",
                STARFACE_VERSION, dnnl->major, dnnl->minor, dnnl->patch,
                hash.empty() || hash == "N/A" ? "" : (" (" + hash + ")").c_str(), cpu.model.c_str(),
                cpu.logical_cores, starface::simd_target_name(starface::selected_simd_target()),
                cpu.features.present().c_str());
  return text + ("\nthreading: " + starface::threading_summary());
}

// The parsed command chain ("run", "models list"), empty when none was reached.
std::string command_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    path += (path.empty() ? "" : " ") + sub->get_name();
  }
  return path;
}

void print_commands(const CLI::App& app) {
  std::fprintf(stderr, "commands:\n");
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::fprintf(stderr, "  %-12s %s\n", sub->get_name().c_str(), sub->get_description().c_str());
  }
  std::fprintf(stderr, "Run `starface COMMAND --help` for its options.\n");
}

// CLI11 meets a missing or unknown command with a bare "A subcommand is required": name the
// problem and list the commands instead. Flags first (--help, --version) are left to CLI11.
std::optional<std::string> command_error(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return "no command given";
  const std::string first = argv[1];
  if (first.starts_with("-")) return std::nullopt;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->check_name(first)) return std::nullopt;
  }
  return "unknown command '" + first + "'";
}

int usage_error(const CLI::App& app, const std::string& message) {
  std::fprintf(stderr, "starface: error: %s\n", message.c_str());
  const std::string command = command_path(app);
  if (command.empty()) {
    print_commands(app);
  } else {
    std::fprintf(stderr, "Run `starface %s --help` for its options.\n", command.c_str());
  }
  return 1;
}

// A repeatable option or list argument that nobody gave has no default worth showing: CLI11
// would print it as "=[]".
void hide_empty_list_defaults(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_default_str() == "[]") option->default_str("");
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    hide_empty_list_defaults(*sub);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else: a restart must not repeat work or output.
  starface::restart_with_default_wait_policy(argv);
  CLI::App app{
      "starface: the STAR facial-landmark network (98 WFLW points) and its RetinaFace detector, "
      "natively"};
  // Every --help shows each option's default: subcommands added after this inherit it.
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", version_text,
                       "Print the version, oneDNN's and the CPU path, then exit");
  app.require_subcommand(1);
  starface::cli::add_analyze(app);
  starface::cli::add_bench(app);
  starface::cli::add_convert(app);
  starface::cli::add_detect(app);
  starface::cli::add_eval(app);
  starface::cli::add_export_onnx(app);
  starface::cli::add_infer(app);
  starface::cli::add_landmarks(app);
  starface::cli::add_models(app);
  starface::cli::add_run(app);
  starface::cli::add_stability(app);
  hide_empty_list_defaults(app);
  if (const auto error = command_error(app, argc, argv)) return usage_error(app, *error);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e.what());
  } catch (const starface::Error& e) {
    std::fprintf(stderr, "starface: error: %s\n", e.what());
    return e.code() == starface::ErrorCode::kInternal ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "starface: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
