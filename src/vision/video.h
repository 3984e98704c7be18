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

// Whether a video whose last decoded frame came at last_timestamp seconds stopped well
// before the duration its headers give (header_frames / fps): by more than 10 % and 1 s, so
// headers that count dropped-frame placeholders (the test video: 870 claimed, 434 decoded
// over the same span) pass. False when the headers give no duration.
bool ended_before_headers_say(double last_timestamp, long header_frames, double fps);

// FFmpeg logs its own complaints ("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x...] moov atom not found")
// to stderr ahead of starface's message about the same file. OpenCV reads
// OPENCV_FFMPEG_LOGLEVEL once, when it first initialises FFmpeg: this sets it to quiet (-8)
// unless the user set it, so call it before the first cv::VideoCapture or VideoWriter.
// VideoSource does.
void quiet_ffmpeg_log();

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
  // Seconds of stream the headers give (frame count / fps), 0 when unknown. Unlike the frame
  // count it is right for the test video (870 slots of 1001/24000 s, only 434 of them
  // frames), so progress measures videos by it.
  virtual double duration() const { return 0; }
  // The first frame from start_s seconds on (by timestamp); the frames before it are passed
  // over as cheaply as the source allows but still counted, so `frame.number` and
  // `frame.timestamp` stay those of the whole input. False when there is none.
  virtual bool next_from(Frame& frame, double start_s);
  // What could not be decoded although the input went on (corrupt data mid-stream, a
  // stream that ends before its headers say), one message each; empty for a clean input.
  virtual std::vector<std::string> decode_problems() const { return {}; }
};

// A video file. Throws kIo for a missing file and kBadInput for one OpenCV cannot open
// (not a video, corrupt, empty); a video with no decodable frame fails on the first next().
// Corrupt data mid-stream is skipped: decoding goes on at the next frame FFmpeg can decode,
// `frame.number` goes on counting decoded frames, the timestamps show the gap, and
// decode_problems() says where it was.
class VideoSource : public FrameSource {
 public:
  explicit VideoSource(const std::string& path);
  bool next(Frame& frame) override { return next_from(frame, -1); }
  // Frames before start_s are grabbed (decoded, not converted to BGR): no seek, whose landing
  // frame OpenCV cannot number exactly (placeholder chunks, keyframes), so numbers stay right.
  bool next_from(Frame& frame, double start_s) override;
  long expected_frames() const override { return expected_; }
  double fps() const override { return fps_; }
  double duration() const override;
  std::vector<std::string> decode_problems() const override { return problems_; }

  // OpenCV reports a frame FFmpeg gave up on exactly as it reports the end of the stream,
  // so the end is this many failed reads in a row (each costs microseconds at the end; 64 KB
  // of garbage in the test video's H.264 fails 25 reads, 300 KB 96).
  static constexpr int kFailedReadsAtTheEnd = 1000;

 private:
  bool grab();
  void retrieve(cv::Mat& image);
  void note_gap(int failed_reads, double resumed_at);
  void check_ended_where_headers_say();

  std::string path_;
  cv::VideoCapture capture_;
  double fps_ = 0;
  long expected_ = 0;
  StreamClock clock_{0};
  int number_ = 0;
  double last_timestamp_ = 0;
  std::vector<std::string> problems_;
};

// Image files in the given order; frame n has timestamp (n - 1) / fps, or 0 when fps is 0
// (images carry no time). An unreadable image is kBadInput naming it.
class ImageSequenceSource : public FrameSource {
 public:
  explicit ImageSequenceSource(std::vector<std::string> paths, double fps = 0);
  bool next(Frame& frame) override { return next_from(frame, -1); }
  bool next_from(Frame& frame, double start_s) override;  // passes over images unread
  long expected_frames() const override { return static_cast<long>(paths_.size()); }
  double fps() const override { return fps_; }
  double duration() const override { return fps_ > 0 ? paths_.size() / fps_ : 0.0; }

 private:
  std::vector<std::string> paths_;
  double fps_;
  size_t index_ = 0;
};

}  // namespace starface::vision
