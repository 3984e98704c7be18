#include "pipeline/face_ids.h"

#include <algorithm>
#include <tuple>

namespace starface::pipeline {

double iou(const Box& a, const Box& b) {
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const double inter = w * h;
  const double area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  const double area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  return inter / (area_a + area_b - inter);
}

void FaceIds::start_frame() {
  ++frame_;
  std::erase_if(known_, [&](const Known& k) { return frame_ - k.last_seen > forget_after_ + 1; });
}

std::vector<int> FaceIds::assign(const std::vector<Box>& boxes) {
  start_frame();
  // Every (overlap, box, known face) pair above the threshold, best first.
  std::vector<std::tuple<double, size_t, size_t>> pairs;
  for (size_t b = 0; b < boxes.size(); ++b) {
    for (size_t k = 0; k < known_.size(); ++k) {
      const double o = iou(boxes[b], known_[k].box);
      if (o >= min_iou_) pairs.emplace_back(o, b, k);
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
  std::vector<int> ids(boxes.size(), -1);
  std::vector<bool> known_taken(known_.size(), false);
  for (const auto& [overlap, b, k] : pairs) {
    if (ids[b] >= 0 || known_taken[k]) continue;
    ids[b] = known_[k].id;
    known_taken[k] = true;
    known_[k].box = boxes[b];
    known_[k].last_seen = frame_;
  }
  for (size_t b = 0; b < boxes.size(); ++b) {
    if (ids[b] >= 0) continue;
    ids[b] = next_id_++;
    known_.push_back(Known{ids[b], boxes[b], frame_});
  }
  return ids;
}

void FaceIds::track(const std::vector<int>& ids, const std::vector<Box>& boxes) {
  start_frame();
  for (size_t i = 0; i < ids.size() && i < boxes.size(); ++i) {
    for (Known& k : known_) {
      if (k.id != ids[i]) continue;
      k.box = boxes[i];
      k.last_seen = frame_;
    }
  }
}

}  // namespace starface::pipeline
