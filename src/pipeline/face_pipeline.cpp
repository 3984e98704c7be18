#include "pipeline/face_pipeline.h"

#include <filesystem>
#include <utility>

#include "core/error.h"
#include "vision/face_landmarks.h"

namespace starface::pipeline {

namespace {

Box detection_box(const retinaface::Detection& d) { return Box{d.x1, d.y1, d.x2, d.y2}; }

// A box the crop convention refuses (no size after truncation, off the image) is no face.
bool usable(const Box& box, const cv::Mat& image) {
  try {
    truncate_and_check(box, image.cols, image.rows);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

FacePipeline::FacePipeline(FaceModels models, TrackOptions options, StageProfile& profile)
    : models_(std::move(models)),
      options_(options),
      profile_(profile),
      ids_(options.match_iou, options.forget_after) {
  if (options_.detect_every < 1) {
    throw Error(ErrorCode::kBadArgument, "--detect-every must be at least 1");
  }
}

void FacePipeline::forget() {
  tracks_.clear();
  ids_ = FaceIds(options_.match_iou, options_.forget_after);
  frames_since_detection_ = 0;
}

bool FacePipeline::detection_due() const {
  return tracks_.empty() || frames_since_detection_ + 1 >= options_.detect_every;
}

FrameResult FacePipeline::process(const vision::Frame& frame) {
  FrameResult result;
  result.number = frame.number;
  result.timestamp = frame.timestamp;
  // The name, not the path: an image input's files share one folder, and the name keeps the
  // outputs valid when that folder moves.
  result.file = std::filesystem::path(frame.source).filename().string();
  if (detection_due() || !track(frame.image, result)) detect(frame.image, result);
  return result;
}

std::vector<FaceResult> FacePipeline::landmarks_at(const cv::Mat& image,
                                                   const std::vector<Box>& boxes) {
  std::vector<vision::FaceLandmarks> found =
      vision::detect_landmarks(models_.landmarks, models_.net, image, boxes,
                               [this](const char* stage, double ms) { profile_.add(stage, ms); });
  std::vector<FaceResult> faces(found.size());
  for (size_t i = 0; i < found.size(); ++i) {
    faces[i].box = found[i].box;
    faces[i].points = std::move(found[i].points);
  }
  return faces;
}

void FacePipeline::detect(const cv::Mat& image, FrameResult& result) {
  std::vector<retinaface::Detection> found;
  {
    ScopedStage stage(profile_, "detect");
    found = models_.detect(image);
  }
  std::vector<Box> boxes;
  std::vector<float> scores;
  for (const retinaface::Detection& d : found) {
    if (d.score < options_.vis_threshold || !usable(detection_box(d), image)) continue;
    if (options_.max_faces > 0 && std::ssize(boxes) >= options_.max_faces) break;
    boxes.push_back(detection_box(d));
    scores.push_back(d.score);
  }
  result.detected = true;
  const std::vector<int> ids = ids_.assign(boxes);
  std::vector<Track> next;
  std::vector<Box> crops;
  for (size_t i = 0; i < boxes.size(); ++i) {
    next.push_back(Track{ids[i], scores[i], boxes[i], {}, {}});
    const Track* known = find_track(ids[i]);
    crops.push_back(known ? crop_for(image, *known, next.back()) : boxes[i]);
  }
  result.faces = landmarks_at(image, crops);
  ScopedStage stage(profile_, "track");
  for (size_t i = 0; i < next.size(); ++i) {
    FaceResult& face = result.faces[i];
    face.face_id = ids[i];
    face.confidence = scores[i];
    Track& t = next[i];
    if (t.at_detection.empty()) t.at_detection = face.points;  // a fresh anchor
    t.latest = face.points;
  }
  tracks_ = std::move(next);
  frames_since_detection_ = 0;
}

const FacePipeline::Track* FacePipeline::find_track(int id) const {
  for (const Track& t : tracks_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

// Between detections the crop follows the face; at a detection, snapping it to the
// detector's box would make every K-th frame's landmarks jump by the detector's own noise.
// So a tracked face whose carried box agrees with the new detection keeps it (and its
// anchor); a detection that disagrees (the track drifted, or the face changed faster than
// the fit follows) starts afresh from the detector's box.
Box FacePipeline::crop_for(const cv::Mat& image, const Track& known, Track& fresh) const {
  // --detect-every 1: the detector's boxes, as asked.
  if (options_.detect_every < 2) return fresh.detection;
  const Box carried = carry_box(known.detection, known.at_detection, known.latest);
  if (!usable(carried, image) || !boxes_agree(carried, fresh.detection)) return fresh.detection;
  fresh.detection = known.detection;
  fresh.at_detection = known.at_detection;
  return carried;
}

bool FacePipeline::track(const cv::Mat& image, FrameResult& result) {
  std::vector<Box> boxes;
  {
    ScopedStage stage(profile_, "track");
    for (const Track& t : tracks_) {
      boxes.push_back(carry_box(t.detection, t.at_detection, t.latest));
      if (!usable(boxes.back(), image)) return false;
    }
  }
  std::vector<FaceResult> faces = landmarks_at(image, boxes);
  ScopedStage stage(profile_, "track");
  for (size_t i = 0; i < faces.size(); ++i) {
    if (tracking_lost(bounding_box(tracks_[i].latest), bounding_box(faces[i].points), image.cols,
                      image.rows)) {
      return false;
    }
  }
  std::vector<int> ids;
  for (size_t i = 0; i < faces.size(); ++i) {
    tracks_[i].latest = faces[i].points;
    faces[i].face_id = tracks_[i].id;
    faces[i].confidence = tracks_[i].confidence;
    faces[i].tracked = true;
    ids.push_back(tracks_[i].id);
  }
  ids_.track(ids, boxes);
  result.faces = std::move(faces);
  ++frames_since_detection_;
  return true;
}

}  // namespace starface::pipeline
