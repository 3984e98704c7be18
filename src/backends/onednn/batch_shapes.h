// The values' shapes at a batch size. What depends on the input carries the batch; what
// depends on constants only keeps the graph's shape (batch 1), as in the reference backend.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace starface::backends::onednn {

struct BatchShapes {
  std::vector<Shape> shapes;  // per value
  std::vector<bool> batched;  // per value: depends on the input
};

BatchShapes batch_shapes(const graph::Graph& graph, int64_t batch);

// Throws kShapeMismatch naming the first node whose operands do not fit together at this
// batch (a batch-1 constant added to N images, ...), as the reference backend does when
// it gets there. A batch runs in passes of fewer images, which would hide such a graph.
void check_batch_shapes(const graph::Graph& graph, const BatchShapes& shapes);

}  // namespace starface::backends::onednn
