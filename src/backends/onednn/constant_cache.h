// Constants in the layouts primitives ask for (reordered conv weights, biases, bias maps,
// batch-broadcast CoordConv planes), made on first use and shared by every program of a
// plan, so a second batch size reuses the weights already reordered.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "backends/x86/winograd.h"
#include "graph/graph.h"

namespace starface::backends::onednn {

class ConstantCache {
 public:
  ConstantCache(const dnnl::engine& engine, const graph::Graph& graph)
      : engine_(engine), graph_(graph) {}

  // The constant `value` in its own dense layout, over the graph's storage (read only).
  dnnl::memory plain(graph::ValueId value);
  // The constant laid out as `desc`. When `desc` has more images than the constant (a
  // batch-1 plane pair concatenated to N images) the one image is repeated.
  dnnl::memory get(graph::ValueId value, const dnnl::memory::desc& desc);
  // Conv weights `value` as int8 laid out as `desc` (s8): output channel o divided by
  // scales[o], rounded to nearest and saturated by oneDNN's reorder, which also adds the
  // compensation some int8 kernels keep beside the weights.
  dnnl::memory int8_weights(graph::ValueId value, const dnnl::memory::desc& desc,
                            const std::vector<float>& scales);
  // A float32 vector derived from constants (an int8 conv's rescaled bias), made by `make`
  // on first use of `key`.
  dnnl::memory derived(const std::string& key, const std::function<std::vector<float>()>& make);
  // `count` floats of `fill` ({C} means and variances of a ScaleShift run as BatchNorm).
  dnnl::memory filled(int64_t count, float fill);

  // The Winograd-transformed weights of conv node `node` for kernel ISA `isa`, made by
  // `make` on first use.
  std::shared_ptr<const x86::Winograd3x3> winograd(
      int node, int isa, const std::function<std::unique_ptr<x86::Winograd3x3>()>& make);

  // Bytes this cache allocated (the graph's own constants not included).
  size_t bytes() const { return bytes_; }

 private:
  dnnl::memory make(graph::ValueId value, const dnnl::memory::desc& desc);

  dnnl::engine engine_;
  const graph::Graph& graph_;
  std::map<graph::ValueId, dnnl::memory> plain_;
  std::map<graph::ValueId, std::vector<std::pair<dnnl::memory::desc, dnnl::memory>>> laid_out_;
  std::map<std::pair<int64_t, float>, dnnl::memory> filled_;
  std::map<std::string, dnnl::memory> derived_;
  std::map<std::pair<int, int>, std::shared_ptr<const x86::Winograd3x3>> winograd_;
  size_t bytes_ = 0;
};

}  // namespace starface::backends::onednn
