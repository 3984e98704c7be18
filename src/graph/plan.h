// What a backend compiles a graph into: run it on a batch, get the requested outputs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace starface::graph {

// Time spent in one node during the last profiled run.
struct NodeTime {
  std::string node;   // node name
  std::string op;     // op_name() of the node, with "+Relu", "+Add" suffixes for fused convs
  std::string stage;  // the node's cost-report stage
  double ms = 0;
};

class Plan {
 public:
  virtual ~Plan() = default;
  // Runs the graph on `input` (float32 [N, ...] matching the graph input's shape apart
  // from N) and returns the graph outputs named in `outputs`.
  virtual TensorMap run(const Tensor& input, const std::vector<std::string>& outputs) = 0;

  // When on, run() times every node (with a small overhead) for last_profile().
  virtual void set_profiling(bool on) { profiling_ = on; }
  virtual std::vector<NodeTime> last_profile() const { return profile_; }
  // The convs the last run computed in float32 although assigned another precision
  // (graph/precision.h), each with the reason: name -> why.
  virtual std::map<std::string, std::string> precision_fallbacks() const { return {}; }

 protected:
  bool profiling_ = false;
  std::vector<NodeTime> profile_;
};

}  // namespace starface::graph
