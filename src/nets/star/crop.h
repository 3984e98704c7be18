// STAR's face crop as OpenFace 3.0 and STAR's demo compute it (fixtures/star/README.md §3):
// box -> centre and scale -> a float32 3x3 image-to-crop matrix; landmarks in [-1, 1] ->
// crop pixels -> image pixels. Pure arithmetic: the warp itself lives in vision/.
#pragma once

#include <vector>

#include "nets/common/face_geometry.h"

namespace starface::star {

using starface::Box;
using starface::CropMatrix;
using starface::parse_box;
using starface::Point;
using starface::truncate_and_check;

constexpr int kCropSize = 256;

// The crop matrix of an already truncated box: centre (x1+x2)/2, scale
// min(w, h) / 200 * 1.05, s = 256 / (scale * 200), M = [[s,0,127.5-s*cx],[0,s,127.5-s*cy],[0,0,1]].
CropMatrix crop_matrix(const Box& truncated);

// STAR's GetCropMatrix(256, target_face_scale=1.0, align_corners=True) for a face given as
// STAR's .tsv metadata gives it (scale = face size / 200, centre in image pixels):
// s = 256 / (scale * 200), M = [[s,0,127.5-s*cx],[0,s,127.5-s*cy],[0,0,1]], rounded to float32.
CropMatrix crop_matrix(double scale, double center_x, double center_y);

// One landmark coordinate in [-1, 1] -> crop pixels: ((l + 1) * 256 - 1) / 2, in double.
inline double to_crop_pixels(float normalised) {
  return ((static_cast<double>(normalised) + 1.0) * kCropSize - 1.0) / 2.0;
}

// Landmarks in [-1, 1] (x, y interleaved, P points) -> image pixels, in double:
// to_crop_pixels, then the inverse of the matrix's affine part (crop_to_image).
std::vector<Point> landmarks_to_image(const float* landmarks, int points, const CropMatrix& m);

}  // namespace starface::star
