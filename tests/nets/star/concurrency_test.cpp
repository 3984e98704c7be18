// Engines and detectors used from several threads at once (as the Python module's callers
// do) compute exactly what they compute alone: one object per thread in parallel, and one
// object made on the main thread and called from workers in turn. Runs under the sanitizers.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/detector.h"
#include "engine/engine.h"
#include "support/fixtures.h"

namespace starface {
namespace {

constexpr int kThreads = 4;
constexpr int kCallsPerThread = 3;

std::string tiny_model() { return testing::star_fixture("models/star_wflw_tiny.pth").string(); }
std::string detector_model() {
  return (testing::shared_dir() / "models" / "retinaface_mobilenet0.25.pth").string();
}

EngineOptions two_threads() {
  EngineOptions o;
  o.threads = 2;  // nested in each caller's thread: more OpenMP threads than cores
  return o;
}

// A different input per caller, so a mix-up between threads would show.
std::vector<Tensor> landmark_inputs(int size) {
  std::vector<Tensor> inputs;
  for (int t = 0; t < kThreads; ++t)
    inputs.push_back(testing::random_tensor({1, 3, size, size}, t));
  return inputs;
}

std::vector<Tensor> detector_inputs() {
  std::vector<Tensor> inputs;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(testing::random_tensor({1, 3, 96, 128}, 100 + t, -120.0f, 130.0f));
  }
  return inputs;
}

void expect_same(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_EQ(testing::max_abs_diff(got, want), 0.0);
}

// Runs body(t) on kThreads threads at once.
template <typename Body>
void on_threads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& th : threads) th.join();
}

TEST(Concurrency, OneEnginePerThreadMatchesSequentialCalls) {
  auto reference = Engine::load(tiny_model(), two_threads());
  const std::vector<Tensor> inputs = landmark_inputs(reference->net().input_size);
  std::vector<Tensor> want;
  for (const Tensor& in : inputs) want.push_back(reference->landmarks(in));

  std::vector<std::vector<Tensor>> got(kThreads);
  on_threads([&](int t) {
    auto engine = Engine::load(tiny_model(), two_threads());
    for (int k = 0; k < kCallsPerThread; ++k) got[t].push_back(engine->landmarks(inputs[t]));
  });
  for (int t = 0; t < kThreads; ++t) {
    for (const Tensor& g : got[t]) expect_same(g, want[t]);
  }
}

TEST(Concurrency, SharedEngineCalledFromWorkersMatchesSequentialCalls) {
  auto engine = Engine::load(tiny_model(), two_threads());
  const std::vector<Tensor> inputs = landmark_inputs(engine->net().input_size);
  std::vector<Tensor> want;
  for (const Tensor& in : inputs) want.push_back(engine->landmarks(in));

  std::mutex turn;  // an Engine runs one batch at a time (the Python objects hold one too)
  std::vector<std::vector<Tensor>> got(kThreads);
  on_threads([&](int t) {
    for (int k = 0; k < kCallsPerThread; ++k) {
      std::lock_guard<std::mutex> lock(turn);
      got[t].push_back(engine->landmarks(inputs[t]));
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    for (const Tensor& g : got[t]) expect_same(g, want[t]);
  }
}

TEST(Concurrency, OneDetectorPerThreadMatchesSequentialCalls) {
  auto reference = Detector::load(detector_model(), two_threads());
  const std::vector<Tensor> inputs = detector_inputs();
  std::vector<TensorMap> want;
  for (const Tensor& in : inputs) want.push_back(reference->run(in));

  std::vector<std::vector<TensorMap>> got(kThreads);
  on_threads([&](int t) {
    auto detector = Detector::load(detector_model(), two_threads());
    for (int k = 0; k < kCallsPerThread; ++k) got[t].push_back(detector->run(inputs[t]));
  });
  for (int t = 0; t < kThreads; ++t) {
    for (const TensorMap& g : got[t]) {
      for (const char* head : {"loc", "conf", "landms"}) {
        SCOPED_TRACE(head);
        expect_same(g.at(head), want[t].at(head));
      }
    }
  }
}

}  // namespace
}  // namespace starface
