#include "nets/star/builder.h"

#include <cmath>

#include "graph/grid.h"
#include "import/weight_reader.h"

namespace starface::star {

using graph::ConvAttrs;
using graph::Graph;
using graph::OpAttrs;
using graph::OpKind;
using graph::ValueId;

// STAR's CoordConvTh gates the boundary planes where the previous stack's last heat map
// exceeds this (a constant of the network, not of the op).
constexpr float kBoundaryThreshold = 0.05f;

std::string stack_output(const std::string& kind, int stack) {
  return kind + "." + std::to_string(stack);
}

Tensor coordinate_planes(int size) {
  Tensor planes(DType::kFloat32, {1, 3, size, size});
  float* rows = planes.data<float>();
  float* cols = rows + size * size;
  float* radius = cols + size * size;
  double max_radius = 0.0;
  for (int i = 0; i < size; ++i) {
    for (int j = 0; j < size; ++j) {
      const double r = graph::grid_coordinate(i, size);
      const double q = graph::grid_coordinate(j, size);
      max_radius = std::max(max_radius, std::sqrt(r * r + q * q));
    }
  }
  for (int i = 0; i < size; ++i) {
    for (int j = 0; j < size; ++j) {
      const double r = graph::grid_coordinate(i, size);
      const double q = graph::grid_coordinate(j, size);
      rows[i * size + j] = static_cast<float>(r);
      cols[i * size + j] = static_cast<float>(q);
      radius[i * size + j] = static_cast<float>(std::sqrt(r * r + q * q) / max_radius);
    }
  }
  return planes;
}

namespace {

// Adds STAR's layers to a graph while taking their weights from the state dict.
class StarBuilder {
 public:
  StarBuilder(const TensorMap& sd, const Config& config) : weights_(sd, "STAR"), config_(config) {}

  Graph build();

 private:
  ValueId conv(const std::string& prefix, ValueId x, int cout, int kernel, int stride = 1);
  ValueId batch_norm(const std::string& prefix, ValueId x);
  ValueId bn_relu(const std::string& prefix, ValueId x);
  ValueId res_block(const std::string& prefix, ValueId x, int cout);
  ValueId hourglass(const std::string& prefix, ValueId x, int levels);
  ValueId stem(ValueId input);
  ValueId coord_conv(int stack, ValueId x, ValueId guide);

  ValueId node(OpKind op, const std::string& name, std::vector<ValueId> inputs, OpAttrs a = {}) {
    return graph_.add_node(op, name, stage_, std::move(inputs), std::move(a));
  }
  int64_t channels(ValueId v) const { return graph_.value(v).shape[1]; }

  import::WeightReader weights_;
  Config config_;
  Graph graph_;
  std::string stage_;
  ValueId coords_ = -1;  // the 64x64 planes, shared by every stack
};

ValueId StarBuilder::conv(const std::string& prefix, ValueId x, int cout, int kernel, int stride) {
  const int64_t cin = channels(x);
  ValueId w = graph_.add_constant(prefix + ".weight",
                                  weights_.take(prefix + ".weight", {cout, cin, kernel, kernel}));
  ValueId b = graph_.add_constant(prefix + ".bias", weights_.take(prefix + ".bias", {cout}));
  ConvAttrs a;
  a.kernel = kernel;
  a.stride = stride;
  a.pad = (kernel - 1) / 2;
  return node(OpKind::kConv2d, prefix, {x, w, b}, a);
}

ValueId StarBuilder::batch_norm(const std::string& prefix, ValueId x) {
  const int64_t c = channels(x);
  std::vector<ValueId> inputs{x};
  for (const char* part : {"weight", "bias", "running_mean", "running_var"}) {
    const std::string key = prefix + "." + part;
    inputs.push_back(graph_.add_constant(key, weights_.take(key, {c})));
  }
  weights_.allow_unused(prefix + ".num_batches_tracked", {});
  return node(OpKind::kBatchNorm, prefix, inputs);
}

ValueId StarBuilder::bn_relu(const std::string& prefix, ValueId x) {
  return node(OpKind::kRelu, prefix + ".relu", {batch_norm(prefix, x)});
}

// Pre-activation bottleneck; the shortcut reads the raw block input.
ValueId StarBuilder::res_block(const std::string& p, ValueId x, int cout) {
  const int64_t cin = channels(x);
  const int mid = cout / 2;
  ValueId t = conv(p + ".conv1.conv", bn_relu(p + ".bn1", x), mid, 1);
  t = conv(p + ".conv2.conv", bn_relu(p + ".bn2", t), mid, 3);
  t = conv(p + ".conv3.conv", bn_relu(p + ".bn3", t), cout, 1);
  ValueId shortcut = x;
  if (cin != cout) {
    shortcut = conv(p + ".skip_layer.conv", x, cout, 1);
  } else {
    // STAR allocates the skip conv in every block; it never runs when widths match.
    weights_.allow_unused(p + ".skip_layer.conv.weight", {cout, cin, 1, 1});
    weights_.allow_unused(p + ".skip_layer.conv.bias", {cout});
  }
  return node(OpKind::kAdd, p + ".add", {t, shortcut});
}

ValueId StarBuilder::hourglass(const std::string& p, ValueId x, int levels) {
  const int c = config_.channels;
  ValueId top = res_block(p + ".up1", x, c);
  ValueId low = node(OpKind::kMaxPool2x2, p + ".pool", {x});
  low = res_block(p + ".low1", low, c);
  low = levels > 1 ? hourglass(p + ".low2", low, levels - 1) : res_block(p + ".low2", low, c);
  low = res_block(p + ".low3", low, c);
  return node(OpKind::kAdd, p + ".add", {top, node(OpKind::kUpsample2x, p + ".up", {low})});
}

ValueId StarBuilder::stem(ValueId input) {
  stage_ = "stem";
  ValueId coords = graph_.add_constant("coords.256", coordinate_planes(config_.input_size));
  ValueId x = node(OpKind::kConcat, "pre.0.concat", {input, coords});
  x = conv("pre.0.conv", x, 64, 7, 2);
  x = bn_relu("pre.0.bn", x);
  x = res_block("pre.1", x, 128);
  x = node(OpKind::kMaxPool2x2, "pre.2", {x});
  x = res_block("pre.3", x, 128);
  return res_block("pre.4", x, config_.channels);
}

// Stack 0 sees the coordinate planes; later stacks also see them masked by the previous
// stack's last heat map (the boundary guide).
ValueId StarBuilder::coord_conv(int s, ValueId x, ValueId guide) {
  const std::string p = "hgs." + std::to_string(s) + ".coordconv";
  if (coords_ < 0) coords_ = graph_.add_constant("coords.64", coordinate_planes(config_.map_size));
  std::vector<ValueId> parts{x, coords_};
  if (guide >= 0)
    parts.push_back(node(OpKind::kBoundaryPlanes, p + ".boundary", {guide},
                         graph::BoundaryAttrs(kBoundaryThreshold)));
  return conv(p + ".conv", node(OpKind::kConcat, p + ".concat", parts), config_.channels, 1);
}

Graph StarBuilder::build() {
  const int c = config_.channels;
  const int pts = config_.points;
  ValueId input = graph_.add_input("input", {1, 3, config_.input_size, config_.input_size});
  ValueId x = stem(input);
  graph_.mark_output("stem", x);

  ValueId e2h_w = -1, e2h_b = -1;
  if (config_.aam) {
    e2h_w = graph_.add_constant("e2h_transform.weight",
                                weights_.take("e2h_transform.weight", {pts, config_.edges, 1, 1}));
    e2h_b = graph_.add_constant("e2h_transform.bias", weights_.take("e2h_transform.bias", {pts}));
  }
  ValueId guide = -1;
  ValueId landmarks = -1;
  for (int s = 0; s < config_.nstack; ++s) {
    const std::string si = std::to_string(s);
    stage_ = "hourglass[" + si + "]";
    ValueId hg = hourglass("hgs." + si, coord_conv(s, x, guide), config_.nlevels);

    stage_ = "features[" + si + "]";
    ValueId feat = res_block("features." + si + ".0", hg, c);
    feat = bn_relu("features." + si + ".1.bn", conv("features." + si + ".1.conv", feat, c, 1));

    stage_ = "heads[" + si + "]";
    ValueId heat = conv("out_heatmaps." + si + ".conv", feat, pts, 1);
    heat = node(OpKind::kInstanceNorm, "out_heatmaps." + si + ".norm", {heat});
    heat = node(OpKind::kRelu, "out_heatmaps." + si + ".relu", {heat});
    ValueId fusion = heat;
    ValueId point = -1, edge = -1;
    if (config_.aam) {
      point = node(OpKind::kSigmoid, "out_pointmaps." + si + ".sigmoid",
                   {conv("out_pointmaps." + si + ".conv", feat, pts, 1)});
      edge = node(OpKind::kSigmoid, "out_edgemaps." + si + ".sigmoid",
                  {conv("out_edgemaps." + si + ".conv", feat, config_.edges, 1)});
      ValueId gate =
          node(OpKind::kConv2d, "e2h_transform." + si, {edge, e2h_w, e2h_b}, ConvAttrs{});
      fusion = node(OpKind::kMul, "fusion." + si + ".gate_point", {gate, point});
      fusion = node(OpKind::kMul, "fusion." + si, {fusion, heat});
      graph_.mark_output(stack_output("pointmaps", s), point);
      graph_.mark_output(stack_output("edgemaps", s), edge);
    }
    landmarks = node(OpKind::kSoftArgmax, "landmarks." + si, {fusion});
    graph_.mark_output(stack_output("heatmaps", s), heat);
    graph_.mark_output(stack_output("fusion", s), fusion);
    graph_.mark_output(stack_output("stack_landmarks", s), landmarks);

    if (s + 1 < config_.nstack) {
      stage_ = "merges[" + si + "]";
      x = node(OpKind::kAdd, "merge." + si + ".features",
               {x, conv("merge_features." + si + ".conv", feat, c, 1)});
      x = node(OpKind::kAdd, "merge." + si + ".heatmaps",
               {x, conv("merge_heatmaps." + si + ".conv", heat, c, 1)});
      if (config_.aam) {
        x = node(OpKind::kAdd, "merge." + si + ".pointmaps",
                 {x, conv("merge_pointmaps." + si + ".conv", point, c, 1)});
        x = node(OpKind::kAdd, "merge." + si + ".edgemaps",
                 {x, conv("merge_edgemaps." + si + ".conv", edge, c, 1)});
      }
    }
    guide = heat;
  }
  graph_.mark_output("landmarks", landmarks);
  weights_.check_all_used();
  return std::move(graph_);
}

}  // namespace

Graph build_graph(const TensorMap& state_dict, const Config& config) {
  return StarBuilder(state_dict, config).build();
}

}  // namespace starface::star
