// Every op of the table (op_table.h) on every registered backend against the reference
// backend, as ggml's test-backend-ops does: each case is a tiny graph, run at batch 1 and
// 3, on the graph input and after a conv (a fast backend's own layout). A backend that
// declines an op runs it placed on the reference backend (engine/placement.h).
//
//   backend_ops_test            correctness (gtest; the usual gtest flags apply)
//   backend_ops_test --perf     time each op alone per backend instead: ms per run, and
//                               the ratio to the reference backend
//   backend_ops_test --avx2     limit oneDNN and our kernels to AVX2 first (nChw8c layouts)
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "backends/op_table.h"
#include "backends/ref/ref_backend.h"
#include "core/cpu.h"
#include "core/timer.h"
#include "engine/backend_registry.h"
#include "engine/placement.h"

namespace starface::testing {
namespace {

using graph::ValueId;

// The backend's plan for the graph as built (no passes: the op under test must reach the
// backend as it is), placed where the backend declines one of its ops.
std::unique_ptr<graph::Plan> plan_for(const Backend& backend, const graph::Graph& g) {
  for (const graph::Node& node : g.nodes()) {
    if (!backend.supports_op(node, g))
      return std::make_unique<PlacedPlan>(g, backend, graph::ConvPrecisions{});
  }
  return backend.compile(g, graph::ConvPrecisions{});
}

// The case's graph, its input for `batch` and the output name.
struct Built {
  Net net;
  std::string output;
};

Built build(const OpCase& c, bool after_conv) {
  Built b{Net(c.input), ""};
  // A conv first puts the activation in a fast backend's layout (nhwc, nChw8c, nChw16c).
  const ValueId in = after_conv ? b.net.conv(b.net.x, c.input[1], 1, 1, 0) : b.net.x;
  b.output = b.net.output(c.build(b.net, in));
  return b;
}

Tensor case_input(const OpCase& c, int64_t batch) {
  Shape shape = c.input;
  shape[0] = batch;
  // Values spread over [-1, 1.2] put boundary guides on both sides of the threshold.
  return random_tensor(shape, 5, -1.0f, 1.2f);
}

std::vector<std::string> fast_backends() {
  std::vector<std::string> names;
  for (const Backend& b : registered_backends()) {
    if (b.name != "ref") names.push_back(b.name);
  }
  return names;
}

class BackendOps : public ::testing::TestWithParam<std::tuple<std::string, int, bool, int64_t>> {};

TEST_P(BackendOps, MatchReference) {
  const auto& [backend, index, after_conv, batch] = GetParam();
  const OpCase& c = op_cases()[index];
  const Built b = build(c, after_conv);
  const Tensor input = case_input(c, batch);
  const Tensor want = backends::ref::compile(b.net.g)->run(input, {b.output}).at(b.output);
  const Tensor got = plan_for(find_backend(backend), b.net.g)->run(input, {b.output}).at(b.output);
  ASSERT_EQ(got.shape(), want.shape()) << c.name;
  ASSERT_TRUE(got.is_contiguous()) << c.name;
  EXPECT_LE(max_abs_diff(got, want), kRelativeTolerance * std::max(1.0, max_abs(want))) << c.name;
}

INSTANTIATE_TEST_SUITE_P(All, BackendOps,
                         ::testing::Combine(::testing::ValuesIn(fast_backends()),
                                            ::testing::Range(0,
                                                             static_cast<int>(op_cases().size())),
                                            ::testing::Bool(), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           std::string backend = std::get<0>(info.param);
                           for (char& ch : backend) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return backend + "_" + op_cases()[std::get<1>(info.param)].name +
                                  (std::get<2>(info.param) ? "_AfterConv" : "_OnInput") + "_batch" +
                                  std::to_string(std::get<3>(info.param));
                         });

// Milliseconds per run of `plan` on `input`: one warm-up run (it builds the program), then
// runs until 0.2 s have passed or 200 runs.
double ms_per_run(graph::Plan& plan, const Tensor& input, const std::string& output) {
  plan.run(input, {output});
  const Timer timer;
  int runs = 0;
  while (runs < 200 && (runs < 3 || timer.elapsed_ms() < 200.0)) {
    plan.run(input, {output});
    ++runs;
  }
  return timer.elapsed_ms() / runs;
}

// --perf: each op alone at batch 1 on the graph input, per backend, with the ratio to the
// reference (measured first).
int perf() {
  std::printf("%-30s %12s", "op (batch 1)", "ref");
  for (const std::string& name : fast_backends()) std::printf(" %22s", name.c_str());
  std::printf("\n");
  for (const OpCase& c : op_cases()) {
    const Built b = build(c, false);
    const Tensor input = case_input(c, 1);
    const double ref_ms = ms_per_run(*plan_for(find_backend("ref"), b.net.g), input, b.output);
    std::printf("%-30s %9.4f ms", c.name, ref_ms);
    for (const std::string& name : fast_backends()) {
      const double ms = ms_per_run(*plan_for(find_backend(name), b.net.g), input, b.output);
      std::printf(" %9.4f ms (%6.2fx)", ms, ms / ref_ms);
    }
    std::printf("\n");
  }
  return 0;
}

void limit_to_avx2() {
  if (dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2) != dnnl::status::success) {
    std::fprintf(stderr, "backend_ops_test: oneDNN refused to limit its ISA to avx2\n");
  }
  set_max_simd_target(SimdTarget::kAvx2);
}

}  // namespace
}  // namespace starface::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bool perf = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--perf") == 0) perf = true;
    if (std::strcmp(argv[i], "--avx2") == 0) starface::testing::limit_to_avx2();
  }
  return perf ? starface::testing::perf() : RUN_ALL_TESTS();
}
