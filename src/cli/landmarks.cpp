// starface landmarks: crop faces exactly as STAR's demo and OpenFace 3.0 do, run, and map
// the landmarks back to image pixels.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "vision/face_landmarks.h"
#include "vision/image.h"

namespace starface::cli {

namespace {

struct LandmarksFlags {
  std::string model;
  std::string image;
  std::vector<std::string> boxes;
  bool json = false;
  ModelFlags flags;
};

nlohmann::json faces_json(const std::vector<vision::FaceLandmarks>& faces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : faces) {
    nlohmann::json points = nlohmann::json::array();
    for (const Point& p : f.points) points.push_back({p.x, p.y});
    list.push_back({{"box", {f.box.x1, f.box.y1, f.box.x2, f.box.y2}}, {"landmarks", points}});
  }
  return {{"faces", list}};
}

void print_text(const std::vector<vision::FaceLandmarks>& faces) {
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    std::printf("face %zu box %g,%g,%g,%g: %zu landmarks (x y in image pixels)\n", i, f.box.x1,
                f.box.y1, f.box.x2, f.box.y2, f.points.size());
    for (size_t p = 0; p < f.points.size(); ++p) {
      std::printf("%3zu %.4f %.4f\n", p, f.points[p].x, f.points[p].y);
    }
  }
}

void run_landmarks(const LandmarksFlags& f) {
  std::vector<Box> boxes;
  for (const std::string& text : f.boxes) boxes.push_back(parse_box(text));
  const cv::Mat image = vision::read_image(f.image);
  // Check every box before the (slow) model load, so a typo fails at once.
  for (size_t i = 0; i < boxes.size(); ++i) {
    truncate_and_check(boxes[i], image.cols, image.rows, static_cast<int>(i));
  }
  const auto engine = Engine::load(f.model, f.flags.engine_options());
  const auto faces = vision::detect_landmarks(*engine, image, boxes);
  if (f.json) {
    std::cout << faces_json(faces).dump() << "\n";
  } else {
    print_text(faces);
  }
}

}  // namespace

void add_landmarks(CLI::App& app) {
  auto f = std::make_shared<LandmarksFlags>();
  CLI::App* cmd = app.add_subcommand(
      "landmarks", "Landmarks of the faces in boxes on an image, in image pixels");
  cmd->add_option("--model", f->model, "Landmark checkpoint or starface model file (.safetensors)")
      ->required();
  cmd->add_option("--image", f->image, "Image file")->required();
  cmd->add_option("--box", f->boxes, "Face box x1,y1,x2,y2 in pixels (repeat for more faces)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_flag("--json", f->json,
                "Print {\"faces\":[{\"box\":[x1,y1,x2,y2],\"landmarks\":[[x,y],...]}]}");
  add_model_flags(*cmd, f->flags);
  cmd->callback([f] { run_landmarks(*f); });
}

}  // namespace starface::cli
