// What the frame loop produces: per frame, the faces with their ids and landmarks.
#pragma once

#include <string>
#include <vector>

#include "nets/common/face_geometry.h"

namespace starface::pipeline {

struct FaceResult {
  int face_id = 0;            // stable across frames (see FaceIds)
  float confidence = 0;       // detector score; on tracked frames, the last detection's
  bool tracked = false;       // box came from the previous landmarks, not the detector
  Box box;                    // the box the crop was made from, image pixels
  std::vector<Point> points;  // image pixels
  // The same points smoothed along the face's track (--smooth; see smoothing.h), else empty.
  std::vector<Point> smoothed;
};

struct FrameResult {
  int number = 0;  // 1-based
  double timestamp = 0;
  std::string file;       // the frame's file name (image inputs; the writers name it there)
  bool detected = false;  // the detector ran on this frame
  std::vector<FaceResult> faces;
};

}  // namespace starface::pipeline
