// A plan over two backends, as ggml's scheduler does: the graph's nodes in order, cut
// into segments, each either a run of consecutive nodes the fast backend supports
// (compiled by it as a graph of its own) or a node run by the reference backend. The
// engine makes one when the chosen backend declines some op (Backend::supports_op).
//
// A segment's graph has one input (the IR's rule), so a run of supported nodes ends where
// it would read a second value computed outside it; a supported node that alone reads two
// such values (an Add of two branches made elsewhere), or a value that is not [N,C,H,W],
// runs on the reference backend too. Values pass between segments as dense float32
// tensors; each is freed after its last reader.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend_registry.h"
#include "graph/graph.h"
#include "graph/plan.h"
#include "graph/value_lookup.h"

namespace starface {

class PlacedPlan : public graph::Plan {
 public:
  // `graph` is prepared for `backend` (Backend::prepare); each segment of supported nodes
  // is compiled by it with `precisions`. Throws kInternal for a graph that breaks the
  // IR's rules.
  PlacedPlan(const graph::Graph& graph, const Backend& backend,
             const graph::ConvPrecisions& precisions);
  ~PlacedPlan() override;

  // As RefPlan::run: graph outputs or any value by its name.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs) override;
  void set_profiling(bool on) override;
  std::map<std::string, std::string> precision_fallbacks() const override;

  // Where each segment runs, in order: "onednn: 12 nodes", "ref: BoundaryPlanes x".
  std::vector<std::string> placement() const;

 private:
  struct Segment;
  // Computes what `segment` makes of the `needed` values into `slots`.
  void run_segment(int segment, const std::vector<bool>& needed, const std::vector<bool>& keep,
                   std::vector<Tensor>& slots);
  // Frees the computed values no segment after `segment` reads, unless kept.
  void release_dead(int segment, const std::vector<bool>& keep, std::vector<Tensor>& slots) const;

  graph::Graph graph_;
  graph::ValueLookup values_{graph_};
  std::string backend_;
  std::vector<Segment> segments_;
  std::vector<int> last_reader_;  // per value: the last segment that reads it, or -1
};

}  // namespace starface
