// The CLI's --box argument: parse "x1,y1,x2,y2", check it against an image, and take it all
// the way to a crop matrix and back to image pixels.
#include <string>

#include "fuzz_target.h"
#include "nets/star/crop.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starface::star;
  return starface::fuzz::run_one([&] {
    const Box box = parse_box(std::string(reinterpret_cast<const char*>(data), size));
    const Box truncated = truncate_and_check(box, 640, 480, 0);
    const CropMatrix m = crop_matrix(truncated);
    const float corners[] = {-1.0f, -1.0f, 1.0f, 1.0f};
    landmarks_to_image(corners, 2, m);
  });
}
