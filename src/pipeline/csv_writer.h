// OpenFace 2 style landmark CSV (shared/reference/ecosystem.md section 3): header
// "frame, face_id, timestamp, confidence, success, x_0, ..., x_{P-1}, y_0, ..., y_{P-1}"
// (comma + space in the header, plain commas in rows), one row per face per frame, and a
// row with success 0 (face_id 0, zeros) for a frame without a face, so no frame is skipped.
// Image inputs get a `file` column after `frame` (the image's file name, quoted as RFC 4180
// says when it holds a comma, quote or line break): readers select OpenFace columns by name.
#pragma once

#include <ostream>
#include <string>

#include "pipeline/results.h"

namespace starface::pipeline {

std::string csv_header(int points, bool with_file = false);

// The rows of one frame, each ending in '\n'. Faces must carry `points` points (kInternal).
std::string csv_rows(const FrameResult& frame, int points, bool with_file = false);

// A CSV field: as it is, or quoted with its quotes doubled when it holds , " \r or \n.
std::string csv_field(const std::string& text);

}  // namespace starface::pipeline
