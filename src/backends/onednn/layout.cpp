#include "backends/onednn/layout.h"

#include <string>

#include "core/error.h"

namespace starface::backends::onednn {

using tag = memory::format_tag;

memory::dims to_dims(const Shape& shape) { return memory::dims(shape.begin(), shape.end()); }

memory::desc plain_desc(const Shape& shape) {
  const Shape strides = contiguous_strides(shape);
  return memory::desc(to_dims(shape), memory::data_type::f32, to_dims(strides));
}

std::optional<ChannelView> channel_view(const memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  if (d.ndims != 4 || d.format_kind != dnnl_blocked || d.data_type != dnnl_f32 || d.offset0 != 0) {
    return std::nullopt;
  }
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  ChannelView v;
  v.batch = d.dims[0];
  v.channels = d.dims[1];
  v.padded_channels = d.padded_dims[1];
  v.height = d.dims[2];
  v.width = d.dims[3];
  v.image = b.strides[0];
  v.row = b.strides[2];
  v.pixel = b.strides[3];
  if (b.inner_nblks == 0) {
    if (b.strides[1] == 1) {
      v.block = v.padded_channels;  // nhwc: all channels of a pixel side by side
      v.block_stride = 0;
    } else {
      v.block = 1;
      v.block_stride = b.strides[1];
    }
  } else if (b.inner_nblks == 1 && b.inner_idxs[0] == 1) {
    v.block = b.inner_blks[0];
    v.block_stride = b.strides[1];
  } else {
    return std::nullopt;
  }
  if (v.block < 1) return std::nullopt;
  return v;
}

namespace {

// The format tag of a rank-4 layout we know by name, or `any`.
tag known_tag(const memory::desc& desc) {
  const auto v = channel_view(desc);
  if (!v) return tag::any;
  const memory::desc candidates[] = {
      memory::desc(desc.dims(), memory::data_type::f32, tag::nchw),
      memory::desc(desc.dims(), memory::data_type::f32, tag::nhwc),
      memory::desc(desc.dims(), memory::data_type::f32, tag::nChw8c),
      memory::desc(desc.dims(), memory::data_type::f32, tag::nChw16c)};
  const tag tags[] = {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c};
  for (int i = 0; i < 4; ++i) {
    if (desc == candidates[i]) return tags[i];
  }
  return tag::any;
}

}  // namespace

memory::desc desc_like(const memory::desc& like, const Shape& shape) {
  return memory::desc(to_dims(shape), memory::data_type::f32, known_tag(like));
}

namespace {

bool batch_outermost(const dnnl_memory_desc_t& d) {
  if (d.format_kind != dnnl_blocked || d.ndims < 1 || d.dims[0] != d.padded_dims[0]) {
    return false;
  }
  int64_t image = 1;
  for (int i = 1; i < d.ndims; ++i) image *= d.padded_dims[i];
  return d.format_desc.blocking.strides[0] == image;
}

}  // namespace

memory::desc with_batch(const memory::desc& desc, int64_t batch) {
  dnnl_memory_desc_t d = desc.data;
  check_internal(batch_outermost(d), "onednn backend: layout " + layout_name(desc) +
                                         " does not keep images contiguous");
  d.dims[0] = batch;
  d.padded_dims[0] = batch;
  return memory::desc(d);
}

size_t image_bytes(const memory::desc& desc) {
  check_internal(batch_outermost(desc.data), "onednn backend: layout " + layout_name(desc) +
                                                 " does not keep images contiguous");
  return desc.get_size() / static_cast<size_t>(desc.data.dims[0]);
}

std::string layout_name(const memory::desc& desc) {
  if (desc.data.ndims != 4) return desc.data.ndims == 0 ? "empty" : "plain";
  switch (known_tag(desc)) {
    case tag::nchw:
      return "nchw";
    case tag::nhwc:
      return "nhwc";
    case tag::nChw8c:
      return "nChw8c";
    case tag::nChw16c:
      return "nChw16c";
    default:
      return "other";
  }
}

}  // namespace starface::backends::onednn
