// starface eval: accuracy of a model on annotated faces with STAR's metrics (NME, FR, AUC,
// overall and per WFLW subset), and the drift of a model against a reference model on the
// same crops, with or without annotations.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/evaluate.h"

namespace starface::cli {

namespace {

struct EvalFlags {
  std::string model;
  std::string reference;
  std::string wflw;
  std::string tsv;
  std::string faces;
  std::string image;
  std::vector<std::string> boxes;
  std::string images;
  size_t limit = 0;
  int batch = 8;
  std::string by;
  bool json = false;
  ModelFlags flags;
  std::string reference_weights = "net";
  std::string reference_precision = "fp32";
};

struct FaceSource {
  std::string format;  // "wflw", "tsv", "faces" or "boxes"
  std::string file;    // empty for --image/--box
  std::vector<eval::Face> faces;
};

std::vector<eval::Face> faces_from_boxes(const EvalFlags& f) {
  std::vector<eval::Face> faces;
  for (size_t i = 0; i < f.boxes.size(); ++i) {
    eval::Face face;
    face.where = "--box " + std::to_string(i) + " on " + f.image;
    face.image = f.image;
    face.box = parse_box(f.boxes[i]);
    faces.push_back(std::move(face));
  }
  return faces;
}

// Exactly one of --wflw, --tsv, --faces, --image (with --box) says which faces to use.
FaceSource read_faces(const EvalFlags& f) {
  const int sources = !f.wflw.empty() + !f.tsv.empty() + !f.faces.empty() + !f.image.empty();
  if (sources != 1) {
    throw Error(ErrorCode::kBadArgument,
                "give exactly one of --wflw FILE, --tsv FILE, --faces FILE or --image IMG --box "
                "x1,y1,x2,y2");
  }
  if (f.image.empty() != f.boxes.empty()) {
    throw Error(ErrorCode::kBadArgument, "--image and --box go together");
  }
  FaceSource s;
  if (!f.wflw.empty()) s = {"wflw", f.wflw, eval::read_wflw(f.wflw)};
  if (!f.tsv.empty()) s = {"tsv", f.tsv, eval::read_tsv(f.tsv)};
  if (!f.faces.empty()) s = {"faces", f.faces, eval::read_face_list(f.faces)};
  if (!f.image.empty()) s = {"boxes", "", faces_from_boxes(f)};
  if (s.faces.empty()) throw Error(ErrorCode::kBadInput, s.file + ": no faces in the file");
  if (f.limit > 0 && s.faces.size() > f.limit) s.faces.resize(f.limit);
  const bool annotated = !s.faces.front().landmarks.empty();
  if (!annotated && f.reference.empty() && !f.flags.is_auto()) {
    throw Error(ErrorCode::kBadArgument,
                "--faces and --image/--box have no ground truth: give --reference MODEL to "
                "measure the drift against it");
  }
  return s;
}

nlohmann::json model_json(const Engine& e, const std::string& weights) {
  return {{"path", e.path()},
          {"weights", weights},
          {"backend", e.backend()},
          {"precision", graph::precision_name(e.precision())},
          {"points", e.net().points}};
}

nlohmann::json summary_json(const eval::Summary& s) {
  if (s.faces == 0) {
    return {{"faces", 0}, {"nme", nullptr}, {"fr", nullptr}, {"auc", nullptr}};
  }
  return {{"faces", s.faces},           {"nme", s.nme},           {"fr", s.curve.fr_rounded},
          {"auc", s.curve.auc_rounded}, {"fr_exact", s.curve.fr}, {"auc_exact", s.curve.auc}};
}

nlohmann::json accuracy_json(const eval::AccuracyReport& r) {
  nlohmann::json subsets = nlohmann::json::object();
  for (int i = 0; i < eval::kSubsetCount; ++i) {
    subsets[eval::subset_name(i)] = r.subsets[i] ? summary_json(*r.subsets[i]) : nullptr;
  }
  return {{"all", summary_json(r.all)}, {"subsets", subsets}};
}

nlohmann::json drift_json(const eval::DriftStats& d) {
  return {{"faces", d.faces},   {"points", d.points}, {"mean_px", d.mean_px},
          {"p99_px", d.p99_px}, {"max_px", d.max_px}, {"nme", d.nme}};
}

void print_summary_row(const std::string& name, const eval::Summary& s) {
  if (s.faces == 0) {
    std::printf("  %-13s %7d %9s %9s %9s\n", name.c_str(), 0, "-", "-", "-");
    return;
  }
  std::printf("  %-13s %7zu %9.4f %9.2f %9.6f\n", name.c_str(), s.faces, 100.0 * s.nme,
              100.0 * s.curve.fr_rounded, s.curve.auc_rounded);
}

void print_accuracy(const std::string& title, const eval::AccuracyReport& r,
                    const eval::NmeConvention& c) {
  const std::string at = std::to_string(static_cast<int>(std::lround(c.threshold * 100)));
  std::printf("\n%s\n  %-13s %7s %9s %9s %9s\n", title.c_str(), "subset", "faces", "NME %",
              ("FR@" + at + "% %").c_str(), ("AUC@" + at + "%").c_str());
  print_summary_row("all", r.all);
  for (int i = 0; i < eval::kSubsetCount; ++i) {
    if (r.subsets[i]) print_summary_row(eval::subset_name(i), *r.subsets[i]);
  }
}

// Per bin of face size or yaw: {"size": [{"bin": "32-64 px", "faces", "nme", ...}], ...}.
nlohmann::json by_bins_json(const std::vector<eval::Face>& faces, const std::vector<double>& nmes,
                            const std::vector<eval::BinAxis>& axes, double threshold) {
  nlohmann::json by = nlohmann::json::object();
  for (const eval::BinAxis axis : axes) {
    const std::vector<eval::Summary> bins = eval::accuracy_by_bin(faces, nmes, axis, threshold);
    for (size_t b = 0; b < bins.size(); ++b) {
      nlohmann::json j = summary_json(bins[b]);
      j["bin"] = eval::bin_label(axis, static_cast<int>(b));
      by[eval::axis_name(axis)].push_back(j);
    }
  }
  return by;
}

void print_by_bins(const std::vector<eval::Face>& faces, const std::vector<double>& nmes,
                   const std::vector<eval::BinAxis>& axes, const eval::NmeConvention& c) {
  for (const eval::BinAxis axis : axes) {
    const std::string at = std::to_string(static_cast<int>(std::lround(c.threshold * 100)));
    std::printf("\naccuracy of the model by %s (ground truth)\n  %-13s %7s %9s %9s %9s\n",
                eval::axis_title(axis), "bin", "faces", "NME %", ("FR@" + at + "% %").c_str(),
                ("AUC@" + at + "%").c_str());
    const std::vector<eval::Summary> bins = eval::accuracy_by_bin(faces, nmes, axis, c.threshold);
    for (size_t b = 0; b < bins.size(); ++b) {
      print_summary_row(eval::bin_label(axis, static_cast<int>(b)), bins[b]);
    }
  }
}

void print_drift(const eval::DriftStats& d) {
  std::printf("\ndrift of the model against the reference (%zu faces x %zu points)\n", d.faces,
              d.points);
  std::printf("  displacement in 256x256 crop pixels: mean %.6f  p99 %.6f  max %.6f\n", d.mean_px,
              d.p99_px, d.max_px);
  std::printf("  NME of the model against the reference: %.8f (%.6f %%)\n", d.nme, 100.0 * d.nme);
}

void print_header(const FaceSource& s, const eval::Predictions& p, const eval::NmeConvention& c,
                  const nlohmann::json& model, const nlohmann::json& reference) {
  const auto describe = [](const nlohmann::json& m) {
    return m["path"].get<std::string>() + " (weights " + m["weights"].get<std::string>() + ", " +
           m["backend"].get<std::string>() + ", " + m["precision"].get<std::string>() + ")";
  };
  std::printf("model      %s\n", describe(model).c_str());
  if (!reference.is_null()) std::printf("reference  %s\n", describe(reference).c_str());
  std::printf("faces      %zu from %s (%s, %d points)\n", p.faces(),
              s.file.empty() ? "--box" : s.file.c_str(), c.layout.c_str(), p.points);
  if (!p.truth.empty()) {
    std::printf(
        "metrics    STAR's: NME normalised by ground-truth points %d and %d; FR, AUC at %g\n",
        c.left, c.right, c.threshold);
  }
}

void report_progress(size_t done, size_t total) {
  std::fprintf(stderr, "\reval: %zu/%zu faces", done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

// --reference, or with --precision auto the model itself in exact fp32 (what the auto
// model's drift budget is measured against).
std::unique_ptr<Engine> load_reference(const EvalFlags& f) {
  if (f.reference.empty() && !f.flags.is_auto()) return nullptr;
  ModelFlags flags = f.flags;
  flags.weights = f.reference.empty() ? f.flags.weights : f.reference_weights;
  flags.precision = f.reference.empty() ? "fp32" : f.reference_precision;
  return Engine::load(f.reference.empty() ? f.model : f.reference, flags.engine_options());
}

void run_eval(const EvalFlags& f) {
  const std::vector<eval::BinAxis> axes =
      f.by.empty() ? std::vector<eval::BinAxis>{} : eval::parse_bin_axes(f.by);
  const FaceSource source = read_faces(f);
  if (!axes.empty() && source.faces.front().landmarks.empty()) {
    throw Error(ErrorCode::kBadArgument,
                "--by needs annotated faces (--wflw or --tsv): faces are binned by their ground "
                "truth");
  }
  const auto model =
      Engine::load(f.flags.model_to_load(f.model, {}, "", f.json), f.flags.engine_options());
  const auto reference = load_reference(f);
  const eval::NmeConvention convention = eval::nme_convention(model->net().points);
  eval::RunOptions options;
  options.image_root = f.images;
  options.batch = f.batch;
  if (!f.json && isatty(STDERR_FILENO)) options.progress = report_progress;
  const eval::Predictions p = eval::predict(source.faces, *model, reference.get(), options);

  nlohmann::json out;
  out["model"] = model_json(*model, f.flags.weights);
  out["reference"] = reference ? model_json(*reference, f.reference_weights) : nlohmann::json();
  out["source"] = {{"format", source.format}, {"file", source.file}};
  out["faces"] = p.faces();
  out["points"] = p.points;
  out["layout"] = convention.layout;
  std::vector<std::optional<std::array<int, eval::kSubsetCount>>> attributes;
  for (const eval::Face& face : source.faces) attributes.push_back(face.attributes);
  std::optional<eval::AccuracyReport> accuracy, reference_accuracy;
  std::vector<double> nmes;
  if (!p.truth.empty()) {
    out["nme_points"] = {convention.left, convention.right};
    out["threshold"] = convention.threshold;
    nmes = eval::face_nmes(p, p.model, convention);
    accuracy = eval::accuracy_report(nmes, attributes, convention.threshold);
    out["accuracy"] = accuracy_json(*accuracy);
    if (!axes.empty()) out["by"] = by_bins_json(source.faces, nmes, axes, convention.threshold);
    if (reference) {
      reference_accuracy = eval::accuracy_report(eval::face_nmes(p, p.reference, convention),
                                                 attributes, convention.threshold);
      out["reference_accuracy"] = accuracy_json(*reference_accuracy);
    }
  }
  std::optional<eval::DriftStats> drift;
  if (reference) {
    drift = eval::drift(p.model, p.reference, p.points, convention);
    out["drift"] = drift_json(*drift);
  }
  if (f.json) {
    std::cout << out.dump() << "\n";
    return;
  }
  print_header(source, p, convention, out["model"], out["reference"]);
  if (accuracy) print_accuracy("accuracy of the model", *accuracy, convention);
  if (accuracy) print_by_bins(source.faces, nmes, axes, convention);
  if (reference_accuracy) {
    print_accuracy("accuracy of the reference", *reference_accuracy, convention);
    if (reference_accuracy->all.faces > 0 && reference_accuracy->all.nme > 0) {
      std::printf("  NME of the model %+.2f %% relative to the reference's\n",
                  100.0 * (accuracy->all.nme / reference_accuracy->all.nme - 1.0));
    }
  }
  if (drift) print_drift(*drift);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Accuracy with STAR's metrics (NME, FR, AUC, per WFLW subset) on annotated faces, and "
      "the drift of a model against a reference model on the same crops");
  cmd->add_option("--model", f->model, "STAR checkpoint to evaluate")->required();
  cmd->add_option("--reference", f->reference,
                  "Second checkpoint to compare against on the same crops (drift table); with "
                  "--precision auto the model itself in exact fp32 by default");
  cmd->add_option("--wflw", f->wflw, "WFLW annotations (list_98pt_rect_attr_*.txt)");
  cmd->add_option("--tsv", f->tsv, "STAR/ADNet .tsv metadata");
  cmd->add_option("--faces", f->faces,
                  "Faces without annotations, one 'IMAGE x1,y1,x2,y2' per line (needs "
                  "--reference)");
  cmd->add_option("--image", f->image, "One image, with --box (needs --reference)");
  cmd->add_option("--box", f->boxes, "Face box x1,y1,x2,y2 on --image (repeat for more faces)")
      ->allow_extra_args(false);
  cmd->add_option("--images", f->images,
                  "Folder the image paths in the file are relative to (WFLW_images/)");
  cmd->add_option("--limit", f->limit, "Evaluate only the first N faces (0 = all)");
  cmd->add_option("--batch", f->batch, "Faces per network run")->check(CLI::Range(1, 256));
  cmd->add_option("--by", f->by,
                  "Also report the NME by face size (inter-ocular distance in pixels) and/or yaw "
                  "estimated from the ground-truth landmarks: size, yaw or size,yaw");
  cmd->add_flag("--json", f->json, "Print the results as one JSON object");
  add_model_flags(*cmd, f->flags, /*offer_auto=*/true);
  cmd->add_option("--reference-weights", f->reference_weights,
                  "Checkpoint weights of the reference: net (default) or ema")
      ->check(CLI::IsMember({"net", "ema"}));
  cmd->add_option("--reference-precision", f->reference_precision,
                  "Arithmetic of the reference (default fp32, the exact one)")
      ->check(CLI::IsMember(requestable_precisions()));
  cmd->callback([f] { run_eval(*f); });
}

}  // namespace starface::cli
