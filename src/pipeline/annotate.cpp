#include "pipeline/annotate.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace starface::pipeline {

namespace fs = std::filesystem;

void draw_faces(cv::Mat& image, const FrameResult& result) {
  const int thickness = std::max(1, image.cols / 640);
  for (const FaceResult& f : result.faces) {
    // Green for a detected box, yellow for a tracked one.
    const cv::Scalar colour = f.tracked ? cv::Scalar(0, 220, 255) : cv::Scalar(0, 200, 0);
    const cv::Point p1(static_cast<int>(f.box.x1), static_cast<int>(f.box.y1));
    const cv::Point p2(static_cast<int>(f.box.x2), static_cast<int>(f.box.y2));
    cv::rectangle(image, p1, p2, colour, thickness);
    char label[48];
    std::snprintf(label, sizeof label, "id %d  %.2f", f.face_id, f.confidence);
    cv::putText(image, label, cv::Point(p1.x, std::max(12, p1.y - 4)), cv::FONT_HERSHEY_SIMPLEX,
                0.5 * thickness, colour, thickness);
    for (const Point& p : f.points) {
      cv::circle(image,
                 cv::Point(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))),
                 thickness + 1, cv::Scalar(0, 0, 255), cv::FILLED);
    }
  }
}

AnnotatedWriter::AnnotatedWriter(const fs::path& out_dir, const std::string& name, bool as_video,
                                 double fps)
    : as_video_(as_video), fps_(fps > 0 ? fps : 25.0) {
  const fs::path final_path = out_dir / (as_video ? name + "_annotated.avi" : name + "_annotated");
  pending_ = std::make_unique<PendingOutput>(final_path);
  if (!as_video_) {
    std::error_code ec;
    fs::create_directories(pending_->temp(), ec);
    if (ec) throw Error(ErrorCode::kIo, pending_->temp().string() + ": cannot create folder");
  }
}

void AnnotatedWriter::add(const vision::Frame& frame, const FrameResult& result) {
  cv::Mat image = frame.image.clone();
  draw_faces(image, result);
  if (as_video_) {
    if (!video_.isOpened()) {
      const bool ok = video_.open(pending_->temp().string(), cv::CAP_FFMPEG,
                                  cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps_, image.size());
      if (!ok) throw Error(ErrorCode::kIo, pending_->temp().string() + ": cannot write video");
    }
    video_.write(image);
    return;
  }
  const fs::path file = pending_->temp() / fs::path(frame.source).filename();
  if (!cv::imwrite(file.string(), image)) {
    throw Error(ErrorCode::kIo, file.string() + ": cannot write image");
  }
}

void AnnotatedWriter::commit() {
  if (video_.isOpened()) video_.release();
  pending_->commit();
}

}  // namespace starface::pipeline
