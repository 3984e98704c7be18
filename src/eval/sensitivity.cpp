#include "eval/sensitivity.h"

#include <algorithm>
#include <cmath>

#include "backends/onednn/onednn_backend.h"
#include "core/error.h"

namespace starface::eval {

namespace {

constexpr double kCropHalfWidth = 128.0;  // [-1, 1] -> 256 crop pixels

std::vector<Tensor> landmarks_of(graph::Plan& plan, const std::vector<Tensor>& crops) {
  std::vector<Tensor> out;
  for (const Tensor& crop : crops) out.push_back(plan.run(crop, {"landmarks"}).at("landmarks"));
  return out;
}

}  // namespace

ConvDrift landmark_drift(const Tensor& reference, const Tensor& reduced) {
  check_internal(reference.shape() == reduced.shape() && reference.dim(-1) == 2,
                 "landmark_drift: landmark tensors of different shapes");
  const Tensor a = reference.contiguous(), b = reduced.contiguous();
  ConvDrift d;
  const int64_t points = a.numel() / 2;
  for (int64_t i = 0; i < points; ++i) {
    const double dx = double{b.data<float>()[2 * i]} - a.data<float>()[2 * i];
    const double dy = double{b.data<float>()[2 * i + 1]} - a.data<float>()[2 * i + 1];
    const double px = std::hypot(dx, dy) * kCropHalfWidth;
    d.mean_px += px;
    d.max_px = std::max(d.max_px, px);
  }
  d.mean_px = points > 0 ? d.mean_px / static_cast<double>(points) : 0.0;
  return d;
}

namespace {

// Over crops: the mean over every point, the largest displacement.
ConvDrift total_drift(const std::string& what, const std::vector<Tensor>& reference,
                      const std::vector<Tensor>& reduced) {
  ConvDrift total{what, 0, 0};
  int64_t points = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const ConvDrift d = landmark_drift(reference[i], reduced[i]);
    const int64_t n = reference[i].numel() / 2;
    total.mean_px += d.mean_px * static_cast<double>(n);
    total.max_px = std::max(total.max_px, d.max_px);
    points += n;
  }
  total.mean_px /= static_cast<double>(std::max<int64_t>(points, 1));
  return total;
}

}  // namespace

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
  return total_drift("all", landmarks_of(exact, crops), landmarks_of(reduced, crops));
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
    result.push_back(total_drift(conv, reference, landmarks_of(*plan, crops)));
    if (progress) progress(static_cast<int>(result.size()), static_cast<int>(convs.size()));
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const ConvDrift& a, const ConvDrift& b) { return a.mean_px > b.mean_px; });
  return result;
}

}  // namespace starface::eval
