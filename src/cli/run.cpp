// starface run: folders of face videos (or images) in, OpenFace-style landmark CSVs out.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "engine/detector.h"
#include "pipeline/atomic_file.h"
#include "pipeline/calibration_crops.h"
#include "pipeline/inputs.h"
#include "pipeline/model_files.h"
#include "pipeline/run_inputs.h"
#include "pipeline/smoothing.h"
#include "vision/face_detector.h"

namespace starface::cli {

namespace {

struct RunFlags {
  std::vector<std::string> inputs;
  std::string list;
  std::string out_dir;
  int detect_every = 1;
  int max_faces = 0;
  double vis_threshold = 0.5;
  bool landmarks68 = false;
  bool json = false;
  bool annotated = false;
  bool skip_existing = false;
  std::string shard;
  bool quiet = false;
  bool sequence = false;
  double image_fps = 0;
  long max_frames = 0;
  double start_s = 0;
  double end_s = 0;
  std::string landmark_model;
  std::string detector_model;
  std::string detector_precision = "auto";
  std::string models_dir;
  ModelFlags model;
  std::string smooth = "none";
  pipeline::SmoothOptions smoothing;  // its mode comes from `smooth`
  // Whether a setting of a mode was given, to refuse it with a mode that has no use for it.
  bool online_setting = false;
  bool offline_setting = false;
};

// --detector-precision auto: the landmark model's precision where the detector runs it,
// and fp32-fast for int8 (the detector has no int8 calibration).
std::optional<graph::Precision> detector_precision(const std::string& flag,
                                                   graph::Precision landmarks) {
  if (flag != "auto") return parse_requested_precision(flag);
  return landmarks == graph::Precision::kInt8 ? graph::Precision::kFp32Winograd : landmarks;
}

std::vector<pipeline::Input> inputs_of(const RunFlags& f) {
  // The shard first: a typo in it should fail before a large folder is listed.
  const pipeline::Shard shard =
      f.shard.empty() ? pipeline::Shard{} : pipeline::parse_shard(f.shard);
  std::vector<std::string> paths = f.inputs;
  if (!f.list.empty()) {
    const auto listed = pipeline::read_list_file(f.list);
    paths.insert(paths.end(), listed.begin(), listed.end());
  }
  if (paths.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "no inputs: give video files, image files, folders or --list FILE");
  }
  // Expanded in full before sharding, so every shard agrees on the inputs and their names.
  return pipeline::select_shard(pipeline::expand_inputs(paths), shard);
}

// --precision auto calibrates on the inputs' faces: their paths.
std::vector<std::string> input_paths(const std::vector<pipeline::Input>& inputs) {
  std::vector<std::string> paths;
  for (const pipeline::Input& input : inputs) {
    if (input.kind != pipeline::Input::Kind::kBroken) paths.push_back(input.path);
  }
  return paths;
}

pipeline::SmoothOptions smooth_options(const RunFlags& f) {
  pipeline::SmoothOptions s = f.smoothing;
  s.mode = pipeline::parse_smooth_mode(f.smooth);
  if (f.online_setting && s.mode != pipeline::SmoothMode::kOnline) {
    throw Error(ErrorCode::kBadArgument,
                "--smooth-min-cutoff and --smooth-beta set the online filter: add --smooth online");
  }
  if (f.offline_setting && s.mode != pipeline::SmoothMode::kOffline) {
    throw Error(ErrorCode::kBadArgument,
                "--smooth-offline-cutoff sets the offline smoother: add --smooth offline");
  }
  pipeline::check_smooth_options(s);
  return s;
}

pipeline::RunOptions run_options(const RunFlags& f) {
  pipeline::RunOptions o;
  o.out_dir = f.out_dir;
  o.track.detect_every = f.detect_every;
  o.track.max_faces = f.max_faces;
  o.track.vis_threshold = f.vis_threshold;
  o.landmarks68 = f.landmarks68;
  o.json = f.json;
  o.annotated = f.annotated;
  o.skip_existing = f.skip_existing;
  o.image_fps = f.image_fps;
  o.image_sequence = f.sequence || f.image_fps > 0;  // a frame rate makes the images a video
  o.range = {f.max_frames, f.start_s, f.end_s};
  o.smooth = smooth_options(f);
  if (f.end_s > 0 && f.end_s <= f.start_s) {
    char text[160];
    std::snprintf(text, sizeof text, "--end %g must be after --start %g (both in seconds)", f.end_s,
                  f.start_s);
    throw Error(ErrorCode::kBadArgument, text);
  }
  return o;
}

// The output folders a run creates (the -o folder and any missing parents), removed again
// when the run fails without writing into them: a run that fails before its first output (a
// bad model path, a flag the model cannot serve, every input bad) leaves the disk as it was.
class CreatedFolders {
 public:
  explicit CreatedFolders(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::path p = dir.lexically_normal();
    if (p.filename().empty()) p = p.parent_path();  // "out/" names "out"
    for (; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
      missing_.push_back(p);  // deepest first
    }
  }
  void remove_if_empty() const {
    std::error_code ec;
    for (const auto& p : missing_) {
      if (!std::filesystem::is_directory(p, ec) || !std::filesystem::is_empty(p, ec)) return;
      std::filesystem::remove(p, ec);
    }
  }

 private:
  std::vector<std::filesystem::path> missing_;
};

// With --quiet only the failures speak: each was reported as it happened, and main prints
// the count.
void print_summary(const pipeline::RunSummary& s, size_t total, bool quiet) {
  if (quiet) return;
  using Status = pipeline::InputReport::Status;
  std::fprintf(stderr, "starface run: %zu inputs: %d done, %d skipped (output exists), %d failed\n",
               total, s.count(Status::kDone), s.count(Status::kSkipped), s.count(Status::kFailed));
  for (const auto& r : s.inputs) {
    if (r.status == Status::kFailed) std::fprintf(stderr, "  failed: %s\n", r.message.c_str());
    for (const auto& problem : r.decode_problems) {
      std::fprintf(stderr, "  done with undecodable data: %s: %s\n", r.name.c_str(),
                   problem.c_str());
    }
  }
  if (s.count(Status::kDone) > 0) {
    std::printf("time per stage, all inputs:\n%s", s.profile.table(s.wall_ms).c_str());
  }
}

void run_with_folder(const RunFlags& f, const std::vector<pipeline::Input>& inputs,
                     const pipeline::RunOptions& options) {
  const auto search = pipeline::model_search_dirs(f.models_dir);
  const auto landmark_path = pipeline::resolve_model(pipeline::kLandmarkModelFile, f.landmark_model,
                                                     "--landmark-model", search);
  const auto detector_path = pipeline::resolve_model(pipeline::kDetectorModelFile, f.detector_model,
                                                     "--detector-model", search);
  const std::string landmark_model = f.model.model_to_load(
      landmark_path.string(), input_paths(inputs), detector_path.string(), f.quiet);
  const auto engine = Engine::load(landmark_model, f.model.engine_options());
  if (f.landmarks68 && engine->net().points != 98) {
    throw Error(ErrorCode::kBadArgument, "--landmarks68 needs a 98-point model; " +
                                             landmark_path.string() + " has " +
                                             std::to_string(engine->net().points));
  }
  EngineOptions detector_options = f.model.engine_options();
  detector_options.precision = detector_precision(f.detector_precision, engine->precision());
  // int8 calibrates the detector on frames of the inputs themselves.
  const std::vector<Tensor> int8_frames =
      detector_options.precision == graph::Precision::kInt8
          ? pipeline::calibration_frames(inputs, pipeline::kDetectorCalibrationFrames)
          : std::vector<Tensor>{};
  const auto detector = Detector::load(detector_path.string(), detector_options, int8_frames);
  pipeline::FaceModels models{
      [&](const cv::Mat& image) { return vision::detect_faces(*detector, image); },
      [&](const Tensor& crops) { return engine->landmarks(crops); }, engine->net()};
  pipeline::Progress progress(f.quiet ? pipeline::ProgressMode::kQuiet
                                      : pipeline::ProgressMode::kAuto);
  const pipeline::RunSummary summary = pipeline::run_inputs(inputs, models, options, progress);
  print_summary(summary, inputs.size(), f.quiet);
  const int failed = summary.count(pipeline::InputReport::Status::kFailed);
  const int corrupt = summary.with_decode_problems();
  if (failed > 0 || corrupt > 0) {
    // Exit status 1 through main's handler: the other inputs' outputs are complete, and a
    // corrupt video's outputs hold every frame that decoded.
    const std::string of = " of " + std::to_string(inputs.size()) + " inputs";
    std::string text;
    if (failed > 0) text = std::to_string(failed) + of + " failed";
    if (corrupt > 0) {
      text += (text.empty() ? "" : "; ") + std::to_string(corrupt) + of +
              " had undecodable data (their outputs hold every frame that decoded)";
    }
    throw Error(ErrorCode::kBadInput, text);
  }
}

void run(const RunFlags& f) {
  const std::vector<pipeline::Input> inputs = inputs_of(f);
  const pipeline::RunOptions options = run_options(f);
  const CreatedFolders created(options.out_dir);
  // Created first, so an unwritable -o fails before the models load.
  pipeline::prepare_output_dir(options.out_dir);
  try {
    run_with_folder(f, inputs, options);
  } catch (...) {
    created.remove_if_empty();
    throw;
  }
}

}  // namespace

void add_run(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Detect faces and their landmarks in videos, images and folders; write an OpenFace-style "
      "CSV per input (frame, face_id, timestamp, confidence, success, x_*, y_*)");
  cmd->add_option("inputs", f->inputs,
                  "Video files, image files, folders (their images, in natural name order, make "
                  "one CSV with a `file` column, each image detected on its own unless "
                  "--sequence; each video in them is its own input)");
  cmd->add_option("--list", f->list, "File with one input path per line");
  cmd->add_option("-o,--output", f->out_dir, "Output folder")->required();
  cmd->add_option("--detect-every", f->detect_every,
                  "Run the detector every K frames and track from the landmarks between them "
                  "(re-detects at once when tracking is lost); 1 = every frame")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-faces", f->max_faces,
                  "Keep at most N faces per frame, best first (0 = all)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option("--vis-threshold", f->vis_threshold, "Minimum detector score of a face")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--landmarks68", f->landmarks68,
                "Write the 68 iBUG/300W points (mapped from the 98 WFLW points) instead of all");
  cmd->add_flag("--json", f->json, "Also write <name>.json per input");
  cmd->add_flag("--annotated", f->annotated,
                "Also write <name>_annotated.avi (videos) or <name>_annotated/ (images) with "
                "boxes, ids and landmarks drawn");
  cmd->add_flag("--skip-existing", f->skip_existing, "Skip inputs whose <name>.csv exists");
  cmd->add_option("--shard", f->shard,
                  "i/n: process only every n-th input starting at i (0-based), e.g. "
                  "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT");
  cmd->add_flag("--sequence", f->sequence,
                "A folder's images are the frames of one video: track faces from image to "
                "image (--detect-every) and keep their ids, as OpenFace 2's -fdir");
  cmd->add_option("--fps", f->image_fps,
                  "Frame rate of image sequences, for timestamps (0: all 0); implies --sequence")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--max-frames", f->max_frames,
                  "Process only the first N frames of each input (from --start); 0 = all")
      ->check(CLI::Range(0L, 1000000000L));
  cmd->add_option("--start", f->start_s,
                  "Seconds: begin at the first frame whose timestamp is at least this; the "
                  "frames before are decoded and counted, so frame numbers stay the video's")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--end", f->end_s,
                  "Seconds: stop before the first frame whose timestamp reaches this; 0 = the "
                  "end of the input")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--smooth", f->smooth,
                  "Also write smoothed landmarks (columns x_smooth_*, y_smooth_*; the raw x_*, "
                  "y_* stay): none, online (1-euro filter, causal) or offline (zero-lag "
                  "Rauch-Tung-Striebel smoother over each whole track)")
      ->check(CLI::IsMember(pipeline::smooth_mode_names()));
  cmd->add_option("--smooth-min-cutoff", f->smoothing.min_cutoff_hz,
                  "--smooth online: cut-off of a still face, Hz (lower: steadier, more lag)")
      ->check(CLI::PositiveNumber)
      ->each([f](const std::string&) { f->online_setting = true; });
  cmd->add_option("--smooth-beta", f->smoothing.beta,
                  "--smooth online: Hz added to the cut-off per inter-ocular distance per second "
                  "of speed (higher: less lag while moving)")
      ->check(CLI::NonNegativeNumber)
      ->each([f](const std::string&) { f->online_setting = true; });
  cmd->add_option("--smooth-offline-cutoff", f->smoothing.offline_cutoff_hz,
                  "--smooth offline: frequency, Hz, where the smoother's gain is 1/2 (motion "
                  "slower than this is kept)")
      ->check(CLI::PositiveNumber)
      ->each([f](const std::string&) { f->offline_setting = true; });
  cmd->add_flag("-q,--quiet", f->quiet, "No progress and no time report (errors still print)");
  cmd->add_option("--landmark-model", f->landmark_model,
                  "STAR checkpoint (default: Landmark_98.pkl in the model folders)");
  cmd->add_option("--detector-model", f->detector_model,
                  "RetinaFace checkpoint (default: Alignment_RetinaFace.pth in the model folders)");
  cmd->add_option("--models", f->models_dir,
                  "Model folder, searched before $STARFACE_MODELS and ~/.cache/starface");
  add_model_flags(*cmd, f->model, /*offer_auto=*/true);
  cmd->add_option("--detector-precision", f->detector_precision,
                  "Arithmetic of the detector: auto (the landmark model's; fp32-fast when that "
                  "is int8), fp32, fp32-fast, bf16 or int8 (calibrated at start on 8 frames "
                  "spread over the first video of the inputs)")
      ->check(CLI::IsMember({"auto", "fp32", "fp32-fast", "bf16", "int8"}));
  cmd->callback([f] { run(*f); });
}

}  // namespace starface::cli
