#include "backends/onednn/constant_cache.h"

#include <algorithm>
#include <cstring>

#include "backends/onednn/layout.h"
#include "core/error.h"

namespace starface::backends::onednn {

dnnl::memory ConstantCache::plain(graph::ValueId value) {
  auto it = plain_.find(value);
  if (it != plain_.end()) return it->second;
  const graph::Value& v = graph_.value(value);
  check_internal(v.is_constant(), "onednn backend: " + v.name + " is not a constant");
  // oneDNN takes a mutable handle; nothing writes through this one (constants are never an
  // op's in-place output).
  void* data = const_cast<float*>(v.constant.data<float>());
  dnnl::memory mem(plain_desc(v.shape), engine_, data);
  plain_.emplace(value, mem);
  return mem;
}

dnnl::memory ConstantCache::get(graph::ValueId value, const dnnl::memory::desc& desc) {
  const memory::desc own = plain_desc(graph_.value(value).shape);
  if (desc == own) return plain(value);
  auto& versions = laid_out_[value];
  for (const auto& [d, mem] : versions) {
    if (d == desc) return mem;
  }
  dnnl::memory mem = make(value, desc);
  versions.emplace_back(desc, mem);
  return mem;
}

dnnl::memory ConstantCache::make(graph::ValueId value, const dnnl::memory::desc& desc) {
  const graph::Value& v = graph_.value(value);
  dnnl::stream stream(engine_);
  dnnl::memory mem(desc, engine_);
  bytes_ += desc.get_size();
  const int64_t images = desc.data.ndims > 0 ? desc.data.dims[0] : 1;
  const int64_t own_images = v.shape.empty() ? 1 : v.shape[0];
  if (desc.data.ndims == 5 && v.shape.size() == 4) {
    // Grouped conv weights: the dense [Co, Ci/G, k, k] seen as [G, Co/G, Ci/G, k, k].
    const memory::desc grouped(desc.dims(), memory::data_type::f32, memory::format_tag::goihw);
    check_internal(grouped.get_size() == v.constant.nbytes(),
                   "onednn backend: constant " + v.name + " of shape " + shape_str(v.shape) +
                       " does not fit grouped weights");
    dnnl::memory source(grouped, engine_, const_cast<float*>(v.constant.data<float>()));
    dnnl::reorder(source, mem).execute(stream, source, mem);
  } else if (images == own_images) {
    dnnl::memory source = plain(value);
    dnnl::reorder(source, mem).execute(stream, source, mem);
  } else {
    check_internal(own_images == 1, "onednn backend: constant " + v.name + " of shape " +
                                        shape_str(v.shape) + " cannot broadcast to " +
                                        std::to_string(images) + " images");
    // One image in the target layout, then copies of it.
    const memory::desc one = with_batch(desc, 1);
    dnnl::memory first = get(value, one);
    const size_t bytes = image_bytes(desc);
    auto* dst = static_cast<std::byte*>(mem.get_data_handle());
    for (int64_t n = 0; n < images; ++n) {
      std::memcpy(dst + n * bytes, first.get_data_handle(), bytes);
    }
  }
  stream.wait();
  return mem;
}

dnnl::memory ConstantCache::int8_weights(graph::ValueId value, const dnnl::memory::desc& desc,
                                         const std::vector<float>& scales) {
  auto& versions = laid_out_[value];
  for (const auto& [d, mem] : versions) {
    if (d == desc) return mem;
  }
  std::vector<float> inverse(scales.size());
  for (size_t o = 0; o < scales.size(); ++o) inverse[o] = 1.0f / scales[o];
  dnnl::primitive_attr attr;
  attr.set_output_scales(1, inverse);  // mask 1: per index of dimension 0, the output channel
  dnnl::memory source = plain(value);
  dnnl::memory mem(desc, engine_);
  bytes_ += desc.get_size();
  dnnl::stream stream(engine_);
  const dnnl::reorder::primitive_desc pd(source, mem, attr);
  dnnl::reorder(pd).execute(stream, source, mem);
  stream.wait();
  versions.emplace_back(desc, mem);
  return mem;
}

dnnl::memory ConstantCache::derived(const std::string& key,
                                    const std::function<std::vector<float>()>& make) {
  auto it = derived_.find(key);
  if (it != derived_.end()) return it->second;
  const std::vector<float> data = make();
  dnnl::memory mem(plain_desc({static_cast<int64_t>(data.size())}), engine_);
  bytes_ += mem.get_desc().get_size();
  std::copy(data.begin(), data.end(), static_cast<float*>(mem.get_data_handle()));
  derived_.emplace(key, mem);
  return mem;
}

dnnl::memory ConstantCache::filled(int64_t count, float fill) {
  auto key = std::make_pair(count, fill);
  auto it = filled_.find(key);
  if (it != filled_.end()) return it->second;
  dnnl::memory mem(plain_desc({count}), engine_);
  bytes_ += mem.get_desc().get_size();
  auto* data = static_cast<float*>(mem.get_data_handle());
  std::fill(data, data + count, fill);
  filled_.emplace(key, mem);
  return mem;
}

std::shared_ptr<const x86::Winograd3x3> ConstantCache::winograd(
    int node, int isa, const std::function<std::unique_ptr<x86::Winograd3x3>()>& make) {
  const std::pair<int, int> key{node, isa};
  auto it = winograd_.find(key);
  if (it != winograd_.end()) return it->second;
  std::shared_ptr<const x86::Winograd3x3> conv = make();
  bytes_ += conv->weight_bytes();
  winograd_.emplace(key, conv);
  return conv;
}

}  // namespace starface::backends::onednn
