#include "pipeline/json_writer.h"

#include "core/error.h"

namespace starface::pipeline {

nlohmann::json frame_json(const FrameResult& frame, bool with_file) {
  nlohmann::json faces = nlohmann::json::array();
  for (const FaceResult& f : frame.faces) {
    nlohmann::json points = nlohmann::json::array();
    for (const Point& p : f.points) points.push_back({p.x, p.y});
    nlohmann::json face = {{"face_id", f.face_id},
                           {"confidence", f.confidence},
                           {"tracked", f.tracked},
                           {"box", {f.box.x1, f.box.y1, f.box.x2, f.box.y2}},
                           {"landmarks", points}};
    if (!f.smoothed.empty()) {
      nlohmann::json smoothed = nlohmann::json::array();
      for (const Point& p : f.smoothed) smoothed.push_back({p.x, p.y});
      face["landmarks_smooth"] = smoothed;
    }
    faces.push_back(face);
  }
  nlohmann::json j = {{"frame", frame.number},
                      {"timestamp", frame.timestamp},
                      {"detected", frame.detected},
                      {"faces", faces}};
  if (with_file) j["file"] = frame.file;
  return j;
}

JsonStreamWriter::JsonStreamWriter(std::ostream& out, const nlohmann::json& header, bool with_file)
    : out_(out), with_file_(with_file) {
  check_internal(header.is_object() && !header.contains("frames"),
                 "JSON header must be an object without frames");
  std::string text = header.dump();
  text.pop_back();  // reopen the object to append "frames"
  out_ << text << (header.empty() ? "" : ",") << "\"frames\":[\n";
}

void JsonStreamWriter::add(const FrameResult& frame) {
  out_ << (first_ ? "" : ",\n") << frame_json(frame, with_file_).dump();
  first_ = false;
}

void JsonStreamWriter::finish() { out_ << "\n]}\n"; }

}  // namespace starface::pipeline
