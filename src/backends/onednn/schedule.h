// The order a program runs the graph's nodes in, the lifetimes of their values, and the
// pairs of nodes that run as one primitive. Decided per set of requested values.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace starface::backends::onednn {

struct Schedule {
  // The nodes the requested values need, in execution order. Each 2x2 max pool runs right
  // after its input is made: then the input's other reader (say a skip branch whose last
  // conv accumulates onto it) is its last one and can work in place, while the pool keeps
  // only a quarter-size copy alive.
  std::vector<int> order;
  // Per value: the position in `order` of its last reader, -1 when nothing reads it.
  std::vector<int> last_use;
  std::vector<bool> requested;
  // Per node: for an Add of x and Upsample2x(y), the Upsample2x node, which runs inside
  // the Add as one resampling primitive accumulating onto x; -1 otherwise. Only when the
  // upsampled map has no other reader and is not requested.
  std::vector<int> fused_upsample;
};

Schedule make_schedule(const graph::Graph& graph, const std::vector<graph::ValueId>& requested);

}  // namespace starface::backends::onednn
