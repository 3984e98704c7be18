#include "engine/compile.h"

#include <algorithm>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "backends/x86/winograd.h"
#include "graph/passes/passes.h"

namespace starface {

std::vector<std::string> available_backends() { return {"onednn", "ref"}; }
std::vector<std::string> available_precisions() { return {"fp32", "fp32-fast"}; }

namespace detail {
namespace {

[[noreturn]] void unknown_backend(const std::string& backend) {
  std::string known;
  for (const std::string& b : available_backends()) known += (known.empty() ? "" : ", ") + b;
  throw Error(ErrorCode::kBadArgument,
              "unknown backend '" + backend + "' (available: " + known + ")");
}

}  // namespace

void check_backend_and_precision(const EngineOptions& options) {
  const auto backends = available_backends();
  if (std::find(backends.begin(), backends.end(), options.backend) == backends.end()) {
    unknown_backend(options.backend);
  }
  const auto precisions = available_precisions();
  if (std::find(precisions.begin(), precisions.end(), options.precision) == precisions.end()) {
    std::string known;
    for (const std::string& p : precisions) known += (known.empty() ? "" : ", ") + p;
    // fp16 is how a model file stores weights, not an arithmetic: say where it comes from.
    throw Error(ErrorCode::kBadArgument,
                "unknown precision '" + options.precision + "' (available: " + known +
                    "; float16 weights come from `starface convert --precision fp16`, and run "
                    "in any of these)");
  }
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const std::string& precision,
                                     const std::vector<std::string>& outputs) {
  if (backend == "ref") {
    if (precision != "fp32") {
      throw Error(ErrorCode::kBadArgument,
                  "precision '" + precision + "' needs the onednn backend; ref is exact fp32");
    }
    return backends::ref::compile(graph);
  }
  if (backend == "onednn")
    return backends::onednn::compile(graph::passes::optimize(graph, outputs), precision);
  unknown_backend(backend);
}

std::string backend_info(const std::string& backend, const std::string& precision) {
  if (backend != "onednn") return "ref (scalar oracle, OpenMP)";
  std::string info = "onednn (" + backends::onednn::isa_name() + ")";
  if (precision == "fp32-fast") {
    info += ", winograd " + std::string(backends::x86::isa_name(backends::x86::selected_isa()));
  }
  return info;
}

void rethrow_naming(const std::string& path, const Error& e) {
  const std::string what = e.what();
  // Name the file once, whichever layer raised the error.
  if (what.find(path) != std::string::npos) throw e;
  throw Error(e.code(), path + ": " + what);
}

}  // namespace detail
}  // namespace starface
