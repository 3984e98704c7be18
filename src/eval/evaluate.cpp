#include "eval/evaluate.h"

#include <algorithm>

#include "core/error.h"
#include "vision/crop.h"
#include "vision/image.h"

namespace starface::eval {

namespace {

// WFLW lists the faces of one image on consecutive lines, so keeping the last image read
// avoids decoding it again for each of them.
class ImageCache {
 public:
  explicit ImageCache(std::string root) : root_(std::move(root)) {}

  const cv::Mat& get(const Face& face) {
    const std::string path = resolve_image_path(root_, face.image);
    if (path != path_) {
      try {
        image_ = vision::read_image(path);
      } catch (const Error& e) {
        throw Error(e.code(), face.where + ": " + e.what());
      }
      path_ = path;
    }
    return image_;
  }

 private:
  std::string root_;
  std::string path_;
  cv::Mat image_;
};

void check_points(const std::vector<Face>& faces, Engine& model, Engine* reference) {
  const int points = model.net().points;
  if (reference && reference->net().points != points) {
    throw Error(ErrorCode::kBadArgument, reference->path() + ": the reference model has " +
                                             std::to_string(reference->net().points) +
                                             " landmarks, " + model.path() + " has " +
                                             std::to_string(points));
  }
  if (faces.empty()) return;
  const bool annotated = !faces.front().landmarks.empty();
  for (const Face& face : faces) {
    if (face.landmarks.empty() != !annotated) {
      throw Error(ErrorCode::kBadInput, face.where + ": some faces have ground truth, some not");
    }
    if (annotated && face.points() != points) {
      throw Error(ErrorCode::kBadInput, face.where + ": " + std::to_string(face.points()) +
                                            " ground-truth points, the model " + model.path() +
                                            " predicts " + std::to_string(points));
    }
  }
}

void append(std::vector<float>& out, const Tensor& landmarks) {
  const float* data = landmarks.data<float>();
  out.insert(out.end(), data, data + landmarks.numel());
}

}  // namespace

Predictions predict(const std::vector<Face>& faces, Engine& model, Engine* reference,
                    const RunOptions& options) {
  check_points(faces, model, reference);
  check_internal(options.batch > 0, "predict: batch must be positive");
  Predictions p;
  p.points = model.net().points;
  ImageCache images(options.image_root);
  std::vector<cv::Mat> crops;
  const auto run_batch = [&] {
    if (crops.empty()) return;
    const Tensor input = vision::crops_to_input(crops);
    append(p.model, model.landmarks(input));
    if (reference) append(p.reference, reference->landmarks(input));
    crops.clear();
    if (options.progress) options.progress(p.model.size() / (2 * p.points), faces.size());
  };
  for (const Face& face : faces) {
    const cv::Mat& image = images.get(face);
    const CropMatrix matrix = face_crop_matrix(face, image.cols, image.rows);
    p.matrices.push_back(matrix);
    if (!face.landmarks.empty()) {
      const std::vector<float> truth = ground_truth_in_crop(face, matrix);
      p.truth.insert(p.truth.end(), truth.begin(), truth.end());
    }
    crops.push_back(vision::warp_crop(image, matrix, star::kCropSize));
    if (static_cast<int>(crops.size()) == options.batch) run_batch();
  }
  run_batch();
  return p;
}

std::vector<double> face_nmes(const Predictions& p, const std::vector<float>& landmarks,
                              const NmeConvention& convention) {
  check_internal(p.truth.size() == landmarks.size(), "face_nmes: no ground truth to compare to");
  std::vector<double> nmes;
  const size_t stride = 2 * static_cast<size_t>(p.points);
  for (size_t at = 0; at < landmarks.size(); at += stride) {
    nmes.push_back(image_nme(landmarks.data() + at, p.truth.data() + at, p.points, convention));
  }
  return nmes;
}

std::vector<Summary> accuracy_by_bin(const std::vector<Face>& faces,
                                     const std::vector<double>& nmes, BinAxis axis,
                                     double threshold) {
  check_internal(faces.size() == nmes.size(), "accuracy_by_bin: one NME per face");
  std::vector<double> keys;
  for (const Face& face : faces) {
    if (face.landmarks.empty()) {
      throw Error(ErrorCode::kBadArgument, face.where + ": --by needs faces with ground truth");
    }
    const PoseLandmarks at = pose_landmarks(face.points(), "--by");
    std::vector<double> x, y;
    for (int p = 0; p < face.points(); ++p) {
      x.push_back(face.landmarks[2 * p]);
      y.push_back(face.landmarks[2 * p + 1]);
    }
    keys.push_back(axis == BinAxis::kSize ? inter_ocular_px(x, y, at) : estimate_yaw_deg(x, y, at));
  }
  std::vector<Summary> summaries;
  for (const std::vector<double>& group : group_by_bin(axis, keys, nmes)) {
    summaries.push_back(summarize(group, threshold));
  }
  return summaries;
}

}  // namespace starface::eval
