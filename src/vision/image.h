// Image files in and out (OpenCV), with errors that name the file.
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace starface::vision {

// Reads a colour image as BGR uint8 (as cv2.imread gives it). A missing file is kIo; a file
// that is not a decodable image is kBadInput.
cv::Mat read_image(const std::string& path);

}  // namespace starface::vision
