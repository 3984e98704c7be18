#include "engine/engine.h"

#include <algorithm>
#include <filesystem>

#include "core/text.h"
#include "core/threads.h"
#include "core/timer.h"
#include "engine/compile.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "import/safetensors.h"
#include "nets/common/model_file.h"
#include "nets/registry.h"

namespace starface {

namespace {

void check_weights_option(const std::string& weights) {
  if (weights != "net" && weights != "net_ema") {
    throw Error(ErrorCode::kBadArgument,
                "weights must be 'net' or 'net_ema', got '" + weights + "'");
  }
}

// A network ready for a backend, from either kind of file.
struct Network {
  nets::NetInfo net;
  graph::Graph graph;
  nets::ParamReport params;
  ModelSource source;
};

Network network_from_state_dict(const TensorMap& state_dict, const nets::LandmarkNet& net,
                                const std::string& path, const std::string& weights) {
  nets::BuiltNet built = net.build(state_dict);
  Network n;
  n.net = std::move(built.info);
  n.graph = std::move(built.graph);
  n.params = std::move(built.params);
  n.source.checkpoint = std::filesystem::path(path).filename().string();
  n.source.weights = weights;
  return n;
}

Network network_from_checkpoint(const std::string& path, const std::string& weights) {
  const TensorMap state_dict = import::load_state_dict(path, import::LoadOptions{weights});
  return network_from_state_dict(state_dict, nets::landmark_net_for(state_dict), path, weights);
}

// A safetensors file without starface metadata: a state dict as safetensors.torch.save_file
// writes it, one set of weights, read when a registered net recognises its keys.
Network network_from_safetensors_state_dict(const std::string& path, const std::string& weights) {
  const TensorMap state_dict = import::read_safetensors(path).tensors;
  const nets::LandmarkNet* net = nets::find_landmark_net(state_dict);
  if (!net) {
    throw Error(ErrorCode::kNotACheckpoint,
                path + ": a safetensors file, but not a starface model (its metadata has no " +
                    "format '" + nets::kModelFileFormat + "') nor the state dict of a known " +
                    "landmark net (" + join(nets::landmark_net_names(), ", ") +
                    "); make a starface model from a checkpoint " +
                    "with `starface convert CKPT -o " +
                    std::filesystem::path(path).filename().string() + "`");
  }
  if (weights != "net") {
    throw Error(ErrorCode::kBadArgument, path + ": a state dict holds one set of weights; '" +
                                             weights + "' names an entry of a training checkpoint");
  }
  return network_from_state_dict(state_dict, *net, path, weights);
}

// A model file holds one set of weights: asking for the EMA weights of a file converted
// from "net" is an error rather than a silent substitute.
Network network_from_model_file(const std::string& path, const std::string& weights) {
  nets::ModelFile file = nets::read_model_file(path);
  if (weights == "net_ema" && file.info.weights != "net_ema") {
    throw Error(ErrorCode::kBadArgument,
                path + ": holds the '" + file.info.weights +
                    "' weights; convert the checkpoint with --weights ema for the EMA weights");
  }
  const nets::LandmarkNet& net = nets::landmark_net_named(file.net, path);
  Network n;
  n.net = net.read_config(file.config, path);
  nets::check_stored_graph(file.graph, n.net, path);
  n.params = net.count_graph_parameters(file.graph);
  n.graph = std::move(file.graph);
  n.source = {true,           file.info.precision,  file.info.source,          file.info.weights,
              file.info.int8, file.info.precisions, file.info.precision_search};
  return n;
}

// Loads either kind of file; errors name the file once, whichever layer raised them.
Network load_network(const std::string& path, const std::string& weights) {
  try {
    if (import::is_safetensors_file(path)) {
      const import::Metadata metadata = import::read_safetensors_metadata(path);
      const auto format = metadata.find("format");
      if (format != metadata.end() && format->second == nets::kModelFileFormat) {
        return network_from_model_file(path, weights);
      }
      return network_from_safetensors_state_dict(path, weights);
    }
    return network_from_checkpoint(path, weights);
  } catch (const Error& e) {
    detail::rethrow_naming(path, e);
  }
}

}  // namespace

namespace {

void check_convert_options(const ConvertOptions& options) {
  check_weights_option(options.weights);
  const auto precisions = nets::storage_precisions();
  if (std::find(precisions.begin(), precisions.end(), options.precision) == precisions.end()) {
    throw Error(ErrorCode::kBadArgument, "unknown model file precision '" + options.precision +
                                             "' (available: fp32, fp16, int8)");
  }
}

}  // namespace

ConvertReport convert_model(const std::string& checkpoint, const std::string& output,
                            const ConvertOptions& options) {
  check_convert_options(options);  // before the checkpoint is read
  const Timer load_timer;
  const OptimizedNetwork network = load_optimized(checkpoint, options.weights);
  const double load_ms = load_timer.elapsed_ms();
  ConvertReport report = convert_model(network, output, options);
  report.load_ms = load_ms;
  return report;
}

ConvertReport convert_model(const OptimizedNetwork& network, const std::string& output,
                            const ConvertOptions& options) {
  check_convert_options(options);
  ConvertReport report;
  // A copy: bias corrections replace constants in it. Every output stays, so infer's heat
  // maps and the per-stack goldens still run from the file.
  graph::Graph optimized = network.graph;
  nets::ModelFileInfo info;
  if (options.precision == "int8") {
    const Timer calibrate_timer;
    info.int8 = options.int8 ? *options.int8
                             : calibrate_int8(optimized, options.calibration_inputs, options.rules);
    graph::apply_bias_corrections(optimized, info.int8);  // the file's biases hold them
    report.calibrate_ms = calibrate_timer.elapsed_ms();
    report.int8 = info.int8;
    info.precisions = options.assignment ? *options.assignment
                                         : graph::ConvPrecisions::int8_at(info.int8.input_scales);
    info.precision_search = options.precision_search;
  }
  const Timer write_timer;
  info.precision = options.precision;
  info.source = network.source.checkpoint;
  info.weights = network.source.weights;
  nets::write_model_file(output, optimized, network.net, info);
  report.write_ms = write_timer.elapsed_ms();
  report.net = network.net;
  report.nodes = static_cast<int>(optimized.nodes().size());
  for (const graph::Value& v : optimized.values()) report.constants += v.is_constant() ? 1 : 0;
  report.bytes = static_cast<int64_t>(std::filesystem::file_size(output));
  return report;
}

OptimizedNetwork load_optimized(const std::string& path, const std::string& weights) {
  check_weights_option(weights);
  Network n = load_network(path, weights);
  return {graph::passes::optimize(n.graph), std::move(n.net), std::move(n.source)};
}

namespace {

// The per-conv assignment a request gives a loaded network: the model's own for no
// request or the precision it was made for; a uniform policy otherwise. A calibrated int8
// file holds int8-rounded weights and runs as int8 or, as the exact reference for its
// drift, fp32; float arithmetic of another kind on them is refused rather than mixed up.
graph::ConvPrecisions assign_precisions(const std::optional<graph::Precision>& requested,
                                        const ModelSource& source, const std::string& path) {
  const bool int8_file = source.precisions.uses(graph::Precision::kInt8);
  if (!requested || (int8_file && *requested == graph::Precision::kInt8)) {
    return source.precisions;
  }
  if (int8_file && *requested != graph::Precision::kFp32) {
    throw Error(ErrorCode::kBadArgument,
                path + " holds an int8 model (" + std::to_string(source.int8.input_scales.size()) +
                    " convs calibrated, weights stored as int8): run it as int8 (the default) "
                    "or fp32, or convert the checkpoint again for " +
                    graph::precision_name(*requested));
  }
  return graph::ConvPrecisions::uniform(*requested);
}

// The one precision reports name a run by: the requested one, or the lowest any conv of
// the model's own assignment runs in.
graph::Precision headline_precision(const graph::ConvPrecisions& precisions) {
  const auto& all = graph::all_precisions();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (precisions.uses(*it)) return *it;
  }
  return graph::Precision::kFp32;
}

}  // namespace

std::unique_ptr<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
  check_weights_option(options.weights);
  detail::check_backend(options.backend);
  set_num_threads(options.threads);
  std::unique_ptr<Engine> engine(new Engine());
  engine->path_ = path;
  engine->options_ = options;
  Network n = load_network(path, options.weights);
  engine->conv_precisions_ = assign_precisions(options.precision, n.source, path);
  engine->precision_ = options.precision.value_or(headline_precision(engine->conv_precisions_));
  engine->net_ = std::move(n.net);
  engine->graph_ = std::move(n.graph);
  engine->params_ = std::move(n.params);
  engine->source_ = std::move(n.source);
  engine->plan_for({"landmarks"});
  return engine;
}

std::string Engine::backend_info() const {
  return detail::backend_info(options_.backend, conv_precisions_);
}

graph::Plan& Engine::plan_for(const std::vector<std::string>& outputs) {
  std::vector<std::string> key = outputs;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  auto& slot = plans_[key];
  if (!slot) {
    for (const std::string& name : key) graph_.output(name);  // unknown names fail here
    slot = detail::compile(graph_, options_.backend, conv_precisions_, key);
    slot->set_profiling(profiling_);
  }
  last_plan_ = slot.get();
  return *slot;
}

TensorMap Engine::run(const Tensor& input, const std::vector<std::string>& outputs) {
  // OpenMP's thread count belongs to the calling thread: an Engine made on one thread and
  // run on another (a Python worker thread) still runs with the threads it was given.
  set_num_threads(options_.threads);
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
