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

double progress_fraction(const ProgressGoal& goal, long frames, double position_s) {
  double done = -1;
  if (goal.frames > 0) done = static_cast<double>(frames) / goal.frames;
  if (goal.end_s > goal.begin_s && position_s >= 0) {
    done = std::max(done, (position_s - goal.begin_s) / (goal.end_s - goal.begin_s));
  }
  return done < 0 ? -1 : std::clamp(done, 0.0, 1.0);
}

std::string progress_text(const std::string& name, const ProgressGoal& goal, long frames,
                          double position_s, double seconds) {
  const double fps = seconds > 0 ? frames / seconds : 0;
  std::string text = name + ": " + std::to_string(frames);
  if (goal.frames > 0) text += "/" + std::to_string(goal.frames);
  text += " frames";
  char part[128];
  if (goal.end_s > goal.begin_s && position_s >= 0) {
    // Within the goal's span, so a video whose last frame overshoots its header duration
    // (the test video's decoder delay) never reads past it.
    const double span = goal.end_s - goal.begin_s;
    std::snprintf(part, sizeof part, ", %.1f/%.1f s",
                  std::clamp(position_s - goal.begin_s, 0.0, span), span);
    text += part;
  }
  const double done = progress_fraction(goal, frames, position_s);
  if (done >= 0) {
    // Floored, so 100 % means done; the epsilon keeps N/N from reading 99 % by rounding.
    const int percent = static_cast<int>(std::floor(done * 100 + 1e-9));
    const double eta = done > 0 ? seconds * (1 - done) / done : -1;
    std::snprintf(part, sizeof part, " (%d%%), %.1f fps, ETA %s", percent, fps,
                  format_duration(eta).c_str());
  } else {
    std::snprintf(part, sizeof part, ", %.1f fps", fps);
  }
  return text + part;
}

namespace {

std::string bar(double done, int width) {
  const int filled = static_cast<int>(std::max(0.0, done) * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
}

}  // namespace

Progress::Progress(ProgressMode mode, std::FILE* out, double line_interval_s)
    : mode_(mode), out_(out), line_interval_s_(line_interval_s) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = ::isatty(::fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLines;
  }
}

void Progress::start(const std::string& name, const ProgressGoal& goal) {
  name_ = name;
  goal_ = goal;
  timer_.reset();
  last_draw_s_ = -1e9;
}

void Progress::update(long frames, double position_s) {
  const double now = timer_.elapsed_ms() / 1000.0;
  if (mode_ == ProgressMode::kBar && now - last_draw_s_ >= 0.2) {
    std::fprintf(out_, "\r%s%s\033[K",
                 bar(progress_fraction(goal_, frames, position_s), 24).c_str(),
                 progress_text(name_, goal_, frames, position_s, now).c_str());
    std::fflush(out_);
    bar_drawn_ = true;
    last_draw_s_ = now;
  } else if (mode_ == ProgressMode::kLines && now - last_draw_s_ >= line_interval_s_) {
    // The first line comes one interval in: short inputs print only their final line.
    if (last_draw_s_ > -1e8) {
      std::fprintf(out_, "%s\n", progress_text(name_, goal_, frames, position_s, now).c_str());
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
