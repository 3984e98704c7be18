#include "eval/sensitivity.h"

#include <algorithm>
#include <cmath>

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"

namespace starface::eval {

namespace {

constexpr double kCropHalfWidth = 128.0;  // [-1, 1] -> 256 crop pixels

// Appends the displacement of every point of `reduced` from `reference`, in crop pixels.
void append_point_drifts(const Tensor& reference, const Tensor& reduced, std::vector<double>& px) {
  check_internal(reference.shape() == reduced.shape() && reference.dim(-1) == 2,
                 "landmark_drift: landmark tensors of different shapes");
  const Tensor a = reference.contiguous(), b = reduced.contiguous();
  const int64_t points = a.numel() / 2;
  for (int64_t i = 0; i < points; ++i) {
    const double dx = double{b.data<float>()[2 * i]} - a.data<float>()[2 * i];
    const double dy = double{b.data<float>()[2 * i + 1]} - a.data<float>()[2 * i + 1];
    px.push_back(std::hypot(dx, dy) * kCropHalfWidth);
  }
}

// Mean, 99th percentile (nearest rank) and max of the point drifts.
ConvDrift summarize(const std::string& what, std::vector<double> px) {
  ConvDrift d{what, 0, 0, 0};
  if (px.empty()) return d;
  for (double v : px) d.mean_px += v;
  d.mean_px /= static_cast<double>(px.size());
  std::sort(px.begin(), px.end());
  const auto rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(px.size())));
  d.p99_px = px[std::max<size_t>(rank, 1) - 1];
  d.max_px = px.back();
  return d;
}

}  // namespace

std::vector<Tensor> landmarks_of(graph::Plan& plan, const std::vector<Tensor>& crops) {
  std::vector<Tensor> out;
  // Copies: a plan may hand out views of buffers its next run overwrites.
  for (const Tensor& crop : crops) {
    out.push_back(plan.run(crop, {"landmarks"}).at("landmarks").clone());
  }
  return out;
}

ConvDrift landmark_drift(const std::vector<Tensor>& reference, const std::vector<Tensor>& reduced,
                         const std::string& what) {
  check_internal(reference.size() == reduced.size(), "landmark_drift: lists of different lengths");
  std::vector<double> px;
  for (size_t i = 0; i < reference.size(); ++i) append_point_drifts(reference[i], reduced[i], px);
  return summarize(what, std::move(px));
}

ConvDrift landmark_drift(const Tensor& reference, const Tensor& reduced) {
  return landmark_drift(std::vector<Tensor>{reference}, std::vector<Tensor>{reduced});
}

ReducedPlan reduce_one_conv(graph::Precision precision, const graph::Int8Calibration* calibration) {
  if (precision == graph::Precision::kBf16) backends::onednn::check_supported(precision);
  if (precision == graph::Precision::kInt8 && !calibration) {
    throw Error(ErrorCode::kBadArgument, "int8 sensitivity needs the int8 calibration");
  }
  return [precision, calibration](const graph::Graph& g, const std::string& conv) {
    graph::ConvPrecisions one;
    one.convs[conv] = precision;
    if (precision != graph::Precision::kInt8) {
      return std::unique_ptr<graph::Plan>(
          std::make_unique<backends::onednn::OnednnPlan>(g, 1, one));
    }
    const auto scale = calibration->input_scales.find(conv);
    if (scale == calibration->input_scales.end()) {
      throw Error(ErrorCode::kBadArgument,
                  "int8 sensitivity: conv '" + conv + "' is not calibrated");
    }
    one.int8_input_scales[conv] = scale->second;
    // The conv as the int8 model file runs it: with its bias correction, the rest exact.
    graph::Int8Calibration only;
    const auto shift = calibration->bias_corrections.find(conv);
    if (shift != calibration->bias_corrections.end()) only.bias_corrections.insert(*shift);
    graph::Graph corrected = g;
    graph::apply_bias_corrections(corrected, only);
    return std::unique_ptr<graph::Plan>(
        std::make_unique<backends::onednn::OnednnPlan>(corrected, 1, one));
  };
}

std::unique_ptr<graph::Plan> int8_plan(const graph::Graph& exact,
                                       const graph::Int8Calibration& calibration) {
  graph::Graph corrected = exact;
  graph::apply_bias_corrections(corrected, calibration);
  return std::make_unique<backends::onednn::OnednnPlan>(
      corrected, 1, graph::ConvPrecisions::int8_at(calibration.input_scales));
}

ConvDrift plan_drift(const graph::Graph& graph, graph::Plan& reduced,
                     const std::vector<Tensor>& crops) {
  backends::onednn::OnednnPlan exact(graph);
  return landmark_drift(landmarks_of(exact, crops), landmarks_of(reduced, crops));
}

std::vector<ConvDrift> conv_sensitivity(const graph::Graph& graph,
                                        const std::vector<std::string>& convs,
                                        const std::vector<Tensor>& crops, const ReducedPlan& reduce,
                                        const std::function<void(int, int)>& progress) {
  if (crops.empty()) throw Error(ErrorCode::kBadArgument, "sensitivity needs crops");
  backends::onednn::OnednnPlan exact(graph);
  const std::vector<Tensor> reference = landmarks_of(exact, crops);
  std::vector<ConvDrift> result;
  for (const std::string& conv : convs) {
    const std::unique_ptr<graph::Plan> plan = reduce(graph, conv);
    result.push_back(landmark_drift(reference, landmarks_of(*plan, crops), conv));
    if (progress) progress(static_cast<int>(result.size()), static_cast<int>(convs.size()));
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const ConvDrift& a, const ConvDrift& b) { return a.mean_px > b.mean_px; });
  return result;
}

}  // namespace starface::eval
