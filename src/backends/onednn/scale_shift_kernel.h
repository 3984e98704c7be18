// y = x * scale[c] + shift[c] (one fused multiply-add, rounded once as the reference does),
// then max(y, 0) when asked: the pre-activation BatchNorm + ReLU of every STAR ResBlock.
// oneDNN's batch normalization does the same arithmetic but took 2.3x as long on STAR's
// nhwc maps (276 vs 122 us for 256x64x64, measured), and there are about sixty of these.
#pragma once

#include <cstdint>

#include "backends/onednn/layout.h"

namespace starface::backends::onednn {

// `scale` and `shift` hold view.padded_channels values (0 for padding, which keeps padded
// channels at 0). `x` and `y` share the layout `view` and may be the same buffer.
void scale_shift(const ChannelView& view, const float* x, float* y, const float* scale,
                 const float* shift, bool relu);

// The same with ReLU, stored as uint8 for int8 readers: q = min(255, round(max(y, 0))) with
// `scale` and `shift` already divided by the readers' input scale (y = q * that scale).
// `x` and `q` share the layout `view` (q with one byte per element) and must not overlap.
void scale_shift_relu_u8(const ChannelView& view, const float* x, uint8_t* q, const float* scale,
                         const float* shift);

}  // namespace starface::backends::onednn
