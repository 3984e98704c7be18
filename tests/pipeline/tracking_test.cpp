// Face ids and tracking on synthetic frames: faces move, appear and disappear; ids stay with
// their face; tracking between detections follows the motion and re-detects when lost.
#include "pipeline/tracking.h"

#include <gtest/gtest.h>

#include <cmath>

#include "pipeline/face_ids.h"
#include "pipeline/face_pipeline.h"
#include "pipeline/fakes.h"

namespace starface::testing {
namespace {

using pipeline::FaceResult;
using pipeline::FrameResult;

// The face in `result` whose box centre is nearest the fake face's centre.
const FaceResult* face_at(const FrameResult& result, const FakeFace& f) {
  const FaceResult* best = nullptr;
  double best_d = 1e9;
  for (const FaceResult& r : result.faces) {
    const double cx = (r.box.x1 + r.box.x2) / 2 - (f.x + f.size / 2.0);
    const double cy = (r.box.y1 + r.box.y2) / 2 - (f.y + f.size / 2.0);
    if (std::hypot(cx, cy) < best_d) best_d = std::hypot(cx, cy), best = &r;
  }
  return best_d < 10 ? best : nullptr;
}

struct Clip {
  FakeDetector detector;
  pipeline::StageProfile profile;
  std::unique_ptr<pipeline::FacePipeline> pipe;
  explicit Clip(pipeline::TrackOptions options = {}) {
    pipe = std::make_unique<pipeline::FacePipeline>(fake_models(detector), options, profile);
  }
  FrameResult frame(int number, const std::vector<FakeFace>& faces) {
    return pipe->process(fake_frame(number, faces));
  }
};

TEST(Iou, OverlapOfBoxes) {
  EXPECT_DOUBLE_EQ(pipeline::iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0);
  EXPECT_DOUBLE_EQ(pipeline::iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(pipeline::iou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0);
}

TEST(FaceIds, KeepIdsOfMovingFacesAndGiveNewOnesToNewFaces) {
  pipeline::FaceIds ids(0.3, 2);
  EXPECT_EQ(ids.assign({{0, 0, 10, 10}, {50, 50, 60, 60}}), (std::vector<int>{0, 1}));
  // Listed in the other order and moved a little: same ids, by overlap.
  EXPECT_EQ(ids.assign({{52, 50, 62, 60}, {2, 0, 12, 10}}), (std::vector<int>{1, 0}));
  // A third face appears, face 0 is gone.
  EXPECT_EQ(ids.assign({{100, 0, 110, 10}, {52, 50, 62, 60}}), (std::vector<int>{2, 1}));
  // Face 0 returns after one missing frame: still known.
  EXPECT_EQ(ids.assign({{2, 0, 12, 10}}), (std::vector<int>{0}));
  // Faces 1 and 2 missing for more than 2 frames are forgotten; ids are never reused.
  ids.assign({});
  ids.assign({});
  ids.assign({});
  EXPECT_EQ(ids.assign({{52, 50, 62, 60}}), (std::vector<int>{3}));
}

// The detector's box follows the face's similarity motion: unmoved landmarks keep it;
// landmarks shifted by (5, -3) and scaled 1.2 about their centre shift and scale it alike;
// noise on single points moves it by the fit's average, not by the extreme point.
TEST(Tracking, CarriedBoxFollowsTheFaceNotSinglePoints) {
  const Box det{10, 0, 110, 120};
  const std::vector<Point> pts{{30, 30}, {90, 30}, {60, 70}, {40, 110}, {80, 110}};
  const Box same = pipeline::carry_box(det, pts, pts);
  EXPECT_NEAR(same.x1, det.x1, 1e-9);
  EXPECT_NEAR(same.y2, det.y2, 1e-9);
  const double cx = 66, cy = 70;  // the points' centroid
  std::vector<Point> moved;
  for (const auto& p : pts) moved.push_back({cx + 1.2 * (p.x - cx) + 5, cy + 1.2 * (p.y - cy) - 3});
  const Box b = pipeline::carry_box(det, pts, moved);
  EXPECT_NEAR(b.x1, cx + 1.2 * (det.x1 - cx) + 5, 1e-9);
  EXPECT_NEAR(b.y1, cy + 1.2 * (det.y1 - cy) - 3, 1e-9);
  EXPECT_NEAR(b.x2, cx + 1.2 * (det.x2 - cx) + 5, 1e-9);
  EXPECT_NEAR(b.y2, cy + 1.2 * (det.y2 - cy) - 3, 1e-9);
  // One jaw point 10 px further out: a landmark bounding box would grow by 10 px; the
  // carried box moves by far less.
  std::vector<Point> jitter = pts;
  jitter[3].x -= 10;
  const Box j = pipeline::carry_box(det, pts, jitter);
  EXPECT_LT(std::fabs(j.x1 - det.x1), 5.0);
}

TEST(Tracking, LostRule) {
  const Box lm{30, 30, 90, 110};
  // Moved by 20 px (a third of the box): still tracked; collapsed, exploded or jumped: lost.
  EXPECT_FALSE(pipeline::tracking_lost(lm, {50, 30, 110, 110}, 640, 480));
  EXPECT_TRUE(pipeline::tracking_lost(lm, {60, 70, 61, 71}, 640, 480));
  EXPECT_TRUE(pipeline::tracking_lost(lm, {0, 0, 200, 250}, 640, 480));
  EXPECT_TRUE(pipeline::tracking_lost(lm, {70, 30, 130, 110}, 640, 480));
  EXPECT_TRUE(pipeline::tracking_lost(lm, {-70, 30, -10, 110}, 640, 480));
}

TEST(FacePipeline, DetectEveryFrameKeepsIdsOfMovingFaces) {
  Clip run;
  for (int n = 1; n <= 12; ++n) {
    const FakeFace a{20 + 4 * n, 30, 60, 250};   // moves right
    const FakeFace b{200, 20 + 5 * n, 60, 230};  // moves down
    const FrameResult r = run.frame(n, {a, b});
    ASSERT_EQ(r.faces.size(), 2u) << "frame " << n;
    EXPECT_TRUE(r.detected);
    const FaceResult* fa = face_at(r, a);
    const FaceResult* fb = face_at(r, b);
    ASSERT_TRUE(fa && fb) << "frame " << n;
    EXPECT_EQ(fa->face_id, 0);
    EXPECT_EQ(fb->face_id, 1);
    EXPECT_NEAR(fa->confidence, 250 / 255.0, 1e-6);
    EXPECT_FALSE(fa->tracked);
    // The landmarks are on the square: the fake network saw the right crop, mapped back.
    EXPECT_NEAR(fa->points[0].x, a.x, 1.0);
    EXPECT_NEAR(fa->points[3].y, a.y + a.size - 1, 1.0);
  }
  EXPECT_EQ(run.detector.calls, 12);
  EXPECT_EQ(run.profile.calls("landmarks"), 12);  // both faces of a frame in one batch
}

TEST(FacePipeline, FacesAppearDisappearAndReturn) {
  Clip run;
  const FakeFace a{20, 30, 60, 250};
  const FakeFace c{200, 120, 50, 240};
  auto ids_of = [](const FrameResult& r) {
    std::vector<int> ids;
    for (const FaceResult& f : r.faces) ids.push_back(f.face_id);
    return ids;
  };
  EXPECT_EQ(ids_of(run.frame(1, {a})), (std::vector<int>{0}));
  EXPECT_EQ(ids_of(run.frame(2, {a, c})), (std::vector<int>{0, 1}));  // c appears
  EXPECT_EQ(ids_of(run.frame(3, {c})), (std::vector<int>{1}));        // a gone
  EXPECT_EQ(ids_of(run.frame(4, {})), (std::vector<int>{}));          // nobody
  EXPECT_EQ(ids_of(run.frame(5, {a, c})), (std::vector<int>{0, 1}));  // both back, ids kept
  for (int n = 6; n <= 14; ++n) run.frame(n, {c});                    // a away for long
  const FrameResult r = run.frame(15, {a, c});
  ASSERT_EQ(r.faces.size(), 2u);
  EXPECT_EQ(face_at(r, c)->face_id, 1);
  EXPECT_EQ(face_at(r, a)->face_id, 2);  // forgotten: a new id
}

TEST(FacePipeline, VisThresholdAndMaxFaces) {
  pipeline::TrackOptions options;
  options.max_faces = 1;
  Clip run(options);
  const FakeFace dim{20, 30, 60, 100};  // score 0.39: below 0.5, not a face
  const FakeFace good{200, 30, 60, 200};
  const FakeFace best{120, 140, 60, 250};
  FrameResult r = run.frame(1, {dim, good, best});
  ASSERT_EQ(r.faces.size(), 1u);
  EXPECT_EQ(face_at(r, best), &r.faces[0]);
  Clip all;
  r = all.frame(1, {dim, good, best});
  EXPECT_EQ(r.faces.size(), 2u);
  EXPECT_EQ(face_at(r, dim), nullptr);
}

TEST(FacePipeline, TracksBetweenDetectionsAndFollowsMotion) {
  pipeline::TrackOptions options;
  options.detect_every = 5;
  Clip run(options);
  for (int n = 1; n <= 12; ++n) {
    const FakeFace a{20 + 6 * n, 40 + 2 * n, 70, 250};
    const FrameResult r = run.frame(n, {a});
    ASSERT_EQ(r.faces.size(), 1u) << "frame " << n;
    const bool detect_frame = n == 1 || n == 6 || n == 11;
    EXPECT_EQ(r.detected, detect_frame) << "frame " << n;
    EXPECT_EQ(r.faces[0].tracked, !detect_frame) << "frame " << n;
    EXPECT_EQ(r.faces[0].face_id, 0);
    EXPECT_NEAR(r.faces[0].confidence, 250 / 255.0, 1e-6);  // the last detection's
    // Tracked or detected, the landmarks sit on the moving square.
    EXPECT_NEAR(r.faces[0].points[0].x, a.x, 1.0) << "frame " << n;
    EXPECT_NEAR(r.faces[0].points[0].y, a.y, 1.0) << "frame " << n;
  }
  EXPECT_EQ(run.detector.calls, 3);
  EXPECT_EQ(run.profile.calls("detect"), 3);
  EXPECT_EQ(run.profile.calls("landmarks"), 12);
}

// At a detection, a tracked face whose carried box agrees with the detector's keeps the
// carried box (the crop does not jump by the detector's noise every K-th frame); one that
// disagrees by more than kBoxAgreement starts afresh from the detector's box.
TEST(FacePipeline, DetectionKeepsTheCarriedBoxWhenTheyAgree) {
  for (const double shift : {3.0, 20.0}) {  // 3 px: within 10 % of a 105 px box; 20: not
    SCOPED_TRACE(shift);
    FakeDetector fake;
    pipeline::FaceModels models = fake_models(fake);
    int calls = 0;
    // The detector's box, shifted right on its second call (frame 6).
    models.detect = [inner = models.detect, &calls, shift](const cv::Mat& image) {
      auto found = inner(image);
      if (++calls == 2) {
        for (auto& d : found) d.x1 += shift, d.x2 += shift;
      }
      return found;
    };
    pipeline::TrackOptions options;
    options.detect_every = 5;
    pipeline::StageProfile profile;
    pipeline::FacePipeline pipe(models, options, profile);
    const FakeFace still{100, 60, 70, 250};
    const FrameResult first = pipe.process(fake_frame(1, {still}));
    for (int n = 2; n <= 5; ++n) pipe.process(fake_frame(n, {still}));
    const FrameResult sixth = pipe.process(fake_frame(6, {still}));
    ASSERT_TRUE(sixth.detected);
    ASSERT_EQ(sixth.faces.size(), 1u);
    const double expected_x1 = first.faces[0].box.x1 + (shift > 10 ? shift : 0.0);
    EXPECT_NEAR(sixth.faces[0].box.x1, expected_x1, 1e-6);
    EXPECT_EQ(sixth.faces[0].face_id, 0);
  }
}

TEST(FacePipeline, LostTrackingRedetectsAtOnce) {
  pipeline::TrackOptions options;
  options.detect_every = 100;
  Clip run(options);
  const FakeFace a{40, 40, 70, 250};
  run.frame(1, {a});
  run.frame(2, {a});
  EXPECT_EQ(run.detector.calls, 1);
  // The face vanishes: its crop holds nothing, the landmarks collapse, the frame is detected.
  FrameResult r = run.frame(3, {});
  EXPECT_TRUE(r.detected);
  EXPECT_TRUE(r.faces.empty());
  EXPECT_EQ(run.detector.calls, 2);
  // Nothing to track: detect on every frame until a face is back, which keeps its id.
  run.frame(4, {});
  r = run.frame(5, {a});
  EXPECT_EQ(run.detector.calls, 4);
  ASSERT_EQ(r.faces.size(), 1u);
  EXPECT_EQ(r.faces[0].face_id, 0);
  // A jump far from the old box: lost, and the detector finds it where no face was: new id.
  const FakeFace moved{220, 150, 70, 250};
  r = run.frame(6, {moved});
  EXPECT_TRUE(r.detected);
  ASSERT_EQ(r.faces.size(), 1u);
  EXPECT_EQ(r.faces[0].face_id, 1);
}

TEST(FacePipeline, DetectEveryBelowOneIsAnError) {
  pipeline::TrackOptions options;
  options.detect_every = 0;
  EXPECT_THROW(Clip run(options), Error);
}

}  // namespace
}  // namespace starface::testing
