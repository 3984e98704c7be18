// Finding a value of a graph by name, as every backend's Plan::run does for the names a
// caller asks for: a graph output by its output name, else any value whose name is unique
// (for layer-by-layer comparisons).
#pragma once

#include <map>
#include <string>

#include "graph/graph.h"

namespace starface::graph {

class ValueLookup {
 public:
  // `graph` must outlive the lookup.
  explicit ValueLookup(const Graph& graph);
  // kBadArgument listing the graph outputs for an unknown name, or saying a name is
  // ambiguous (several values carry it: ask for a graph output instead).
  ValueId resolve(const std::string& name) const;

 private:
  const Graph* graph_;
  std::map<std::string, ValueId> by_name_;  // -1 where a name is ambiguous
};

}  // namespace starface::graph
