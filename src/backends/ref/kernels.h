// The reference kernels: one plain function per graph op, on float32 NCHW tensors.
//
// These are the oracle every fast backend is compared against, so they favour accuracy and
// obviousness over speed: reductions and convolutions accumulate in double and round once
// to float32 at the end. Every kernel takes any float32 tensor (strided views are made
// contiguous first), checks shapes itself and throws starface::Error (kShapeMismatch,
// kBadDtype, kBadArgument) naming the operand at fault, and returns a new contiguous
// float32 tensor. Results do not depend on the thread count or on the batch size: every
// output element is computed by one thread in a fixed order.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace starface::backends::ref {

// 2-D convolution with bias: x [N,Ci,H,W], weight [Co,Ci,Kh,Kw], bias [Co] ->
// [N,Co,(H+2p-Kh)/s+1,(W+2p-Kw)/s+1], zero padding `pad` on every side. A defined
// `bias_map` [1,Co,OH,OW] is added per pixel (broadcast over N) inside the accumulation.
// With `groups` g the weight is [Co,Ci/g,Kh,Kw] and output channel o reads only the input
// channels of its group, o / (Co/g) (g = Ci = Co is a depthwise convolution).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad,
              const Tensor& bias_map = Tensor(), int groups = 1);

// Inference batch norm: (x - mean) / sqrt(var + eps) * gamma + beta, per channel of
// x [N,C,H,W]; every parameter is [C].
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                  const Tensor& var, float eps);

// Per channel of x [N,C,H,W]: x * scale + shift (computed in double, rounded once), then
// max(., 0) when `relu`; scale and shift are [C].
Tensor scale_shift(const Tensor& x, const Tensor& scale, const Tensor& shift, bool relu);

// Per (n, c) plane of x [N,C,H,W]: (x - mean) / sqrt(biased variance + eps), no affine.
Tensor instance_norm(const Tensor& x, float eps);

// Elementwise ops on tensors of any rank; add and mul need identical shapes.
Tensor relu(const Tensor& x);  // max(x, 0); NaN stays NaN
// x >= 0 ? x : x * slope, the product in float32 as PyTorch's LeakyReLU; NaN stays NaN.
Tensor leaky_relu(const Tensor& x, float slope);
Tensor sigmoid(const Tensor& x);  // 1 / (1 + exp(-x))
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);

// Max of each non-overlapping 2x2 block of x [N,C,H,W] -> [N,C,H/2,W/2] (odd sizes drop
// the last row / column, as PyTorch's floor mode does). NaN propagates.
Tensor max_pool_2x2(const Tensor& x);
// Nearest-neighbour 2x upsampling: [N,C,H,W] -> [N,C,2H,2W], each value to a 2x2 block.
Tensor upsample_2x(const Tensor& x);

// PyTorch's legacy nearest resize (F.interpolate(mode="nearest", size=...)) of
// x [N,C,H,W] to [N,C,out_h,out_w]: graph::nearest_source_index on each axis.
Tensor upsample_nearest(const Tensor& x, int64_t out_h, int64_t out_w);

// Concatenation along channels of rank-4 tensors with equal H and W. The output batch is
// the largest input batch N; an input with batch 1 is repeated over N (constant planes),
// any other batch must equal N.
Tensor concat(const std::vector<Tensor>& inputs);

// guide [N,C,H,W] -> [N,2,H,W]. With m = clamp(guide[:, C-1], 0, 1) > threshold (strict,
// compared in float32 as PyTorch does), plane 0 is the row coordinate grid_coordinate(i, H)
// and plane 1 the column coordinate grid_coordinate(j, W) (graph/grid.h) where m holds, 0
// elsewhere.
Tensor boundary_planes(const Tensor& guide, float threshold);

// maps [N,P,H,W] -> [N,P,2] (x, y): S = max(sum f, 1e-6), x = sum f * col / S,
// y = sum f * row / S with the grid_coordinate grids, all sums in double.
Tensor soft_argmax(const Tensor& maps);

}  // namespace starface::backends::ref
