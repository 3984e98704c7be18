// Face boxes, points and crop matrices: the geometry every landmark network's crop
// convention is written in (LandmarkNet), and what the front ends pass around. Pure
// arithmetic: the warp itself lives in vision/.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace starface {

struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct Point {
  double x = 0, y = 0;
};

// Image -> crop, row-major 3x3 in float32 (as the reference implementations store it).
using CropMatrix = std::array<float, 9>;

// Parses "x1,y1,x2,y2" (throws kBadArgument naming the text).
Box parse_box(const std::string& text);

// Truncates the box toward zero (numpy astype(int)) and checks it against a width x height
// image: NaN/infinite, zero or negative size, or no overlap with the image is kBadInput
// naming the box (and `index` when >= 0). A box partly outside the image is valid.
Box truncate_and_check(const Box& box, int width, int height, int index = -1);

// Crop pixels -> image pixels through the inverse of the matrix's affine part, in double.
std::vector<Point> crop_to_image(const std::vector<Point>& crop_points, const CropMatrix& m);

}  // namespace starface
