#include "nets/retinaface/builder.h"

#include "import/weight_reader.h"

namespace starface::retinaface {

using graph::ConvAttrs;
using graph::Graph;
using graph::OpAttrs;
using graph::OpKind;
using graph::ValueId;

namespace {

constexpr float kLeakySlope = 0.1f;  // every LeakyReLU of this network
constexpr int64_t kNeckChannels = 64;

const char* head_prefix(Head head) {
  switch (head) {
    case Head::kClass:
      return "class";
    case Head::kBbox:
      return "bbox";
    case Head::kLandmark:
      return "landmark";
  }
  return "?";
}

// The state-dict module list of each head.
const char* head_module(Head head) {
  switch (head) {
    case Head::kClass:
      return "ClassHead";
    case Head::kBbox:
      return "BboxHead";
    case Head::kLandmark:
      return "LandmarkHead";
  }
  return "?";
}

enum class Act { kNone, kLeaky };

// Adds RetinaFace's layers to a graph while taking their weights from the state dict.
class RetinaFaceBuilder {
 public:
  explicit RetinaFaceBuilder(const TensorMap& sd) : weights_(sd, "RetinaFace-MobileNet0.25") {}

  Graph build(int64_t height, int64_t width);

 private:
  // Conv (no bias) -> BatchNorm [-> LeakyReLU(0.1)]: the checkpoint's Sequential with the
  // conv at `conv_index` and the BatchNorm right after it.
  ValueId conv_bn(const std::string& prefix, int conv_index, ValueId x, int64_t cout, int kernel,
                  int stride, int groups, Act act);
  ValueId depthwise_separable(const std::string& prefix, ValueId x, int64_t cout, int stride);
  ValueId backbone_stage(const std::string& prefix, ValueId x,
                         const std::vector<std::pair<int64_t, int>>& blocks);
  ValueId context_module(const std::string& prefix, ValueId x);
  ValueId head(Head head, int level, ValueId x);

  ValueId node(OpKind op, const std::string& name, std::vector<ValueId> inputs, OpAttrs a = {}) {
    return graph_.add_node(op, name, stage_, std::move(inputs), std::move(a));
  }
  int64_t channels(ValueId v) const { return graph_.value(v).shape[1]; }

  import::WeightReader weights_;
  Graph graph_;
  std::string stage_;
};

ValueId RetinaFaceBuilder::conv_bn(const std::string& prefix, int conv_index, ValueId x,
                                   int64_t cout, int kernel, int stride, int groups, Act act) {
  const int64_t cin = channels(x);
  const std::string conv_key = prefix + "." + std::to_string(conv_index);
  const std::string bn_key = prefix + "." + std::to_string(conv_index + 1);
  const ValueId w = graph_.add_constant(
      conv_key + ".weight",
      weights_.take(conv_key + ".weight", {cout, cin / groups, kernel, kernel}));
  // The IR's convs always carry a bias; these have none, so it is zero (fold_bn replaces it).
  Tensor zero(DType::kFloat32, {cout});
  for (int64_t i = 0; i < cout; ++i) zero.data<float>()[i] = 0.0f;
  const ValueId b = graph_.add_constant(conv_key + ".bias", zero);
  ConvAttrs a;
  a.kernel = kernel;
  a.stride = stride;
  a.pad = kernel / 2;
  a.groups = groups;
  ValueId y = node(OpKind::kConv2d, conv_key, {x, w, b}, a);

  std::vector<ValueId> bn_inputs{y};
  for (const char* part : {"weight", "bias", "running_mean", "running_var"}) {
    const std::string key = bn_key + "." + part;
    bn_inputs.push_back(graph_.add_constant(key, weights_.take(key, {cout})));
  }
  weights_.allow_unused(bn_key + ".num_batches_tracked", {});
  y = node(OpKind::kBatchNorm, bn_key, bn_inputs);
  if (act == Act::kLeaky) {
    y = node(OpKind::kLeakyRelu, prefix + "." + std::to_string(conv_index + 2), {y},
             graph::LeakyReluAttrs(kLeakySlope));
  }
  return y;
}

// 3x3 depthwise (stride s) + BN + LeakyReLU, then 1x1 pointwise + BN + LeakyReLU.
ValueId RetinaFaceBuilder::depthwise_separable(const std::string& prefix, ValueId x, int64_t cout,
                                               int stride) {
  const int64_t cin = channels(x);
  x = conv_bn(prefix, 0, x, cin, 3, stride, static_cast<int>(cin), Act::kLeaky);
  return conv_bn(prefix, 3, x, cout, 1, 1, 1, Act::kLeaky);
}

// (output channels, stride) per depthwise-separable block of a stage.
ValueId RetinaFaceBuilder::backbone_stage(const std::string& prefix, ValueId x,
                                          const std::vector<std::pair<int64_t, int>>& blocks) {
  stage_ = prefix;
  const int first = prefix == "body.stage1" ? 1 : 0;  // stage1.0 is the plain stem conv
  for (size_t i = 0; i < blocks.size(); ++i) {
    x = depthwise_separable(prefix + "." + std::to_string(first + i), x, blocks[i].first,
                            blocks[i].second);
  }
  return x;
}

// SSH: a = CB3x3(x), t = CBA3x3(x), b = CB3x3(t), c = CB3x3(CBA3x3(t)); ReLU(concat(a,b,c)).
ValueId RetinaFaceBuilder::context_module(const std::string& p, ValueId x) {
  stage_ = p;
  const int64_t half = kNeckChannels / 2;
  const int64_t quarter = kNeckChannels / 4;
  const ValueId a = conv_bn(p + ".conv3X3", 0, x, half, 3, 1, 1, Act::kNone);
  const ValueId t = conv_bn(p + ".conv5X5_1", 0, x, quarter, 3, 1, 1, Act::kLeaky);
  const ValueId b = conv_bn(p + ".conv5X5_2", 0, t, quarter, 3, 1, 1, Act::kNone);
  ValueId c = conv_bn(p + ".conv7X7_2", 0, t, quarter, 3, 1, 1, Act::kLeaky);
  c = conv_bn(p + ".conv7x7_3", 0, c, quarter, 3, 1, 1, Act::kNone);  // lower-case x, as stored
  return node(OpKind::kRelu, p + ".relu", {node(OpKind::kConcat, p + ".concat", {a, b, c})});
}

ValueId RetinaFaceBuilder::head(Head h, int level, ValueId x) {
  const std::string prefix = std::string(head_module(h)) + "." + std::to_string(level) + ".conv1x1";
  const int64_t cout = kAnchorsPerCell * values_per_anchor(h);
  const ValueId w = graph_.add_constant(
      prefix + ".weight", weights_.take(prefix + ".weight", {cout, channels(x), 1, 1}));
  const ValueId b = graph_.add_constant(prefix + ".bias", weights_.take(prefix + ".bias", {cout}));
  return node(OpKind::kConv2d, prefix, {x, w, b});
}

Graph RetinaFaceBuilder::build(int64_t height, int64_t width) {
  const ValueId input = graph_.add_input("input", {1, 3, height, width});
  stage_ = "body.stage1";
  ValueId x = conv_bn("body.stage1.0", 0, input, 8, 3, 2, 1, Act::kLeaky);
  const ValueId c1 =
      backbone_stage("body.stage1", x, {{16, 1}, {32, 2}, {32, 1}, {64, 2}, {64, 1}});
  const ValueId c2 = backbone_stage("body.stage2", c1,
                                    {{128, 2}, {128, 1}, {128, 1}, {128, 1}, {128, 1}, {128, 1}});
  const ValueId c3 = backbone_stage("body.stage3", c2, {{256, 2}, {256, 1}});

  // Top-down FPN: lateral 1x1 CBA, plus the coarser level resized to this one, then the
  // 3x3 merge CBA. P2 is merged before it is resized into P1; P3 is not merged.
  stage_ = "fpn";
  const ValueId p3 = conv_bn("fpn.output3", 0, c3, kNeckChannels, 1, 1, 1, Act::kLeaky);
  ValueId p2 = conv_bn("fpn.output2", 0, c2, kNeckChannels, 1, 1, 1, Act::kLeaky);
  p2 = node(OpKind::kAdd, "fpn.add2", {p2, node(OpKind::kUpsampleNearest, "fpn.up3", {p3, p2})});
  p2 = conv_bn("fpn.merge2", 0, p2, kNeckChannels, 3, 1, 1, Act::kLeaky);
  ValueId p1 = conv_bn("fpn.output1", 0, c1, kNeckChannels, 1, 1, 1, Act::kLeaky);
  p1 = node(OpKind::kAdd, "fpn.add1", {p1, node(OpKind::kUpsampleNearest, "fpn.up2", {p2, p1})});
  p1 = conv_bn("fpn.merge1", 0, p1, kNeckChannels, 3, 1, 1, Act::kLeaky);

  const ValueId features[] = {c1, c2, c3, p1, p2, p3};
  const char* names[] = {"c1", "c2", "c3", "p1", "p2", "p3"};
  for (int i = 0; i < 6; ++i) graph_.mark_output(names[i], features[i]);

  const ValueId pyramid[kLevels] = {p1, p2, p3};
  for (int level = 0; level < kLevels; ++level) {
    const std::string ssh = "ssh" + std::to_string(level + 1);
    const ValueId s = context_module(ssh, pyramid[level]);
    graph_.mark_output("s" + std::to_string(level + 1), s);
    stage_ = "heads";
    for (Head h : {Head::kClass, Head::kBbox, Head::kLandmark}) {
      graph_.mark_output(head_output(h, level), head(h, level, s));
    }
  }
  weights_.check_all_used();
  return std::move(graph_);
}

}  // namespace

int values_per_anchor(Head head) {
  switch (head) {
    case Head::kClass:
      return 2;
    case Head::kBbox:
      return 4;
    case Head::kLandmark:
      return 10;
  }
  return 0;
}

std::string head_output(Head head, int level) {
  return std::string(head_prefix(head)) + "." + std::to_string(level);
}

std::vector<std::string> head_outputs() {
  std::vector<std::string> names;
  for (int level = 0; level < kLevels; ++level) {
    for (Head h : {Head::kClass, Head::kBbox, Head::kLandmark}) {
      names.push_back(head_output(h, level));
    }
  }
  return names;
}

void check_is_retinaface(const TensorMap& state_dict) {
  const std::string probe = "body.stage1.0.0.weight";
  if (!state_dict.count(probe)) {
    throw Error(ErrorCode::kBadArgument,
                "not a RetinaFace-MobileNet0.25 checkpoint (no key '" + probe + "'; " +
                    std::to_string(state_dict.size()) + " keys, e.g. '" +
                    (state_dict.empty() ? std::string() : state_dict.begin()->first) + "')");
  }
}

Graph build_graph(const TensorMap& state_dict, int64_t height, int64_t width) {
  if (height < 1 || width < 1) {
    throw Error(ErrorCode::kBadArgument, "RetinaFace input size " + std::to_string(height) + "x" +
                                             std::to_string(width) + " must be at least 1x1");
  }
  return RetinaFaceBuilder(state_dict).build(height, width);
}

}  // namespace starface::retinaface
