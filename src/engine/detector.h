// Detector: the RetinaFace counterpart of Engine. Loads the detector checkpoint, compiles
// one plan per input size (a video keeps one size, so it compiles once) and returns the
// OpenFace 3.0 candidate list.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "engine/engine.h"
#include "nets/retinaface/detection.h"

namespace starface {

class Detector {
 public:
  // `options.weights` is ignored (a detector checkpoint has one set of weights). Precision:
  // fp32 (the default), fp32-fast, bf16 (kBadArgument on a CPU without avx512_bf16), or
  // int8, calibrated here on `int8_frames` (detector inputs of one size, e.g. frames of the
  // video to process; kBadArgument without them): its dense convs in int8, the depthwise
  // ones in fp32.
  static std::unique_ptr<Detector> load(const std::string& path, const EngineOptions& options = {},
                                        const std::vector<Tensor>& int8_frames = {});
  virtual ~Detector() = default;

  // input: float32 [1, 3, H, W], BGR minus (104, 117, 123), native image size.
  // Raw network outputs: "loc" [P, 4], "conf" [P, 2] (softmax), "landms" [P, 10].
  virtual TensorMap run(const Tensor& input) = 0;
  // Every candidate with score > 0.02 after NMS, in descending score (OpenFace 3.0's list;
  // callers keep score >= their vis threshold, 0.5 in OpenFace).
  virtual std::vector<retinaface::Detection> detect(const Tensor& input) = 0;

  virtual std::string backend_info() const = 0;
  // The precision its convs run in (fp32 unless asked otherwise).
  virtual graph::Precision precision() const = 0;
};

}  // namespace starface
