// The plan around the programs: input and output errors as the reference reports them,
// batch sizes (rows independent of N, programs cached per N), repeated runs, profiles,
// and a memory plan that reuses buffers.
#include <gtest/gtest.h>

#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>

#include "backends/onednn/onednn_testing.h"
#include "core/error.h"
#include "core/threads.h"

namespace starface::backends::onednn::testing {
namespace {

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

Tensor row(const Tensor& t, int64_t n) {
  Shape shape = t.shape();
  const int64_t per_row = t.numel() / shape[0];
  shape[0] = 1;
  Tensor out(DType::kFloat32, shape);
  std::copy_n(t.data<float>() + n * per_row, per_row, out.data<float>());
  return out;
}

// A chain of convs with fused epilogues and a head, like a small STAR stack.
Net chain() {
  Net net({1, 8, 16, 16});
  ValueId v = net.conv(net.x, 16, 3, 1, 1, true);
  for (int i = 0; i < 6; ++i) v = net.conv(v, 16, i % 2 ? 3 : 1, 1, i % 2, true, -1, v);
  const ValueId heat = net.op(OpKind::kInstanceNorm, {net.conv(v, 5, 1, 1, 0)});
  net.g.mark_output("heat", heat);
  net.g.mark_output("landmarks", net.op(OpKind::kSoftArgmax, {net.op(OpKind::kRelu, {heat})}));
  return net;
}

TEST(OnednnPlan, InputErrorsMatchTheReference) {
  Net net = chain();
  auto plan = compile(net.g);
  EXPECT_EQ(code_of([&] { plan->run(Tensor(), {"heat"}); }), ErrorCode::kBadDtype);
  EXPECT_EQ(code_of([&] {
              plan->run(Tensor(DType::kFloat64, {1, 8, 16, 16}), {"heat"});
            }),
            ErrorCode::kBadDtype);
  EXPECT_EQ(code_of([&] {
              plan->run(Tensor(DType::kFloat32, {1, 8, 16, 15}), {"heat"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan->run(Tensor(DType::kFloat32, {0, 8, 16, 16}), {"heat"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan->run(Tensor(DType::kFloat32, {8, 16, 16}), {"heat"});
            }),
            ErrorCode::kShapeMismatch);
  EXPECT_EQ(code_of([&] {
              plan->run(random_tensor({1, 8, 16, 16}, 1), {"nope"});
            }),
            ErrorCode::kBadArgument);
  try {
    plan->run(random_tensor({1, 8, 16, 16}, 1), {"nope"});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("landmarks"), std::string::npos) << e.what();
  }
}

TEST(OnednnPlan, BadGraphIsInternalError) {
  Graph g;
  EXPECT_EQ(code_of([&] { compile(g); }), ErrorCode::kInternal);
}

TEST(OnednnPlan, OperandMismatchNamesTheNode) {
  // A batch-1 constant added to a batch-N activation fits at N = 1 only, as in the
  // reference backend.
  Net net({1, 4, 4, 4});
  const ValueId y = net.op(OpKind::kAdd, {net.x, net.constant({1, 4, 4, 4})});
  net.output(y);
  auto plan = compile(net.g);
  EXPECT_NO_THROW(plan->run(random_tensor({1, 4, 4, 4}, 1), {"out0"}));
  for (int attempt = 0; attempt < 2; ++attempt) {  // and again: no silent pass the second time
    try {
      plan->run(random_tensor({2, 4, 4, 4}, 1), {"out0"});
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
      EXPECT_NE(std::string(e.what()).find("node0"), std::string::npos) << e.what();
    }
  }
}

TEST(OnednnPlan, RowsDoNotDependOnTheBatch) {
  Net net = chain();
  OnednnPlan plan(net.g, /*images_per_pass=*/0);  // the whole batch in one program
  const Tensor batch = random_tensor({4, 8, 16, 16}, 2);
  const TensorMap all = plan.run(batch, {"heat", "landmarks"});
  for (int64_t n = 0; n < 4; ++n) {
    const TensorMap one = plan.run(row(batch, n), {"heat", "landmarks"});
    for (const char* name : {"heat", "landmarks"}) {
      EXPECT_LE(max_abs_diff(row(all.at(name), n), one.at(name)), 1e-5) << name << " row " << n;
    }
  }
}

// Passes of 1 image (the default), 2 (with a remainder pass of 1) or the whole batch give
// the same results; a value that depends on constants only keeps its batch of 1.
TEST(OnednnPlan, PassesOfAnySizeAgree) {
  Net net = chain();
  const ValueId folded = net.op(OpKind::kRelu, {net.constant({1, 3, 4, 4})});
  net.g.mark_output("folded", folded);
  const Tensor input = random_tensor({3, 8, 16, 16}, 8);
  const TensorMap want = ref::compile(net.g)->run(input, {"heat", "landmarks", "folded"});
  for (int per_pass : {0, 1, 2}) {
    OnednnPlan plan(net.g, per_pass);
    const TensorMap got = plan.run(input, {"heat", "landmarks", "folded"});
    for (const char* name : {"heat", "landmarks", "folded"}) {
      ASSERT_EQ(got.at(name).shape(), want.at(name).shape()) << name;
      EXPECT_LE(max_abs_diff(got.at(name), want.at(name)), 1e-5) << name << " " << per_pass;
    }
  }
}

TEST(OnednnPlan, RepeatedRunsAreIdenticalAndOutputsOwnTheirStorage) {
  Net net = chain();
  auto plan = compile(net.g);
  const Tensor a = random_tensor({2, 8, 16, 16}, 3);
  const TensorMap first = plan->run(a, {"heat", "landmarks"});
  const Tensor heat = first.at("heat").clone();
  plan->run(random_tensor({2, 8, 16, 16}, 4), {"heat"});
  plan->run(random_tensor({3, 8, 16, 16}, 4), {"landmarks"});
  EXPECT_EQ(max_abs_diff(first.at("heat"), heat), 0.0);  // not overwritten by later runs
  const TensorMap again = plan->run(a, {"heat", "landmarks"});
  EXPECT_EQ(max_abs_diff(again.at("heat"), heat), 0.0);
  EXPECT_EQ(max_abs_diff(again.at("landmarks"), first.at("landmarks")), 0.0);
}

TEST(OnednnPlan, ThreadCountChangesBetweenRuns) {
  Net net = chain();
  auto plan = compile(net.g);
  const Tensor input = random_tensor({2, 8, 16, 16}, 12);
  const int threads = num_threads();
  set_num_threads(1);
  const TensorMap one = plan->run(input, {"heat"});
  set_num_threads(2);
  const TensorMap two = plan->run(input, {"heat"});
  set_num_threads(threads);
  EXPECT_LE(max_abs_diff(one.at("heat"), two.at("heat")), 1e-5);
}

TEST(OnednnPlan, ProfilesEveryNodeWithFusedOpNames) {
  Net net = chain();
  auto plan = compile(net.g);
  plan->set_profiling(true);
  plan->run(random_tensor({1, 8, 16, 16}, 5), {"landmarks"});
  const std::vector<graph::NodeTime> profile = plan->last_profile();
  ASSERT_EQ(profile.size(), net.g.nodes().size());
  std::set<std::string> ops;
  for (const graph::NodeTime& t : profile) {
    ops.insert(t.op);
    EXPECT_EQ(t.stage, "stage");
    EXPECT_GE(t.ms, 0.0);
  }
  EXPECT_EQ(ops, (std::set<std::string>{"Conv2d", "Conv2d+Relu", "Conv2d+Add+Relu", "InstanceNorm",
                                        "Relu", "SoftArgmax"}));
  EXPECT_EQ(profile.front().node, net.g.nodes().front().name);
}

TEST(OnednnPlan, MemoryPlanReusesBuffers) {
  // Twenty 64-channel 32x32 maps in a chain: 5 MB if each had its own buffer.
  Net net({1, 64, 32, 32});
  ValueId v = net.x;
  for (int i = 0; i < 20; ++i) v = net.conv(v, 64, 1, 1, 0, i % 2 == 0);
  net.output(v);
  OnednnPlan plan(net.g);
  plan.run(random_tensor({1, 64, 32, 32}, 6), {"out0"});
  const OnednnPlan::ProgramStats stats = plan.last_program_stats();
  const size_t map = 64 * 32 * 32 * sizeof(float);
  EXPECT_LE(stats.buffers, 4);
  EXPECT_LE(stats.activation_bytes, 3 * map + (1 << 20));  // maps in flight plus scratch
  EXPECT_EQ(stats.layout_reorders, 1);  // the dense input into the convs' layout, once
}

// Every primitive asks for strict float32 math, so a process-wide default (or the
// DNNL_DEFAULT_FPMATH_MODE variable) allowing bf16 cannot trade away accuracy.
TEST(OnednnPlan, StaysFloat32WhenTheDefaultAllowsBf16) {
  ASSERT_EQ(dnnl::set_default_fpmath_mode(dnnl::fpmath_mode::bf16), dnnl::status::success);
  Net net({1, 64, 16, 16});
  ValueId v = net.conv(net.x, 64, 3, 1, 1, true);
  v = net.conv(v, 64, 1, 1, 0, false, -1, v);
  net.output(v);
  const Tensor input = random_tensor({1, 64, 16, 16}, 13);
  expect_matches_reference(net.g, input, {"out0"});
  dnnl::set_default_fpmath_mode(dnnl::fpmath_mode::strict);
}

TEST(OnednnPlan, IsaNameIsKnown) {
  const std::string isa = isa_name();
  EXPECT_NE(isa, "unknown");
  EXPECT_FALSE(isa.empty());
}

}  // namespace
}  // namespace starface::backends::onednn::testing
