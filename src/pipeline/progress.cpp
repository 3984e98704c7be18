#include "pipeline/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace starface::pipeline {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

std::string progress_text(const std::string& name, long frames, long expected, double seconds) {
  const double fps = seconds > 0 ? frames / seconds : 0;
  char text[256];
  if (expected > 0) {
    const long left = std::max(0L, expected - frames);
    const double eta = fps > 0 ? left / fps : -1;
    const int percent = static_cast<int>(std::min(100L, 100 * frames / expected));
    std::snprintf(text, sizeof text, "%s: %ld/%ld frames (%d%%), %.1f fps, ETA %s", name.c_str(),
                  frames, expected, percent, fps, format_duration(eta).c_str());
  } else {
    std::snprintf(text, sizeof text, "%s: %ld frames, %.1f fps", name.c_str(), frames, fps);
  }
  return text;
}

namespace {

std::string bar(long frames, long expected, int width) {
  const double done = expected > 0 ? std::min(1.0, static_cast<double>(frames) / expected) : 0;
  const int filled = static_cast<int>(done * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
}

}  // namespace

Progress::Progress(ProgressMode mode, std::FILE* out, double line_interval_s)
    : mode_(mode), out_(out), line_interval_s_(line_interval_s) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = ::isatty(::fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLines;
  }
}

void Progress::start(const std::string& name, long expected_frames) {
  name_ = name;
  expected_ = expected_frames;
  timer_.reset();
  last_draw_s_ = -1e9;
}

void Progress::update(long frames) {
  const double now = timer_.elapsed_ms() / 1000.0;
  if (mode_ == ProgressMode::kBar && now - last_draw_s_ >= 0.2) {
    std::fprintf(out_, "\r%s%s\033[K", bar(frames, expected_, 24).c_str(),
                 progress_text(name_, frames, expected_, now).c_str());
    std::fflush(out_);
    bar_drawn_ = true;
    last_draw_s_ = now;
  } else if (mode_ == ProgressMode::kLines && now - last_draw_s_ >= line_interval_s_) {
    // The first line comes one interval in: short inputs print only their final line.
    if (last_draw_s_ > -1e8) {
      std::fprintf(out_, "%s\n", progress_text(name_, frames, expected_, now).c_str());
      std::fflush(out_);
    }
    last_draw_s_ = now;
  }
}

void Progress::finish(long frames) {
  if (mode_ == ProgressMode::kQuiet) return;
  clear_bar();
  const double seconds = timer_.elapsed_ms() / 1000.0;
  std::fprintf(out_, "%s: done, %ld frames in %s (%.1f fps)\n", name_.c_str(), frames,
               format_duration(seconds).c_str(), seconds > 0 ? frames / seconds : 0.0);
  std::fflush(out_);
}

void Progress::message(const std::string& text) {
  if (mode_ == ProgressMode::kQuiet) return;
  clear_bar();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Progress::error(const std::string& text) {
  clear_bar();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Progress::clear_bar() {
  if (!bar_drawn_) return;
  std::fprintf(out_, "\r\033[K");
  bar_drawn_ = false;
}

}  // namespace starface::pipeline
