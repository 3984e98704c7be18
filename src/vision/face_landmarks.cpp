#include "vision/face_landmarks.h"

#include "vision/crop.h"

namespace starface::vision {

std::vector<FaceLandmarks> detect_landmarks(Engine& engine, const cv::Mat& image_bgr,
                                            const std::vector<star::Box>& boxes) {
  std::vector<FaceLandmarks> faces;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const star::Box t =
        star::truncate_and_check(boxes[i], image_bgr.cols, image_bgr.rows, static_cast<int>(i));
    faces.push_back(FaceLandmarks{boxes[i], star::crop_matrix(t), {}});
  }
  if (faces.empty()) return faces;
  std::vector<cv::Mat> crops;
  for (const FaceLandmarks& f : faces) crops.push_back(warp_crop(image_bgr, f.matrix));
  const Tensor landmarks = engine.landmarks(crops_to_input(crops));
  const int points = static_cast<int>(landmarks.dim(1));
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].points =
        star::landmarks_to_image(landmarks.data<float>() + i * points * 2, points, faces[i].matrix);
  }
  return faces;
}

}  // namespace starface::vision
