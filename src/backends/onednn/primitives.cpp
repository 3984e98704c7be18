// Lowerings of the ops oneDNN runs on any layout: each keeps its input's layout (the one
// the convolutions chose), so activations flow from conv to conv without reorders, and
// writes in place where its input has no later reader.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backends/onednn/lowering.h"
#include "backends/onednn/scale_shift_kernel.h"
#include "core/error.h"

namespace starface::backends::onednn {
namespace {

// The node's output over `x` when nothing reads x later, else in a new buffer.
dnnl::memory output_maybe_over(ProgramBuilder& b, ValueId x, const memory::desc& d) {
  return b.can_overwrite(x) && b.desc(x) == d ? b.output_over(x, d) : b.output(d);
}

// Inference BatchNorm with the given per-channel parameters, ReLU fused when asked.
void batch_norm(ProgramBuilder& b, ValueId x, const dnnl::memory& scale, const dnnl::memory& shift,
                const dnnl::memory& mean, const dnnl::memory& variance, float eps, bool relu) {
  const memory::desc d = b.desc(x);
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  if (relu) flags |= dnnl::normalization_flags::fuse_norm_relu;
  const dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, d, eps,
                                                     flags);
  const dnnl::batch_normalization_forward::primitive_desc pd(desc, b.attr(), b.engine());
  const dnnl::memory src = b.read(x);
  const dnnl::memory dst = output_maybe_over(b, x, d);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src},     {DNNL_ARG_DST, dst},   {DNNL_ARG_SCALE, scale},
      {DNNL_ARG_SHIFT, shift}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, variance}};
  if (pd.workspace_desc().get_size() > 0) args[DNNL_ARG_WORKSPACE] = b.temp(pd.workspace_desc());
  b.add(dnnl::batch_normalization_forward(pd), std::move(args), pd.scratchpad_desc());
}

void expect_rank4(const Shape& s, const char* what) {
  if (s.size() != 4) {
    throw Error(ErrorCode::kShapeMismatch,
                std::string(what) + " must have rank 4, found " + shape_str(s));
  }
}

// A per-channel parameter [C] as oneDNN reads it.
dnnl::memory channel_vector(ProgramBuilder& b, ValueId v, int64_t channels, const char* what) {
  expect_shape(b.shape(v), {channels}, what);
  return b.read_as(v, plain_desc({channels}));
}

}  // namespace

void lower_batch_norm(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  expect_rank4(b.shape(x), "input");
  const int64_t c = b.shape(x)[1];
  batch_norm(b, x, channel_vector(b, node.inputs[1], c, "gamma"),
             channel_vector(b, node.inputs[2], c, "beta"),
             channel_vector(b, node.inputs[3], c, "running mean"),
             channel_vector(b, node.inputs[4], c, "running var"), node.norm().eps, false);
}

// Our own kernel on the layouts it knows; otherwise (computed parameters, other layouts)
// BatchNorm with mean 0, variance 1 and eps 0, where 1 / sqrt(1) is exact so the result is
// the same one fused multiply-add per element.
void lower_scale_shift(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  const bool relu = node.scale_shift().relu;
  const ValueId scale = node.inputs[1];
  const ValueId shift = node.inputs[2];
  expect_rank4(b.shape(x), "input");
  const int64_t c = b.shape(x)[1];
  expect_shape(b.shape(scale), {c}, "scale");
  expect_shape(b.shape(shift), {c}, "shift");
  const memory::desc d = b.desc(x);
  const auto view = channel_view(d);
  if (!view || !b.is_constant(scale) || !b.is_constant(shift)) {
    batch_norm(b, x, channel_vector(b, scale, c, "scale"), channel_vector(b, shift, c, "shift"),
               b.constants().filled(c, 0.0f), b.constants().filled(c, 1.0f), 0.0f, relu);
    return;
  }
  // Padded channels get 0 * 0 + 0.
  std::vector<float> scales(view->padded_channels, 0.0f);
  std::vector<float> shifts(view->padded_channels, 0.0f);
  std::copy_n(b.graph().value(scale).constant.data<float>(), c, scales.begin());
  std::copy_n(b.graph().value(shift).constant.data<float>(), c, shifts.begin());
  const dnnl::memory src = b.read(x);
  // Read only by int8 convs at one scale: stored as uint8 at it, sparing each of them a
  // quantizing reorder of the float32 map.
  if (const auto q = relu ? b.int8_readers_scale(node.output) : std::nullopt) {
    for (float& value : scales) value /= *q;
    for (float& value : shifts) value /= *q;
    memory::desc as_u8 = d;
    as_u8.data.data_type = dnnl_u8;
    const dnnl::memory dst = b.output(as_u8);  // never over x: a byte would clobber a float
    b.set_output_scale(*q);
    b.add([src, dst, v = *view, scales = std::move(scales), shifts = std::move(shifts)] {
      scale_shift_relu_u8(v, static_cast<const float*>(src.get_data_handle()),
                          static_cast<uint8_t*>(dst.get_data_handle()), scales.data(),
                          shifts.data());
    });
    return;
  }
  const dnnl::memory dst = output_maybe_over(b, x, d);
  b.add([src, dst, v = *view, scales = std::move(scales), shifts = std::move(shifts), relu] {
    scale_shift(v, static_cast<const float*>(src.get_data_handle()),
                static_cast<float*>(dst.get_data_handle()), scales.data(), shifts.data(), relu);
  });
}

void lower_eltwise(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  const memory::desc d = b.desc(x);
  const bool rectifier = node.op == graph::OpKind::kRelu || node.op == graph::OpKind::kLeakyRelu;
  const auto algorithm =
      rectifier ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_logistic;
  // oneDNN's relu takes the negative slope as alpha.
  const float alpha = node.op == graph::OpKind::kLeakyRelu ? node.leaky_relu().slope : 0.0f;
  const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, d, alpha,
                                         0.0f);
  const dnnl::eltwise_forward::primitive_desc pd(desc, b.attr(), b.engine());
  const dnnl::memory src = b.read(x);
  const dnnl::memory dst = output_maybe_over(b, x, d);
  b.add(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
}

void lower_binary(ProgramBuilder& b, const graph::Node& node) {
  if (const graph::Node* up = b.fused_upsample()) return lower_upsample_add(b, node, *up);
  ValueId first = node.inputs[0];
  ValueId second = node.inputs[1];
  if (b.shape(first) != b.shape(second)) {
    throw Error(ErrorCode::kShapeMismatch, "operands " + shape_str(b.shape(first)) + " and " +
                                               shape_str(b.shape(second)) + " differ");
  }
  // Add and Mul commute exactly, so the operand that dies here goes first and takes the
  // result in place.
  if (!b.can_overwrite(first) && b.can_overwrite(second)) std::swap(first, second);
  if (b.is_constant(first) && !b.is_constant(second)) std::swap(first, second);
  const memory::desc d = b.desc(first);
  const auto algorithm =
      node.op == graph::OpKind::kAdd ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
  const dnnl::binary::desc desc(algorithm, d, d, d);
  const dnnl::binary::primitive_desc pd(desc, b.attr(), b.engine());
  const dnnl::memory src0 = b.read(first);
  const dnnl::memory src1 = b.read_as(second, d);
  const dnnl::memory dst = output_maybe_over(b, first, d);
  b.add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
}

void lower_max_pool(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  const Shape& ys = b.shape(node.output);
  expect_rank4(b.shape(x), "input");
  if (ys[2] < 1 || ys[3] < 1) {
    throw Error(ErrorCode::kShapeMismatch,
                "input " + shape_str(b.shape(x)) + " is smaller than the 2x2 window");
  }
  const memory::desc d = b.desc(x);
  // Odd sizes drop the last row / column (floor mode): no right padding needed.
  const dnnl::pooling_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, d, desc_like(d, ys),
      /*strides=*/{2, 2}, /*kernel=*/{2, 2}, /*padding_l=*/{0, 0}, /*padding_r=*/{0, 0});
  const dnnl::pooling_forward::primitive_desc pd(desc, b.attr(), b.engine());
  const dnnl::memory src = b.read(x);
  const dnnl::memory dst = b.output(pd.dst_desc());
  b.add(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
}

void lower_upsample(ProgramBuilder& b, const graph::Node& node) {
  const ValueId x = node.inputs[0];
  expect_rank4(b.shape(x), "input");
  const memory::desc d = b.desc(x);
  const dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference,
                                            dnnl::algorithm::resampling_nearest, d,
                                            desc_like(d, b.shape(node.output)));
  const dnnl::resampling_forward::primitive_desc pd(desc, b.attr(), b.engine());
  const dnnl::memory src = b.read(x);
  const dnnl::memory dst = b.output(pd.dst_desc());
  b.add(dnnl::resampling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
}

// x + Upsample2x(y) as one resampling of y accumulating onto x (a `sum` post-op): the
// upsampled map is never written out. x + u and u + x are the same float sum.
void lower_upsample_add(ProgramBuilder& b, const graph::Node& add, const graph::Node& up) {
  const ValueId low = up.inputs[0];
  const ValueId other = add.inputs[0] == up.output ? add.inputs[1] : add.inputs[0];
  expect_rank4(b.shape(low), "input");
  if (b.shape(other) != b.shape(up.output)) {
    throw Error(ErrorCode::kShapeMismatch, "operands " + shape_str(b.shape(other)) + " and " +
                                               shape_str(b.shape(up.output)) + " differ");
  }
  const memory::desc d = b.desc(other);
  const dnnl::memory dst = b.output_accumulating_onto(other, d);
  dnnl::post_ops sum;
  sum.append_sum(1.0f);
  const dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference,
                                            dnnl::algorithm::resampling_nearest, b.desc(low), d);
  const dnnl::resampling_forward::primitive_desc pd(desc, b.attr(sum), b.engine());
  b.add(dnnl::resampling_forward(pd), {{DNNL_ARG_SRC, b.read(low)}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc());
  b.set_profile_op("Upsample2x+Add");
}

namespace {

// A batch-1 activation repeated over `images` in a temporary (constants are repeated once,
// in the constant cache).
dnnl::memory broadcast(ProgramBuilder& b, ValueId v, const memory::desc& want) {
  if (b.is_constant(v)) return b.constants().get(v, want);
  const dnnl::memory one = b.read_as(v, with_batch(want, 1));
  const dnnl::memory all = b.temp(want);
  const size_t image = image_bytes(want);
  const int64_t images = want.data.dims[0];
  b.add([one, all, image, images] {
    for (int64_t n = 0; n < images; ++n) {
      std::memcpy(static_cast<std::byte*>(all.get_data_handle()) + n * image, one.get_data_handle(),
                  image);
    }
  });
  return all;
}

}  // namespace

void lower_concat(ProgramBuilder& b, const graph::Node& node) {
  const Shape& ys = b.shape(node.output);
  const int64_t batch = ys[0];
  // The output takes the layout of the first activation among the inputs.
  memory::desc layout = plain_desc(ys);
  for (ValueId v : node.inputs) {
    if (!b.is_constant(v)) {
      layout = b.desc(v);
      break;
    }
  }
  memory::desc dst_desc = desc_like(layout, ys);
  if (!channel_view(dst_desc)) dst_desc = plain_desc(ys);

  std::vector<dnnl::memory> sources;
  std::vector<memory::desc> source_descs;
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const ValueId v = node.inputs[k];
    Shape s = b.shape(v);
    expect_rank4(s, "input");
    if ((s[0] != batch && s[0] != 1) || s[2] != ys[2] || s[3] != ys[3]) {
      throw Error(ErrorCode::kShapeMismatch,
                  "input " + std::to_string(k) + " " + shape_str(s) + " does not fit input 0 " +
                      shape_str(b.shape(node.inputs[0])) + " (batch must be " +
                      std::to_string(batch) + " or 1, H and W equal)");
    }
    dnnl::memory mem;
    if (s[0] != batch) {
      s[0] = batch;
      mem = broadcast(b, v, desc_like(dst_desc, s));
    } else if (b.is_constant(v)) {
      mem = b.constants().get(v, desc_like(dst_desc, s));
    } else {
      mem = b.read(v);
    }
    sources.push_back(mem);
    source_descs.push_back(mem.get_desc());
  }
  const dnnl::concat::primitive_desc pd(dst_desc, 1, source_descs, b.engine(), b.attr());
  const dnnl::memory dst = b.output(pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DST, dst}};
  for (size_t k = 0; k < sources.size(); ++k) {
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = sources[k];
  }
  b.add(dnnl::concat(pd), std::move(args), pd.scratchpad_desc());
}

}  // namespace starface::backends::onednn
