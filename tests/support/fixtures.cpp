#include "support/fixtures.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <vector>

namespace starface::testing {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("STARFACE_SHARED")) return env;
  return STARFACE_SHARED_DIR;
}

std::filesystem::path star_fixture(const std::string& relative) {
  return shared_dir() / "fixtures" / "star" / relative;
}

const nlohmann::json& star_manifest() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(star_fixture("manifest.json"));
    if (!in) throw std::runtime_error("cannot open " + star_fixture("manifest.json").string());
    return nlohmann::json::parse(in);
  }();
  return manifest;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) {
    ADD_FAILURE() << "shape " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
    return INFINITY;
  }
  const Tensor fa = a.to_float32();
  const Tensor fb = b.to_float32();
  const float* pa = fa.data<float>();
  const float* pb = fb.data<float>();
  double worst = 0.0;
  for (int64_t i = 0; i < fa.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(pa[i]) - pb[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as a failure
  }
  return worst;
}

Tensor random_tensor(const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = dist(gen);
  return t;
}

namespace {

// Removes every directory temp_dir made when the test process exits, so
// per-process names do not pile up in /tmp.
class TempDirs {
 public:
  ~TempDirs() {
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }
  void add(const std::filesystem::path& dir) { dirs_.push_back(dir); }

 private:
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace

std::filesystem::path temp_dir(const std::string& name) {
  static TempDirs made;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string id = name;
  if (info) id += std::string("_") + info->test_suite_name() + "_" + info->name();
  for (char& c : id)
    if (c == '/') c = '_';
  // The process id keeps two test binaries that run the same case (one per
  // backend, in parallel under ctest -j) out of each other's directory.
  id += "_" + std::to_string(::getpid());
  auto dir = std::filesystem::temp_directory_path() / ("starface_test_" + id);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  made.add(dir);
  return dir;
}

}  // namespace starface::testing
