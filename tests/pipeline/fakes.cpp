#include "pipeline/fakes.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <opencv2/imgproc.hpp>
#include <string>

#include "nets/star/landmark_net.h"

namespace starface::testing {

vision::Frame fake_frame(int number, const std::vector<FakeFace>& faces) {
  vision::Frame frame;
  frame.image = cv::Mat::zeros(kFrameHeight, kFrameWidth, CV_8UC3);
  for (const FakeFace& f : faces) {
    cv::rectangle(frame.image, cv::Rect(f.x, f.y, f.size, f.size),
                  cv::Scalar(f.brightness, f.brightness, f.brightness), cv::FILLED);
  }
  frame.number = number;
  frame.timestamp = (number - 1) * 0.04;
  frame.source = "frame" + std::to_string(number) + ".png";
  return frame;
}

pipeline::DetectFaces FakeDetector::fn() {
  return [this](const cv::Mat& image) {
    ++calls;
    cv::Mat gray, mask;
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    cv::threshold(gray, mask, 20, 255, cv::THRESH_BINARY);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    std::vector<retinaface::Detection> found;
    for (const auto& c : contours) {
      const cv::Rect r = cv::boundingRect(c);
      const double grow = r.width / 4.0;
      retinaface::Detection d;
      d.x1 = static_cast<float>(r.x - grow);
      d.y1 = static_cast<float>(r.y - grow);
      d.x2 = static_cast<float>(r.x + r.width + grow);
      d.y2 = static_cast<float>(r.y + r.height + grow);
      d.score = gray.at<uint8_t>(r.y + r.height / 2, r.x + r.width / 2) / 255.0f;
      found.push_back(d);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.score > b.score; });
    return found;
  };
}

Tensor fake_landmarks(const Tensor& crops) {
  const int64_t n = crops.dim(0), h = crops.dim(2), w = crops.dim(3);
  Tensor out(DType::kFloat32, {n, 98, 2});
  float* o = out.data<float>();
  const float* in = crops.data<float>();
  // Crop pixel p -> STAR's [-1, 1]: the inverse of p = ((l + 1) * 256 - 1) / 2.
  auto to_unit = [](double p) { return static_cast<float>((2 * p + 1) / 256.0 - 1); };
  for (int64_t i = 0; i < n; ++i) {
    int x1 = w, y1 = h, x2 = -1, y2 = -1;
    const float* blue = in + i * 3 * h * w;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (blue[y * w + x] <= -0.8f) continue;
        x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x), y2 = std::max(y2, y);
      }
    }
    if (x2 < 0) x1 = x2 = w / 2, y1 = y2 = h / 2;
    for (int p = 0; p < 98; ++p) {
      // Corners first, then the rest along the top edge: the bounding box is the region's.
      const double t = p / 97.0;
      const double px = p == 0 || p == 2 ? x1 : p == 1 || p == 3 ? x2 : x1 + t * (x2 - x1);
      const double py = p == 0 || p == 1 ? y1 : p == 2 || p == 3 ? y2 : y1;
      o[(i * 98 + p) * 2] = to_unit(px);
      o[(i * 98 + p) * 2 + 1] = to_unit(py);
    }
  }
  return out;
}

nets::NetInfo fake_net() { return star::net_info(star::Config{}); }

pipeline::FaceModels fake_models(FakeDetector& detector) {
  return pipeline::FaceModels{detector.fn(), fake_landmarks, fake_net()};
}

void copy_with_corrupt_middle(const std::filesystem::path& video, const std::filesystem::path& to) {
  std::ifstream in(video, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint32_t state = 12345;
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 65536 && i < bytes.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = static_cast<char>(state >> 24);
  }
  std::ofstream(to, std::ios::binary) << bytes;
}

}  // namespace starface::testing
