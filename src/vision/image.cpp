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
    // OpenCV checks the header's size before it allocates (imgcodecs' validateInputImageSize).
    if (e.err.find("CV_IO_MAX_IMAGE") != std::string::npos) {
      throw Error(ErrorCode::kBadInput, path +
                                            ": image too large: its header declares more "
                                            "than OpenCV's limit of 2^20 pixels a side and "
                                            "2^30 pixels in all");
    }
    throw Error(ErrorCode::kBadInput, path + ": cannot decode image (" + e.err + ")");
  }
  if (image.empty()) throw Error(ErrorCode::kBadInput, path + ": not a readable image");
  return image;
}

}  // namespace starface::vision
