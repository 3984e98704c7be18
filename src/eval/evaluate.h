// Runs a model (and optionally a reference model) on the crops of a list of faces, the way
// STAR's test loop does: crop each face, run the batch, keep the [-1, 1] landmarks.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "eval/dataset.h"
#include "eval/face_bins.h"
#include "eval/metrics.h"

namespace starface::eval {

struct RunOptions {
  std::string image_root;  // joined to every face's image path ("" = as written)
  int batch = 8;           // faces per network run
  // Called after each batch with (faces done, faces in all).
  std::function<void(size_t, size_t)> progress;
};

struct Predictions {
  int points = 0;
  std::vector<CropMatrix> matrices;  // one per face, image -> crop
  std::vector<float> model;          // faces x points x 2, [-1, 1]
  std::vector<float> reference;      // the same for the reference model, if one ran
  std::vector<float> truth;          // ground truth as STAR's metric sees it, if the faces have it

  size_t faces() const { return matrices.size(); }
};

// Every face must have ground truth with the model's point count or none at all, and the two
// models must have the same point count (kBadInput / kBadArgument otherwise). Image and box
// errors name the face's file and line. `reference` may be null.
Predictions predict(const std::vector<Face>& faces, Engine& model, Engine* reference,
                    const RunOptions& options);

// The per-face NME of the model's (or the reference's) landmarks against the ground truth.
std::vector<double> face_nmes(const Predictions& p, const std::vector<float>& landmarks,
                              const NmeConvention& convention);

// The faces' NMEs summarised per bin of face size or yaw (bin_count(axis) entries), each face
// binned by its ground truth in image pixels (what the model got right or wrong does not move
// a face between bins). kBadArgument for faces without ground truth or a layout without eye
// corners and nose tip (yaw).
std::vector<Summary> accuracy_by_bin(const std::vector<Face>& faces,
                                     const std::vector<double>& nmes, BinAxis axis,
                                     double threshold);

}  // namespace starface::eval
