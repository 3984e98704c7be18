#include "graph/passes/passes.h"
#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

Graph dead_code(const Graph& graph, const std::vector<std::string>& outputs) {
  std::vector<bool> needed(graph.values().size(), false);
  for (const std::string& name : outputs) needed[graph.output(name)] = true;
  const auto& nodes = graph.nodes();
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    if (!needed[nodes[i].output]) continue;
    for (ValueId v : nodes[i].inputs) needed[v] = true;
  }
  Rewriter r(graph);
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    if (needed[nodes[i].output]) r.copy(i);
  }
  return r.finish(outputs);
}

}  // namespace starface::graph::passes
