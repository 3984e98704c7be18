// One lowering per op kind: each reads its operands from the ProgramBuilder, adds the
// primitives or kernels that compute the node, and sets the node's output. They throw
// starface::Error (kShapeMismatch, ...) without the node's name; the builder adds it.
#pragma once

#include "backends/onednn/program_builder.h"

namespace starface::backends::onednn {

// Dispatches on node.op.
void lower_node(ProgramBuilder& b, const graph::Node& node);

// conv.cpp: convolution with bias, bias map, residual and ReLU.
void lower_conv(ProgramBuilder& b, const graph::Node& node);
// The node's convolution over these data types in the layouts oneDNN prefers (`any`),
// bias float32.
dnnl::convolution_forward::desc conv_desc(ProgramBuilder& b, const graph::Node& node,
                                          memory::data_type src_type,
                                          memory::data_type weights_type,
                                          memory::data_type dst_type);
// A `sum` post-op when dst is prefilled (bias map, residual), then the ReLU / LeakyReLU.
dnnl::post_ops conv_post_ops(const graph::Node& node, bool prefilled);
// The float32 convolution in the layouts oneDNN prefers, with conv_post_ops.
dnnl::convolution_forward::primitive_desc conv_primitive(ProgramBuilder& b, const graph::Node& node,
                                                         bool prefilled);

// The node's output, holding the residual and / or the bias map for a `sum` post-op to
// add the convolution onto (conv_primitive with prefilled), or a fresh buffer.
dnnl::memory conv_destination(ProgramBuilder& b, const graph::Node& node,
                              const memory::desc& dst_desc);
// The node's output holding its residual, for the convolution to accumulate onto (a conv
// with a residual only).
dnnl::memory residual_destination(ProgramBuilder& b, const graph::Node& node,
                                  const memory::desc& dst_desc);

// int8_conv.cpp (--precision int8): a calibrated conv with uint8 input and int8 weights.
// Returns false, having added nothing, for a conv without an int8 input scale.
bool lower_int8_conv(ProgramBuilder& b, const graph::Node& node);

// bf16_conv.cpp (--precision bf16): the conv with bf16 input and weights, float32 bias,
// accumulation and output. Returns false, having added nothing, where oneDNN has no bf16
// kernel for it.
bool lower_bf16_conv(ProgramBuilder& b, const graph::Node& node);

// winograd_conv.cpp (--precision fp32-fast): a 3x3 / stride 1 / pad 1 conv as our Winograd
// F(4x4, 3x3) kernel where that is measured faster than oneDNN's direct conv for the
// layer's shape. Returns false, having added nothing, where the conv stays with oneDNN.
bool lower_winograd_conv(ProgramBuilder& b, const graph::Node& node);

// primitives.cpp: ops oneDNN runs on any layout, in place where the input dies.
void lower_batch_norm(ProgramBuilder& b, const graph::Node& node);
void lower_scale_shift(ProgramBuilder& b, const graph::Node& node);
void lower_eltwise(ProgramBuilder& b, const graph::Node& node);
void lower_binary(ProgramBuilder& b, const graph::Node& node);
void lower_upsample_add(ProgramBuilder& b, const graph::Node& add, const graph::Node& up);
void lower_max_pool(ProgramBuilder& b, const graph::Node& node);
void lower_upsample(ProgramBuilder& b, const graph::Node& node);
void lower_concat(ProgramBuilder& b, const graph::Node& node);

// resize.cpp: PyTorch's legacy nearest resize to another value's size (our own kernel:
// oneDNN's nearest rounds the source index differently for odd sizes).
void lower_upsample_nearest(ProgramBuilder& b, const graph::Node& node);

// head_ops.cpp: our own kernels (head_kernels.h) for the ops oneDNN lacks.
void lower_instance_norm(ProgramBuilder& b, const graph::Node& node);
void lower_soft_argmax(ProgramBuilder& b, const graph::Node& node);
void lower_boundary_planes(ProgramBuilder& b, const graph::Node& node);

// How profiles name a conv run by one of our paths: "Conv2d(int8)+Relu" for `how` "int8".
std::string conv_profile_op(const graph::Node& node, const std::string& how);

// Throws kShapeMismatch "what expected <want>, found <got>" unless the shapes agree.
void expect_shape(const Shape& got, const Shape& want, const std::string& what);

}  // namespace starface::backends::onednn
