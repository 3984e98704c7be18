#include "engine/compile.h"

#include "core/text.h"
#include "engine/backend_registry.h"
#include "engine/placement.h"

namespace starface {

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const Backend& b : registered_backends()) names.push_back(b.name);
  return names;
}
std::vector<std::string> requestable_precisions() {
  std::vector<std::string> choices{kModelPrecision};
  for (graph::Precision p : graph::all_precisions()) choices.push_back(graph::precision_name(p));
  return choices;
}

std::optional<graph::Precision> parse_requested_precision(const std::string& name) {
  if (name == kModelPrecision) return std::nullopt;
  if (const auto precision = graph::parse_precision(name)) return precision;
  // fp16 is how a model file stores weights, not an arithmetic: say where it comes from.
  throw Error(ErrorCode::kBadArgument,
              "unknown precision '" + name +
                  "' (available: " + join(requestable_precisions(), ", ") +
                  "; float16 weights come from `starface convert --precision fp16`, and run in "
                  "any of these)");
}

std::string requested_precision_name(const std::optional<graph::Precision>& precision) {
  return precision ? graph::precision_name(*precision) : kModelPrecision;
}

namespace detail {

void check_backend(const std::string& backend) { find_backend(backend); }

std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const graph::ConvPrecisions& precisions,
                                     const std::vector<std::string>& outputs) {
  const Backend& b = find_backend(backend);
  const graph::Graph prepared = b.prepare ? b.prepare(graph, outputs) : graph;
  for (const graph::Node& node : prepared.nodes()) {
    if (!b.supports_op(node, prepared))
      return std::make_unique<PlacedPlan>(prepared, b, precisions);
  }
  return b.compile(prepared, precisions);
}

std::string backend_info(const std::string& backend, const graph::ConvPrecisions& precisions) {
  return find_backend(backend).describe(precisions);
}

void rethrow_naming(const std::string& path, const Error& e) {
  const std::string what = e.what();
  // Name the file once, whichever layer raised the error.
  if (what.find(path) != std::string::npos) throw e;
  throw Error(e.code(), path + ": " + what);
}

}  // namespace detail
}  // namespace starface
