// The per-frame loop: find faces (detector, or tracking from the previous landmarks), crop,
// landmarks for all faces of the frame in one batch, map back, keep face ids stable.
// Detector and landmark network come in as callbacks, so tests run it on fakes and the CLI
// on RetinaFace and an Engine.
#pragma once

#include <functional>
#include <opencv2/core.hpp>
#include <vector>

#include "core/tensor.h"
#include "nets/retinaface/detection.h"
#include "pipeline/face_ids.h"
#include "pipeline/results.h"
#include "pipeline/stage_profile.h"
#include "pipeline/tracking.h"
#include "vision/face_landmarks.h"
#include "vision/video.h"

namespace starface::pipeline {

// BGR image -> candidates in descending score (vision::detect_faces' contract).
using DetectFaces = std::function<std::vector<retinaface::Detection>(const cv::Mat& bgr)>;
// float32 [N, 3, S, S] crops -> landmarks [N, P, 2] in the net's coordinates
// (Engine::landmarks).
using RunLandmarks = vision::RunLandmarks;

struct FaceModels {
  DetectFaces detect;
  RunLandmarks landmarks;
  // The landmark net (Engine::net): its crop convention, and its P known before the first
  // face (the CSV header needs it).
  nets::NetInfo net;
};

struct TrackOptions {
  int detect_every = 1;        // 1: detect every frame; K: detect every K-th, track between
  int max_faces = 0;           // 0: all faces; N: the N best-scoring ones
  double vis_threshold = 0.5;  // detections below are not faces (OpenFace's vis_threshold)
  double match_iou = 0.3;      // same face across frames when boxes overlap this much
  int forget_after = 5;        // frames a face may be missing and keep its id
};

class FacePipeline {
 public:
  FacePipeline(FaceModels models, TrackOptions options, StageProfile& profile);
  FrameResult process(const vision::Frame& frame);
  // Starts afresh, as for a new video: the next frame is detected, never tracked, and its
  // faces are numbered from 0 again. For images that are not frames of one sequence.
  void forget();

 private:
  struct Track {
    int id;
    float confidence;
    Box detection;                    // the detector's box the track is anchored to
    std::vector<Point> at_detection;  // the landmarks found in that box
    std::vector<Point> latest;        // the landmarks of the last frame
  };

  bool detection_due() const;
  // Landmarks of faces at `boxes` (already valid for the image), in the boxes' order.
  std::vector<FaceResult> landmarks_at(const cv::Mat& image, const std::vector<Box>& boxes);
  void detect(const cv::Mat& image, FrameResult& result);
  const Track* find_track(int id) const;
  // The crop of a detected face that `known` tracked: its carried box when that agrees with
  // the detection (and `fresh` then keeps `known`'s anchor), else the detector's box.
  Box crop_for(const cv::Mat& image, const Track& known, Track& fresh) const;
  // False when tracking is lost; `result` is then left without faces.
  bool track(const cv::Mat& image, FrameResult& result);

  FaceModels models_;
  TrackOptions options_;
  StageProfile& profile_;
  FaceIds ids_;
  std::vector<Track> tracks_;
  int frames_since_detection_ = 0;
};

}  // namespace starface::pipeline
