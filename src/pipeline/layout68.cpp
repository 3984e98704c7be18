#include "pipeline/layout68.h"

#include <string>

#include "core/error.h"

namespace starface::pipeline {

const std::array<int, 68>& wflw98_to_ibug68() {
  static const std::array<int, 68> kMap = {
      0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32,  // jaw
      33, 34, 35, 36, 37, 42, 43, 44, 45, 46,                              // brows, upper edge
      51, 52, 53, 54, 55, 56, 57, 58, 59,                                  // nose
      60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75,                      // eyes
      76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87,                      // outer lip
      88, 89, 90, 91, 92, 93, 94, 95};                                     // inner lip
  return kMap;
}

std::vector<Point> to_ibug68(const std::vector<Point>& wflw98) {
  if (wflw98.size() != 98) {
    throw Error(ErrorCode::kBadArgument,
                "--landmarks68 needs a 98-point (WFLW) model, this one has " +
                    std::to_string(wflw98.size()) + " points");
  }
  std::vector<Point> out;
  out.reserve(68);
  for (int k : wflw98_to_ibug68()) out.push_back(wflw98[k]);
  return out;
}

}  // namespace starface::pipeline
