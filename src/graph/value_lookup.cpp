#include "graph/value_lookup.h"

namespace starface::graph {

ValueLookup::ValueLookup(const Graph& graph) : graph_(&graph) {
  const auto& values = graph.values();
  for (ValueId v = 0; v < static_cast<ValueId>(values.size()); ++v) {
    auto [it, inserted] = by_name_.emplace(values[v].name, v);
    if (!inserted) it->second = -1;
  }
}

ValueId ValueLookup::resolve(const std::string& name) const {
  if (graph_->outputs().count(name)) return graph_->output(name);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return graph_->output(name);  // throws, listing outputs
  if (it->second < 0) {
    throw Error(ErrorCode::kBadArgument,
                "'" + name + "' names several values of the graph; request a graph output");
  }
  return it->second;
}

}  // namespace starface::graph
