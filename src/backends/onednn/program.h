// One compiled run of a graph for a batch size and a set of requested values: primitives
// and kernels in node order over buffers planned once. Running it allocates nothing but
// the caller's output tensors.
#pragma once

#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "backends/onednn/buffer_pool.h"
#include "graph/graph.h"

namespace starface::backends::onednn {

struct Program {
  struct Step {
    int node = -1;  // the graph node the step belongs to, for profiles
    std::function<void(dnnl::stream&)> run;
  };
  // A requested value, copied to dense float32 as soon as it is computed.
  struct Output {
    graph::ValueId value = -1;
    Shape shape;           // for this program's batch
    bool batched = false;  // row n of the batch is row n of the output (else: constant-only)
    dnnl::memory dense;    // points at the caller's tensor during a run
  };

  std::vector<Step> steps;
  std::vector<Output> outputs;
  dnnl::memory input;  // points at the caller's input during a run
  BufferPool pool;
  int layout_reorders = 0;     // activations converted between layouts on the way (not outputs)
  int accumulator_copies = 0;  // residuals copied because a later node still reads them
  int winograd_convs = 0;      // convs run by our Winograd kernel (fp32-fast)
  int int8_convs = 0;          // convs run with uint8 inputs and int8 weights (int8)
  int bf16_convs = 0;          // convs run with bf16 inputs and weights (bf16)
  // Convs run in float32 although assigned another precision: name -> why.
  std::map<std::string, std::string> fallbacks;
  std::map<int, std::string> profile_ops;  // per node that absorbed another, its profile name
};

}  // namespace starface::backends::onednn
