// RetinaFace's post-processing, as OpenFace 3.0 runs it (fixtures/retinaface/README.md
// §3-6): head maps -> loc / conf / landms, priors, decode, score filter, greedy NMS.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "nets/retinaface/detection.h"

namespace starface::retinaface {

constexpr float kConfidenceThreshold = 0.02f;  // keep score > 0.02 (strict)
constexpr float kNmsIou = 0.4f;                // drop a box with IoU > 0.4
constexpr float kVisThreshold = 0.5f;          // OpenFace keeps score >= 0.5 afterwards
constexpr double kVariance[2] = {0.1, 0.2};    // centre, size

// One anchor (cx, cy, w, h), normalised by the image width and height.
struct Prior {
  double cx = 0, cy = 0, w = 0, h = 0;
};

// Priors for an image of height x width: per level (steps 8, 16, 32 with sizes {16, 32},
// {64, 128}, {256, 512}), row-major over the ceil(H/step) x ceil(W/step) grid, two sizes
// per cell; in double, not clipped.
std::vector<Prior> make_priors(int64_t height, int64_t width);

// The network's outputs as upstream returns them, for one image.
struct RawOutputs {
  Tensor loc;     // [P, 4]
  Tensor conf;    // [P, 2], softmax over the two logits; column 1 is the face probability
  Tensor landms;  // [P, 10]
};

// Gathers the nine head maps (builder.h's head_output names, NCHW [1, 2k, Hk, Wk]) into
// anchor order: level by level, (y * Wk + x) * 2 + anchor, value v of anchor a at channel
// a * k + v; conf gets the softmax (in double). Throws kShapeMismatch naming the map when
// it does not fit `height` x `width`.
RawOutputs gather_heads(const TensorMap& maps, int64_t height, int64_t width);

// Every anchor with score > kConfidenceThreshold, decoded to image pixels (boxes not
// clipped), in anchor order.
std::vector<Detection> decode(const RawOutputs& raw, const std::vector<Prior>& priors,
                              int64_t height, int64_t width);

// Greedy NMS (Fast R-CNN's py_cpu_nms) with "+1" pixel areas, in float32 as upstream:
// visits candidates by descending score (ties: anchor order) and drops every later one
// whose IoU with a kept box is > `iou`. Returns the kept ones in descending score.
std::vector<Detection> nms(std::vector<Detection> candidates, float iou = kNmsIou);

// decode + nms: OpenFace 3.0's (N, 15) list for one image.
std::vector<Detection> detect(const RawOutputs& raw, int64_t height, int64_t width);

}  // namespace starface::retinaface
