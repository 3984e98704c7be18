// PyTorch's legacy nearest resize (F.interpolate(mode="nearest", size=...)) on the
// activation's own layout. oneDNN's resampling_nearest rounds (dst + 0.5) * in / out - 0.5
// where PyTorch floors dst * (float)in / out, and the two pick different cells for sizes
// such as 23 -> 45, so this is a gather of our own: per output pixel, one run of adjacent
// channels (all of them in nhwc, a block in nChw{8,16}c, one in nchw) copied from the
// source pixel. Padded channels are copied too, so they stay zero.
#include <omp.h>

#include <cstring>
#include <vector>

#include "backends/onednn/lowering.h"
#include "core/error.h"

namespace starface::backends::onednn {
namespace {

// Source index per output index along one axis.
std::vector<int64_t> source_indices(int64_t in, int64_t out) {
  std::vector<int64_t> index(out);
  for (int64_t i = 0; i < out; ++i) index[i] = graph::nearest_source_index(i, in, out);
  return index;
}

// Copies runs of adjacent channels when both views group channels alike; else (a 1x1 map
// whose layout reads as both nchw and nhwc) channel by channel.
void resize_nearest(const ChannelView& in, const float* x, const ChannelView& out, float* y) {
  const std::vector<int64_t> rows = source_indices(in.height, out.height);
  const std::vector<int64_t> cols = source_indices(in.width, out.width);
  const bool same_grouping = in.block == out.block && in.padded_channels == out.padded_channels;
  // Channels adjacent in memory: a block (all channels in nhwc), or one in nchw.
  const int64_t run = same_grouping ? in.block : 1;
  const int64_t runs = same_grouping && in.block > 1 ? in.padded_channels / in.block : in.channels;
  const size_t bytes = static_cast<size_t>(run) * sizeof(float);
  const int64_t lines = out.batch * runs * out.height;
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < lines; ++line) {
    const int64_t oy = line % out.height;
    const int64_t r = (line / out.height) % runs;
    const int64_t n = line / out.height / runs;
    const int64_t c = r * run;
    for (int64_t ox = 0; ox < out.width; ++ox) {
      std::memcpy(y + out.offset(n, c, oy, ox), x + in.offset(n, c, rows[oy], cols[ox]), bytes);
    }
  }
}

}  // namespace

void lower_upsample_nearest(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  const Shape& xs = b.shape(x);
  const Shape& ys = b.shape(node.output);
  if (xs.size() != 4 || ys.size() != 4 || xs[0] != ys[0] || xs[1] != ys[1]) {
    throw Error(ErrorCode::kShapeMismatch,
                "input " + shape_str(xs) + " does not resize to " + shape_str(ys));
  }
  // The kernel reads the layouts ChannelView knows; anything else goes through nchw.
  memory::desc in_desc = b.desc(x);
  if (!channel_view(in_desc)) in_desc = plain_desc(xs);
  const dnnl::memory src = b.read_as(x, in_desc);
  const memory::desc out_desc = desc_like(in_desc, ys);
  const dnnl::memory dst = b.output(out_desc);
  b.add([src, dst, in = *channel_view(in_desc), out = *channel_view(out_desc)] {
    resize_nearest(in, static_cast<const float*>(src.get_data_handle()), out,
                   static_cast<float*>(dst.get_data_handle()));
  });
}

}  // namespace starface::backends::onednn
