// Rebuilds a graph node by node so a pass can replace, fuse or drop nodes. Values are
// copied on first use, so constants no node reads any more (folded BatchNorm parameters,
// split CoordConv weights) disappear from the result.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::graph::passes {

class Rewriter {
 public:
  explicit Rewriter(const Graph& source);

  const Graph& source() const { return source_; }
  const Node& node(int index) const { return source_.nodes()[index]; }

  // Node indices of the source graph that read `value`.
  const std::vector<int>& readers(ValueId value) const { return readers_[value]; }
  // True when exactly one node reads `value` and it is not a graph output: the only
  // values a pass may fuse away.
  bool single_use(ValueId value) const;
  // The source node that computes `value`, or null for the input and constants.
  const Node* producer(ValueId value) const;

  // The new graph's id for a source value (copying the input or a constant on first use).
  ValueId map(ValueId value);
  // From now on readers of source `value` read `replacement` (a value of the new graph).
  void alias(ValueId value, ValueId replacement);

  // Copies a source node unchanged (inputs mapped) and returns its new output.
  ValueId copy(int index);
  // Adds a node or constant to the new graph.
  ValueId add_node(OpKind op, const std::string& name, const std::string& stage,
                   std::vector<ValueId> inputs, OpAttrs attrs = {});
  ValueId add_constant(const std::string& name, Tensor tensor);

  // Copies every node not yet handled is up to the pass; finish() maps the outputs named in
  // `outputs` (all source outputs when empty) and returns the new graph.
  Graph finish(const std::vector<std::string>& outputs = {});

 private:
  const Graph& source_;
  Graph target_;
  std::vector<ValueId> mapped_;
  std::vector<std::vector<int>> readers_;
};

}  // namespace starface::graph::passes
