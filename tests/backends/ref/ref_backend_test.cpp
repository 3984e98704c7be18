// The reference executor on small graphs: wiring (compared with the kernels called by
// hand), batches, output selection, freeing of intermediates and input errors.
#include "backends/ref/ref_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backends/ref/kernels.h"
#include "core/error.h"
#include "support/fixtures.h"

namespace starface::backends::ref {
namespace {

using starface::testing::random_tensor;

using graph::ConvAttrs;
using graph::Graph;
using graph::OpKind;
using graph::ValueId;

void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(pa[i], pb[i]) << what << " element " << i;
}

// Row n of a batch, as a [1, ...] tensor.
Tensor row(const Tensor& t, int64_t n) {
  Shape shape = t.shape();
  const int64_t per_row = t.numel() / shape[0];
  shape[0] = 1;
  return Tensor::view(t.storage(), t.dtype(), shape, contiguous_strides(shape),
                      t.offset() + n * per_row)
      .contiguous();
}

// Rows stacked along N.
Tensor stack_rows(const std::vector<Tensor>& rows) {
  Shape shape = rows[0].shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out(DType::kFloat32, shape);
  const int64_t per_row = rows[0].numel();
  for (size_t n = 0; n < rows.size(); ++n) {
    std::copy(rows[n].data<float>(), rows[n].data<float>() + per_row,
              out.data<float>() + static_cast<int64_t>(n) * per_row);
  }
  return out;
}

ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

// A small STAR-shaped graph that uses every op: a coord-conv stem (7x7 s2 p3 on the input
// concatenated with constant planes), BN + ReLU, a one-level hourglass (max pool, 3x3 conv,
// upsample, add), heat/point heads (instance norm, sigmoid, mul), soft-argmax, and a second
// stack whose coord-conv reads boundary planes of the first stack's heatmaps.
struct MiniStar {
  Graph graph;
  std::vector<Tensor> w;  // the weights, in the order the reference composition uses them
  Tensor coords;
};

MiniStar build_mini_star() {
  MiniStar m;
  Graph& g = m.graph;
  uint32_t seed = 500;
  auto weight = [&](const std::string& name, Shape shape, float lo = -0.5f, float hi = 0.5f) {
    m.w.push_back(random_tensor(shape, seed++, lo, hi));
    return g.add_constant(name, m.w.back());
  };
  const ValueId x = g.add_input("input", {1, 3, 16, 16});
  m.coords = random_tensor({1, 3, 16, 16}, seed++);
  const ValueId coords = g.add_constant("coords", m.coords);
  const ValueId cat = g.add_node(OpKind::kConcat, "pre.cat", "stem", {x, coords});
  ConvAttrs stem;
  stem.kernel = 7;
  stem.stride = 2;
  stem.pad = 3;
  const ValueId c1 = g.add_node(OpKind::kConv2d, "pre.conv", "stem",
                                {cat, weight("w1", {4, 6, 7, 7}), weight("b1", {4})}, stem);
  const ValueId bn = g.add_node(OpKind::kBatchNorm, "pre.bn", "stem",
                                {c1, weight("gamma", {4}, 0.75f, 1.25f), weight("beta", {4}),
                                 weight("mean", {4}), weight("var", {4}, 0.5f, 2.0f)});
  const ValueId r = g.add_node(OpKind::kRelu, "pre.relu", "stem", {bn});
  g.mark_output("stem", r);
  const ValueId p = g.add_node(OpKind::kMaxPool2x2, "hg.pool", "hg", {r});
  ConvAttrs k3;
  k3.kernel = 3;
  k3.pad = 1;
  const ValueId c2 = g.add_node(OpKind::kConv2d, "hg.low", "hg",
                                {p, weight("w2", {4, 4, 3, 3}), weight("b2", {4})}, k3);
  const ValueId u = g.add_node(OpKind::kUpsample2x, "hg.up", "hg", {c2});
  const ValueId s = g.add_node(OpKind::kAdd, "hg.add", "hg", {r, u});
  const ValueId hc = g.add_node(OpKind::kConv2d, "heat.conv", "heads",
                                {s, weight("wh", {3, 4, 1, 1}), weight("bh", {3})});
  const ValueId in = g.add_node(OpKind::kInstanceNorm, "heat.in", "heads", {hc});
  const ValueId heat = g.add_node(OpKind::kRelu, "heat", "heads", {in});
  const ValueId pc = g.add_node(OpKind::kConv2d, "point.conv", "heads",
                                {s, weight("wp", {3, 4, 1, 1}), weight("bp", {3})});
  const ValueId point = g.add_node(OpKind::kSigmoid, "point", "heads", {pc});
  const ValueId fusion = g.add_node(OpKind::kMul, "fusion", "heads", {heat, point});
  const ValueId lmk0 = g.add_node(OpKind::kSoftArgmax, "lmk0", "decode", {fusion});
  const graph::BoundaryAttrs bp_attrs(0.3f);
  const ValueId bp = g.add_node(OpKind::kBoundaryPlanes, "boundary", "stack1", {heat}, bp_attrs);
  const ValueId cat2 = g.add_node(OpKind::kConcat, "stack1.cat", "stack1", {s, bp});
  const ValueId c3 = g.add_node(OpKind::kConv2d, "stack1.conv", "stack1",
                                {cat2, weight("w3", {3, 6, 1, 1}), weight("b3", {3})});
  const ValueId r3 = g.add_node(OpKind::kRelu, "stack1.relu", "stack1", {c3});
  const ValueId lmk1 = g.add_node(OpKind::kSoftArgmax, "lmk1", "decode", {r3});
  g.mark_output("landmarks", lmk1);
  g.mark_output("stack_landmarks.0", lmk0);
  g.mark_output("heatmaps.0", heat);
  return m;
}

// The same network composed from the kernels by hand.
TensorMap mini_star_by_hand(const MiniStar& m, const Tensor& x) {
  const std::vector<Tensor>& w = m.w;
  const Tensor c1 = conv2d(concat({x, m.coords}), w[0], w[1], 2, 3);
  const Tensor r = relu(batch_norm(c1, w[2], w[3], w[4], w[5], 1e-5f));
  const Tensor s = add(r, upsample_2x(conv2d(max_pool_2x2(r), w[6], w[7], 1, 1)));
  const Tensor heat = relu(instance_norm(conv2d(s, w[8], w[9], 1, 0), 1e-5f));
  const Tensor point = sigmoid(conv2d(s, w[10], w[11], 1, 0));
  const Tensor lmk0 = soft_argmax(mul(heat, point));
  const Tensor c3 = conv2d(concat({s, boundary_planes(heat, 0.3f)}), w[12], w[13], 1, 0);
  return {{"stem", r},
          {"heatmaps.0", heat},
          {"stack_landmarks.0", lmk0},
          {"landmarks", soft_argmax(relu(c3))}};
}

TEST(RefBackend, MiniStarMatchesKernelsComposedByHand) {
  const MiniStar m = build_mini_star();
  const std::unique_ptr<graph::Plan> plan = compile(m.graph);
  const Tensor x = random_tensor({1, 3, 16, 16}, 1);
  const TensorMap got = plan->run(x, {"landmarks", "stack_landmarks.0", "heatmaps.0", "stem"});
  const TensorMap want = mini_star_by_hand(m, x);
  ASSERT_EQ(got.size(), 4u);
  for (const auto& [name, tensor] : want) expect_identical(got.at(name), tensor, name);
  EXPECT_EQ(got.at("landmarks").shape(), (Shape{1, 3, 2}));
  // The boundary planes really switch on somewhere (the test would be weak otherwise).
  const Tensor heat = got.at("heatmaps.0");
  int on = 0;
  for (int64_t i = 0; i < heat.numel() / 3; ++i) on += heat.data<float>()[2 * 64 + i] > 0.3f;
  EXPECT_GT(on, 0);
  EXPECT_LT(on, 64);
}

TEST(RefBackend, BatchRowsEqualSingleRuns) {
  const MiniStar m = build_mini_star();
  RefPlan plan(m.graph);
  const std::vector<Tensor> rows{random_tensor({1, 3, 16, 16}, 7), random_tensor({1, 3, 16, 16}, 8),
                                 random_tensor({1, 3, 16, 16}, 9)};
  const std::vector<std::string> names{"landmarks", "stack_landmarks.0", "heatmaps.0", "stem"};
  const TensorMap batch = plan.run(stack_rows(rows), names);
  for (size_t n = 0; n < rows.size(); ++n) {
    const TensorMap single = plan.run(rows[n], names);
    for (const std::string& name : names) {
      expect_identical(row(batch.at(name), static_cast<int64_t>(n)), single.at(name),
                       name + " row " + std::to_string(n));
    }
  }
  // Reversed order: rows follow their inputs, nothing leaks between rows.
  const TensorMap reversed = plan.run(stack_rows({rows[2], rows[1], rows[0]}), {"landmarks"});
  expect_identical(row(reversed.at("landmarks"), 0), row(batch.at("landmarks"), 2), "reversed");
}

TEST(RefBackend, ConvReluAdd) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 2, 5, 5});
  const Tensor w = random_tensor({2, 2, 3, 3}, 11);
  const Tensor b = random_tensor({2}, 12);
  ConvAttrs k3;
  k3.kernel = 3;
  k3.pad = 1;
  const ValueId c = g.add_node(OpKind::kConv2d, "conv", "s",
                               {x, g.add_constant("w", w), g.add_constant("b", b)}, k3);
  const ValueId r = g.add_node(OpKind::kRelu, "relu", "s", {c});
  const ValueId y = g.add_node(OpKind::kAdd, "add", "s", {r, x});
  g.mark_output("y", y);
  const Tensor in = random_tensor({2, 2, 5, 5}, 13);
  const TensorMap out = compile(g)->run(in, {"y"});
  expect_identical(out.at("y"), add(relu(conv2d(in, w, b, 1, 1)), in), "y");
}

TEST(RefBackend, ConcatBroadcastsAConstantOverTheBatch) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 1, 4, 4});
  const Tensor planes = random_tensor({1, 3, 4, 4}, 21);
  const ValueId cat =
      g.add_node(OpKind::kConcat, "cat", "s", {x, g.add_constant("planes", planes)});
  g.mark_output("cat", cat);
  const Tensor in = random_tensor({2, 1, 4, 4}, 22);
  const Tensor y = compile(g)->run(in, {"cat"}).at("cat");
  ASSERT_EQ(y.shape(), (Shape{2, 4, 4, 4}));
  for (int64_t n = 0; n < 2; ++n) {
    const Tensor r = row(y, n);
    for (int64_t i = 0; i < 16; ++i) {
      EXPECT_EQ(r.data<float>()[i], in.data<float>()[n * 16 + i]);
      for (int64_t c = 0; c < 3; ++c) {
        EXPECT_EQ(r.data<float>()[(1 + c) * 16 + i], planes.data<float>()[c * 16 + i]);
      }
    }
  }
}

// x -> a -> b -> c -> d, with x also read by the last node and a read by three nodes:
// values must survive until their last consumer, not their first.
TEST(RefBackend, MultiConsumerValuesLiveUntilTheirLastUse) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 2, 3, 3});
  const ValueId a = g.add_node(OpKind::kRelu, "a", "s", {x});
  const ValueId b = g.add_node(OpKind::kSigmoid, "b", "s", {a});
  const ValueId c = g.add_node(OpKind::kMul, "c", "s", {a, b});
  const ValueId d = g.add_node(OpKind::kAdd, "d", "s", {c, a});
  const ValueId e = g.add_node(OpKind::kAdd, "e", "s", {d, x});
  g.mark_output("e", e);
  g.mark_output("b", b);
  const Tensor in = random_tensor({2, 2, 3, 3}, 31);
  RefPlan plan(g);
  const TensorMap out = plan.run(in, {"e", "b"});
  const Tensor ra = relu(in);
  const Tensor rb = sigmoid(ra);
  expect_identical(out.at("e"), add(add(mul(ra, rb), ra), in), "e");
  expect_identical(out.at("b"), rb, "b");
  // Running again on the same plan gives the same answer (no state kept between runs).
  expect_identical(plan.run(in, {"e"}).at("e"), out.at("e"), "second run");
}

TEST(RefBackend, IntermediatesAreFreedAfterTheirLastConsumer) {
  Graph g;
  ValueId v = g.add_input("x", {1, 4, 32, 32});
  std::vector<ValueId> chain;
  for (int i = 0; i < 20; ++i) {
    // (std::string("n") + ... rather than "n" + ...: GCC 12 warns falsely on the latter.)
    v = g.add_node(i % 2 ? OpKind::kRelu : OpKind::kSigmoid,
                   std::string("n").append(std::to_string(i)), "s", {v});
    chain.push_back(v);
  }
  g.mark_output("y", v);
  RefPlan plan(g);
  const size_t one = 2 * 4 * 32 * 32 * sizeof(float);  // one map at batch 2
  const Tensor in = random_tensor({2, 4, 32, 32}, 41);
  plan.run(in, {"y"});
  // At most a node's input and output are alive at once, not the 20 maps of the chain.
  EXPECT_EQ(plan.last_peak_bytes(), 2 * one);
  // A requested intermediate is kept, and only that one more.
  const TensorMap out = plan.run(in, {"y", "n5"});
  EXPECT_EQ(plan.last_peak_bytes(), 3 * one);
  ASSERT_TRUE(out.at("n5").defined());
  // Asking for an early value runs only what it needs.
  plan.run(in, {"n0"});
  EXPECT_EQ(plan.last_peak_bytes(), one);
}

TEST(RefBackend, AnyValueCanBeRequestedByName) {
  const MiniStar m = build_mini_star();
  RefPlan plan(m.graph);
  const Tensor x = random_tensor({2, 3, 16, 16}, 51);
  const TensorMap out = plan.run(x, {"pre.conv", "coords", "input", "boundary"});
  expect_identical(out.at("pre.conv"), conv2d(concat({x, m.coords}), m.w[0], m.w[1], 2, 3),
                   "pre.conv");
  expect_identical(out.at("coords"), m.coords, "coords");
  expect_identical(out.at("input"), x, "input");
  EXPECT_EQ(out.at("boundary").shape(), (Shape{2, 2, 8, 8}));
}

TEST(RefBackend, UnknownOutputNameListsTheOutputs) {
  const MiniStar m = build_mini_star();
  const auto plan = compile(m.graph);
  std::string message;
  EXPECT_EQ(code_of(
                [&] {
                  plan->run(random_tensor({1, 3, 16, 16}, 1), {"landmarkz"});
                },
                &message),
            ErrorCode::kBadArgument);
  EXPECT_NE(message.find("landmarkz"), std::string::npos) << message;
  EXPECT_NE(message.find("stack_landmarks.0"), std::string::npos) << message;
}

TEST(RefBackend, AmbiguousValueNameIsRefused) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 1, 2, 2});
  const ValueId k1 = g.add_constant("k", random_tensor({1, 1, 2, 2}, 1));
  const ValueId k2 = g.add_constant("k", random_tensor({1, 1, 2, 2}, 2));
  const ValueId y = g.add_node(OpKind::kAdd, "y", "s", {x, k1});
  g.mark_output("y", g.add_node(OpKind::kAdd, "z", "s", {y, k2}));
  RefPlan plan(g);
  EXPECT_EQ(code_of([&] {
              plan.run(random_tensor({1, 1, 2, 2}, 3), {"k"});
            }),
            ErrorCode::kBadArgument);
  EXPECT_NO_THROW(plan.run(random_tensor({1, 1, 2, 2}, 3), {"y"}));  // an output name wins
}

TEST(RefBackend, WrongInputIsAnError) {
  const MiniStar m = build_mini_star();
  RefPlan plan(m.graph);
  std::string message;
  EXPECT_EQ(code_of(
                [&] {
                  plan.run(random_tensor({1, 3, 16, 17}, 1), {"landmarks"});
                },
                &message),
            ErrorCode::kShapeMismatch);
  EXPECT_NE(message.find("[N, 3, 16, 16]"), std::string::npos) << message;
  EXPECT_NE(message.find("[1, 3, 16, 17]"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] {
              plan.run(random_tensor({2, 4, 16, 16}, 1), {"landmarks"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan.run(random_tensor({3, 16, 16}, 1), {"landmarks"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan.run(Tensor(DType::kFloat32, {0, 3, 16, 16}), {"landmarks"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan.run(Tensor(DType::kFloat64, {1, 3, 16, 16}), {"landmarks"});
            }),
            ErrorCode::kBadDtype);
  EXPECT_EQ(code_of([&] { plan.run(Tensor(), {"landmarks"}); }), ErrorCode::kBadDtype);
}

TEST(RefBackend, KernelErrorsNameTheNode) {
  // A batch-1 constant added to a batch-2 value: Add does not broadcast.
  Graph g;
  const ValueId x = g.add_input("x", {1, 2, 3, 3});
  const ValueId k = g.add_constant("bias_map", random_tensor({1, 2, 3, 3}, 1));
  g.mark_output("y", g.add_node(OpKind::kAdd, "stack0.add_bias", "s", {x, k}));
  RefPlan plan(g);
  EXPECT_NO_THROW(plan.run(random_tensor({1, 2, 3, 3}, 2), {"y"}));
  std::string message;
  EXPECT_EQ(code_of(
                [&] {
                  plan.run(random_tensor({2, 2, 3, 3}, 2), {"y"});
                },
                &message),
            ErrorCode::kShapeMismatch);
  EXPECT_NE(message.find("stack0.add_bias"), std::string::npos) << message;
}

TEST(RefBackend, ConvWeightMustMatchTheKernelAttribute) {
  // A pass that replaces a weight without updating the node is caught, not silently run.
  Graph g;
  const ValueId x = g.add_input("x", {1, 2, 4, 4});
  const ValueId w = g.add_constant("w", random_tensor({2, 2, 1, 1}, 1));
  const ValueId b = g.add_constant("b", random_tensor({2}, 2));
  g.mark_output("y", g.add_node(OpKind::kConv2d, "conv", "s", {x, w, b}));
  g.mutable_values()[w].constant = random_tensor({2, 2, 3, 3}, 3);
  std::string message;
  EXPECT_EQ(code_of(
                [&] {
                  RefPlan(g).run(random_tensor({1, 2, 4, 4}, 4), {"y"});
                },
                &message),
            ErrorCode::kShapeMismatch);
  EXPECT_NE(message.find("conv"), std::string::npos) << message;
}

TEST(RefBackend, StridedInputIsAccepted) {
  Graph g;
  const ValueId x = g.add_input("x", {1, 1, 3, 2});
  g.mark_output("y", g.add_node(OpKind::kRelu, "y", "s", {x}));
  const Tensor base = random_tensor({1, 1, 2, 3}, 61);
  const Tensor transposed =
      Tensor::view(base.storage(), DType::kFloat32, {1, 1, 3, 2}, {6, 6, 1, 3}, 0);
  expect_identical(compile(g)->run(transposed, {"y"}).at("y"), relu(transposed.contiguous()), "y");
}

TEST(RefBackend, GraphWithoutInputIsRefused) {
  Graph g;
  g.add_constant("k", random_tensor({1}, 1));
  EXPECT_THROW(RefPlan plan(g), Error);
}

TEST(RefBackend, PlanOutlivesItsGraph) {
  std::unique_ptr<graph::Plan> plan;
  Tensor want;
  const Tensor x = random_tensor({1, 3, 16, 16}, 71);
  {
    const MiniStar m = build_mini_star();
    plan = compile(m.graph);
    want = mini_star_by_hand(m, x).at("landmarks");
  }
  expect_identical(plan->run(x, {"landmarks"}).at("landmarks"), want, "landmarks");
}

}  // namespace
}  // namespace starface::backends::ref
