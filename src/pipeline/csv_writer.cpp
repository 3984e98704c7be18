#include "pipeline/csv_writer.h"

#include <cstdio>

#include "core/error.h"

namespace starface::pipeline {

namespace {

void append_number(std::string& line, const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  line += ',';
  line += buffer;
}

void append_points(std::string& line, const std::vector<Point>* points, int count) {
  for (int axis = 0; axis < 2; ++axis) {
    for (int p = 0; p < count; ++p) {
      const double v = !points ? 0.0 : axis == 0 ? (*points)[p].x : (*points)[p].y;
      append_number(line, "%.4f", v);
    }
  }
}

std::string row(const FrameResult& frame, const FaceResult* face, int points, bool with_file,
                bool with_smooth) {
  std::string line = std::to_string(frame.number);
  if (with_file) line += ',' + csv_field(frame.file);
  line += ',' + std::to_string(face ? face->face_id : 0);
  append_number(line, "%.6f", frame.timestamp);
  append_number(line, "%.4f", face ? face->confidence : 0.0);
  line += face ? ",1" : ",0";
  append_points(line, face ? &face->points : nullptr, points);
  if (with_smooth) append_points(line, face ? &face->smoothed : nullptr, points);
  line += '\n';
  return line;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_header(int points, bool with_file, bool with_smooth) {
  std::string h = with_file ? "frame, file, face_id, timestamp, confidence, success"
                            : "frame, face_id, timestamp, confidence, success";
  for (const char* axis : {"x", "y"}) {
    for (int p = 0; p < points; ++p) h += std::string(", ") + axis + "_" + std::to_string(p);
  }
  if (with_smooth) {
    for (const char* axis : {"x", "y"}) {
      for (int p = 0; p < points; ++p) {
        h += std::string(", ") + axis + "_smooth_" + std::to_string(p);
      }
    }
  }
  return h + "\n";
}

std::string csv_rows(const FrameResult& frame, int points, bool with_file, bool with_smooth) {
  if (frame.faces.empty()) return row(frame, nullptr, points, with_file, with_smooth);
  std::string text;
  for (const FaceResult& face : frame.faces) {
    check_internal(static_cast<int>(face.points.size()) == points,
                   "csv_rows: a face has the wrong number of points");
    check_internal(!with_smooth || static_cast<int>(face.smoothed.size()) == points,
                   "csv_rows: a face has the wrong number of smoothed points");
    text += row(frame, &face, points, with_file, with_smooth);
  }
  return text;
}

}  // namespace starface::pipeline
