// --precision int8: a conv with a calibrated input scale (graph/int8.h) runs as oneDNN's
// int8 convolution with int8 weights and int32 accumulation (VNNI where the CPU has it,
// AVX2 / AVX-512 otherwise).
//   input    x    ~ sx * qx,     qx in 0..255 (uint8) when the graph says x >= 0, else in
//                                -128..127 (int8, symmetric: graph::int8_input_signed)
//   weights  w[o] ~ sw[o] * qw,  qw in -127..127, sw[o] = max |w[o]| / 127 per output channel
// A signed input costs the same as an unsigned one: oneDNN shifts it by +128 into the
// uint8 x int8 instruction and subtracts 128 * sum(qw[o]) (a compensation it stores with
// the reordered weights); measured per STAR conv shape against uint8 with a runtime zero
// point (the other way to take a signed input), both within 5 % of uint8 alone.
// oneDNN 2.x adds the bias to the int32 sum before the output scale, so the bias goes in
// as b[o] / (sx * sw[o]) and the output scale sx * sw[o] brings the sum back to real
// values; the residual / bias map (a `sum` post-op on a prefilled float32 dst) and the ReLU
// follow, as in conv.cpp. When every reader of the output is itself an int8 conv taking it
// at scale sy, the output is stored as uint8 at sy (output scale sx * sw[o] / sy, rounded
// and saturated by oneDNN), which saves the readers a quantizing pass and 3/4 of the bytes.
#include <algorithm>
#include <cmath>

#include "backends/onednn/lowering.h"
#include "core/error.h"
#include "graph/int8.h"

namespace starface::backends::onednn {
namespace {

using dnnl::convolution_forward;

convolution_forward::primitive_desc int8_primitive(ProgramBuilder& b, const graph::Node& node,
                                                   memory::data_type src_type,
                                                   memory::data_type dst_type,
                                                   const std::vector<float>& output_scales) {
  const auto desc = conv_desc(b, node, src_type, memory::data_type::s8, dst_type);
  dnnl::primitive_attr attr =
      b.attr(conv_post_ops(node, node.conv().bias_map || node.conv().residual));
  attr.set_output_scales(2, output_scales);  // mask 2: per index of dst dimension 1
  return convolution_forward::primitive_desc(desc, attr, b.engine());
}

}  // namespace

bool lower_int8_conv(ProgramBuilder& b, const graph::Node& node) {
  const std::optional<float> input_scale = b.int8_input_scale(node);
  if (!input_scale) return false;
  const float sx = *input_scale;
  const graph::Graph& g = b.graph();
  const std::vector<float> sw = graph::int8_weight_scales(g.value(node.inputs[1]).constant);

  // uint8 output only for a plain conv + ReLU: a residual or bias map is summed in float32,
  // and a LeakyReLU keeps negative values.
  std::optional<float> sy;
  if (const graph::ConvAttrs& a = node.conv();
      a.relu && a.slope == 0.0f && !a.residual && !a.bias_map) {
    sy = b.int8_readers_scale(node.output);
  }
  std::vector<float> output_scales(sw.size());
  for (size_t o = 0; o < sw.size(); ++o) output_scales[o] = sx * sw[o] / sy.value_or(1.0f);
  const auto src_type =
      graph::int8_input_signed(g, node) ? memory::data_type::s8 : memory::data_type::u8;
  const auto pd = int8_primitive(
      b, node, src_type, sy ? memory::data_type::u8 : memory::data_type::f32, output_scales);

  const dnnl::memory bias = b.constants().derived("int8 bias of " + node.name, [&] {
    const Tensor bias_f32 = g.value(node.inputs[2]).constant.contiguous();
    std::vector<float> rescaled(sw.size());
    for (size_t o = 0; o < sw.size(); ++o) {
      rescaled[o] = bias_f32.data<float>()[o] / (sx * sw[o]);
    }
    return rescaled;
  });
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, b.read_scaled(node.inputs[0], pd.src_desc(), sx)},
      {DNNL_ARG_WEIGHTS, b.constants().int8_weights(node.inputs[1], pd.weights_desc(), sw)},
      {DNNL_ARG_BIAS, bias}};
  args[DNNL_ARG_DST] = conv_destination(b, node, pd.dst_desc());
  if (sy) b.set_output_scale(*sy);
  b.add(convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  b.count_int8();
  b.set_profile_op(conv_profile_op(node, "int8"));
  return true;
}

}  // namespace starface::backends::onednn
