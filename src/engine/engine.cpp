#include "engine/engine.h"

#include <algorithm>

#include "backends/onednn/onednn_backend.h"
#include "backends/ref/ref_backend.h"
#include "backends/x86/winograd.h"
#include "core/threads.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "nets/star/builder.h"

namespace starface {

std::vector<std::string> available_backends() { return {"onednn", "ref"}; }
std::vector<std::string> available_precisions() { return {"fp32", "fp32-fast"}; }

namespace {

[[noreturn]] void unknown_backend(const std::string& backend) {
  std::string known;
  for (const std::string& b : available_backends()) known += (known.empty() ? "" : ", ") + b;
  throw Error(ErrorCode::kBadArgument,
              "unknown backend '" + backend + "' (available: " + known + ")");
}

// The reference backend is the oracle: it runs the graph exactly as built. The fast
// backend runs the graph the passes made for exactly the requested outputs.
std::unique_ptr<graph::Plan> compile(const graph::Graph& graph, const std::string& backend,
                                     const std::string& precision,
                                     const std::vector<std::string>& outputs) {
  if (backend == "ref") {
    if (precision != "fp32") {
      throw Error(ErrorCode::kBadArgument,
                  "precision '" + precision + "' needs the onednn backend; ref is exact fp32");
    }
    return backends::ref::compile(graph);
  }
  if (backend == "onednn")
    return backends::onednn::compile(graph::passes::optimize(graph, outputs), precision);
  unknown_backend(backend);
}

}  // namespace

std::unique_ptr<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
  if (options.weights != "net" && options.weights != "net_ema") {
    throw Error(ErrorCode::kBadArgument,
                "weights must be 'net' or 'net_ema', got '" + options.weights + "'");
  }
  const auto backends = available_backends();
  if (std::find(backends.begin(), backends.end(), options.backend) == backends.end()) {
    unknown_backend(options.backend);
  }
  const auto precisions = available_precisions();
  if (std::find(precisions.begin(), precisions.end(), options.precision) == precisions.end()) {
    throw Error(ErrorCode::kBadArgument, "unknown precision '" + options.precision + "'");
  }
  set_num_threads(options.threads);
  std::unique_ptr<Engine> engine(new Engine());
  engine->path_ = path;
  engine->options_ = options;
  try {
    const TensorMap state_dict =
        import::load_state_dict(path, import::LoadOptions{options.weights});
    engine->config_ = star::detect_config(state_dict);
    engine->graph_ = star::build_graph(state_dict, engine->config_);
    engine->params_ = star::count_parameters(state_dict, engine->graph_);
  } catch (const Error& e) {
    const std::string what = e.what();
    // Name the file once, whichever layer raised the error.
    if (what.find(path) != std::string::npos) throw;
    throw Error(e.code(), path + ": " + what);
  }
  engine->plan_for({"landmarks"});
  return engine;
}

std::string Engine::backend_info() const {
  if (options_.backend == "onednn") {
    std::string info = "onednn (" + backends::onednn::isa_name() + ")";
    if (options_.precision == "fp32-fast") {
      info += ", winograd " + std::string(backends::x86::isa_name(backends::x86::selected_isa()));
    }
    return info;
  }
  return "ref (scalar oracle, OpenMP)";
}

graph::Plan& Engine::plan_for(const std::vector<std::string>& outputs) {
  std::vector<std::string> key = outputs;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  auto& slot = plans_[key];
  if (!slot) {
    for (const std::string& name : key) graph_.output(name);  // unknown names fail here
    slot = compile(graph_, options_.backend, options_.precision, key);
    slot->set_profiling(profiling_);
  }
  last_plan_ = slot.get();
  return *slot;
}

TensorMap Engine::run(const Tensor& input, const std::vector<std::string>& outputs) {
  graph::check_batch_input(graph_, input);  // before a new plan is compiled for nothing
  return plan_for(outputs).run(input, outputs);
}

Tensor Engine::landmarks(const Tensor& input) { return run(input, {"landmarks"}).at("landmarks"); }

void Engine::set_profiling(bool on) {
  profiling_ = on;
  for (auto& [key, plan] : plans_) plan->set_profiling(on);
}

std::vector<graph::NodeTime> Engine::last_profile() const {
  return last_plan_ ? last_plan_->last_profile() : std::vector<graph::NodeTime>{};
}

}  // namespace starface
