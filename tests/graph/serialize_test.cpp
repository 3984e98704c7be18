// Graph serialization: a graph with every op and attribute survives the JSON round trip,
// and stored JSON that is not such a graph is refused with an error naming what is wrong.
#include "graph/serialize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "import/expect_error.h"
#include "support/fixtures.h"

namespace starface::graph {
namespace {

using nlohmann::json;
using starface::testing::random_tensor;
using starface::testing::throws_error;

// Every op kind and attribute, a constant read twice, two constants of one name, and an
// unused constant that must not be stored.
Graph sample_graph() {
  Graph g;
  const ValueId x = g.add_input("input", {1, 2, 8, 8});
  const ValueId w = g.add_constant("conv.weight", random_tensor({3, 2, 3, 3}, 1));
  const ValueId b = g.add_constant("conv.bias", random_tensor({3}, 2));
  g.add_constant("unused", random_tensor({5}, 3));
  const ValueId map = g.add_constant("conv.bias_map", random_tensor({1, 3, 8, 8}, 4));
  ConvAttrs a;
  a.kernel = 3;
  a.pad = 1;
  a.bias_map = true;
  a.relu = true;
  a.slope = 0.5f;
  const ValueId c = g.add_node(OpKind::kConv2d, "conv", "stem", {x, w, b, map}, a);
  ConvAttrs r;
  r.kernel = 3;
  r.pad = 1;
  r.residual = true;
  const ValueId c2 = g.add_node(OpKind::kConv2d, "conv2", "stem",
                                {c, g.add_constant("w2", random_tensor({3, 3, 3, 3}, 5)),
                                 g.add_constant("conv.bias", random_tensor({3}, 6)), c},
                                r);
  const ValueId gamma = g.add_constant("bn.g", random_tensor({3}, 7, 0.5f, 1.5f));
  const ValueId var = g.add_constant("bn.v", random_tensor({3}, 8, 0.5f, 1.5f));
  NormAttrs eps;
  eps.eps = 1e-3f;
  const ValueId bn =
      g.add_node(OpKind::kBatchNorm, "bn", "hourglass[0]", {c2, gamma, b, b, var}, eps);
  const ValueId ss =
      g.add_node(OpKind::kScaleShift, "ss", "hourglass[0]", {bn, gamma, b}, ScaleShiftAttrs{true});
  const ValueId relu = g.add_node(OpKind::kRelu, "relu", "hourglass[0]", {ss});
  const ValueId leaky =
      g.add_node(OpKind::kLeakyRelu, "leaky", "hourglass[0]", {relu}, LeakyReluAttrs(0.25f));
  const ValueId sig = g.add_node(OpKind::kSigmoid, "sig", "heads[0]", {leaky});
  const ValueId add = g.add_node(OpKind::kAdd, "add", "heads[0]", {sig, relu});
  const ValueId mul = g.add_node(OpKind::kMul, "mul", "heads[0]", {add, sig});
  const ValueId pool = g.add_node(OpKind::kMaxPool2x2, "pool", "heads[0]", {mul});
  const ValueId up = g.add_node(OpKind::kUpsample2x, "up", "heads[0]", {pool});
  const BoundaryAttrs t(0.125f);
  const ValueId planes = g.add_node(OpKind::kBoundaryPlanes, "planes", "heads[0]", {up}, t);
  const ValueId cat = g.add_node(OpKind::kConcat, "cat", "heads[0]", {up, planes, map});
  const ValueId in = g.add_node(OpKind::kInstanceNorm, "in", "heads[0]", {cat});
  const ValueId lm = g.add_node(OpKind::kSoftArgmax, "lm", "heads[0]", {in});
  g.mark_output("landmarks", lm);
  g.mark_output("pooled", pool);
  g.mark_output("a_constant", w);
  return g;
}

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes().size(), b.nodes().size());
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const Node& x = a.nodes()[i];
    const Node& y = b.nodes()[i];
    EXPECT_EQ(x.op, y.op) << x.name;
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.stage, y.stage) << x.name;
    EXPECT_TRUE(x.attrs == y.attrs) << x.name;
    ASSERT_EQ(x.inputs.size(), y.inputs.size()) << x.name;
    for (size_t k = 0; k < x.inputs.size(); ++k) {
      const Value& vx = a.value(x.inputs[k]);
      const Value& vy = b.value(y.inputs[k]);
      EXPECT_EQ(vx.name, vy.name) << x.name << " input " << k;
      EXPECT_EQ(vx.shape, vy.shape) << x.name << " input " << k;
      ASSERT_EQ(vx.is_constant(), vy.is_constant());
      if (vx.is_constant()) {
        EXPECT_EQ(std::memcmp(vx.constant.bytes(), vy.constant.bytes(), vx.constant.nbytes()), 0);
      }
    }
    EXPECT_EQ(a.value(x.output).shape, b.value(y.output).shape) << x.name;
  }
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (const auto& [name, id] : a.outputs()) {
    EXPECT_EQ(a.value(id).name, b.value(b.output(name)).name) << name;
    EXPECT_EQ(a.value(id).shape, b.value(b.output(name)).shape) << name;
  }
  EXPECT_EQ(a.value(a.input()).name, b.value(b.input()).name);
  EXPECT_EQ(a.value(a.input()).shape, b.value(b.input()).shape);
}

TEST(Serialize, RoundTripsEveryOpAttributeAndOutput) {
  const Graph g = sample_graph();
  const SerializedGraph s = serialize(g);
  // Two constants named conv.bias get distinct keys; the unused constant is not stored.
  EXPECT_EQ(s.constants.size(), 7u);
  EXPECT_TRUE(s.constants.count("conv.bias"));
  EXPECT_TRUE(s.constants.count("conv.bias#2"));
  EXPECT_FALSE(s.constants.count("unused"));
  const Graph back = deserialize(s.json, s.constants, "g.safetensors");
  expect_same_graph(g, back);
  // The form is canonical: storing the loaded graph again gives the same JSON.
  EXPECT_EQ(serialize(back).json, s.json);
  const json doc = json::parse(s.json);
  EXPECT_EQ(doc["format"], "starface.graph");
  EXPECT_EQ(doc["nodes"][0]["attrs"]["relu"], true);
}

TEST(Serialize, RoundTripsGroupedConvs) {
  Graph g;
  const ValueId x = g.add_input("input", {1, 4, 5, 5});
  ConvAttrs depthwise;
  depthwise.kernel = 3;
  depthwise.pad = 1;
  depthwise.groups = 4;
  g.mark_output("y", g.add_node(OpKind::kConv2d, "dw", "s",
                                {x, g.add_constant("w", random_tensor({4, 1, 3, 3}, 1)),
                                 g.add_constant("b", random_tensor({4}, 2))},
                                depthwise));
  const SerializedGraph s = serialize(g);
  const Graph back = deserialize(s.json, s.constants, "g.safetensors");
  EXPECT_EQ(back.nodes().at(0).conv().groups, 4);
  EXPECT_EQ(json::parse(s.json)["nodes"][0]["attrs"]["groups"], 4);
}

// Version 1 stored one flat bag of every field on every node (the norm eps and the
// boundary threshold on a conv, the kernel on a sigmoid), without groups or slope.
TEST(Serialize, ReadsVersion1Graphs) {
  const Graph g = sample_graph();
  const SerializedGraph s = serialize(g);
  json doc = json::parse(s.json);
  doc["version"] = 1;
  for (json& n : doc["nodes"]) {
    json bag = {{"kernel", 1},       {"stride", 1},   {"pad", 0},          {"eps", 1e-5},
                {"threshold", 0.05}, {"relu", false}, {"bias_map", false}, {"residual", false}};
    for (const auto& [key, v] : n["attrs"].items()) {
      // A LeakyRelu (never in a version 1 file: STAR has none) keeps its slope here.
      if (n["op"] != "Conv2d" || (key != "groups" && key != "slope")) bag[key] = v;
    }
    n["attrs"] = bag;
  }
  const Graph back = deserialize(doc.dump(), s.constants, "old.safetensors");
  ASSERT_EQ(back.nodes().size(), g.nodes().size());
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& x = g.nodes()[i];
    const Node& y = back.nodes()[i];
    if (x.op != OpKind::kConv2d) {
      EXPECT_TRUE(x.attrs == y.attrs) << x.name;
      continue;
    }
    ConvAttrs without_slope = x.conv();
    without_slope.slope = 0.0f;  // not stored in version 1
    EXPECT_TRUE(y.conv() == without_slope) << x.name;
  }
  for (const Node& n : back.nodes()) {
    if (n.op == OpKind::kBoundaryPlanes) {
      EXPECT_EQ(n.boundary().threshold, 0.125f);
    }
  }
}

TEST(Serialize, WidensFloat16Constants) {
  // 20 values: the 8-wide conversion path and its scalar tail both run.
  constexpr int kCount = 20;
  Graph g;
  const ValueId x = g.add_input("input", {1, 1, 2, 2});
  const ValueId w = g.add_constant("w", Tensor(DType::kFloat32, {kCount, 1, 1, 1}));
  const ValueId b = g.add_constant("b", Tensor(DType::kFloat32, {kCount}));
  g.mark_output("y", g.add_node(OpKind::kConv2d, "conv", "s", {x, w, b}));
  SerializedGraph s = serialize(g);
  Tensor half(DType::kFloat16, {kCount, 1, 1, 1});
  auto* bits = reinterpret_cast<uint16_t*>(half.bytes());
  for (int i = 0; i < kCount; ++i) bits[i] = float_to_half(0.37f * static_cast<float>(i - 7));
  s.constants["w"] = half;
  const Graph back = deserialize(s.json, s.constants, "m");
  const Value& v = back.value(back.nodes()[0].inputs[1]);
  ASSERT_EQ(v.constant.dtype(), DType::kFloat32);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(v.constant.data<float>()[i], half_to_float(bits[i])) << i;
  }
}

// The serialized sample with `edit` applied to its JSON.
template <typename Edit>
std::string edited(Edit edit) {
  json doc = json::parse(serialize(sample_graph()).json);
  edit(doc);
  return doc.dump();
}

TEST(Serialize, RefusesJsonThatIsNotAGraph) {
  const TensorMap constants = serialize(sample_graph()).constants;
  auto load = [&](const std::string& text) { deserialize(text, constants, "m.safetensors"); };
  EXPECT_TRUE(throws_error([&] { load("{\"nodes\": ["); }, ErrorCode::kNotACheckpoint,
                           {"m.safetensors", "not valid JSON"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["format"] = "onnx"; })); },
                           ErrorCode::kNotACheckpoint, {"format"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["version"] = 99; })); },
                           ErrorCode::kNotACheckpoint, {"version 99"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["nodes"][1]["op"] = "Gemm"; })); },
                           ErrorCode::kNotACheckpoint, {"node conv2", "unknown op 'Gemm'"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["nodes"][0]["inputs"][0] = 40; })); },
                           ErrorCode::kNotACheckpoint, {"node conv", "value 40"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["nodes"][0]["inputs"][0] = -1; })); },
                           ErrorCode::kNotACheckpoint, {"node conv"}));
  EXPECT_TRUE(
      throws_error([&] { load(edited([](json& d) { d["nodes"][0]["attrs"]["kernel"] = "3"; })); },
                   ErrorCode::kNotACheckpoint, {"node conv", "kernel"}));
  EXPECT_TRUE(
      throws_error([&] { load(edited([](json& d) { d["nodes"][0]["attrs"]["stride"] = 1e12; })); },
                   ErrorCode::kNotACheckpoint, {"node conv", "stride"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["nodes"][2].erase("stage"); })); },
                           ErrorCode::kNotACheckpoint, {"stage"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) { d["outputs"]["landmarks"] = 999; })); },
                           ErrorCode::kNotACheckpoint, {"output landmarks"}));
  EXPECT_TRUE(throws_error([&] { load(edited([](json& d) {
                                   d["input"]["shape"] = {1, 2};
                                 })); },
                           ErrorCode::kNotACheckpoint, {"input shape"}));
  // A graph that reads a value before it exists: nodes out of order.
  EXPECT_TRUE(
      throws_error([&] { load(edited([](json& d) { std::swap(d["nodes"][0], d["nodes"][1]); })); },
                   ErrorCode::kNotACheckpoint, {"node conv2"}));
}

TEST(Serialize, RefusesMissingExtraAndMisshapedTensors) {
  const SerializedGraph s = serialize(sample_graph());
  TensorMap missing = s.constants;
  missing.erase("w2");
  EXPECT_TRUE(
      throws_error([&] { deserialize(s.json, missing, "m"); }, ErrorCode::kMissingKey, {"'w2'"}));
  TensorMap extra = s.constants;
  extra["stray"] = Tensor(DType::kFloat32, {1});
  EXPECT_TRUE(throws_error([&] { deserialize(s.json, extra, "m"); }, ErrorCode::kUnexpectedKey,
                           {"'stray'"}));
  TensorMap ints = s.constants;
  ints["w2"] = Tensor(DType::kInt32, {3, 3, 3, 3});
  EXPECT_TRUE(throws_error([&] { deserialize(s.json, ints, "m"); }, ErrorCode::kBadDtype,
                           {"'w2'", "int32"}));
  TensorMap misshaped = s.constants;
  misshaped["w2"] = Tensor(DType::kFloat32, {3, 3, 1, 1});
  EXPECT_TRUE(throws_error([&] { deserialize(s.json, misshaped, "m"); }, ErrorCode::kShapeMismatch,
                           {"conv2"}));
}

}  // namespace
}  // namespace starface::graph
