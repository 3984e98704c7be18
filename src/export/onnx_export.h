// ONNX export of an optimized STAR graph: every IR op becomes standard ONNX ops (opset 17),
// weights become initializers, the input is [N, 3, 256, 256] with a symbolic batch N.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace starface::exporter {

struct OnnxOutput {
  std::string graph_name;  // the value published by the graph ("landmarks", "fusion.3")
  std::string onnx_name;   // its name in the ONNX model ("landmarks", "heatmaps")
};

struct OnnxExport {
  std::string bytes;                    // the serialized ModelProto
  int nodes = 0;                        // ONNX nodes
  int initializers = 0;                 // constant tensors
  std::map<std::string, int> op_types;  // ONNX op type -> count
};

// Converts `graph` (normally graph::passes::optimize's result for exactly `outputs`) to an
// ONNX model that passes onnx::checker. Throws kInternal naming the node for an op or a
// form the export does not know (e.g. a Concat that would need a batch broadcast).
OnnxExport to_onnx(const graph::Graph& graph, const std::vector<OnnxOutput>& outputs,
                   const std::string& doc = "");

// What `starface export-onnx` writes: `graph` as built (or as a model file stores it) run
// through graph::passes::optimize for exactly `outputs`, then to_onnx. Tests call it to
// check the very file users get.
OnnxExport export_optimized(const graph::Graph& graph, const std::vector<OnnxOutput>& outputs,
                            const std::string& doc = "");

}  // namespace starface::exporter
