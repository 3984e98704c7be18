#include "graph/passes/passes.h"

namespace starface::graph::passes {

Graph optimize(const Graph& graph, const std::vector<std::string>& outputs) {
  std::vector<std::string> keep = outputs;
  if (keep.empty()) {
    for (const auto& [name, v] : graph.outputs()) keep.push_back(name);
  }
  // BatchNorm folds into convs before the pre-activation ones turn into ScaleShift, and
  // ReLUs fuse last so a conv that absorbed BN, bias map and residual also takes its ReLU.
  Graph g = dead_code(graph, keep);
  g = coord_bias(g);
  g = fold_bn(g);
  g = scale_shift(g);
  return fuse_conv_act_add(g);
}

}  // namespace starface::graph::passes
