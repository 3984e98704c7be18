// Progress on stderr: a redrawn bar (frames, fps, ETA) on a terminal, a plain line every
// few seconds when stderr is a file or a pipe (Slurm logs), nothing with --quiet.
#pragma once

#include <cstdio>
#include <string>

#include "core/timer.h"

namespace starface::pipeline {

enum class ProgressMode { kAuto, kBar, kLines, kQuiet };

// "1:02:03", "4:05" for a duration in seconds; "?" when unknown (negative or not finite).
std::string format_duration(double seconds);

// One status text: name, frames (of expected when known), fps, ETA. expected may be an
// overestimate (video headers): the ETA then shows the time to the stated count.
std::string progress_text(const std::string& name, long frames, long expected, double seconds);

class Progress {
 public:
  // kAuto picks kBar when `out` is a terminal, kLines otherwise.
  explicit Progress(ProgressMode mode, std::FILE* out = stderr, double line_interval_s = 10);

  void start(const std::string& name, long expected_frames);
  void update(long frames);
  void finish(long frames);
  // A line (error, skip notice) that must not be overdrawn by the bar.
  void message(const std::string& text);
  // An error line, printed even with --quiet: a failed input must never pass unnoticed.
  void error(const std::string& text);
  bool quiet() const { return mode_ == ProgressMode::kQuiet; }

 private:
  void clear_bar();

  ProgressMode mode_;
  std::FILE* out_;
  double line_interval_s_;
  std::string name_;
  long expected_ = 0;
  Timer timer_;
  double last_draw_s_ = -1e9;
  bool bar_drawn_ = false;
};

}  // namespace starface::pipeline
