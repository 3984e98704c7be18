// One face found by RetinaFace, in image pixels (OpenFace 3.0's (N,15) row).
#pragma once

#include <array>

namespace starface::retinaface {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // box, not clipped to the image
  float score = 0;                       // face probability (softmax column 1)
  std::array<float, 10> points{};        // lx0, ly0, ..., lx4, ly4: eyes, nose, mouth corners
};

}  // namespace starface::retinaface
