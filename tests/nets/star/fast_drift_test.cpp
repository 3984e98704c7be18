// --precision fp32-fast against exact fp32 on the full-size model: landmarks may move by at
// most 0.02 crop pixels on average (the product's promise; landmarks are in [-1, 1], and
// 1 unit is 128 pixels of the 256-pixel crop), whichever convs the timings give to
// Winograd, so every eligible conv runs as Winograd here.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/onednn/onednn_backend.h"
#include "engine/engine.h"
#include "import/npy.h"
#include "support/fixtures.h"

namespace starface {
namespace {

using testing::star_fixture;
using testing::star_manifest;

constexpr double kCropPixelsPerUnit = 128.0;
constexpr double kMaxMeanDriftPx = 0.02;

// Every input the fixtures have for the full model, as one batch.
Tensor all_inputs() {
  const auto& inputs = star_manifest()["inputs"];
  const int64_t each = 3 * 256 * 256;
  Tensor batch(DType::kFloat32, {static_cast<int64_t>(inputs.size()), 3, 256, 256});
  int64_t n = 0;
  for (const auto& [id, input] : inputs.items()) {
    const Tensor t = import::read_npy(star_fixture(input["file"]));
    std::copy_n(t.data<float>(), each, batch.data<float>() + n++ * each);
  }
  return batch;
}

TEST(FastPrecision, LandmarksDriftFromExactFp32ByAtMostTwoHundredthsOfACropPixel) {
  backends::onednn::set_winograd_choice(backends::onednn::WinogradChoice::kAlways);
  const std::string model = star_fixture("models/star_wflw_full_random.pth");
  EngineOptions exact;
  EngineOptions fast;
  fast.precision = graph::Precision::kFp32Winograd;
  const Tensor input = all_inputs();
  const Tensor want = Engine::load(model, exact)->landmarks(input);
  const Tensor got = Engine::load(model, fast)->landmarks(input);
  ASSERT_EQ(got.shape(), want.shape());
  double sum = 0, worst = 0;
  int64_t points = 0;
  for (int64_t i = 0; i + 1 < got.numel(); i += 2) {
    const double dx = got.data<float>()[i] - want.data<float>()[i];
    const double dy = got.data<float>()[i + 1] - want.data<float>()[i + 1];
    const double px = std::hypot(dx, dy) * kCropPixelsPerUnit;
    sum += px;
    worst = std::max(worst, px);
    ++points;
  }
  const double mean = sum / static_cast<double>(points);
  std::printf("fp32-fast drift: mean %.5f crop px, max %.5f over %lld points\n", mean, worst,
              static_cast<long long>(points));
  EXPECT_LE(mean, kMaxMeanDriftPx);
  // Not all the same point: Winograd changed something, so the comparison means something.
  EXPECT_GT(worst, 0.0);
}

}  // namespace
}  // namespace starface
