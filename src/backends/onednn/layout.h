// Memory descriptors for graph values, and the strided view our own kernels read
// activations through. oneDNN chooses the activation layout for convolutions (nhwc for its
// brgemm kernels, nChw16c / nChw8c for the direct AVX-512 / AVX2 ones); every other op
// follows whatever layout its input already has, so no reorder happens between convs.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>

#include "core/tensor.h"

namespace starface::backends::onednn {

using dnnl::memory;

memory::dims to_dims(const Shape& shape);

// Dense row-major float32 (nchw for rank 4).
memory::desc plain_desc(const Shape& shape);

// The layout of `like` (nchw, nhwc or nChw{8,16}c) for another rank-4 shape, such as a
// pooled map or a 2-channel plane pair; format `any` when `like` is some other layout, so
// the primitive picks.
memory::desc desc_like(const memory::desc& like, const Shape& shape);

// `desc` for `batch` images. Only for layouts whose batch dimension is outermost, where
// one image is a contiguous block of desc.get_size() / N bytes; kInternal otherwise.
memory::desc with_batch(const memory::desc& desc, int64_t batch);

// Bytes of one image of a batch-outermost layout.
size_t image_bytes(const memory::desc& desc);

// A rank-4 activation in nchw, nhwc or nChw{8,16}c: element (n, c, h, w) lies at
// n * image + (c / block) * block_stride + c % block + h * row + w * pixel floats.
struct ChannelView {
  int64_t batch = 0, channels = 0, padded_channels = 0, height = 0, width = 0;
  int64_t block = 1;  // channels stored next to each other (C for nhwc)
  int64_t image = 0, block_stride = 0, row = 0, pixel = 0;

  int64_t offset(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return n * image + (c / block) * block_stride + c % block + h * row + w * pixel;
  }
  // Whether channels [c, c + count) are adjacent in memory (nhwc, or inside one block).
  bool adjacent(int64_t c, int64_t count) const {
    return block > 1 && c / block == (c + count - 1) / block;
  }
};

// The view of `desc`, or nullopt for any other layout (kernels then ask for nchw).
std::optional<ChannelView> channel_view(const memory::desc& desc);

// Human-readable layout ("nchw", "nhwc", "nChw16c", "other") for messages and tests.
std::string layout_name(const memory::desc& desc);

}  // namespace starface::backends::onednn
