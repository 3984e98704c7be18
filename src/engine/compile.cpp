#include "engine/compile.h"

#include <algorithm>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "core/cpu.h"
#include "graph/passes/passes.h"

namespace starface {

std::vector<std::string> available_backends() { return {"onednn", "ref"}; }
std::vector<std::string> requestable_precisions() {
  std::vector<std::string> choices{kModelPrecision};
  for (graph::Precision p : graph::all_precisions()) choices.push_back(graph::precision_name(p));
  return choices;
}

std::optional<graph::Precision> parse_requested_precision(const std::string& name) {
  if (name == kModelPrecision) return std::nullopt;
  if (const auto precision = graph::parse_precision(name)) return precision;
  std::string choices;
  for (const std::string& p : requestable_precisions())
    choices += (choices.empty() ? "" : ", ") + p;
  // fp16 is how a model file stores weights, not an arithmetic: say where it comes from.
  throw Error(ErrorCode::kBadArgument,
              "unknown precision '" + name + "' (available: " + choices +
                  "; float16 weights come from `starface convert --precision fp16`, and run in "
                  "any of these)");
}

std::string requested_precision_name(const std::optional<graph::Precision>& precision) {
  return precision ? graph::precision_name(*precision) : kModelPrecision;
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

void check_backend(const std::string& backend) {
  if (!contains(available_backends(), backend)) unknown_backend(backend);
}

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const graph::ConvPrecisions& precisions,
                                     const std::vector<std::string>& outputs) {
  if (backend == "ref") {
    for (graph::Precision p : graph::all_precisions()) {
      if (p != graph::Precision::kFp32 && precisions.uses(p)) {
        throw Error(ErrorCode::kBadArgument, "precision '" + graph::precision_name(p) +
                                                 "' needs the onednn backend; ref is exact fp32");
      }
    }
    return backends::ref::compile(graph);
  }
  if (backend == "onednn")
    return backends::onednn::compile(graph::passes::optimize(graph, outputs), precisions);
  unknown_backend(backend);
}

std::string backend_info(const std::string& backend, const graph::ConvPrecisions& precisions) {
  if (backend != "onednn") return "ref (scalar oracle, OpenMP)";
  std::string info = "onednn (" + backends::onednn::isa_name() + ")";
  if (precisions.uses(graph::Precision::kFp32Winograd)) {
    info += ", winograd " + std::string(simd_target_name(selected_simd_target()));
  }
  if (precisions.uses(graph::Precision::kBf16)) info += ", bf16 convs (avx512_bf16)";
  if (precisions.uses(graph::Precision::kInt8)) {
    info += backends::onednn::has_vnni() ? ", int8 convs (u8/s8 x s8, vnni)"
                                         : ", int8 convs (u8/s8 x s8, no vnni)";
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
