// dump_frames VIDEO OUT_DIR N...: writes frames N (numbered from 1, as `starface run` numbers
// them) of VIDEO as OUT_DIR/frame_<N>.png, decoded exactly as the pipeline decodes them, so
// that `starface eval` sees the pixels `starface run` sees (make_trained_val_tsv.py).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "vision/video.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s VIDEO OUT_DIR N...\n", argv[0]);
    return 1;
  }
  try {
    std::set<int> wanted;
    for (int i = 3; i < argc; ++i) wanted.insert(std::atoi(argv[i]));
    std::filesystem::create_directories(argv[2]);
    starface::vision::VideoSource video(argv[1]);
    starface::vision::Frame frame;
    while (!wanted.empty() && video.next(frame)) {
      if (!wanted.erase(frame.number)) continue;
      const auto path =
          std::filesystem::path(argv[2]) / ("frame_" + std::to_string(frame.number) + ".png");
      if (!cv::imwrite(path.string(), frame.image))
        throw std::runtime_error(path.string() + ": cannot write");
    }
    if (!wanted.empty())
      throw std::runtime_error("the video ends before frame " + std::to_string(*wanted.begin()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_frames: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
