// WFLW-98 -> iBUG/300W-68 (shared/reference/ecosystem.md 5.2): contour every second point,
// brows' upper edges, eyes without their 4 in-between points, nose and lips as they are.
#pragma once

#include <array>
#include <vector>

#include "nets/common/face_geometry.h"

namespace starface::pipeline {

// Element k is the WFLW index used for iBUG point k.
const std::array<int, 68>& wflw98_to_ibug68();

// 98 points -> 68 points (kBadArgument for any other count: --landmarks68 needs a WFLW model).
std::vector<Point> to_ibug68(const std::vector<Point>& wflw98);

}  // namespace starface::pipeline
