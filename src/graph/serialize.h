// A graph as JSON text plus its constants, so a folded and fused graph can be stored in a
// model file and run again without the checkpoint or the passes.
//
// The JSON numbers values canonically: 0 is the input, 1..K the constants (in the order
// nodes first read them), then one value per node in node order; so a stored graph holds
// only what its nodes and outputs use, whatever ids the source graph had.
//   {"format": "starface.graph", "version": 2,
//    "input": {"name": "input", "shape": [1, 3, 256, 256]},
//    "constants": [{"name": "pre.0.conv.weight", "tensor": "pre.0.conv.weight"}, ...],
//    "nodes": [{"op": "Conv2d", "name": ..., "stage": ..., "inputs": [0, 1, 2],
//               "attrs": {"kernel": 7, "stride": 2, ...}}, ...],  (the op's own attributes)
//    "outputs": {"landmarks": 1234, ...}}
#pragma once

#include <string>

#include "core/tensor.h"
#include "graph/graph.h"

namespace starface::graph {

struct SerializedGraph {
  std::string json;
  TensorMap constants;  // keyed by the "tensor" names in `json` (unique; value names may repeat)
};

SerializedGraph serialize(const Graph& graph);

// Rebuilds the graph, inferring and checking every shape again. `constants` must hold
// exactly the tensors the JSON names, float32 or wider/narrower floats (widened to
// float32). Errors name `source` and the node, value or tensor: kNotACheckpoint for JSON
// that is not such a graph (unknown op, bad value ids, wrong field types), kMissingKey /
// kUnexpectedKey for missing or extra tensors, kShapeMismatch where shapes disagree.
Graph deserialize(const std::string& json, const TensorMap& constants, const std::string& source);

}  // namespace starface::graph
