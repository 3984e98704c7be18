// The reference backend: runs a graph node by node with the plain kernels of kernels.h.
//
// It is the oracle the fast backends are tested against. Intermediate tensors are freed
// right after their last consumer, so memory stays at the few maps alive at once (the
// full STAR model peaks at about 25 MB per image), not the sum of all ~700.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/plan.h"
#include "graph/value_lookup.h"

namespace starface::backends::ref {

class RefPlan : public graph::Plan {
 public:
  // Copies the graph (constants share storage with it), so `graph` may go away. Throws
  // kInternal when the graph breaks the IR's rules (no input, a node reading a value that
  // is computed later, wrong input count for its op).
  explicit RefPlan(const graph::Graph& graph);

  // Runs the graph on `input`: float32 [N, ...] with the graph input's shape apart from N
  // (kShapeMismatch naming expected and found otherwise). `outputs` names graph outputs
  // (Graph::mark_output) or, for debugging and layer-by-layer comparisons, any value by
  // its name (a node, constant or the input); a graph output name wins over a value of
  // the same name, and a value name shared by several values is refused. An unknown name
  // is kBadArgument listing the graph outputs. Only the nodes the requested outputs
  // depend on are evaluated. Errors from a kernel are rethrown naming the node. One run
  // at a time per plan (it records last_peak_bytes); kernels use the OpenMP threads.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs) override;

  // The largest total size of the intermediate tensors held at once during the last run
  // (requested outputs included, constants and the caller's input excluded).
  size_t last_peak_bytes() const { return last_peak_bytes_; }

 private:
  graph::Graph graph_;
  graph::ValueLookup values_{graph_};
  size_t last_peak_bytes_ = 0;
};

// Runs one node on its operands (float32 tensors in the node's input order, batch N),
// naming the node in a kernel's error: for a plan that places single ops on the reference
// backend.
Tensor evaluate_node(const graph::Node& node, const std::vector<Tensor>& operands);

// Compiles `graph` for the reference kernels (a RefPlan).
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph);

}  // namespace starface::backends::ref
