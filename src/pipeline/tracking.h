// Tracking between detections: the next frame's box comes from this frame's landmarks.
//
// A detector box and the landmarks' bounding box differ by a face-specific margin (the
// RetinaFace box reaches the forehead, the landmarks stop at the brows), so on each
// detection the margins are measured relative to the landmark box and then reapplied to
// every later landmark box: the tracked crop stays what the detector would have given.
//
// Tracking is lost, and the frame is detected again, when the new landmarks are implausible
// for the box they came from: their bounding box collapses below half or grows beyond twice
// the previous landmark box in width or height, its centre jumps by more than half that
// box's size, it is smaller than kMinFacePixels, or it leaves the image.
#pragma once

#include <vector>

#include "nets/star/crop.h"

namespace starface::pipeline {

constexpr double kMinFacePixels = 8;

star::Box bounding_box(const std::vector<star::Point>& points);

// Margins of a detector box around a landmark box, in units of the landmark box's size.
struct BoxMargins {
  double left = 0, top = 0, right = 0, bottom = 0;
};

BoxMargins measure_margins(const star::Box& detection, const star::Box& landmark_box);
star::Box apply_margins(const star::Box& landmark_box, const BoxMargins& m);

// The rule above; `previous` and `current` are landmark bounding boxes of consecutive frames.
bool tracking_lost(const star::Box& previous, const star::Box& current, int width, int height);

}  // namespace starface::pipeline
