// STAR's face crop as OpenFace 3.0 and STAR's demo compute it (fixtures/star/README.md §3):
// box -> centre and scale -> a float32 3x3 image-to-crop matrix; landmarks in [-1, 1] ->
// crop pixels -> image pixels. Pure arithmetic: the warp itself lives in vision/.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace starface::star {

struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// Row-major 3x3, float32 as STAR stores it.
using CropMatrix = std::array<float, 9>;

struct Point {
  double x = 0, y = 0;
};

constexpr int kCropSize = 256;

// Parses "x1,y1,x2,y2" (throws kBadArgument naming the text).
Box parse_box(const std::string& text);

// Truncates the box toward zero (numpy astype(int)) and checks it against a width x height
// image: NaN/infinite, zero or negative size, or no overlap with the image is kBadInput
// naming the box (and `index` when >= 0). A box partly outside the image is valid.
Box truncate_and_check(const Box& box, int width, int height, int index = -1);

// The crop matrix of an already truncated box: centre (x1+x2)/2, scale
// min(w, h) / 200 * 1.05, s = 256 / (scale * 200), M = [[s,0,127.5-s*cx],[0,s,127.5-s*cy],[0,0,1]].
CropMatrix crop_matrix(const Box& truncated);

// STAR's GetCropMatrix(256, target_face_scale=1.0, align_corners=True) for a face given as
// STAR's .tsv metadata gives it (scale = face size / 200, centre in image pixels):
// s = 256 / (scale * 200), M = [[s,0,127.5-s*cx],[0,s,127.5-s*cy],[0,0,1]], rounded to float32.
CropMatrix crop_matrix(double scale, double center_x, double center_y);

// Landmarks in [-1, 1] (x, y interleaved, P points) -> image pixels, in double:
// p = ((l + 1) * 256 - 1) / 2, then the inverse of the matrix's affine part.
std::vector<Point> landmarks_to_image(const float* landmarks, int points, const CropMatrix& m);

}  // namespace starface::star
