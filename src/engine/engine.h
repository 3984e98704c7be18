// Engine: the one path from a model file to landmarks that every consumer (CLI, tests,
// benchmarks, bindings) uses: load -> read config -> build graph -> optimize for the
// requested outputs -> compile on a backend -> run batches.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "engine/calibrate.h"
#include "graph/graph.h"
#include "graph/int8.h"
#include "graph/plan.h"
#include "graph/precision.h"
#include "nets/common/landmark_net.h"

namespace starface {

struct EngineOptions {
  std::string backend = "onednn";  // see available_backends()
  std::string weights = "net";     // checkpoint entry: "net" or "net_ema"
  int threads = 0;                 // 0 = all cores
  // The arithmetic of every conv (graph/precision.h); nullopt: what the model was made for
  // (a calibrated int8 model file's own per-conv assignment, else exact fp32).
  std::optional<graph::Precision> precision;
};

// The word front ends accept for EngineOptions::precision = nullopt.
inline constexpr const char* kModelPrecision = "model";

// The checkpoint entry (EngineOptions::weights) a front end's word names: "ema" is
// "net_ema"; anything else is passed on as is (and checked at load).
inline std::string checkpoint_entry(const std::string& word) {
  return word == "ema" ? "net_ema" : word;
}

// The backends this build offers, the default first.
std::vector<std::string> available_backends();
// What a front end accepts for a precision: kModelPrecision, then graph::all_precisions()'
// names: "fp32" is direct FP32 convolution, "fp32-fast" runs 3x3 convs as Winograd
// F(4x4, 3x3) where faster (float32 throughout, with rounding differences: landmarks move
// by about 0.001 crop pixels at most), "bf16" runs the convs with bf16 inputs and weights
// (CPUs with avx512_bf16), "int8" runs the convs a calibrated model file names (`starface
// convert --precision int8 --calibrate`) as uint8 x int8 convolutions and the rest as fp32.
// How a model file stores its weights is separate (nets::storage_precisions(): "fp32",
// "fp16"): float16 weights are widened at load and run with any of these.
std::vector<std::string> requestable_precisions();
// The one place a front end turns the user's word into a precision: kModelPrecision is
// nullopt; anything else not in requestable_precisions() is kBadArgument listing them.
std::optional<graph::Precision> parse_requested_precision(const std::string& name);
// The word for `precision` (kModelPrecision for nullopt).
std::string requested_precision_name(const std::optional<graph::Precision>& precision);

// Where a loaded network came from.
struct ModelSource {
  bool model_file = false;           // a starface model file (starface convert), not a checkpoint
  std::string storage = "fp32";      // how its weights are stored: "fp32" or "fp16"
  std::string checkpoint;            // model file: the checkpoint it was converted from
  std::string weights = "net";       // the checkpoint entry the weights come from
  graph::Int8Calibration int8;       // a calibrated model file's (empty otherwise)
  graph::ConvPrecisions precisions;  // what the file runs in by default (all fp32 otherwise)
  std::string precision_search;      // how `convert --precision auto` chose it (JSON), or ""
};

struct ConvertOptions {
  std::string precision = "fp32";  // storage: see nets::storage_precisions()
  std::string weights = "net";     // checkpoint entry: "net" or "net_ema"
  // precision "int8": float32 [N, 3, 256, 256] crops to calibrate on (calibrate.h)...
  std::vector<Tensor> calibration_inputs;
  CalibrationRules rules;
  // ... or a calibration made beforehand on the checkpoint's optimized graph, with the
  // per-conv assignment to store (its int8 convs must be calibrated there), and how it was
  // chosen as a JSON object (ModelFileInfo::precision_search).
  std::optional<graph::Int8Calibration> int8;
  std::optional<graph::ConvPrecisions> assignment;
  std::string precision_search;

  // Weights stored as `precision`, nothing else set.
  static ConvertOptions stored_as(std::string precision, std::string weights = "net") {
    ConvertOptions o;
    o.precision = std::move(precision);
    o.weights = std::move(weights);
    return o;
  }
};

struct ConvertReport {
  nets::NetInfo net;
  int nodes = 0;
  int constants = 0;
  int64_t bytes = 0;  // of the file written
  double load_ms = 0;
  double calibrate_ms = 0;
  double write_ms = 0;
  graph::Int8Calibration int8;  // precision "int8"
};

// A network after the passes (every output kept) and where it came from, without a plan:
// what calibration and the precision search run on.
struct OptimizedNetwork {
  graph::Graph graph;
  nets::NetInfo net;
  ModelSource source;
};
// Loads a checkpoint or model file as Engine::load does (errors name the file).
OptimizedNetwork load_optimized(const std::string& path, const std::string& weights = "net");

// Writes the optimized model file of a checkpoint (or re-encodes a model file): the graph
// after the passes, keeping every output, so every subcommand runs from it. Nothing is
// written unless the checkpoint loads; errors name the file at fault.
ConvertReport convert_model(const std::string& checkpoint, const std::string& output,
                            const ConvertOptions& options = {});
// The same for a network already loaded with load_optimized (its weights entry is the
// one it was loaded with): what `convert` and precision auto use after calibrating on it,
// instead of reading the checkpoint again. ConvertReport::load_ms is left 0.
ConvertReport convert_model(const OptimizedNetwork& network, const std::string& output,
                            const ConvertOptions& options = {});

class Engine {
 public:
  // Loads a checkpoint or a starface model file (recognised by its content) and compiles
  // the plan for the final landmarks; every error names the file and what is wrong with it.
  static std::unique_ptr<Engine> load(const std::string& path, const EngineOptions& options = {});

  // Which landmark net, its configuration and crop convention.
  const nets::NetInfo& net() const { return net_; }
  // As built, before the passes; from a model file, as stored (already optimized).
  const graph::Graph& graph() const { return graph_; }
  // From a model file, the counts of its stored graph (LandmarkNet::count_graph_parameters).
  const nets::ParamReport& params() const { return params_; }
  const ModelSource& source() const { return source_; }
  const std::string& path() const { return path_; }
  const std::string& backend() const { return options_.backend; }
  // The precision asked for, or for kModelPrecision the one the model was made for.
  graph::Precision precision() const { return precision_; }
  // What each conv is assigned (a conv that does not qualify still runs fp32, listed in
  // OnednnPlan::ProgramStats::fallbacks).
  const graph::ConvPrecisions& conv_precisions() const { return conv_precisions_; }
  // What runs underneath, for reports: e.g. "onednn (avx512_core)", plus
  // ", winograd avx512" with fp32-fast.
  std::string backend_info() const;

  // Runs the network on float32 [N, 3, S, S] (S = net().input_size) and returns the named
  // graph outputs.
  // The first call with a new set of outputs compiles a plan for exactly those.
  TensorMap run(const Tensor& input, const std::vector<std::string>& outputs);
  // Final landmarks [N, P, 2] in the net's coordinates (net().to_image maps them back).
  Tensor landmarks(const Tensor& input);

  // The convs the last run computed in fp32 although assigned another precision, with why.
  std::map<std::string, std::string> precision_fallbacks() const {
    return last_plan_ ? last_plan_->precision_fallbacks() : std::map<std::string, std::string>{};
  }

  // Per-node timing of later runs (see graph::Plan::set_profiling).
  void set_profiling(bool on);
  std::vector<graph::NodeTime> last_profile() const;

 private:
  Engine() = default;
  graph::Plan& plan_for(const std::vector<std::string>& outputs);

  std::string path_;
  EngineOptions options_;
  nets::NetInfo net_;
  graph::Graph graph_;
  nets::ParamReport params_;
  ModelSource source_;
  graph::Precision precision_ = graph::Precision::kFp32;
  graph::ConvPrecisions conv_precisions_;
  std::map<std::vector<std::string>, std::unique_ptr<graph::Plan>> plans_;
  graph::Plan* last_plan_ = nullptr;
  bool profiling_ = false;
};

}  // namespace starface
