// Engine: the one path from a model file to landmarks that every consumer (CLI, tests,
// benchmarks, bindings) uses: load -> read config -> build graph -> optimize for the
// requested outputs -> compile on a backend -> run batches.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "graph/plan.h"
#include "nets/star/config.h"
#include "nets/star/params.h"

namespace starface {

struct EngineOptions {
  std::string backend = "onednn";  // see available_backends()
  std::string weights = "net";     // checkpoint entry: "net" or "net_ema"
  int threads = 0;                 // 0 = all cores
  std::string precision = "fp32";  // see available_precisions()
};

// The backends this build offers, the default first.
std::vector<std::string> available_backends();
// The arithmetic the fast backend may use, exact first: "fp32" is direct FP32 convolution,
// "fp32-fast" runs 3x3 convs as Winograd F(4x4, 3x3) where faster (float32 throughout, with
// rounding differences: landmarks move by about 0.001 crop pixels at most).
std::vector<std::string> available_precisions();

class Engine {
 public:
  // Loads a checkpoint and compiles the plan for the final landmarks; every error names
  // the file and what is wrong with it.
  static std::unique_ptr<Engine> load(const std::string& path, const EngineOptions& options = {});

  const star::Config& config() const { return config_; }
  const graph::Graph& graph() const { return graph_; }  // as built, before the passes
  const star::ParamReport& params() const { return params_; }
  const std::string& path() const { return path_; }
  const std::string& backend() const { return options_.backend; }
  const std::string& precision() const { return options_.precision; }
  // What runs underneath, for reports: e.g. "onednn (avx512_core)", plus
  // ", winograd avx512" with fp32-fast.
  std::string backend_info() const;

  // Runs the network on float32 [N, 3, 256, 256] and returns the named graph outputs.
  // The first call with a new set of outputs compiles a plan for exactly those.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs);
  // Final landmarks [N, P, 2] in [-1, 1].
  Tensor landmarks(const Tensor& input);

  // Per-node timing of later runs (see graph::Plan::set_profiling).
  void set_profiling(bool on);
  std::vector<graph::NodeTime> last_profile() const;

 private:
  Engine() = default;
  graph::Plan& plan_for(const std::vector<std::string>& outputs);

  std::string path_;
  EngineOptions options_;
  star::Config config_;
  graph::Graph graph_;
  star::ParamReport params_;
  std::map<std::vector<std::string>, std::unique_ptr<graph::Plan>> plans_;
  graph::Plan* last_plan_ = nullptr;
  bool profiling_ = false;
};

}  // namespace starface
