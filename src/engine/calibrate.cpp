#include "engine/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"

namespace starface {

const char* clipping_name(Clipping clipping) {
  switch (clipping) {
    case Clipping::kMse:
      return "mse";
    case Clipping::kPercentile:
      return "percentile";
    case Clipping::kMax:
      return "max";
  }
  return "unknown";
}

const std::vector<std::string>& clipping_names() {
  static const std::vector<std::string> names{"mse", "percentile", "max"};
  return names;
}

namespace {

constexpr int kBins = 2048;
constexpr double kPercentile = 0.9999;

// Expected squared rounding error of values spread over many steps: step^2 / 12.
double rounding_noise(double clip, int levels) {
  const double step = clip / levels;
  return step * step / 12;
}

// Bin i holds |x| in (i, i + 1] * width; its values are taken at the bin's centre.
double bin_centre(int i, double width) { return (i + 0.5) * width; }

double mse_clip(const std::vector<double>& counts, double largest, int levels, double* error) {
  const int bins = static_cast<int>(counts.size());
  const double width = largest / bins;
  // Suffix sums of n, n c and n c^2 give the clipping error of every candidate in O(1).
  std::vector<double> n(bins + 1, 0), nc(bins + 1, 0), ncc(bins + 1, 0);
  for (int i = bins - 1; i >= 0; --i) {
    const double c = bin_centre(i, width);
    n[i] = n[i + 1] + counts[i];
    nc[i] = nc[i + 1] + counts[i] * c;
    ncc[i] = ncc[i + 1] + counts[i] * c * c;
  }
  double best_clip = largest, best = std::numeric_limits<double>::infinity();
  // Clips at bin edges; below 1/64 of the largest value the step would exceed the bins.
  for (int edge = std::max(1, bins / 64); edge <= bins; ++edge) {
    const double clip = edge * width;
    const double kept = n[0] - n[edge];
    const double clipped = ncc[edge] - 2 * clip * nc[edge] + clip * clip * n[edge];
    const double total = kept * rounding_noise(clip, levels) + clipped;
    if (total < best) best = total, best_clip = clip;
  }
  if (error) *error = n[0] > 0 ? best / n[0] : 0.0;
  return best_clip;
}

double error_at(const std::vector<double>& counts, double largest, int levels, double clip) {
  const double width = largest / static_cast<double>(counts.size());
  double total = 0, count = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double c = bin_centre(static_cast<int>(i), width);
    total += counts[i] * (c > clip ? (c - clip) * (c - clip) : rounding_noise(clip, levels));
    count += counts[i];
  }
  return count > 0 ? total / count : 0.0;
}

double percentile_clip(const std::vector<double>& counts, double largest) {
  double total = 0;
  for (double c : counts) total += c;
  double below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    below += counts[i];
    if (below >= kPercentile * total) return (i + 1) * largest / counts.size();
  }
  return largest;
}

}  // namespace

double choose_clip(const std::vector<double>& counts, double largest, int levels, Clipping clipping,
                   double* error) {
  check_internal(!counts.empty() && largest > 0, "choose_clip: empty histogram");
  if (clipping == Clipping::kMse) return mse_clip(counts, largest, levels, error);
  const double clip = clipping == Clipping::kMax ? largest : percentile_clip(counts, largest);
  if (error) *error = error_at(counts, largest, levels, clip);
  return clip;
}

namespace {

// One conv input over all crops: its range and power (pass 1), then the histogram of
// |x| over (0, largest] (pass 2).
struct ValueStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum_squares = 0;
  int64_t count = 0;
  int64_t zeros = 0;
  std::vector<double> histogram;

  double largest() const { return std::max(std::abs(min), std::abs(max)); }
  double mean_square() const { return count > 0 ? sum_squares / count : 0.0; }

  void add_range(const Tensor& t) {
    const float* data = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      min = std::min(min, double{data[i]});
      max = std::max(max, double{data[i]});
      sum_squares += double{data[i]} * data[i];
      zeros += data[i] == 0.0f ? 1 : 0;
    }
    count += t.numel();
  }

  void add_histogram(const Tensor& t) {
    histogram.resize(kBins, 0.0);
    const double per_bin = kBins / largest();
    const float* data = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (data[i] == 0.0f) continue;
      const auto bin = static_cast<int>(std::abs(double{data[i]}) * per_bin);
      histogram[std::min(bin, kBins - 1)] += 1;
    }
  }
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

// Capped (an exact input would be infinite, which JSON cannot hold).
double decibels(double noise_ratio) {
  constexpr double kExact = 200;
  return noise_ratio > 0 ? std::min(kExact, -10 * std::log10(noise_ratio)) : kExact;
}

// Chooses the conv's input range and says why it stays float32 ("" when it runs int8).
std::string decide(const ValueStats& x, bool is_signed, double weight_ratio,
                   const CalibrationRules& rules, graph::Int8Layer& layer) {
  layer.is_signed = is_signed;
  layer.min = static_cast<float>(x.min);
  layer.max = static_cast<float>(x.max);
  if (!(x.largest() > 0)) return "input is zero on every calibration crop";
  const int levels = graph::int8_input_levels(is_signed);
  double error_nonzero = 0;
  const double clip = choose_clip(x.histogram, x.largest(), levels, rules.clipping, &error_nonzero);
  layer.clip = static_cast<float>(clip);
  const double nonzero = static_cast<double>(x.count - x.zeros) / static_cast<double>(x.count);
  const double input_ratio = error_nonzero * nonzero / std::max(x.mean_square(), 1e-30);
  layer.input_sqnr_db = decibels(input_ratio);
  layer.sqnr_db = decibels(input_ratio + weight_ratio);
  const double error = std::sqrt(input_ratio + weight_ratio);
  if (error > rules.max_relative_error) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "estimated int8 error %s > %s (input clipped at %.3g, %.0fx its RMS: %s; "
                  "weights %s)",
                  percent(error).c_str(), percent(rules.max_relative_error).c_str(), clip,
                  clip / std::sqrt(x.mean_square()), percent(std::sqrt(input_ratio)).c_str(),
                  percent(std::sqrt(weight_ratio)).c_str());
    return text;
  }
  return "";
}

// What a conv reads at each kernel tap, summed over the output positions and crops:
// sums[(c * k + kh) * k + kw] = sum over (n, oh, ow) of x[n, c, oh*s + kh - p, ow*s + kw - p]
// (0 in the padding), for x as computed and as the int8 conv sees it. By linearity, the
// mean output of conv(x) per channel is sum over (c, kh, kw) of w * sums / positions.
struct TapSums {
  std::vector<double> exact, quantized;
  int64_t positions = 0;  // output positions summed over, crops included
};

// x -> the value int8 represents it by: scale * q, q rounded to nearest and saturated
// (oneDNN's reorder: -128..127 for int8, 0..255 for uint8).
float quantized(float x, float scale, bool is_signed) {
  const float q = std::nearbyint(x / scale);
  return scale * std::clamp(q, is_signed ? -128.0f : 0.0f, is_signed ? 127.0f : 255.0f);
}

void add_tap_sums(const graph::Node& conv, const Tensor& x, float scale, bool is_signed,
                  TapSums& sums) {
  const graph::ConvAttrs& a = conv.conv();
  const int k = a.kernel, s = a.stride, p = a.pad;
  const int64_t n_images = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t out_h = (h + 2 * p - k) / s + 1, out_w = (w + 2 * p - k) / s + 1;
  sums.exact.resize(channels * k * k, 0.0);
  sums.quantized.resize(channels * k * k, 0.0);
  sums.positions += n_images * out_h * out_w;
  // For each tap column kw, the input columns it reads; for each tap row kh, the rows.
  auto reads = [&](int tap, int64_t out, int64_t in) {
    std::vector<int64_t> index;
    for (int64_t o = 0; o < out; ++o) {
      const int64_t i = o * s + tap - p;
      if (i >= 0 && i < in) index.push_back(i);
    }
    return index;
  };
  std::vector<std::vector<int64_t>> columns(k), rows(k);
  for (int t = 0; t < k; ++t) columns[t] = reads(t, out_w, w), rows[t] = reads(t, out_h, h);
  std::vector<float> plane_q(h * w);
  std::vector<double> row_exact(k * h), row_q(k * h);
  for (int64_t n = 0; n < n_images; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* plane = x.data<float>() + (n * channels + c) * h * w;
      for (int64_t i = 0; i < h * w; ++i) plane_q[i] = quantized(plane[i], scale, is_signed);
      for (int kw = 0; kw < k; ++kw) {
        for (int64_t y = 0; y < h; ++y) {
          double e = 0, q = 0;
          for (int64_t col : columns[kw]) e += plane[y * w + col], q += plane_q[y * w + col];
          row_exact[kw * h + y] = e, row_q[kw * h + y] = q;
        }
      }
      for (int kh = 0; kh < k; ++kh) {
        for (int kw = 0; kw < k; ++kw) {
          double e = 0, q = 0;
          for (int64_t y : rows[kh]) e += row_exact[kw * h + y], q += row_q[kw * h + y];
          sums.exact[(c * k + kh) * k + kw] += e;
          sums.quantized[(c * k + kh) * k + kw] += q;
        }
      }
    }
  }
}

// Minus the mean output error per channel of the int8 conv: its rounded weights on the
// quantized input against the float32 weights on the exact input.
std::vector<float> bias_correction(const Tensor& weights, const TapSums& sums) {
  const Tensor w = weights.contiguous();
  const Tensor wq = graph::int8_rounded_weights(w);
  const int64_t channels = w.dim(0), per = w.numel() / channels;
  std::vector<float> shift(channels);
  for (int64_t o = 0; o < channels; ++o) {
    double error = 0;
    for (int64_t i = 0; i < per; ++i) {
      error += double{wq.data<float>()[o * per + i]} * sums.quantized[i] -
               double{w.data<float>()[o * per + i]} * sums.exact[i];
    }
    shift[o] = static_cast<float>(-error / static_cast<double>(sums.positions));
  }
  return shift;
}

double rms(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  return v.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(v.size()));
}

// Runs the float32 plan over every crop, handing each requested value to `use`.
template <typename Use>
void for_each_crop(backends::onednn::OnednnPlan& plan, const std::vector<Tensor>& inputs,
                   const std::vector<std::string>& requested, Use use) {
  for (const Tensor& batch : inputs) {
    const TensorMap values = plan.run(batch, requested);
    for (const auto& [name, t] : values) use(name, t);
  }
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
  // Every conv input at once, from the exact float32 backend: the range, then the histogram.
  backends::onednn::OnednnPlan plan(optimized);
  const std::vector<std::string> requested(names.begin(), names.end());
  std::map<std::string, ValueStats> stats;
  graph::Int8Calibration result;
  result.clipping = clipping_name(rules.clipping);
  for_each_crop(plan, inputs, requested,
                [&](const std::string& name, const Tensor& t) { stats[name].add_range(t); });
  for (const Tensor& batch : inputs) result.crops += static_cast<int>(batch.dim(0));
  for_each_crop(plan, inputs, requested, [&](const std::string& name, const Tensor& t) {
    if (stats[name].largest() > 0) stats[name].add_histogram(t);
  });

  std::map<std::string, std::vector<const graph::Node*>> int8_readers;  // input name -> convs
  for (const graph::Node* conv : convs) {
    const std::string& input = optimized.value(conv->inputs[0]).name;
    const ValueStats& x = stats.at(input);
    const bool is_signed = graph::int8_input_signed(optimized, *conv);
    check_internal(is_signed || x.min >= 0,
                   "int8 calibration: the input of " + conv->name +
                       " takes negative values although the graph says it cannot");
    const double w = weight_noise_ratio(optimized.value(conv->inputs[1]).constant);
    graph::Int8Layer& layer = result.layers[conv->name];
    std::string why = decide(x, is_signed, w, rules, layer);
    if (why.empty() && rules.keep_fp32.count(conv->name)) why = "kept fp32 as asked (--fp32-convs)";
    if (!why.empty()) {
      result.fp32_layers[conv->name] = why;
      continue;
    }
    result.input_scales[conv->name] =
        static_cast<float>(layer.clip / graph::int8_input_levels(is_signed));
    int8_readers[input].push_back(conv);
  }
  if (!rules.bias_correction || int8_readers.empty()) return result;

  // The mean output error of each int8 conv, from what its taps read on every crop.
  std::map<std::string, TapSums> taps;
  std::vector<std::string> wanted;
  for (const auto& [input, readers] : int8_readers) wanted.push_back(input);
  for_each_crop(plan, inputs, wanted, [&](const std::string& name, const Tensor& t) {
    for (const graph::Node* conv : int8_readers.at(name)) {
      const graph::Int8Layer& layer = result.layers.at(conv->name);
      add_tap_sums(*conv, t, result.input_scales.at(conv->name), layer.is_signed, taps[conv->name]);
    }
  });
  for (const auto& [name, sums] : taps) {
    const graph::Node& conv = **std::find_if(convs.begin(), convs.end(),
                                             [&](const graph::Node* n) { return n->name == name; });
    std::vector<float> shift = bias_correction(optimized.value(conv.inputs[1]).constant, sums);
    result.layers.at(name).bias_shift = rms(shift);
    result.bias_corrections[name] = std::move(shift);
  }
  return result;
}

}  // namespace starface
