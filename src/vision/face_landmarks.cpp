#include "vision/face_landmarks.h"

#include "core/error.h"
#include "core/timer.h"
#include "vision/crop.h"

namespace starface::vision {

namespace {

// Each box checked and turned into its crop matrix; the points come later.
std::vector<FaceLandmarks> checked_faces(const nets::NetInfo& net, const cv::Mat& image,
                                         const std::vector<Box>& boxes) {
  std::vector<FaceLandmarks> faces;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box t = truncate_and_check(boxes[i], image.cols, image.rows, static_cast<int>(i));
    faces.push_back(FaceLandmarks{boxes[i], net.crop_matrix(t), {}});
  }
  return faces;
}

Tensor crops_input(const nets::NetInfo& net, const cv::Mat& image,
                   const std::vector<FaceLandmarks>& faces) {
  std::vector<cv::Mat> crops;
  for (const FaceLandmarks& f : faces) crops.push_back(warp_crop(image, f.matrix, net.input_size));
  return crops_to_input(crops);
}

// landmarks [N, P, 2] in the net's coordinates -> each face's points in image pixels.
void map_back(const nets::NetInfo& net, const Tensor& landmarks,
              std::vector<FaceLandmarks>& faces) {
  check_internal(landmarks.shape().size() == 3 && landmarks.dim(0) == std::ssize(faces) &&
                     landmarks.dim(1) == net.points && landmarks.dim(2) == 2,
                 "landmark network returned an unexpected shape");
  const int points = net.points;
  const float* data = landmarks.data<float>();
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].points = net.to_image(data + i * points * 2, faces[i].matrix);
  }
}

}  // namespace

std::vector<FaceLandmarks> detect_landmarks(const RunLandmarks& run, const nets::NetInfo& net,
                                            const cv::Mat& image_bgr, const std::vector<Box>& boxes,
                                            const StageTime& time) {
  Timer timer;
  std::vector<FaceLandmarks> faces = checked_faces(net, image_bgr, boxes);
  if (faces.empty()) return faces;
  const Tensor input = crops_input(net, image_bgr, faces);
  if (time) time("crop", timer.elapsed_ms());
  timer.reset();
  map_back(net, run(input), faces);
  if (time) time("landmarks", timer.elapsed_ms());
  return faces;
}

std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<Box>& boxes) {
  return detect_landmarks([&engine](const Tensor& crops) { return engine.landmarks(crops); },
                          engine.net(), image_bgr, boxes);
}

}  // namespace starface::vision
