// Tracking between detections: the next frame's box comes from this frame's landmarks.
//
// The detector's box is carried along with the face: moved, scaled (and its centre rotated)
// by the least-squares similarity from the landmarks found at the detection to the latest
// ones. The crop stays what the detector would have given, and it moves with the face, not
// with the landmarks' noise: a fit over all points averages their jitter, where a box
// around the landmarks (their extreme points: jaw contour, brows) moves with every jitter
// of those few points, and a crop that moves feeds the jitter back into the next frame's
// landmarks (docs/ACCURACY.md, "Stability").
//
// Tracking is lost, and the frame is detected again, when the new landmarks are implausible
// for the box they came from: their bounding box collapses below half or grows beyond twice
// the previous landmark box in width or height, its centre jumps by more than half that
// box's size, it is smaller than kMinFacePixels, or it leaves the image.
#pragma once

#include <vector>

#include "nets/common/face_geometry.h"

namespace starface::pipeline {

constexpr double kMinFacePixels = 8;

Box bounding_box(const std::vector<Point>& points);

// `detection` moved as the face moved from `at_detection` to `now` (the same points).
Box carry_box(const Box& detection, const std::vector<Point>& at_detection,
              const std::vector<Point>& now);

// Two boxes of one face agree when their centres are within kBoxAgreement of the second's
// size on each axis and their sizes within that ratio: the detector's own frame-to-frame
// noise on a still face is well inside this, a drifted track is not.
constexpr double kBoxAgreement = 0.1;
bool boxes_agree(const Box& a, const Box& b);

// The rule above; `previous` and `current` are landmark bounding boxes of consecutive frames.
bool tracking_lost(const Box& previous, const Box& current, int width, int height);

}  // namespace starface::pipeline
