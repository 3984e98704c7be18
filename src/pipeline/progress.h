// Progress on stderr: a redrawn bar (frames, fps, ETA) on a terminal, a plain line every
// few seconds when stderr is a file or a pipe (Slurm logs), nothing with --quiet.
#pragma once

#include <cstdio>
#include <string>

#include "core/timer.h"

namespace starface::pipeline {

enum class ProgressMode { kAuto, kBar, kLines, kQuiet };

// What one input's progress is measured against; each part 0 when unknown. Videos go by
// stream time, begin_s to end_s (their headers' duration, or --start/--end), never by their
// header frame count: it can count slots that never decode (the test video claims 870 frames
// and decodes 434 over the same 36 s). Image inputs and --max-frames go by frames.
struct ProgressGoal {
  long frames = 0;
  double begin_s = 0;
  double end_s = 0;
};

// Done in [0, 1], or -1 when the goal is unknown. With both parts, the larger: the input
// ends when either is reached. position_s: how far into the stream the last frame reaches.
double progress_fraction(const ProgressGoal& goal, long frames, double position_s);

// "1:02:03", "4:05" for a duration in seconds; "?" when unknown (negative or not finite).
std::string format_duration(double seconds);

// One status text: name, frames (of the goal's when known), stream time (of the goal's when
// known), percent, fps, ETA (from the fraction done, so it converges to the true end).
std::string progress_text(const std::string& name, const ProgressGoal& goal, long frames,
                          double position_s, double seconds);

class Progress {
 public:
  // kAuto picks kBar when `out` is a terminal, kLines otherwise.
  explicit Progress(ProgressMode mode, std::FILE* out = stderr, double line_interval_s = 10);

  void start(const std::string& name, const ProgressGoal& goal);
  void start(const std::string& name, long expected_frames) {
    start(name, ProgressGoal{expected_frames, 0, 0});
  }
  // position_s: stream time the frames processed so far reach (-1: not known).
  void update(long frames, double position_s = -1);
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
  ProgressGoal goal_;
  Timer timer_;
  double last_draw_s_ = -1e9;
  bool bar_drawn_ = false;
};

}  // namespace starface::pipeline
