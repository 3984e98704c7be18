// Faces to evaluate on: readers for WFLW's raw annotations, STAR/ADNet .tsv metadata and a
// plain "image box" list, and the crop STAR's test-time pipeline makes of each face.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "nets/star/crop.h"

namespace starface::eval {

// WFLW's attribute flags, in the order of the annotation files and of STAR's tsv tags.
constexpr int kSubsetCount = 6;
// "pose", "expression", "illumination", "makeup", "occlusion", "blur".
const char* subset_name(int subset);

// STAR's test-time crop from .tsv metadata: scale = face size / 200, centre in image pixels.
struct StarCentre {
  double scale = 0, center_x = 0, center_y = 0;
};

struct Face {
  std::string where;  // "file:line", for messages
  std::string image;  // path as written in the file (resolve_image_path joins the root)
  // The crop comes from exactly one of these: a box (WFLW files, face lists) or STAR's centre.
  std::optional<Box> box;
  std::optional<StarCentre> centre;
  // Ground truth in image pixels, x y interleaved, float32 as STAR reads it; empty if none.
  std::vector<float> landmarks;
  // The 6 attribute flags (0/1) when the file has them.
  std::optional<std::array<int, kSubsetCount>> attributes;

  int points() const { return static_cast<int>(landmarks.size() / 2); }
};

// WFLW's list_98pt_rect_attr_*.txt: per line 196 landmark coordinates, the box x_min y_min
// x_max y_max, 6 attribute flags, the image path. Errors (kIo, kBadInput) name file and line.
std::vector<Face> read_wflw(const std::string& path);

// STAR/ADNet metadata, tab-separated: image_path, landmarks_5pts (10 values),
// landmarks_target (2P values), scale, center_w, center_h [, 6 attribute tags].
std::vector<Face> read_tsv(const std::string& path);

// A face list without annotations, one face per line: "IMAGE x1,y1,x2,y2"; blank lines and
// lines starting with '#' are skipped.
std::vector<Face> read_face_list(const std::string& path);

// The image file of a face: STAR's path clean-up (backslashes, its msr-facestore and
// ./rawImages/ prefixes), then joined to `root` (an absolute path stays as it is).
std::string resolve_image_path(const std::string& root, const std::string& image);

// The image -> crop matrix of a face on a width x height image, as STAR's test pipeline
// computes it. A bad box is kBadInput naming the face's file and line.
CropMatrix face_crop_matrix(const Face& face, int width, int height);

// The ground truth as STAR's dataset hands it to the metric: image pixels -> crop pixels by
// the matrix, then to [-1, 1] with align_corners=False ((p * 2 + 1) / 256 - 1), clamped to
// [-1, 1], so a point outside the crop counts at the crop's edge.
std::vector<float> ground_truth_in_crop(const Face& face, const CropMatrix& matrix);

}  // namespace starface::eval
