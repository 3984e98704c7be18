// starface: STAR facial landmarks, exactly as PyTorch computes them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "core/threads.h"

int main(int argc, char** argv) {
  // Before anything else: a restart must not repeat work or output.
  starface::restart_with_default_wait_policy(argv);
  CLI::App app{
      "starface: the STAR facial-landmark network (98 WFLW points) and its RetinaFace detector, "
      "natively"};
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  } catch (const starface::Error& e) {
    std::fprintf(stderr, "starface: error: %s\n", e.what());
    return e.code() == starface::ErrorCode::kInternal ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "starface: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
