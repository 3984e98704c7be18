// Stable face ids across frames: each frame's boxes are matched to the faces seen before by
// IoU, greedily from the best overlap down. A match keeps its id; an unmatched box gets a
// new id (ids are never reused); a face unseen for more than `forget_after` frames is
// forgotten, so a face that is missed for a frame or two keeps its id when it returns.
#pragma once

#include <vector>

#include "nets/common/face_geometry.h"

namespace starface::pipeline {

double iou(const Box& a, const Box& b);

class FaceIds {
 public:
  explicit FaceIds(double min_iou = 0.3, int forget_after = 5)
      : min_iou_(min_iou), forget_after_(forget_after) {}
  // Ids for this frame's boxes, in their order; advances the frame count.
  std::vector<int> assign(const std::vector<Box>& boxes);
  // A frame whose faces were tracked, not detected: the given ids moved to these boxes.
  void track(const std::vector<int>& ids, const std::vector<Box>& boxes);

 private:
  struct Known {
    int id;
    Box box;
    int last_seen;
  };
  void start_frame();

  double min_iou_;
  int forget_after_;
  int frame_ = 0;
  int next_id_ = 0;
  std::vector<Known> known_;
};

}  // namespace starface::pipeline
