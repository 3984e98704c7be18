// Annotated output: each frame with its face boxes, ids and landmarks drawn. A video input
// gives <name>_annotated.avi (MJPG, the input's frame rate); an image sequence gives a
// folder <name>_annotated/ with one image per input image, named as the input.
#pragma once

#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>

#include "pipeline/atomic_file.h"
#include "pipeline/results.h"
#include "vision/video.h"

namespace starface::pipeline {

// Draws on `image` in place.
void draw_faces(cv::Mat& image, const FrameResult& result);

class AnnotatedWriter {
 public:
  // `as_video`: one .avi at `fps` (25 when unknown); otherwise a folder of images.
  AnnotatedWriter(const std::filesystem::path& out_dir, const std::string& name, bool as_video,
                  double fps);
  void add(const vision::Frame& frame, const FrameResult& result);
  void commit();

 private:
  bool as_video_;
  double fps_;
  std::unique_ptr<PendingOutput> pending_;
  cv::VideoWriter video_;
};

}  // namespace starface::pipeline
