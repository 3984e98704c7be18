#include "vision/face_landmarks.h"

#include "core/error.h"
#include "core/timer.h"
#include "vision/crop.h"

namespace starface::vision {

namespace {

// Each box checked and turned into its crop matrix; the points come later.
std::vector<FaceLandmarks> checked_faces(const cv::Mat& image,
                                         const std::vector<star::Box>& boxes) {
  std::vector<FaceLandmarks> faces;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const star::Box t =
        star::truncate_and_check(boxes[i], image.cols, image.rows, static_cast<int>(i));
    faces.push_back(FaceLandmarks{boxes[i], star::crop_matrix(t), {}});
  }
  return faces;
}

Tensor crops_input(const cv::Mat& image, const std::vector<FaceLandmarks>& faces) {
  std::vector<cv::Mat> crops;
  for (const FaceLandmarks& f : faces) crops.push_back(warp_crop(image, f.matrix));
  return crops_to_input(crops);
}

// landmarks [N, P, 2] in [-1, 1] -> each face's points in image pixels.
void map_back(const Tensor& landmarks, std::vector<FaceLandmarks>& faces) {
  check_internal(landmarks.shape().size() == 3 && landmarks.dim(0) == std::ssize(faces) &&
                     landmarks.dim(2) == 2,
                 "landmark network returned an unexpected shape");
  const int points = static_cast<int>(landmarks.dim(1));
  const float* data = landmarks.data<float>();
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].points = star::landmarks_to_image(data + i * points * 2, points, faces[i].matrix);
  }
}

}  // namespace

std::vector<FaceLandmarks> detect_landmarks(const LandmarkNet& net, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes,
                                            const StageTime& time) {
  Timer timer;
  std::vector<FaceLandmarks> faces = checked_faces(image_bgr, boxes);
  if (faces.empty()) return faces;
  const Tensor input = crops_input(image_bgr, faces);
  if (time) time("crop", timer.elapsed_ms());
  timer.reset();
  map_back(net(input), faces);
  if (time) time("landmarks", timer.elapsed_ms());
  return faces;
}

std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes) {
  return detect_landmarks([&engine](const Tensor& crops) { return engine.landmarks(crops); },
                          image_bgr, boxes);
}

}  // namespace starface::vision
