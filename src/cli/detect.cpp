// starface detect: RetinaFace on one image as OpenFace 3.0 runs it (native size, BGR minus
// the mean), printing the faces with score >= the vis threshold.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "core/timer.h"
#include "engine/detector.h"
#include "nets/retinaface/postprocess.h"
#include "pipeline/calibration_crops.h"
#include "pipeline/inputs.h"
#include "vision/face_detector.h"
#include "vision/image.h"

namespace starface::cli {

namespace {

struct DetectFlags {
  std::string model;
  std::string image;
  bool json = false;
  double vis_threshold = retinaface::kVisThreshold;
  std::string output;
  int runs = 1;
  std::vector<std::string> calibrate;
  ModelFlags flags;
};

// What --precision int8 calibrates on: the frames of --calibrate (as `starface run` takes
// them from its inputs), else the image itself.
std::vector<Tensor> int8_frames(const DetectFlags& f, const cv::Mat& image) {
  if (f.calibrate.empty()) return {vision::detector_input(image)};
  return pipeline::calibration_frames(pipeline::expand_inputs(f.calibrate),
                                      pipeline::kDetectorCalibrationFrames);
}

std::vector<retinaface::Detection> visible(const std::vector<retinaface::Detection>& all,
                                           double threshold) {
  std::vector<retinaface::Detection> out;
  for (const auto& d : all) {
    if (d.score >= threshold) out.push_back(d);
  }
  return out;
}

std::string faces_json(const std::vector<retinaface::Detection>& faces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : faces) {
    nlohmann::json points = nlohmann::json::array();
    for (int n = 0; n < 5; ++n) points.push_back({f.points[2 * n], f.points[2 * n + 1]});
    list.push_back({{"box", {f.x1, f.y1, f.x2, f.y2}}, {"score", f.score}, {"points5", points}});
  }
  return nlohmann::json{{"faces", list}}.dump() + "\n";
}

std::string faces_table(const std::vector<retinaface::Detection>& faces, size_t candidates,
                        const cv::Mat& image, double threshold) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line,
                "%dx%d image: %zu face(s) with score >= %g (%zu candidates > 0.02 after NMS)\n",
                image.cols, image.rows, faces.size(), threshold, candidates);
  out << line;
  if (faces.empty()) return out.str();
  out << "face  score    x1       y1       x2       y2       points5 (eyes, nose, mouth "
         "corners; x,y px)\n";
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    std::snprintf(line, sizeof line, "%-5zu %.4f  %-8.2f %-8.2f %-8.2f %-8.2f", i, f.score, f.x1,
                  f.y1, f.x2, f.y2);
    out << line;
    for (int n = 0; n < 5; ++n) {
      std::snprintf(line, sizeof line, " %.1f,%.1f", f.points[2 * n], f.points[2 * n + 1]);
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

void run_detect(const DetectFlags& f) {
  // NaN passes CLI11's range check, so the threshold is checked here.
  if (!(f.vis_threshold >= 0.0 && f.vis_threshold <= 1.0)) {
    throw Error(ErrorCode::kBadArgument,
                "--vis-threshold must be in [0, 1], got " + std::to_string(f.vis_threshold));
  }
  // The image first: a typo in its path fails before the model loads.
  const cv::Mat image = vision::read_image(f.image);
  const EngineOptions options = f.flags.engine_options();
  if (!f.calibrate.empty() && options.precision != graph::Precision::kInt8) {
    throw Error(ErrorCode::kBadArgument, "--calibrate goes with --precision int8");
  }
  const auto detector = Detector::load(
      f.model, options,
      options.precision == graph::Precision::kInt8 ? int8_frames(f, image) : std::vector<Tensor>{});
  std::vector<double> ms;
  std::vector<retinaface::Detection> all;
  for (int run = 0; run < f.runs; ++run) {
    const Timer timer;
    all = vision::detect_faces(*detector, image);
    ms.push_back(timer.elapsed_ms());
  }
  if (f.runs > 1) {
    // The first run compiles the plan for this image size; the median is of the rest.
    std::vector<double> warm(ms.begin() + 1, ms.end());
    std::sort(warm.begin(), warm.end());
    std::fprintf(stderr,
                 "detect: %s, %dx%d: first run %.1f ms (compiles the plan), median of %zu more "
                 "%.1f ms\n",
                 detector->backend_info().c_str(), image.cols, image.rows, ms[0], warm.size(),
                 warm[warm.size() / 2]);
  }
  const auto faces = visible(all, f.vis_threshold);
  const std::string text =
      f.json ? faces_json(faces) : faces_table(faces, all.size(), image, f.vis_threshold);
  if (f.output.empty()) {
    std::cout << text;
  } else {
    write_file_atomically(f.output, text);
  }
}

}  // namespace

void add_detect(CLI::App& app) {
  auto f = std::make_shared<DetectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "detect", "Faces on an image with RetinaFace-MobileNet0.25, as OpenFace 3.0 finds them");
  cmd->add_option("--model", f->model, "RetinaFace checkpoint (mobilenet0.25_Final.pth)")
      ->required();
  cmd->add_option("--image", f->image, "Image file")->required();
  cmd->add_flag("--json", f->json,
                "Print {\"faces\":[{\"box\":[x1,y1,x2,y2],\"score\":s,\"points5\":[[x,y],...]}]}");
  cmd->add_option("--vis-threshold", f->vis_threshold,
                  "Report faces with score >= this (OpenFace: 0.5)")
      ->capture_default_str();
  cmd->add_option("-o,--output", f->output, "Write the result to this file instead of stdout");
  cmd->add_option("--calibrate", f->calibrate,
                  "--precision int8: videos or images to calibrate on (default: the image "
                  "itself); 8 frames spread over the first video, as `starface run` takes them");
  cmd->add_option("--runs", f->runs, "Run the detector this many times and report the timing")
      ->check(CLI::Range(1, 100000));
  add_model_flags(*cmd, f->flags);
  cmd->callback([f] { run_detect(*f); });
}

}  // namespace starface::cli
