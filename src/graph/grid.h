// The coordinate grid shared by every place that writes or reads normalised cell
// coordinates: the CoordConv planes a net builds, the boundary planes and soft-argmax of each
// backend, and the constants the ONNX export writes. One definition, so that they cannot
// drift apart (the goldens compare them to the last bit).
#pragma once

#include <cstdint>

namespace starface::graph {

// The normalised coordinate of cell `i` of `size` cells: 2 * i / (size - 1) - 1, so the
// first and last cells are -1 and +1 (the centres of the end cells). A single cell has coordinate 0
// (the formula would divide by zero). Inline: the head kernels call it per row inside their
// vectorised loops.
inline double grid_coordinate(int64_t i, int64_t size) {
  if (size <= 1) return 0.0;
  return 2.0 * static_cast<double>(i) / static_cast<double>(size - 1) - 1.0;
}

}  // namespace starface::graph
