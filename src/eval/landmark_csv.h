// Reader for the landmark CSVs `starface run` writes (OpenFace 2 style): columns are found by
// name, so a `file` column (image inputs) or any other extra column is skipped, and header
// names may be padded with spaces (", " separators, as pandas' skipinitialspace reads them).
#pragma once

#include <string>
#include <vector>

namespace starface::eval {

struct LandmarkRow {
  long frame = 0;
  int face_id = 0;
  double timestamp = 0;
  bool success = false;
  std::vector<double> x, y;  // image pixels, `points` each
};

struct LandmarkTable {
  std::string path;
  int points = 0;  // number of x_i (and y_i) columns: x_0..x_{points-1}
  std::vector<LandmarkRow> rows;
};

// Which landmark columns to read: the raw x_i / y_i, or the smoothed x_smooth_i / y_smooth_i
// that `starface run --smooth` adds.
enum class PointColumns { kRaw, kSmooth };

// Needs the columns frame, face_id, success and x_0..x_{P-1}, y_0..y_{P-1} (P >= 2;
// timestamp is read when present; x_smooth_i, y_smooth_i with kSmooth). A missing file is
// kIo; a missing column, a row with the wrong field count or a field that is not a number is
// kBadInput naming file, line and column.
LandmarkTable read_landmark_csv(const std::string& path, PointColumns points = PointColumns::kRaw);

// One CSV line split into fields as RFC 4180 reads them ("a, ""b""" -> `a`, `"b"`); spaces
// around an unquoted field are dropped. Throws kBadInput (with `where`) on a quote left open.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where);

}  // namespace starface::eval
