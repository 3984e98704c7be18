#include "engine/detector.h"

#include <map>
#include <utility>

#include "backends/onednn/onednn_backend.h"
#include "core/threads.h"
#include "engine/calibrate.h"
#include "engine/compile.h"
#include "graph/passes/passes.h"
#include "import/checkpoint.h"
#include "nets/retinaface/builder.h"
#include "nets/retinaface/postprocess.h"

namespace starface {
namespace {

// RetinaFace-MobileNet0.25: the state dict is kept, and a graph is built and compiled the
// first time an input size is seen (the network is fully convolutional, but the FPN's
// resize targets and the plans' memory are per size).
class RetinaFaceDetector : public Detector {
 public:
  RetinaFaceDetector(TensorMap state_dict, EngineOptions options, graph::ConvPrecisions precisions)
      : state_dict_(std::move(state_dict)),
        options_(std::move(options)),
        precisions_(std::move(precisions)) {}

  TensorMap run(const Tensor& input) override {
    set_num_threads(options_.threads);  // the calling thread's OpenMP setting, as Engine::run
    const auto [height, width] = image_size(input);
    const TensorMap maps = plan_for(height, width).run(input, retinaface::head_outputs());
    retinaface::RawOutputs raw = retinaface::gather_heads(maps, height, width);
    return {{"loc", raw.loc}, {"conf", raw.conf}, {"landms", raw.landms}};
  }

  std::vector<retinaface::Detection> detect(const Tensor& input) override {
    const TensorMap out = run(input);
    const auto [height, width] = image_size(input);
    return retinaface::detect({out.at("loc"), out.at("conf"), out.at("landms")}, height, width);
  }

  std::string backend_info() const override {
    return detail::backend_info(options_.backend, precisions_);
  }

  graph::Precision precision() const override {
    return options_.precision.value_or(graph::Precision::kFp32);
  }

  // (H, W) of a float32 [1, 3, H, W] input; kBadDtype / kShapeMismatch otherwise.
  static std::pair<int64_t, int64_t> image_size(const Tensor& input) {
    if (!input.defined() || input.dtype() != DType::kFloat32) {
      throw Error(ErrorCode::kBadDtype,
                  std::string("detector input: expected float32 [1, 3, H, W], found ") +
                      (input.defined() ? dtype_name(input.dtype()) : "an undefined tensor"));
    }
    const Shape& s = input.shape();
    if (s.size() != 4 || s[0] != 1 || s[1] != 3 || s[2] < 1 || s[3] < 1) {
      throw Error(ErrorCode::kShapeMismatch,
                  "detector input: expected [1, 3, H, W], found " + shape_str(s));
    }
    return {s[2], s[3]};
  }

 private:
  graph::Plan& plan_for(int64_t height, int64_t width) {
    auto& slot = plans_[{height, width}];
    if (!slot) {
      const graph::Graph graph = retinaface::build_graph(state_dict_, height, width);
      slot = detail::compile(graph, options_.backend, precisions_, retinaface::head_outputs());
    }
    return *slot;
  }

  TensorMap state_dict_;
  EngineOptions options_;
  graph::ConvPrecisions precisions_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<graph::Plan>> plans_;
};

// int8 scales for the detector's convs from its conv inputs on `frames` (all of the first
// frame's size: the graph is built per size, with the same conv names at every size).
// Without bias correction: it would have to be folded into every per-size graph. The
// depthwise convs are no int8 candidates (graph::int8_candidate: the int8 lowering takes
// dense convs; int8 depthwise is not written) and stay fp32.
graph::ConvPrecisions calibrate_detector(const TensorMap& state_dict,
                                         const std::vector<Tensor>& frames) {
  const auto [height, width] = RetinaFaceDetector::image_size(frames.front());
  for (const Tensor& f : frames) {
    if (RetinaFaceDetector::image_size(f) != std::make_pair(height, width)) {
      throw Error(ErrorCode::kBadArgument,
                  "detector int8 calibration: frames of one size needed, found " +
                      shape_str(frames.front().shape()) + " and " + shape_str(f.shape()));
    }
  }
  const graph::Graph optimized = graph::passes::optimize(
      retinaface::build_graph(state_dict, height, width), retinaface::head_outputs());
  CalibrationRules rules;
  rules.bias_correction = false;
  const graph::Int8Calibration calibration = calibrate_int8(optimized, frames, rules);
  return graph::ConvPrecisions::int8_at(calibration.input_scales);
}

}  // namespace

std::unique_ptr<Detector> Detector::load(const std::string& path, const EngineOptions& options,
                                         const std::vector<Tensor>& int8_frames) {
  detail::check_backend(options.backend);
  const bool int8 = options.precision == graph::Precision::kInt8;
  if (int8 && int8_frames.empty()) {
    // int8 needs calibrated input scales, which a RetinaFace checkpoint does not carry.
    throw Error(ErrorCode::kBadArgument,
                "the detector has no int8 calibration: give it frames to calibrate on "
                "(starface run --detector-precision int8 takes them from the inputs), or run "
                "it as fp32, fp32-fast or bf16");
  }
  if (options.precision && options.backend == "onednn") {
    backends::onednn::check_supported(*options.precision);
  }
  set_num_threads(options.threads);
  TensorMap state_dict;
  try {
    state_dict = import::load_state_dict(path);
    retinaface::check_is_retinaface(state_dict);
    // Every key is checked now, on a small size, so a bad checkpoint fails at load.
    retinaface::build_graph(state_dict, 32, 32);
  } catch (const Error& e) {
    detail::rethrow_naming(path, e);
  }
  graph::ConvPrecisions precisions =
      int8 ? calibrate_detector(state_dict, int8_frames)
           : graph::ConvPrecisions::uniform(options.precision.value_or(graph::Precision::kFp32));
  return std::make_unique<RetinaFaceDetector>(std::move(state_dict), options,
                                              std::move(precisions));
}

}  // namespace starface
