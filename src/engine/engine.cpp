#include "engine/engine.h"

#include <algorithm>

#include "core/threads.h"
#include "engine/compile.h"
#include "import/checkpoint.h"
#include "nets/star/builder.h"

namespace starface {

std::unique_ptr<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
  if (options.weights != "net" && options.weights != "net_ema") {
    throw Error(ErrorCode::kBadArgument,
                "weights must be 'net' or 'net_ema', got '" + options.weights + "'");
  }
  detail::check_backend_and_precision(options);
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
    detail::rethrow_naming(path, e);
  }
  engine->plan_for({"landmarks"});
  return engine;
}

std::string Engine::backend_info() const { return detail::backend_info(options_.backend); }

graph::Plan& Engine::plan_for(const std::vector<std::string>& outputs) {
  std::vector<std::string> key = outputs;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  auto& slot = plans_[key];
  if (!slot) {
    for (const std::string& name : key) graph_.output(name);  // unknown names fail here
    slot = detail::compile(graph_, options_.backend, key);
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
