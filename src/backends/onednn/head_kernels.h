// Our own kernels for the ops oneDNN has no primitive for: the [N,P,64,64] head maps of
// STAR. They read and write the activation's layout in place of converting it (nchw, nhwc
// and nChw{8,16}c through ChannelView), keep padded channels at zero, and accumulate
// statistics and sums in double, as the reference kernels do, to stay well inside the
// golden tolerances. OpenMP over (image, group of channels); the inner loops run over
// adjacent channels, compiled by Highway for each SimdTarget (core/cpu.h) and chosen per
// call.
#pragma once

#include "backends/onednn/layout.h"

namespace starface::backends::onednn {

// Per (n, c): (x - mean) / sqrt(biased variance + eps) over the H x W plane. `x` and `y`
// share the layout `view` and may be the same buffer.
void instance_norm(const ChannelView& view, const float* x, float* y, float eps);

// maps -> y [N, C, 2] dense: (x, y) = sum f * (column, row) / max(sum f, 1e-6).
void soft_argmax(const ChannelView& view, const float* maps, float* y);

// guide -> y [N, 2, H, W] in `out`'s layout: the row and column coordinates where
// clamp(guide[:, C-1], 0, 1) > threshold (compared in float32), 0 elsewhere.
void boundary_planes(const ChannelView& guide_view, const float* guide, float threshold,
                     const ChannelView& out, float* y);

}  // namespace starface::backends::onednn
