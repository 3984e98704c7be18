// OpenFace 2 style landmark CSV (shared/reference/ecosystem.md section 3): header
// "frame, face_id, timestamp, confidence, success, x_0, ..., x_{P-1}, y_0, ..., y_{P-1}"
// (comma + space in the header, plain commas in rows), one row per face per frame, and a
// row with success 0 (face_id 0, zeros) for a frame without a face, so no frame is skipped.
// Image inputs get a `file` column after `frame` (the image's file name, quoted as RFC 4180
// says when it holds a comma, quote or line break): readers select OpenFace columns by name.
// With smoothing (--smooth), the smoothed points follow the raw ones in extra columns
// x_smooth_0, ..., x_smooth_{P-1}, y_smooth_0, ..., y_smooth_{P-1}; x_i / y_i stay raw.
#pragma once

#include <ostream>
#include <string>

#include "pipeline/results.h"

namespace starface::pipeline {

std::string csv_header(int points, bool with_file = false, bool with_smooth = false);

// The rows of one frame, each ending in '\n'. Faces must carry `points` points, and as many
// smoothed ones with `with_smooth` (kInternal).
std::string csv_rows(const FrameResult& frame, int points, bool with_file = false,
                     bool with_smooth = false);

// A CSV field: as it is, or quoted with its quotes doubled when it holds , " \r or \n.
std::string csv_field(const std::string& text);

}  // namespace starface::pipeline
