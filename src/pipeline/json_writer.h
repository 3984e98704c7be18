// Per-input JSON, streamed frame by frame so a long video never sits in memory:
// {"input": ..., "name": ..., "points": P, "layout": "native"|"ibug68",
//  "frames": [{"frame": 1, "timestamp": s, "detected": true, ("file": name, image inputs only)
//              "faces": [{"face_id", "confidence", "tracked", "box": [x1,y1,x2,y2],
//                         "landmarks": [[x,y], ...]}]}, ...]}
// With --smooth the header also has "smoothing": {"mode": "online"|"offline", its settings},
// and each face "landmarks_smooth": [[x,y], ...] beside the raw "landmarks".
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "pipeline/results.h"

namespace starface::pipeline {

nlohmann::json frame_json(const FrameResult& frame, bool with_file = false);

class JsonStreamWriter {
 public:
  JsonStreamWriter(std::ostream& out, const nlohmann::json& header, bool with_file = false);
  void add(const FrameResult& frame);
  void finish();  // closes the array and the object

 private:
  std::ostream& out_;
  bool with_file_;
  bool first_ = true;
};

}  // namespace starface::pipeline
