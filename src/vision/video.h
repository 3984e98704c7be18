// Frames in: a video file (OpenCV FFMPEG) or a sorted list of image files, one frame at a
// time, each with its 1-based OpenFace frame number and its timestamp in seconds.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

namespace starface::vision {

struct Frame {
  cv::Mat image;         // BGR uint8
  int number = 0;        // 1-based, as OpenFace 2's `frame` column
  double timestamp = 0;  // seconds
  std::string source;    // the file this frame came from (the image file, or the video)
};

// Timestamps "from the stream" (shared/data/README.md): CAP_PROP_POS_MSEC, except that when
// it drops to 0 or stops increasing (decoder flush frames report 0) the previous timestamp
// plus the last step is used, or 1/fps when no step was seen yet.
class StreamClock {
 public:
  explicit StreamClock(double fps) : fps_(fps) {}
  // pos_msec as OpenCV reports it right after read(); returns seconds.
  double next(double pos_msec);

 private:
  double fps_;
  double previous_ = 0;
  double step_ = 0;
  long frames_ = 0;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame, or false at the end. A frame that cannot be decoded is kBadInput.
  virtual bool next(Frame& frame) = 0;
  // Frames expected, for progress only: video headers can overstate it (the test video says
  // 870 and decodes 434); 0 when unknown.
  virtual long expected_frames() const = 0;
  // Frames per second from the headers, 0 for image sequences without one.
  virtual double fps() const = 0;
};

// A video file. Throws kIo for a missing file and kBadInput for one OpenCV cannot open
// (not a video, corrupt, empty); a video with no decodable frame fails on the first next().
class VideoSource : public FrameSource {
 public:
  explicit VideoSource(const std::string& path);
  bool next(Frame& frame) override;
  long expected_frames() const override { return expected_; }
  double fps() const override { return fps_; }

 private:
  std::string path_;
  cv::VideoCapture capture_;
  double fps_ = 0;
  long expected_ = 0;
  StreamClock clock_{0};
  int number_ = 0;
};

// Image files in the given order; frame n has timestamp (n - 1) / fps, or 0 when fps is 0
// (images carry no time). An unreadable image is kBadInput naming it.
class ImageSequenceSource : public FrameSource {
 public:
  explicit ImageSequenceSource(std::vector<std::string> paths, double fps = 0);
  bool next(Frame& frame) override;
  long expected_frames() const override { return static_cast<long>(paths_.size()); }
  double fps() const override { return fps_; }

 private:
  std::vector<std::string> paths_;
  double fps_;
  size_t index_ = 0;
};

}  // namespace starface::vision
