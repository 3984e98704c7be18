#include "pipeline/run_inputs.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "pipeline/annotate.h"
#include "pipeline/atomic_file.h"
#include "pipeline/csv_writer.h"
#include "pipeline/json_writer.h"
#include "pipeline/layout68.h"

namespace starface::pipeline {

namespace fs = std::filesystem;

namespace {

// The outputs of one input while it runs; nothing is visible under a final name until
// commit(). Results come in frame order, and smoothing (which needs that order) happens here.
class InputWriters {
 public:
  InputWriters(const Input& input, const RunOptions& options, int points, double fps,
               StageProfile& profile)
      : options_(options),
        points_(options.landmarks68 ? 68 : points),
        with_file_(input.kind == Input::Kind::kImages),
        // Photos that are not frames of one sequence have no track to smooth along.
        independent_(input.kind == Input::Kind::kImages && !options.image_sequence),
        smooth_(options.smooth.mode != SmoothMode::kNone),
        clock_(input.kind == Input::Kind::kVideo || options.image_fps > 0, fps),
        profile_(profile),
        csv_(csv_path(options, input)) {
    csv_.stream() << csv_header(points_, with_file_, smooth_);
    if (options.smooth.mode == SmoothMode::kOnline) {
      online_ = std::make_unique<OnlineSmoother>(options.smooth);
    }
    if (options.smooth.mode == SmoothMode::kOffline) {
      offline_ = std::make_unique<OfflineSmoother>(options.smooth);
    }
    if (options.json) {
      json_file_ = std::make_unique<AtomicTextFile>(options.out_dir / (input.name + ".json"));
      nlohmann::json header{{"input", input.path},
                            {"name", input.name},
                            {"points", points_},
                            {"layout", options.landmarks68 ? "ibug68" : "native"}};
      if (smooth_) header["smoothing"] = smoothing_json(options.smooth);
      json_ = std::make_unique<JsonStreamWriter>(json_file_->stream(), header, with_file_);
    }
    if (options.annotated) {
      annotated_ = std::make_unique<AnnotatedWriter>(options.out_dir, input.name,
                                                     input.kind == Input::Kind::kVideo, fps);
    }
  }

  // One "write" entry per frame in the profile (drawing, the 68-point mapping, the rows),
  // and the smoothing between them as its own stage.
  void add(const vision::Frame& frame, FrameResult result) {
    const Timer prepare;
    if (annotated_) annotated_->add(frame, result);  // draws all 98 points
    if (options_.landmarks68) {
      for (FaceResult& f : result.faces) f.points = to_ibug68(f.points);
    }
    const double prepare_ms = prepare.elapsed_ms();
    if (smooth_ && independent_) {
      for (FaceResult& f : result.faces) f.smoothed = f.points;
    } else if (online_) {
      ScopedStage stage(profile_, "smooth");
      online_->add(result, clock_.time_of(result));
    } else if (offline_) {
      {
        ScopedStage stage(profile_, "smooth");
        const double time = clock_.time_of(result);
        offline_->add(std::move(result), time);
      }
      profile_.add("write", prepare_ms);
      return;  // the rows are written by finish_smoothing()
    }
    const Timer rows;
    write(result);
    profile_.add("write", prepare_ms + rows.elapsed_ms());
  }

  // Once, when the clock falls back to frame numbers.
  std::optional<std::string> smoothing_notice() { return clock_.notice(); }

  // Offline smoothing needs every frame: the rows are written now.
  void finish_smoothing() {
    if (!offline_) return;
    std::vector<FrameResult> frames;
    {
      ScopedStage stage(profile_, "smooth");
      frames = offline_->finish();
    }
    ScopedStage stage(profile_, "write");
    for (const FrameResult& frame : frames) write(frame);
  }

  void commit_all_but_csv() {
    if (json_) {
      json_->finish();
      json_file_->commit();
    }
    if (annotated_) annotated_->commit();
  }
  // Last of all: its presence means the input is complete.
  void commit_csv() { csv_.commit(); }

 private:
  static nlohmann::json smoothing_json(const SmoothOptions& o) {
    nlohmann::json j{{"mode", smooth_mode_name(o.mode)}, {"key", "landmarks_smooth"}};
    if (o.mode == SmoothMode::kOnline) {
      j["filter"] = "1-euro";
      j["min_cutoff_hz"] = o.min_cutoff_hz;
      j["beta_per_iod"] = o.beta;
      j["derivative_cutoff_hz"] = o.derivative_cutoff_hz;
    } else {
      j["filter"] = "rts-constant-velocity";
      j["cutoff_hz"] = o.offline_cutoff_hz;
    }
    return j;
  }

  void write(const FrameResult& result) {
    csv_.stream() << csv_rows(result, points_, with_file_, smooth_);
    if (json_) json_->add(result);
  }

  const RunOptions& options_;
  int points_;
  bool with_file_;  // image inputs: rows name their file
  bool independent_;
  bool smooth_;
  SmoothingClock clock_;
  StageProfile& profile_;
  AtomicTextFile csv_;
  std::unique_ptr<OnlineSmoother> online_;
  std::unique_ptr<OfflineSmoother> offline_;
  std::unique_ptr<AtomicTextFile> json_file_;
  std::unique_ptr<JsonStreamWriter> json_;
  std::unique_ptr<AnnotatedWriter> annotated_;
};

void write_profile(const RunOptions& options, const Input& input, const InputReport& report) {
  AtomicTextFile file(profile_path(options, input));
  nlohmann::json j = report.profile.to_json(report.wall_ms);
  j["input"] = input.path;
  j["frames"] = report.frames;
  j["faces"] = report.faces;
  j["fps"] = report.wall_ms > 0 ? report.frames * 1000.0 / report.wall_ms : 0.0;
  j["decode_problems"] = report.decode_problems;
  file.stream() << j.dump(2) << "\n";
  file.commit();
}

// The next frame inside the range, or false past it (the rest of the input is not decoded).
bool next_in_range(vision::FrameSource& frames, const FrameRange& range, long taken,
                   vision::Frame& frame) {
  if (range.max_frames > 0 && taken >= range.max_frames) return false;
  const bool got = taken == 0 ? frames.next_from(frame, range.start_s) : frames.next(frame);
  return got && !(range.end_s > 0 && frame.timestamp >= range.end_s);
}

// Stream time for what has a duration (videos, timed image sequences), never a video's header
// frame count (see ProgressGoal); frames for image inputs and --max-frames.
ProgressGoal progress_goal(const vision::FrameSource& frames, const Input& input,
                           const FrameRange& range) {
  ProgressGoal goal;
  goal.begin_s = range.start_s;
  goal.end_s = frames.duration();
  if (range.end_s > 0)
    goal.end_s = goal.end_s > 0 ? std::min(goal.end_s, range.end_s) : range.end_s;
  if (input.kind == Input::Kind::kImages) goal.frames = frames.expected_frames();
  if (range.max_frames > 0) {
    goal.frames = goal.frames > 0 ? std::min(goal.frames, range.max_frames) : range.max_frames;
  }
  return goal;
}

std::string range_text(const FrameRange& range) {
  std::string text;
  const auto add = [&](const std::string& part) { text += (text.empty() ? "" : ", ") + part; };
  char number[64];
  if (range.start_s > 0) {
    std::snprintf(number, sizeof number, "%g", range.start_s);
    add(std::string("--start ") + number);
  }
  if (range.end_s > 0) {
    std::snprintf(number, sizeof number, "%g", range.end_s);
    add(std::string("--end ") + number);
  }
  return text;
}

void process_frames(const Input& input, const FaceModels& models, const RunOptions& options,
                    Progress& progress, const Timer& timer, InputReport& report) {
  std::unique_ptr<vision::FrameSource> frames = open_frames(input, options.image_fps);
  InputWriters writers(input, options, models.net.points, frames->fps(), report.profile);
  FacePipeline pipeline(models, options.track, report.profile);
  // Photos in a folder are unrelated unless --sequence says they are a video's frames: a face
  // tracked from one into the next would be a face where there is none.
  const bool independent = input.kind == Input::Kind::kImages && !options.image_sequence;
  progress.start(input.name, progress_goal(*frames, input, options.range));
  // A frame is done when the stream has played through it.
  const double frame_period = frames->fps() > 0 ? 1.0 / frames->fps() : 0.0;
  vision::Frame frame;
  while (true) {
    {
      ScopedStage stage(report.profile, "decode");
      if (!next_in_range(*frames, options.range, report.frames, frame)) break;
    }
    if (independent) pipeline.forget();
    FrameResult result = pipeline.process(frame);
    report.faces += static_cast<long>(result.faces.size());
    writers.add(frame, std::move(result));
    if (const auto notice = writers.smoothing_notice()) {
      progress.message("starface: " + input.name + ": " + *notice);
    }
    progress.update(++report.frames, frame.timestamp + frame_period);
  }
  if (report.frames == 0) {
    throw Error(ErrorCode::kBadInput, input.path + ": no frame in " + range_text(options.range) +
                                          " (timestamps are the stream's, in seconds; images "
                                          "without --fps are all at 0)");
  }
  report.decode_problems = frames->decode_problems();
  for (const std::string& problem : report.decode_problems) {
    progress.error("starface: " + input.name + ": " + problem);
  }
  writers.finish_smoothing();
  {
    ScopedStage stage(report.profile, "write");
    writers.commit_all_but_csv();
  }
  report.wall_ms = timer.elapsed_ms();
  write_profile(options, input, report);
  writers.commit_csv();
}

}  // namespace

int RunSummary::count(InputReport::Status status) const {
  int n = 0;
  for (const InputReport& r : inputs) n += r.status == status;
  return n;
}

int RunSummary::with_decode_problems() const {
  int n = 0;
  for (const InputReport& r : inputs) n += !r.decode_problems.empty();
  return n;
}

fs::path csv_path(const RunOptions& options, const Input& input) {
  return options.out_dir / (input.name + ".csv");
}

fs::path profile_path(const RunOptions& options, const Input& input) {
  return options.out_dir / (input.name + "_profile.json");
}

std::unique_ptr<vision::FrameSource> open_frames(const Input& input, double image_fps) {
  switch (input.kind) {
    case Input::Kind::kBroken:
      throw Error(ErrorCode::kIo, input.error);
    case Input::Kind::kImages:
      return std::make_unique<vision::ImageSequenceSource>(input.files, image_fps);
    case Input::Kind::kVideo:
      break;
  }
  return std::make_unique<vision::VideoSource>(input.path);
}

InputReport run_input(const Input& input, const FaceModels& models, const RunOptions& options,
                      Progress& progress) {
  InputReport report;
  report.name = input.name;
  if (options.skip_existing && fs::exists(csv_path(options, input))) {
    report.status = InputReport::Status::kSkipped;
    report.message = csv_path(options, input).string() + " exists";
    progress.message(input.name + ": skipped, " + report.message);
    return report;
  }
  const Timer timer;
  try {
    process_frames(input, models, options, progress, timer, report);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kIo && e.code() != ErrorCode::kBadInput) throw;
    report.status = InputReport::Status::kFailed;
    report.message = e.what();
    progress.error("starface: skipped input: " + report.message);
    return report;
  }
  progress.finish(report.frames);
  return report;
}

RunSummary run_inputs(const std::vector<Input>& inputs, const FaceModels& models,
                      const RunOptions& options, Progress& progress) {
  RunSummary summary;
  const Timer timer;
  prepare_output_dir(options.out_dir);
  for (const Input& input : inputs) {
    summary.inputs.push_back(run_input(input, models, options, progress));
    summary.profile.merge(summary.inputs.back().profile);
  }
  summary.wall_ms = timer.elapsed_ms();
  return summary;
}

}  // namespace starface::pipeline
