// The backends the engine can compile a graph for, in one table: each says which ops it
// runs (supports_op), how it prepares a graph (its passes) and how it compiles one. The
// engine compiles through this table alone (engine/compile.h), and places the ops a
// backend does not support on the reference backend (engine/placement.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/plan.h"
#include "graph/precision.h"

namespace starface {

struct Backend {
  std::string name;  // what --backend and EngineOptions::backend say
  // Whether the backend runs `node` of the prepared `graph`. Read once per node at
  // compile time; the reference backend runs every op.
  std::function<bool(const graph::Node& node, const graph::Graph& graph)> supports_op;
  // The graph this backend compiles, made from the built one for exactly `outputs` (the
  // passes). Empty: the graph as built.
  std::function<graph::Graph(const graph::Graph& graph, const std::vector<std::string>& outputs)>
      prepare;
  // A plan for a prepared graph whose every op the backend supports. Throws kBadArgument
  // for a precision it cannot run.
  std::function<std::unique_ptr<graph::Plan>(const graph::Graph& graph,
                                             const graph::ConvPrecisions& precisions)>
      compile;
  // "onednn (avx512_core)", ...: what runs, for reports.
  std::function<std::string(const graph::ConvPrecisions& precisions)> describe;
};

// The registered backends, the default first: "onednn", then "ref".
const std::vector<Backend>& registered_backends();
// The backend named `name`; kBadArgument listing the registered ones otherwise.
const Backend& find_backend(const std::string& name);
// Adds a backend (tests: a backend wrapper that declares some ops unsupported). A name
// already registered is kBadArgument. Not thread-safe: register before compiling.
void register_backend(Backend backend);

}  // namespace starface
