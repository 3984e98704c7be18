#include "vision/video.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/error.h"
#include "vision/image.h"

namespace starface::vision {

double StreamClock::next(double pos_msec) {
  double t = pos_msec / 1000.0;
  if (frames_ > 0 && !(t > previous_)) {
    t = previous_ + (step_ > 0 ? step_ : (fps_ > 0 ? 1.0 / fps_ : 0.0));
  } else if (frames_ > 0) {
    step_ = t - previous_;
  }
  previous_ = t;
  ++frames_;
  return t;
}

namespace {

// FFmpeg decodes a cut-off AVI up to the cut without complaint, so a half-copied file would
// pass for a short video. Its RIFF header states the size of the first RIFF chunk (all of a
// plain AVI, the first part of an OpenDML one): a file shorter than that was cut.
void check_avi_complete(const std::string& path, uintmax_t file_size) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[12] = {};
  if (!in.read(reinterpret_cast<char*>(head), sizeof head)) return;
  if (std::string(reinterpret_cast<char*>(head), 4) != "RIFF") return;
  if (std::string(reinterpret_cast<char*>(head) + 8, 4) != "AVI ") return;
  const uintmax_t riff_size = head[4] | head[5] << 8 | head[6] << 16 | uintmax_t{head[7]} << 24;
  if (riff_size + 8 > file_size) {
    throw Error(ErrorCode::kBadInput, path + ": truncated AVI (the header says " +
                                          std::to_string(riff_size + 8) + " bytes, the file has " +
                                          std::to_string(file_size) + ")");
  }
}

// Seconds the headers give the stream, 0 when they give no duration.
double header_duration(long header_frames, double fps) {
  return fps > 0 && header_frames > 0 ? static_cast<double>(header_frames) / fps : 0.0;
}

}  // namespace

bool FrameSource::next_from(Frame& frame, double start_s) {
  while (next(frame)) {
    if (frame.timestamp >= start_s) return true;
  }
  return false;
}

void quiet_ffmpeg_log() {
  static std::once_flag once;
  // -8 is AV_LOG_QUIET. overwrite=0: a user who sets the variable to debug FFmpeg keeps it.
  std::call_once(once, [] { ::setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0); });
}

VideoSource::VideoSource(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(ErrorCode::kIo, path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kBadInput, path + ": not a regular file");
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (size == 0) throw Error(ErrorCode::kBadInput, path + ": empty file");
  check_avi_complete(path, size);
  quiet_ffmpeg_log();
  bool opened = false;
  try {
    opened = capture_.open(path, cv::CAP_FFMPEG);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kBadInput, path + ": cannot open video (" + e.msg + ")");
  }
  if (!opened) throw Error(ErrorCode::kBadInput, path + ": not a video OpenCV can decode");
  fps_ = capture_.get(cv::CAP_PROP_FPS);
  if (!(fps_ > 0 && fps_ < 1000)) fps_ = 0;
  expected_ = std::max(0L, static_cast<long>(capture_.get(cv::CAP_PROP_FRAME_COUNT)));
  clock_ = StreamClock(fps_);
}

bool VideoSource::grab() {
  try {
    return capture_.grab();
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kBadInput, path_ + ": cannot decode frame " +
                                          std::to_string(number_ + 1) + " (" + e.err + ")");
  }
}

void VideoSource::retrieve(cv::Mat& image) {
  bool ok = false;
  try {
    ok = capture_.retrieve(image) && !image.empty();
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kBadInput,
                path_ + ": cannot convert frame " + std::to_string(number_) + " (" + e.err + ")");
  }
  if (!ok) {
    throw Error(ErrorCode::kBadInput,
                path_ + ": frame " + std::to_string(number_) + " decoded but came out empty");
  }
  if (image.type() != CV_8UC3) {
    throw Error(ErrorCode::kBadInput,
                path_ + ": frame " + std::to_string(number_) + " is not 8-bit 3-channel colour");
  }
}

bool VideoSource::next_from(Frame& frame, double start_s) {
  while (true) {
    int failed = 0;
    while (!grab()) {
      if (++failed < kFailedReadsAtTheEnd) continue;
      if (number_ == 0) throw Error(ErrorCode::kBadInput, path_ + ": no decodable video frame");
      check_ended_where_headers_say();
      return false;
    }
    ++number_;
    const double timestamp = clock_.next(capture_.get(cv::CAP_PROP_POS_MSEC));
    if (failed > 0) note_gap(failed, timestamp);
    last_timestamp_ = timestamp;
    if (timestamp < start_s) continue;  // grabbed, counted, never converted
    retrieve(frame.image);
    frame.number = number_;
    frame.timestamp = timestamp;
    frame.source = path_;
    return true;
  }
}

double VideoSource::duration() const { return header_duration(expected_, fps_); }

void VideoSource::note_gap(int failed_reads, double resumed_at) {
  char text[200];
  if (number_ == 1) {
    std::snprintf(text, sizeof text,
                  "undecodable data before the first frame (%d reads failed); decoding began at "
                  "%.3f s",
                  failed_reads, resumed_at);
  } else {
    std::snprintf(text, sizeof text,
                  "undecodable data after frame %d (%.3f s): %d reads failed; decoding resumed "
                  "at %.3f s as frame %d",
                  number_ - 1, last_timestamp_, failed_reads, resumed_at, number_);
  }
  problems_.push_back(text);
}

bool ended_before_headers_say(double last_timestamp, long header_frames, double fps) {
  const double duration = header_duration(header_frames, fps);
  return duration > 0 && last_timestamp < 0.9 * duration - 1.0;
}

// Corruption longer than kFailedReadsAtTheEnd reads looks like the end of the stream; the
// headers' duration tells them apart.
void VideoSource::check_ended_where_headers_say() {
  if (!ended_before_headers_say(last_timestamp_, expected_, fps_)) return;
  char text[200];
  std::snprintf(text, sizeof text,
                "decoding ended at %.3f s (frame %d) but the headers give the stream %.3f s: "
                "the rest is missing or undecodable",
                last_timestamp_, number_, header_duration(expected_, fps_));
  problems_.push_back(text);
}

ImageSequenceSource::ImageSequenceSource(std::vector<std::string> paths, double fps)
    : paths_(std::move(paths)), fps_(fps) {}

bool ImageSequenceSource::next_from(Frame& frame, double start_s) {
  const auto time_of = [&](size_t index) {
    return fps_ > 0 ? static_cast<double>(index) / fps_ : 0.0;
  };
  while (index_ < paths_.size() && time_of(index_) < start_s) ++index_;
  if (index_ >= paths_.size()) return false;
  frame.image = read_image(paths_[index_]);
  frame.number = static_cast<int>(index_) + 1;
  frame.timestamp = time_of(index_);
  frame.source = paths_[index_];
  ++index_;
  return true;
}

}  // namespace starface::vision
