// --precision bf16: a conv as oneDNN's bf16 convolution (avx512_bf16's vdpbf16ps: pairs of
// bf16 products summed in float32). Input and weights are rounded to bf16 (8 significant
// bits: a relative error of at most 2^-8 each); bias, accumulation and post-ops stay
// float32. The output stays float32 for every other op and our head kernels, except where
// only bf16 convs read it: then it is written as bf16. The weights are converted once; a
// float32 input is converted by a reorder before the conv.
// oneDNN's other way, float32 convs under fpmath_mode::bf16, runs its float32 kernels on
// this oneDNN (2.6: brgconv:avx512_core, no bf16 arithmetic, measured), so it is not used.
#include "backends/onednn/lowering.h"

namespace starface::backends::onednn {

using dnnl::convolution_forward;

bool lower_bf16_conv(ProgramBuilder& b, const graph::Node& node) {
  const auto bf16 = memory::data_type::bf16;
  const bool prefilled = graph::conv_bias_map(node) >= 0 || graph::conv_residual(node) >= 0;
  // An output only bf16 convs read is stored as bf16: they would round it so anyway, and
  // it saves them a reorder and half the bytes.
  const auto dst_type =
      !prefilled && b.only_bf16_conv_readers(node.output) ? bf16 : memory::data_type::f32;
  convolution_forward::primitive_desc pd;
  try {
    pd = convolution_forward::primitive_desc(conv_desc(b, node, bf16, bf16, dst_type),
                                             b.attr(conv_post_ops(node, prefilled)), b.engine());
  } catch (const dnnl::error&) {
    b.fall_back("oneDNN has no bf16 convolution for this shape on this CPU");
    return false;
  }
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, b.read_as(node.inputs[0], pd.src_desc())},
      {DNNL_ARG_WEIGHTS, b.read_as(node.inputs[1], pd.weights_desc())},
      {DNNL_ARG_BIAS, b.read_as(node.inputs[2], pd.bias_desc())}};
  args[DNNL_ARG_DST] = conv_destination(b, node, pd.dst_desc());
  b.add(convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  b.count_bf16();
  b.set_profile_op(conv_profile_op(node, "bf16"));
  return true;
}

}  // namespace starface::backends::onednn
