#include "engine/backend_registry.h"

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/text.h"
#include "engine/compile.h"
#include "graph/passes/passes.h"

namespace starface {
namespace {

// The reference backend runs the graph exactly as built (it is the oracle), in fp32.
Backend reference_backend() {
  Backend b;
  b.name = "ref";
  b.supports_op = [](const graph::Node&, const graph::Graph&) { return true; };
  b.compile = [](const graph::Graph& graph, const graph::ConvPrecisions& precisions) {
    for (graph::Precision p : graph::all_precisions()) {
      if (p != graph::Precision::kFp32 && precisions.uses(p)) {
        throw Error(ErrorCode::kBadArgument, "precision '" + graph::precision_name(p) +
                                                 "' needs the onednn backend; ref is exact fp32");
      }
    }
    return backends::ref::compile(graph);
  };
  b.describe = [](const graph::ConvPrecisions&) {
    return std::string("ref (scalar oracle, OpenMP)");
  };
  return b;
}

std::string onednn_description(const graph::ConvPrecisions& precisions) {
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

// The fast backend runs the graph the passes made for exactly the requested outputs.
Backend onednn_backend() {
  Backend b;
  b.name = "onednn";
  b.supports_op = [](const graph::Node& node, const graph::Graph&) {
    return backends::onednn::supports_op(node.op);
  };
  b.prepare = [](const graph::Graph& graph, const std::vector<std::string>& outputs) {
    return graph::passes::optimize(graph, outputs);
  };
  b.compile = [](const graph::Graph& graph, const graph::ConvPrecisions& precisions) {
    return backends::onednn::compile(graph, precisions);
  };
  b.describe = onednn_description;
  return b;
}

std::vector<Backend>& table() {
  static std::vector<Backend> backends{onednn_backend(), reference_backend()};
  return backends;
}

}  // namespace

const std::vector<Backend>& registered_backends() { return table(); }

const Backend& find_backend(const std::string& name) {
  for (const Backend& b : table()) {
    if (b.name == name) return b;
  }
  throw Error(ErrorCode::kBadArgument, "unknown backend '" + name + "' (available: " +
                                           join(available_backends(), ", ") + ")");
}

void register_backend(Backend backend) {
  for (const Backend& b : table()) {
    if (b.name == backend.name) {
      throw Error(ErrorCode::kBadArgument, "backend '" + backend.name + "' is already registered");
    }
  }
  check_internal(backend.supports_op && backend.compile && backend.describe,
                 "backend '" + backend.name + "' lacks supports_op, compile or describe");
  table().push_back(std::move(backend));
}

}  // namespace starface
