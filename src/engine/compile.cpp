#include "engine/compile.h"

#include <algorithm>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "backends/x86/winograd.h"
#include "graph/passes/passes.h"

namespace starface {

std::vector<std::string> available_backends() { return {"onednn", "ref"}; }
std::vector<std::string> available_precisions() { return {"fp32", "fp32-fast", "int8"}; }
std::vector<std::string> requestable_precisions() {
  std::vector<std::string> choices{kModelPrecision};
  for (const std::string& p : available_precisions()) choices.push_back(p);
  return choices;
}

namespace detail {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

[[noreturn]] void unknown_backend(const std::string& backend) {
  throw Error(ErrorCode::kBadArgument, "unknown backend '" + backend +
                                           "' (available: " + joined(available_backends()) + ")");
}

}  // namespace

void check_backend_and_precision(const EngineOptions& options) {
  if (!contains(available_backends(), options.backend)) unknown_backend(options.backend);
  if (!contains(requestable_precisions(), options.precision)) {
    // fp16 is how a model file stores weights, not an arithmetic: say where it comes from.
    throw Error(ErrorCode::kBadArgument,
                "unknown precision '" + options.precision +
                    "' (available: " + joined(requestable_precisions()) +
                    "; float16 weights come from `starface convert --precision fp16`, and run "
                    "in any of these)");
  }
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const std::string& precision,
                                     const std::vector<std::string>& outputs,
                                     const std::map<std::string, float>& int8_scales) {
  if (backend == "ref") {
    if (precision != "fp32") {
      throw Error(ErrorCode::kBadArgument,
                  "precision '" + precision + "' needs the onednn backend; ref is exact fp32");
    }
    return backends::ref::compile(graph);
  }
  if (backend == "onednn")
    return backends::onednn::compile(graph::passes::optimize(graph, outputs), precision,
                                     int8_scales);
  unknown_backend(backend);
}

std::string backend_info(const std::string& backend, const std::string& precision) {
  if (backend != "onednn") return "ref (scalar oracle, OpenMP)";
  std::string info = "onednn (" + backends::onednn::isa_name() + ")";
  if (precision == "fp32-fast") {
    info += ", winograd " + std::string(backends::x86::isa_name(backends::x86::selected_isa()));
  }
  if (precision == "int8") {
    info += backends::onednn::has_vnni() ? ", int8 convs (u8 x s8, vnni)"
                                         : ", int8 convs (u8 x s8, 7-bit inputs: no vnni)";
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
