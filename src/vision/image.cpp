#include "vision/image.h"

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "core/error.h"

namespace starface::vision {

cv::Mat read_image(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kIo, path + ": no such image file");
  }
  cv::Mat image;
  try {
    image = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kBadInput, path + ": cannot decode image (" + e.msg + ")");
  }
  if (image.empty()) throw Error(ErrorCode::kBadInput, path + ": not a readable image");
  return image;
}

}  // namespace starface::vision
