// Memory descriptors for graph values, and the strided view our own kernels read
// activations through. oneDNN chooses the activation layout for convolutions (nhwc for its
// brgemm kernels, nChw16c / nChw8c for the direct AVX-512 / AVX2 ones); every other op
// follows whatever layout its input already has, so no reorder happens between convs.
#pragma once

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>

#include "core/activation_view.h"
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

using ChannelView = ActivationView;

// The view of `desc`, or nullopt for any other layout (kernels then ask for nchw).
std::optional<ChannelView> channel_view(const memory::desc& desc);

// Human-readable layout ("nchw", "nhwc", "nChw16c", "other") for messages and tests.
std::string layout_name(const memory::desc& desc);

}  // namespace starface::backends::onednn
