#include "nets/retinaface/postprocess.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "nets/retinaface/builder.h"

namespace starface::retinaface {

namespace {

constexpr int kSteps[kLevels] = {8, 16, 32};
constexpr int kMinSizes[kLevels][kAnchorsPerCell] = {{16, 32}, {64, 128}, {256, 512}};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Copies one head map [1, 2k, H, W] (NCHW) into rows [first, first + H*W*2) of `out`
// [P, k]: NHWC order, so anchor (y*W + x)*2 + a takes channels a*k .. a*k + k - 1.
void gather_level(const Tensor& map_in, int64_t k, int64_t first, Tensor& out) {
  const Tensor map = map_in.contiguous();
  const int64_t channels = map.dim(1), h = map.dim(2), w = map.dim(3);
  const float* src = map.data<float>();
  float* dst = out.data<float>() + first * k;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t pixel = 0; pixel < h * w; ++pixel) {
      dst[pixel * channels + c] = src[c * h * w + pixel];
    }
  }
}

// Softmax over each row's two logits, in double.
Tensor softmax_pairs(const Tensor& logits) {
  Tensor out(DType::kFloat32, logits.shape());
  const float* in = logits.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < logits.dim(0); ++i) {
    const double a = in[2 * i], b = in[2 * i + 1];
    const double m = std::max(a, b);
    const double ea = std::exp(a - m), eb = std::exp(b - m);
    o[2 * i] = static_cast<float>(ea / (ea + eb));
    o[2 * i + 1] = static_cast<float>(eb / (ea + eb));
  }
  return out;
}

float area(const Detection& d) { return (d.x2 - d.x1 + 1.0f) * (d.y2 - d.y1 + 1.0f); }

// Intersection over union with the "+1" convention, in float32 as numpy computes it.
float iou(const Detection& a, const Detection& b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1) + 1.0f);
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1) + 1.0f);
  const float inter = w * h;
  return inter / (area(a) + area(b) - inter);
}

}  // namespace

std::vector<Prior> make_priors(int64_t height, int64_t width) {
  std::vector<Prior> priors;
  for (int level = 0; level < kLevels; ++level) {
    const int step = kSteps[level];
    const int64_t rows = ceil_div(height, step), cols = ceil_div(width, step);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        for (int size : kMinSizes[level]) {
          priors.push_back({(j + 0.5) * step / static_cast<double>(width),
                            (i + 0.5) * step / static_cast<double>(height),
                            size / static_cast<double>(width), size / static_cast<double>(height)});
        }
      }
    }
  }
  return priors;
}

RawOutputs gather_heads(const TensorMap& maps, int64_t height, int64_t width) {
  int64_t anchors = 0;
  for (int level = 0; level < kLevels; ++level) {
    anchors += ceil_div(height, kSteps[level]) * ceil_div(width, kSteps[level]) * kAnchorsPerCell;
  }
  TensorMap gathered;
  for (Head head : {Head::kClass, Head::kBbox, Head::kLandmark}) {
    const int64_t k = values_per_anchor(head);
    Tensor out(DType::kFloat32, {anchors, k});
    int64_t first = 0;
    for (int level = 0; level < kLevels; ++level) {
      const std::string name = head_output(head, level);
      auto it = maps.find(name);
      if (it == maps.end()) throw Error(ErrorCode::kMissingKey, "head map '" + name + "' missing");
      const Shape want{1, kAnchorsPerCell * k, ceil_div(height, kSteps[level]),
                       ceil_div(width, kSteps[level])};
      if (it->second.shape() != want || it->second.dtype() != DType::kFloat32) {
        throw Error(ErrorCode::kShapeMismatch, "head map '" + name + "': expected float32 " +
                                                   shape_str(want) + ", found " +
                                                   shape_str(it->second.shape()));
      }
      gather_level(it->second, k, first, out);
      first += want[2] * want[3] * kAnchorsPerCell;
    }
    gathered[head_output(head, 0)] = out;
  }
  return {gathered.at(head_output(Head::kBbox, 0)),
          softmax_pairs(gathered.at(head_output(Head::kClass, 0))),
          gathered.at(head_output(Head::kLandmark, 0))};
}

std::vector<Detection> decode(const RawOutputs& raw, const std::vector<Prior>& priors,
                              int64_t height, int64_t width) {
  const int64_t count = static_cast<int64_t>(priors.size());
  if (raw.loc.shape() != Shape{count, 4} || raw.conf.shape() != Shape{count, 2} ||
      raw.landms.shape() != Shape{count, 10}) {
    throw Error(ErrorCode::kShapeMismatch, "decode: loc " + shape_str(raw.loc.shape()) + ", conf " +
                                               shape_str(raw.conf.shape()) + " and landms " +
                                               shape_str(raw.landms.shape()) + " do not fit " +
                                               std::to_string(count) + " priors");
  }
  const float* loc = raw.loc.data<float>();
  const float* conf = raw.conf.data<float>();
  const float* landms = raw.landms.data<float>();
  const double w_px = static_cast<double>(width), h_px = static_cast<double>(height);
  const double v0 = kVariance[0], v1 = kVariance[1];
  std::vector<Detection> out;
  for (int64_t i = 0; i < count; ++i) {
    const float score = conf[2 * i + 1];
    if (!(score > kConfidenceThreshold)) continue;
    const Prior& p = priors[i];
    const float* l = loc + 4 * i;
    // Upstream's order: centre and size, x1 = cx - w/2, x2 = x1 + w, then to pixels.
    const double cx = p.cx + l[0] * v0 * p.w;
    const double cy = p.cy + l[1] * v0 * p.h;
    const double bw = p.w * std::exp(l[2] * v1);
    const double bh = p.h * std::exp(l[3] * v1);
    const double x1 = cx - bw / 2, y1 = cy - bh / 2;
    Detection d;
    d.x1 = static_cast<float>(x1 * w_px);
    d.y1 = static_cast<float>(y1 * h_px);
    d.x2 = static_cast<float>((x1 + bw) * w_px);
    d.y2 = static_cast<float>((y1 + bh) * h_px);
    d.score = score;
    const float* m = landms + 10 * i;
    for (int n = 0; n < 5; ++n) {
      d.points[2 * n] = static_cast<float>((p.cx + m[2 * n] * v0 * p.w) * w_px);
      d.points[2 * n + 1] = static_cast<float>((p.cy + m[2 * n + 1] * v0 * p.h) * h_px);
    }
    out.push_back(d);
  }
  return out;
}

std::vector<Detection> nms(std::vector<Detection> candidates, float threshold) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<bool> dropped(candidates.size(), false);
  std::vector<Detection> kept;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (dropped[i]) continue;
    kept.push_back(candidates[i]);
    for (size_t j = i + 1; j < candidates.size(); ++j) {
      if (!dropped[j] && iou(candidates[i], candidates[j]) > threshold) dropped[j] = true;
    }
  }
  return kept;
}

std::vector<Detection> detect(const RawOutputs& raw, int64_t height, int64_t width) {
  return nms(decode(raw, make_priors(height, width), height, width));
}

}  // namespace starface::retinaface
