// How a rank-4 float activation lies in memory (nchw, nhwc or nChw{8,16}c): what every own
// kernel indexes by (the oneDNN backend's head and ScaleShift kernels, Winograd). Generic, so
// it lives in core, beside Tensor, for any backend to use.
#pragma once

#include <cstdint>

namespace starface {

// A rank-4 float activation: element (n, c, h, w) lies at
// n * image + (c / block) * block_stride + c % block + h * row + w * pixel floats.
// Channels in [channels, padded_channels) are layout padding: read as zero, written as zero.
struct ActivationView {
  int64_t batch = 0, channels = 0, padded_channels = 0, height = 0, width = 0;
  int64_t block = 1;  // channels stored next to each other (padded_channels for nhwc)
  int64_t image = 0, block_stride = 0, row = 0, pixel = 0;

  int64_t offset(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return n * image + (c / block) * block_stride + c % block + h * row + w * pixel;
  }
  // Whether channels [c, c + count) are adjacent in memory.
  bool adjacent(int64_t c, int64_t count) const {
    return block > 1 && c / block == (c + count - 1) / block && c + count <= padded_channels;
  }
};

// A dense nchw view of [batch, channels, height, width].
inline ActivationView nchw_view(int64_t batch, int64_t channels, int64_t height, int64_t width) {
  ActivationView v;
  v.batch = batch;
  v.channels = v.padded_channels = channels;
  v.height = height;
  v.width = width;
  v.block = 1;
  v.pixel = 1;
  v.row = width;
  v.block_stride = height * width;
  v.image = channels * height * width;
  return v;
}

}  // namespace starface
