#include <algorithm>
#include <vector>

#include "graph/passes/passes.h"
#include "graph/passes/rewriter.h"

namespace starface::graph::passes {

namespace {

// A conv reading a Concat (read by nothing else) that has constant batch-1 parts.
bool has_constant_planes(const Rewriter& r, const Node& conv) {
  if (conv.op != OpKind::kConv2d || conv.conv().bias_map) return false;
  const Node* concat = r.producer(conv.inputs[0]);
  if (!concat || concat->op != OpKind::kConcat || !r.single_use(conv.inputs[0])) return false;
  for (ValueId part : concat->inputs) {
    const Value& v = r.source().value(part);
    if (v.is_constant() && v.shape[0] == 1) return true;
  }
  return false;
}

// The input columns output column x reads at tap kx, [channel][kx][row][x], zero where the
// tap falls outside the image: gathered once so the accumulation below runs contiguously.
std::vector<float> columns_per_tap(const Tensor& planes, const ConvAttrs& a, int64_t out_w) {
  const int64_t pc = planes.dim(1), h = planes.dim(2), w = planes.dim(3), k = a.kernel;
  const float* pd = planes.data<float>();
  std::vector<float> cols(pc * k * h * out_w, 0.0f);
  for (int64_t c = 0; c < pc; ++c) {
    for (int64_t kx = 0; kx < k; ++kx) {
      for (int64_t y = 0; y < h; ++y) {
        float* row = cols.data() + ((c * k + kx) * h + y) * out_w;
        for (int64_t x = 0; x < out_w; ++x) {
          const int64_t ix = x * a.stride - a.pad + kx;
          if (ix >= 0 && ix < w) row[x] = pd[(c * h + y) * w + ix];
        }
      }
    }
  }
  return cols;
}

// The part of the convolution that reads constant planes, [1, Co, OH, OW], in double:
// sum over the planes' channels and the kernel taps of w * plane (zero outside the image).
Tensor plane_contribution(const Tensor& weight, int64_t first_channel, const Tensor& planes,
                          const ConvAttrs& a, int64_t out_h, int64_t out_w) {
  const int64_t co = weight.dim(0), ci = weight.dim(1), k = a.kernel;
  const int64_t pc = planes.dim(1), h = planes.dim(2);
  const float* wd = weight.data<float>();
  const std::vector<float> cols = columns_per_tap(planes, a, out_w);
  Tensor map(DType::kFloat32, {1, co, out_h, out_w});
  float* md = map.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < co; ++o) {
    std::vector<double> acc(out_h * out_w, 0.0);
    for (int64_t c = 0; c < pc; ++c) {
      for (int64_t ky = 0; ky < k; ++ky) {
        for (int64_t kx = 0; kx < k; ++kx) {
          const double wv = wd[((o * ci + first_channel + c) * k + ky) * k + kx];
          for (int64_t y = 0; y < out_h; ++y) {
            const int64_t iy = y * a.stride - a.pad + ky;
            if (iy < 0 || iy >= h) continue;
            const float* row = cols.data() + ((c * k + kx) * h + iy) * out_w;
            double* out = acc.data() + y * out_w;
            for (int64_t x = 0; x < out_w; ++x) out[x] += wv * row[x];
          }
        }
      }
    }
    for (int64_t i = 0; i < out_h * out_w; ++i) {
      md[o * out_h * out_w + i] = static_cast<float>(acc[i]);
    }
  }
  return map;
}

// The weight's input channels [begin, begin + count) for each output channel.
void copy_channels(const Tensor& from, int64_t begin, int64_t count, Tensor& to, int64_t at) {
  const int64_t co = from.dim(0), taps = from.dim(2) * from.dim(3);
  for (int64_t o = 0; o < co; ++o) {
    std::copy_n(from.data<float>() + (o * from.dim(1) + begin) * taps, count * taps,
                to.data<float>() + (o * to.dim(1) + at) * taps);
  }
}

void add_into(Tensor& acc, const Tensor& t) {
  float* a = acc.data<float>();
  const float* b = t.data<float>();
  for (int64_t i = 0; i < acc.numel(); ++i) a[i] += b[i];
}

}  // namespace

Graph coord_bias(const Graph& graph) {
  Rewriter r(graph);
  const auto& nodes = graph.nodes();
  std::vector<bool> replaced(nodes.size(), false);
  for (const Node& n : nodes) {
    if (has_constant_planes(r, n)) replaced[graph.value(n.inputs[0]).producer] = true;
  }
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& conv = nodes[i];
    if (replaced[i]) continue;  // the Concat: rebuilt below at its conv
    if (!has_constant_planes(r, conv)) {
      r.copy(i);
      continue;
    }
    const Node& concat = *r.producer(conv.inputs[0]);
    const Tensor& weight = graph.value(conv.inputs[1]).constant;
    const Shape& out = graph.value(conv.output).shape;
    Tensor bias_map(DType::kFloat32, {1, out[1], out[2], out[3]});
    std::vector<std::pair<ValueId, int64_t>> dynamic;  // part, its first weight channel
    int64_t channel = 0;
    int64_t dynamic_channels = 0;
    for (ValueId part : concat.inputs) {
      const Value& v = graph.value(part);
      if (v.is_constant() && v.shape[0] == 1) {
        add_into(bias_map,
                 plane_contribution(weight, channel, v.constant, conv.conv(), out[2], out[3]));
      } else {
        dynamic.emplace_back(part, channel);
        dynamic_channels += v.shape[1];
      }
      channel += v.shape[1];
    }
    Tensor dynamic_weight(DType::kFloat32,
                          {weight.dim(0), dynamic_channels, weight.dim(2), weight.dim(3)});
    std::vector<ValueId> parts;
    int64_t at = 0;
    for (const auto& [part, first] : dynamic) {
      const int64_t count = graph.value(part).shape[1];
      copy_channels(weight, first, count, dynamic_weight, at);
      at += count;
      parts.push_back(r.map(part));
    }
    const ValueId x = parts.size() == 1 ? parts[0]
                                        : r.add_node(OpKind::kConcat, concat.name, concat.stage,
                                                     parts, concat.attrs);
    ConvAttrs attrs = conv.conv();
    attrs.bias_map = true;
    const ValueId y =
        r.add_node(OpKind::kConv2d, conv.name, conv.stage,
                   {x, r.add_constant(conv.name + ".weight", dynamic_weight), r.map(conv.inputs[2]),
                    r.add_constant(conv.name + ".bias_map", bias_map)},
                   attrs);
    r.alias(conv.output, y);
  }
  return r.finish();
}

}  // namespace starface::graph::passes
