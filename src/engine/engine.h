// Engine: the one path from a model file to landmarks that every consumer (CLI, tests,
// benchmarks, bindings) uses: load -> read config -> build graph -> compile on a backend
// -> run batches.
#pragma once

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
  std::string backend = "ref";  // "ref" (the scalar oracle)
  std::string weights = "net";  // checkpoint entry: "net" or "net_ema"
  int threads = 0;              // 0 = all cores
};

// The backends this build offers, for --help and error messages.
std::vector<std::string> available_backends();

class Engine {
 public:
  // Loads a checkpoint; every error names the file and what is wrong with it.
  static std::unique_ptr<Engine> load(const std::string& path, const EngineOptions& options = {});

  const star::Config& config() const { return config_; }
  const graph::Graph& graph() const { return graph_; }
  const star::ParamReport& params() const { return params_; }
  const std::string& path() const { return path_; }

  // Runs the network on float32 [N, 3, 256, 256] and returns the named graph outputs.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs);
  // Final landmarks [N, P, 2] in [-1, 1].
  Tensor landmarks(const Tensor& input);

 private:
  Engine() = default;

  std::string path_;
  star::Config config_;
  graph::Graph graph_;
  star::ParamReport params_;
  std::unique_ptr<graph::Plan> plan_;
};

}  // namespace starface
