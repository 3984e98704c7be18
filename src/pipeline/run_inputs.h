// `starface run` over a list of inputs: per input, decode -> FacePipeline -> writers, each
// output committed only when the input is complete (the CSV last: it marks an input done for
// --skip-existing). A bad input (missing, corrupt, empty, not a video, an unreadable image)
// is reported and skipped; the others still run. A video with corrupt data mid-stream is
// processed as far as it decodes, and its report says what was skipped.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/face_pipeline.h"
#include "pipeline/inputs.h"
#include "pipeline/progress.h"
#include "pipeline/smoothing.h"
#include "pipeline/stage_profile.h"
#include "vision/video.h"

namespace starface::pipeline {

// Which frames of each input run (--max-frames, --start, --end). Frames outside are not
// written, but still counted: `frame` and `timestamp` stay those of the whole input.
struct FrameRange {
  long max_frames = 0;  // 0: all
  double start_s = 0;   // the first frame with timestamp >= start_s
  double end_s = 0;     // frames with timestamp < end_s; 0: to the end
  bool empty() const { return max_frames == 0 && start_s == 0 && end_s == 0; }
};

struct RunOptions {
  std::filesystem::path out_dir;
  TrackOptions track;
  // The images of a folder are frames of one sequence (tracked from image to image, ids kept:
  // --sequence, or --fps). Otherwise each image is detected on its own, ids from 0.
  bool image_sequence = false;
  FrameRange range;
  bool landmarks68 = false;  // x_0..x_67 / y_0..y_67 through the WFLW->iBUG mapping
  bool json = false;
  bool annotated = false;
  bool skip_existing = false;
  double image_fps = 0;  // timestamps of image sequences: (frame - 1) / fps, 0 when 0
  // --smooth: smoothed points in extra columns beside the raw ones (smoothing.h). Fed by the
  // writers in frame order; offline smoothing holds an input's results until its end.
  SmoothOptions smooth;
};

struct InputReport {
  enum class Status { kDone, kSkipped, kFailed };
  Status status = Status::kDone;
  std::string name;
  std::string message;  // why it failed or was skipped
  // A done input whose decoder skipped corrupt data (vision::FrameSource::decode_problems):
  // its outputs hold every frame that decoded.
  std::vector<std::string> decode_problems;
  long frames = 0;
  long faces = 0;  // face rows written
  double wall_ms = 0;
  StageProfile profile;
};

struct RunSummary {
  std::vector<InputReport> inputs;
  StageProfile profile;  // all inputs together
  double wall_ms = 0;
  int count(InputReport::Status status) const;
  int with_decode_problems() const;
};

// The output file names of an input.
std::filesystem::path csv_path(const RunOptions& options, const Input& input);
std::filesystem::path profile_path(const RunOptions& options, const Input& input);

// Opens the frames of an input (kIo / kBadInput for what cannot be opened).
std::unique_ptr<vision::FrameSource> open_frames(const Input& input, double image_fps);

// One input. Errors of the input itself (kIo, kBadInput) come back as kFailed; anything
// else (a bug, a model failure) propagates and ends the run.
InputReport run_input(const Input& input, const FaceModels& models, const RunOptions& options,
                      Progress& progress);

// Creates the output folder first; one that cannot be written ends the run (kIo).
RunSummary run_inputs(const std::vector<Input>& inputs, const FaceModels& models,
                      const RunOptions& options, Progress& progress);

}  // namespace starface::pipeline
