#include "pipeline/calibration_crops.h"

#include <algorithm>
#include <functional>
#include <memory>

#include "core/error.h"
#include "engine/detector.h"
#include "pipeline/inputs.h"
#include "vision/crop.h"
#include "vision/face_detector.h"
#include "vision/image.h"
#include "vision/video.h"

namespace starface::pipeline {
namespace {

class CropCollector {
 public:
  CropCollector(const CalibrationSource& source, const nets::NetInfo& net)
      : source_(source), net_(net) {
    if (!source.detector.empty()) detector_ = Detector::load(source.detector);
  }

  bool full() const { return static_cast<int>(crops_.size()) >= source_.max_crops; }

  void add_frame(const cv::Mat& image) {
    for (const Box& box : face_boxes(image)) {
      if (full()) return;
      const Box truncated = truncate_and_check(box, image.cols, image.rows);
      crops_.push_back(vision::crops_to_input(
          {vision::warp_crop(image, net_.crop_matrix(truncated), net_.input_size)}));
    }
  }

  std::vector<Tensor> take() { return std::move(crops_); }

 private:
  // Faces the detector finds, or the centred square of the frame.
  std::vector<Box> face_boxes(const cv::Mat& image) {
    if (!detector_) {
      const double side = std::min(image.cols, image.rows);
      const double x = (image.cols - side) / 2, y = (image.rows - side) / 2;
      return {Box{x, y, x + side, y + side}};
    }
    std::vector<Box> boxes;
    for (const retinaface::Detection& d : vision::detect_faces(*detector_, image)) {
      if (d.score >= source_.min_score) boxes.push_back({d.x1, d.y1, d.x2, d.y2});
    }
    return boxes;
  }

  const CalibrationSource& source_;
  const nets::NetInfo& net_;
  std::unique_ptr<Detector> detector_;
  std::vector<Tensor> crops_;
};

// Hands `take` every k-th frame of the video, k spreading `count` frames over it, until
// `take` returns false or the video ends.
void take_spread_frames(const std::string& path, int count,
                        const std::function<bool(const cv::Mat&)>& take) {
  vision::VideoSource video(path);
  const long expected = std::max(1L, video.expected_frames());
  const long every = std::max(1L, expected / std::max(1, count));
  vision::Frame frame;
  for (long n = 0; video.next(frame); ++n) {
    if (n % every == 0 && !take(frame.image)) return;
  }
}

void add_video(CropCollector& collector, const std::string& path, int frames_wanted) {
  if (collector.full()) return;
  take_spread_frames(path, frames_wanted, [&](const cv::Mat& image) {
    collector.add_frame(image);
    return !collector.full();
  });
}

}  // namespace

std::vector<Tensor> calibration_crops(const CalibrationSource& source, const nets::NetInfo& net) {
  CropCollector collector(source, net);
  for (const Input& input : expand_inputs(source.paths)) {
    if (collector.full()) break;
    try {
      switch (input.kind) {
        case Input::Kind::kBroken:
          throw Error(ErrorCode::kBadInput, input.error);
        case Input::Kind::kImages:
          for (const std::string& file : input.files) {
            if (!collector.full()) collector.add_frame(vision::read_image(file));
          }
          break;
        case Input::Kind::kVideo:
          add_video(collector, input.path, source.frames_per_video);
          break;
      }
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(input.path) != std::string::npos) throw;
      throw Error(e.code(), "calibration input " + input.path + ": " + what);
    }
  }
  std::vector<Tensor> crops = collector.take();
  if (crops.empty()) {
    throw Error(ErrorCode::kBadInput,
                "no face crop in the calibration inputs" +
                    std::string(source.detector.empty() ? "" : " (the detector found no face)"));
  }
  return crops;
}

std::vector<Tensor> calibration_frames(const std::vector<Input>& inputs, int count) {
  for (const Input& input : inputs) {
    if (input.kind != Input::Kind::kBroken) continue;
    const bool named = input.error.find(input.path) != std::string::npos;
    throw Error(ErrorCode::kBadInput,
                named ? input.error : "calibration input " + input.path + ": " + input.error);
  }
  std::vector<Tensor> frames;
  for (const Input& input : inputs) {
    if (input.kind != Input::Kind::kVideo) continue;
    take_spread_frames(input.path, count, [&](const cv::Mat& image) {
      frames.push_back(vision::detector_input(image));
      return static_cast<int>(frames.size()) < count;
    });
    if (!frames.empty()) return frames;
  }
  cv::Size size;
  for (const Input& input : inputs) {
    if (input.kind != Input::Kind::kImages) continue;
    for (const std::string& file : input.files) {
      if (static_cast<int>(frames.size()) >= count) return frames;
      const cv::Mat image = vision::read_image(file);
      if (frames.empty()) size = image.size();
      if (image.size() == size) frames.push_back(vision::detector_input(image));
    }
  }
  if (frames.empty()) throw Error(ErrorCode::kBadInput, "no frame to calibrate the detector on");
  return frames;
}

}  // namespace starface::pipeline
