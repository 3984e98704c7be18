#include "pipeline/auto_model.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "backends/onednn/onednn_backend.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/timer.h"
#include "import/mapped_file.h"
#include "import/safetensors.h"
#include "pipeline/model_files.h"

namespace starface::pipeline {

namespace {

using nlohmann::json;

// The checkpoint's graph after the passes, with its exact weights: what calibration and
// the search run on, and what convert_model writes.
OptimizedNetwork exact_network(const std::string& checkpoint, const std::string& weights) {
  OptimizedNetwork network = load_optimized(checkpoint, weights);
  if (network.source.model_file && network.source.storage != "fp32") {
    throw Error(ErrorCode::kBadArgument,
                checkpoint + " stores " + network.source.storage +
                    " weights: --precision auto starts from exact weights; give the checkpoint "
                    "(or an fp32 model file)");
  }
  return network;
}

// Every candidate conv gets an int8 scale: the search, not calibration's error estimate,
// decides which stay int8.
CalibrationRules search_rules() {
  CalibrationRules rules;
  rules.max_relative_error = std::numeric_limits<double>::infinity();
  return rules;
}

// Median batch-1 time of each plan, alternating them so drift hits both alike.
std::pair<double, double> time_plans(graph::Plan& a, graph::Plan& b, const Tensor& crop) {
  constexpr int kRounds = 5;
  std::vector<double> ta, tb;
  a.run(crop, {"landmarks"});  // warm-up
  b.run(crop, {"landmarks"});
  for (int i = 0; i < kRounds; ++i) {
    for (auto [plan, times] : {std::pair{&a, &ta}, std::pair{&b, &tb}}) {
      const Timer t;
      plan->run(crop, {"landmarks"});
      times->push_back(t.elapsed_ms());
    }
  }
  std::sort(ta.begin(), ta.end());
  std::sort(tb.begin(), tb.end());
  return {ta[kRounds / 2], tb[kRounds / 2]};
}

json drift_json(const eval::ConvDrift& d) {
  return {{"mean_px", d.mean_px}, {"p99_px", d.p99_px}, {"max_px", d.max_px}};
}

// 64-bit FNV-1a of the file's bytes: a cache key, not a security check (the cached file is
// read by the same safe reader as any model file).
std::string file_hash(const std::string& path) {
  const import::MappedFile file(path);
  uint64_t h = 1469598103934665603ull;
  for (std::byte b : file.bytes()) {
    h ^= static_cast<uint64_t>(b);
    h *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

std::string number_word(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// Holds an exclusive lock on `path` while alive, so concurrent runs (a cluster's array
// jobs) build one cached file once: the others wait and then reuse it.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw Error(ErrorCode::kIo, path.string() + ": cannot lock the model cache");
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace

json precision_search_json(const AutoModelReport& r, const AutoModelOptions& o) {
  json raised = json::array();
  for (const eval::RaisedConv& c : r.choice.raised) {
    raised.push_back({{"conv", c.conv},
                      {"precision", graph::precision_name(c.precision)},
                      {"int8_drift_px", c.int8_drift_px}});
  }
  return {{"budget", {{"mean_px", o.budget.mean_px}, {"p99_px", o.budget.p99_px}}},
          {"split", eval::describe(r.split)},
          {"calibration_crops", r.split.calibrate.size()},
          {"held_out_crops", r.split.held_out.size()},
          {"drift", drift_json(r.choice.drift)},
          {"all_int8_drift", drift_json(r.choice.all_int8_drift)},
          {"convs", r.choice.conv_counts},
          {"raised", raised},
          {"search", r.choice.search},
          {"moves", r.choice.moves},
          {"measurements", r.choice.measurements},
          {"predicted_conv_time_vs_fp32", r.choice.predicted_conv_time},
          {"cpu", cpu_kind()}};
}

AutoModelReport convert_auto(const std::string& checkpoint, const std::string& output,
                             const AutoModelOptions& options,
                             const eval::SearchProgress& progress) {
  options.budget.check();  // before minutes of work
  const Timer timer;
  const OptimizedNetwork network = exact_network(checkpoint, options.weights);
  const graph::Graph& exact = network.graph;
  const std::vector<Tensor> crops = calibration_crops(options.calibration, network.net);
  AutoModelReport r;
  r.split = eval::split_calibration_crops(crops.size());
  if (progress) progress("calibration", 0, 1);
  const graph::Int8Calibration calibration =
      calibrate_int8(exact, eval::pick_crops(crops, r.split.calibrate), search_rules());
  const std::vector<Tensor> held_out = eval::pick_crops(crops, r.split.held_out);
  r.choice = eval::choose_precisions(exact, calibration, held_out, options.budget,
                                     backends::onednn::has_bf16(), progress);
  r.search_ms = timer.elapsed_ms();
  if (options.measure_speed) {
    backends::onednn::OnednnPlan fp32(exact);
    const auto chosen = eval::precision_plan(exact, calibration, r.choice.precisions);
    std::tie(r.fp32_ms, r.auto_ms) = time_plans(fp32, *chosen, held_out.front());
  }
  ConvertOptions c;
  c.precision = "int8";
  c.weights = options.weights;
  c.int8 = r.choice.int8;
  c.assignment = r.choice.precisions;
  c.precision_search = precision_search_json(r, options).dump();
  r.convert = convert_model(network, output, c);
  return r;
}

std::string cpu_kind() {
  const CpuFeatures f = cpu_info().features;
  std::string kind = simd_target_name(widest_simd_target());
  if (f.avx512_vnni || f.avx_vnni) kind += "-vnni";
  if (f.avx512_bf16) kind += "-bf16";
  return kind;
}

std::filesystem::path auto_model_cache_path(const std::string& checkpoint,
                                            const AutoModelOptions& options) {
  const std::string name = std::filesystem::path(checkpoint).stem().string() + "-" +
                           file_hash(checkpoint) + "-" + options.weights + "-mean" +
                           number_word(options.budget.mean_px) + "-p99" +
                           number_word(options.budget.p99_px) + "-" + cpu_kind() + ".safetensors";
  return cache_dir() / "auto" / name;
}

std::string describe_precision_search(const std::string& record) {
  const json j = json::parse(record);
  const json& d = j.at("drift");
  char text[256];
  std::snprintf(text, sizeof text,
                "drift %.3f / %.3f / %.3f crop px (mean / p99 / max) on %d held-out crops, "
                "budget mean %g / p99 %g",
                d.at("mean_px").get<double>(), d.at("p99_px").get<double>(),
                d.at("max_px").get<double>(), j.at("held_out_crops").get<int>(),
                j.at("budget").at("mean_px").get<double>(),
                j.at("budget").at("p99_px").get<double>());
  std::string line = text;
  const char* separator = "; ";
  for (const auto& [precision, count] : j.at("convs").items()) {
    line += separator + std::to_string(count.get<int>()) + " " + precision;
    separator = ", ";
  }
  return line;
}

eval::SearchProgress stderr_search_progress() {
  auto stage_shown = std::make_shared<std::string>();
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  return [stage_shown, terminal](const std::string& stage, int done, int total) {
    if (terminal) {
      std::fprintf(stderr, "\r%s: %d / %d   %s", stage.c_str(), done, total,
                   done == total ? "\n" : "");
    } else if (*stage_shown != stage) {
      std::fprintf(stderr, "%s: %d steps\n", stage.c_str(), total);
      *stage_shown = stage;
    }
  };
}

CachedAutoModel cached_auto_model(const std::string& checkpoint, const AutoModelOptions& options,
                                  const std::function<void(const std::string&)>& log,
                                  const eval::SearchProgress& progress) {
  options.budget.check();
  CachedAutoModel cached;
  cached.path = auto_model_cache_path(checkpoint, options);
  std::error_code ec;
  std::filesystem::create_directories(cached.path.parent_path(), ec);
  if (ec) {
    throw Error(ErrorCode::kIo, cached.path.parent_path().string() +
                                    ": cannot create the model cache (" + ec.message() + ")");
  }
  const FileLock lock(cached.path.string() + ".lock");
  if (!std::filesystem::exists(cached.path)) {
    if (options.calibration.paths.empty()) {
      throw Error(ErrorCode::kBadArgument,
                  "--precision auto: " + checkpoint +
                      " has no auto model cached for this budget and CPU yet; give --calibrate "
                      "with face images or videos to make one");
    }
    log("precision auto: converting " + checkpoint + " within the drift budget " +
        options.budget.str() + " (once; cached as " + cached.path.string() + ")");
    AutoModelOptions o = options;
    o.measure_speed = false;
    convert_auto(checkpoint, cached.path.string(), o, progress);
    cached.built = true;
  }
  // The record alone: the caller loads the file itself.
  const import::Metadata metadata = import::read_safetensors_metadata(cached.path.string());
  const auto record = metadata.find("precision_search");
  if (record == metadata.end()) {
    throw Error(
        ErrorCode::kNotACheckpoint,
        cached.path.string() + ": not a precision-auto model file; delete it to make it again");
  }
  cached.summary = describe_precision_search(record->second);
  log("precision auto: " + cached.path.string() + ": " + cached.summary);
  return cached;
}

}  // namespace starface::pipeline
