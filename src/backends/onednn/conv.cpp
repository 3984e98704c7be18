// Convolution: one oneDNN convolution_forward per node, in the layouts oneDNN prefers
// (src / weights / dst `any`), bias as its own argument. What the IR adds after the
// convolution becomes post-ops: the bias map and the residual are written into dst first
// and a `sum` post-op adds the convolution onto them, then the ReLU is an eltwise post-op
// (LeakyReLU: eltwise relu with alpha = slope). A grouped conv gives oneDNN its weights as
// [G, Co/G, Ci/G, k, k], which is the graph's dense [Co, Ci/G, k, k] unchanged.
#include <algorithm>
#include <cstring>

#include "backends/onednn/lowering.h"
#include "core/error.h"
#include "graph/int8.h"

namespace starface::backends::onednn {

using dnnl::convolution_forward;

convolution_forward::desc conv_desc(ProgramBuilder& b, const graph::Node& node,
                                    memory::data_type src_type, memory::data_type weights_type,
                                    memory::data_type dst_type) {
  const graph::ConvAttrs& a = node.conv();
  const Shape& ws = b.shape(node.inputs[1]);
  const auto any = memory::format_tag::any;
  const memory::desc src(to_dims(b.shape(node.inputs[0])), src_type, any);
  memory::dims weight_dims = to_dims(ws);
  if (a.groups > 1) {
    weight_dims = {a.groups, ws[0] / a.groups, ws[1], ws[2], ws[3]};
  }
  const memory::desc weights(weight_dims, weights_type, any);
  const memory::desc bias({ws[0]}, memory::data_type::f32, memory::format_tag::x);
  const memory::desc dst(to_dims(b.shape(node.output)), dst_type, any);
  const memory::dims strides{a.stride, a.stride};
  const memory::dims padding{a.pad, a.pad};
  return convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                   dnnl::algorithm::convolution_direct, src, weights, bias, dst,
                                   strides, padding, padding);
}

dnnl::post_ops conv_post_ops(const graph::Node& node, bool prefilled) {
  dnnl::post_ops post_ops;
  if (prefilled) post_ops.append_sum(1.0f);
  if (const graph::ConvAttrs& a = node.conv(); a.relu) {
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, a.slope, 0.0f);
  }
  return post_ops;
}

convolution_forward::primitive_desc conv_primitive(ProgramBuilder& b, const graph::Node& node,
                                                   bool prefilled) {
  const auto f32 = memory::data_type::f32;
  return convolution_forward::primitive_desc(conv_desc(b, node, f32, f32, f32),
                                             b.attr(conv_post_ops(node, prefilled)), b.engine());
}

namespace {

// Copies `image` bytes to each of `images` consecutive slots of `dst`.
void repeat_image(const void* src, void* dst, size_t image, int64_t images) {
  const int64_t chunks = images * 16;
  const size_t chunk = (image + 15) / 16;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < chunks; ++i) {
    const size_t begin = std::min(image, static_cast<size_t>(i % 16) * chunk);
    const size_t end = std::min(image, begin + chunk);
    std::memcpy(static_cast<std::byte*>(dst) + (i / 16) * image + begin,
                static_cast<const std::byte*>(src) + begin, end - begin);
  }
}

// dst = the bias map, repeated over the batch (it is [1, Co, OH, OW]).
void prefill_bias_map(ProgramBuilder& b, ValueId map, const dnnl::memory& dst) {
  const memory::desc d = dst.get_desc();
  const dnnl::memory one = b.read_as(map, with_batch(d, 1));
  const size_t image = image_bytes(d);
  const int64_t images = d.data.dims[0];
  b.add([one, dst, image, images] {
    repeat_image(one.get_data_handle(), dst.get_data_handle(), image, images);
  });
}

// dst += the bias map, broadcast over the batch (dst already holds the residual).
void add_bias_map(ProgramBuilder& b, ValueId map, const dnnl::memory& dst) {
  const memory::desc d = dst.get_desc();
  const dnnl::memory one = b.read_as(map, with_batch(d, 1));
  const dnnl::binary::desc desc(dnnl::algorithm::binary_add, d, one.get_desc(), d);
  const dnnl::binary::primitive_desc pd(desc, b.attr(), b.engine());
  b.add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, dst}, {DNNL_ARG_SRC_1, one}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
}

void check_operands(ProgramBuilder& b, const graph::Node& node) {
  const graph::ConvAttrs& a = node.conv();
  const Shape& ws = b.shape(node.inputs[1]);
  // The kernel size comes from the weight; the node's attribute must agree with it.
  if (ws.size() != 4 || ws[2] != a.kernel || ws[3] != a.kernel) {
    throw Error(
        ErrorCode::kShapeMismatch,
        "weight " + shape_str(ws) + " does not match kernel size " + std::to_string(a.kernel));
  }
  const Shape& xs = b.shape(node.inputs[0]);
  const int groups = a.groups;
  if (xs.size() != 4 || groups < 1 || xs[1] != ws[1] * groups || ws[0] % groups != 0) {
    throw Error(ErrorCode::kShapeMismatch, "input " + shape_str(xs) + " does not fit weight " +
                                               shape_str(ws) + " in " + std::to_string(groups) +
                                               " groups");
  }
  expect_shape(b.shape(node.inputs[2]), {ws[0]}, "bias");
  const Shape& ys = b.shape(node.output);
  if (a.bias_map) {
    expect_shape(b.shape(graph::conv_bias_map(node)), {1, ys[1], ys[2], ys[3]}, "bias map");
  }
  if (a.residual) expect_shape(b.shape(graph::conv_residual(node)), ys, "residual");
}

}  // namespace

std::string conv_profile_op(const graph::Node& node, const std::string& how) {
  const std::string kind = graph::node_kind(node);  // "Conv2d+..."
  return "Conv2d(" + how + ")" + kind.substr(std::string("Conv2d").size());
}

dnnl::memory residual_destination(ProgramBuilder& b, const graph::Node& node,
                                  const memory::desc& dst_desc) {
  const ValueId residual = graph::conv_residual(node);
  // In the residual's own buffer when nothing reads it later (and the conv does not read it
  // otherwise), else in a copy.
  const bool only_operand = std::count(node.inputs.begin(), node.inputs.end(), residual) == 1;
  if (only_operand) return b.output_accumulating_onto(residual, dst_desc);
  dnnl::memory dst = b.output(dst_desc);
  b.copy(b.read(residual), dst);
  return dst;
}

dnnl::memory conv_destination(ProgramBuilder& b, const graph::Node& node,
                              const memory::desc& dst_desc) {
  const ValueId map = graph::conv_bias_map(node);
  if (graph::conv_residual(node) >= 0) {
    dnnl::memory dst = residual_destination(b, node, dst_desc);
    if (map >= 0) add_bias_map(b, map, dst);
    return dst;
  }
  dnnl::memory dst = b.output(dst_desc);
  if (map >= 0) prefill_bias_map(b, map, dst);
  return dst;
}

namespace {

// The conv in the precision it is assigned; false (the fallback recorded) where it stays
// the exact float32 conv below.
bool lower_in_assigned_precision(ProgramBuilder& b, const graph::Node& node) {
  switch (b.precision_of(node)) {
    case graph::Precision::kFp32:
      return false;
    case graph::Precision::kFp32Winograd:
      return lower_winograd_conv(b, node);
    case graph::Precision::kBf16:
      return lower_bf16_conv(b, node);
    case graph::Precision::kInt8:
      if (lower_int8_conv(b, node)) return true;
      b.fall_back(graph::int8_candidate(b.graph(), node)
                      ? "no calibrated int8 input scale"
                      : "int8 takes dense convs on a computed input with constant weights");
      return false;
  }
  return false;
}

}  // namespace

void lower_conv(ProgramBuilder& b, const graph::Node& node) {
  check_operands(b, node);
  if (lower_in_assigned_precision(b, node)) return;
  const ValueId x = node.inputs[0];
  // The bias map is copied into dst and summed onto rather than read by a per-pixel
  // `binary add` post-op: oneDNN's JIT kernels take that post-op only without batch
  // broadcast, and even at batch 1 it picks slower kernels than brgconv + prefill here.
  const bool prefilled = graph::conv_bias_map(node) >= 0 || graph::conv_residual(node) >= 0;
  const auto pd = conv_primitive(b, node, prefilled);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, b.read_as(x, pd.src_desc())},
      {DNNL_ARG_WEIGHTS, b.read_as(node.inputs[1], pd.weights_desc())},
      {DNNL_ARG_BIAS, b.read_as(node.inputs[2], pd.bias_desc())}};
  args[DNNL_ARG_DST] = conv_destination(b, node, pd.dst_desc());
  b.add(convolution_forward(pd), std::move(args), pd.scratchpad_desc());
}

}  // namespace starface::backends::onednn
