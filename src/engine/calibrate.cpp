#include "engine/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"

namespace starface {
namespace {

struct InputStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum_squares = 0;
  int64_t count = 0;

  void add(const Tensor& t) {
    const float* data = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      min = std::min(min, double{data[i]});
      max = std::max(max, double{data[i]});
      sum_squares += double{data[i]} * data[i];
    }
    count += t.numel();
  }
  double mean_square() const { return count > 0 ? sum_squares / count : 0.0; }
};

// Rounding noise power over signal power of per-output-channel int8 weights (an
// all-zero channel rounds exactly).
double weight_noise_ratio(const Tensor& weights) {
  const Tensor w = weights.contiguous();
  const std::vector<float> scales = graph::int8_weight_scales(w);
  const int64_t per = w.numel() / w.dim(0);
  double noise = 0, signal = 0;
  for (int64_t o = 0; o < w.dim(0); ++o) {
    const float* row = w.data<float>() + o * per;
    double channel = 0;
    for (int64_t i = 0; i < per; ++i) channel += double{row[i]} * row[i];
    signal += channel;
    if (channel > 0) noise += double{scales[o]} * scales[o] / 12 * static_cast<double>(per);
  }
  return signal > 0 ? noise / signal : 0.0;
}

std::string percent(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", v * 100);
  return text;
}

std::string decide(const graph::Node& conv, const InputStats& x, double weight_ratio,
                   const CalibrationRules& rules, graph::Int8Calibration& out) {
  if (x.min < 0) {
    char text[96];
    std::snprintf(text, sizeof text, "input takes negative values (min %.3g); uint8 needs >= 0",
                  x.min);
    return text;
  }
  if (!(x.max > 0)) return "input is zero on every calibration crop";
  const double step = x.max / 255;
  const double input_ratio = step * step / 12 / std::max(x.mean_square(), 1e-30);
  const double error = std::sqrt(input_ratio + weight_ratio);
  if (error > rules.max_relative_error) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "estimated int8 error %s > %s (input max %.3g is %.0fx its RMS; weights %s)",
                  percent(error).c_str(), percent(rules.max_relative_error).c_str(), x.max,
                  x.max / std::sqrt(x.mean_square()), percent(std::sqrt(weight_ratio)).c_str());
    return text;
  }
  out.input_scales[conv.name] = static_cast<float>(step);
  return "";
}

}  // namespace

graph::Int8Calibration calibrate_int8(const graph::Graph& optimized,
                                      const std::vector<Tensor>& inputs,
                                      const CalibrationRules& rules) {
  if (inputs.empty()) throw Error(ErrorCode::kBadArgument, "int8 calibration needs crops");
  std::vector<const graph::Node*> convs;
  std::set<std::string> names;
  for (const graph::Node& n : optimized.nodes()) {
    if (!graph::int8_candidate(optimized, n)) continue;
    convs.push_back(&n);
    names.insert(optimized.value(n.inputs[0]).name);
  }
  // Every conv input at once, from the exact float32 backend.
  backends::onednn::OnednnPlan plan(optimized);
  const std::vector<std::string> requested(names.begin(), names.end());
  std::map<std::string, InputStats> stats;
  graph::Int8Calibration result;
  for (const Tensor& batch : inputs) {
    const TensorMap values = plan.run(batch, requested);
    for (const auto& [name, t] : values) stats[name].add(t);
    result.crops += static_cast<int>(batch.dim(0));
  }
  for (const graph::Node* conv : convs) {
    const InputStats& x = stats.at(optimized.value(conv->inputs[0]).name);
    const double w = weight_noise_ratio(optimized.value(conv->inputs[1]).constant);
    const std::string why = decide(*conv, x, w, rules, result);
    if (!why.empty()) result.fp32_layers[conv->name] = why;
  }
  return result;
}

}  // namespace starface
