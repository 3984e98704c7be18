#include "core/cpu.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace starface {
namespace {

TEST(Cpu, FactsAreConsistent) {
  const CpuInfo info = cpu_info();
  EXPECT_FALSE(info.model.empty());
  EXPECT_GE(info.logical_cores, 1);
  const CpuFeatures& f = info.features;
  // Every CPU with AVX-512 also has AVX2 and FMA; a VM that claims otherwise would send
  // the dispatch down a path that faults.
  EXPECT_TRUE(!f.avx512f || f.avx2);
  EXPECT_TRUE(!f.avx2 || f.fma);
  EXPECT_TRUE(!(f.avx512bw || f.avx512vl || f.avx512_vnni || f.avx512_bf16) || f.avx512f);
  EXPECT_TRUE(!(f.amx_bf16 || f.amx_int8) || f.amx_tile);
}

TEST(Cpu, FeatureListNamesEachFlagOnce) {
  CpuFeatures f;
  f.avx2 = f.fma = f.avx512_vnni = true;
  EXPECT_EQ(f.present(), "avx2 fma avx512_vnni");
  EXPECT_EQ(f.list().size(), 11u);
  EXPECT_EQ(CpuFeatures{}.present(), "");
}

// Highway's detection and the CPUID flags agree on what each target needs.
TEST(Cpu, SimdTargetsFollowTheFeatures) {
  const CpuFeatures f = cpu_info().features;
  EXPECT_TRUE(simd_target_supported(SimdTarget::kScalar));
  if (simd_target_supported(SimdTarget::kAvx512)) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl);
  }
  if (simd_target_supported(SimdTarget::kAvx2)) {
    EXPECT_TRUE(f.avx2 && f.fma);
  }
#if defined(__x86_64__)
  EXPECT_EQ(simd_target_supported(SimdTarget::kAvx2), f.avx2 && f.fma);
#endif
  EXPECT_TRUE(simd_target_supported(widest_simd_target()));
  EXPECT_STREQ(simd_target_name(SimdTarget::kAvx512), "avx512");
  EXPECT_STREQ(simd_target_name(SimdTarget::kAvx2), "avx2");
  EXPECT_STREQ(simd_target_name(SimdTarget::kScalar), "scalar");
  EXPECT_EQ(parse_simd_target("avx2"), SimdTarget::kAvx2);
  EXPECT_EQ(parse_simd_target("sse"), std::nullopt);
}

TEST(Cpu, SelectedTargetFollowsTheCap) {
  const SimdTarget widest = widest_simd_target();
  set_max_simd_target(SimdTarget::kScalar);
  EXPECT_EQ(selected_simd_target(), SimdTarget::kScalar);
  if (simd_target_supported(SimdTarget::kAvx2)) {  // x86 only
    set_max_simd_target(SimdTarget::kAvx2);
    EXPECT_EQ(selected_simd_target(), SimdTarget::kAvx2);
  }
  set_max_simd_target(std::nullopt);
  EXPECT_EQ(selected_simd_target(), widest);
}

TEST(Cpu, PeakOnOneThreadIsPositiveOnASupportedPath) {
  const PeakResult r = measure_fma_peak(1, 0.01);
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.trials, 3);
  EXPECT_TRUE(std::isfinite(r.gflops));
  EXPECT_GT(r.gflops, 0);
  EXPECT_DOUBLE_EQ(r.per_thread_gflops, r.gflops);
  EXPECT_EQ(r.path, widest_simd_target());
  switch (r.path) {
    case SimdTarget::kAvx512:
      EXPECT_GT(r.avx2_gflops, 0);
      break;
    case SimdTarget::kAvx2:
      EXPECT_EQ(r.avx2_gflops, r.gflops);
      break;
    case SimdTarget::kScalar:
      EXPECT_EQ(r.avx2_gflops, 0);
      break;
  }
  EXPECT_TRUE(std::isfinite(r.avx2_gflops));
}

TEST(Cpu, EveryRunnablePathMeasures) {
  for (SimdTarget path : {SimdTarget::kAvx512, SimdTarget::kAvx2, SimdTarget::kScalar}) {
    if (!simd_target_supported(path)) {
      EXPECT_THROW(measure_fma_peak_on(path, 1, 0.01), Error) << simd_target_name(path);
      continue;
    }
    const PeakResult r = measure_fma_peak_on(path, 2, 0.01);
    EXPECT_EQ(r.path, path);
    EXPECT_GE(r.threads, 1);
    EXPECT_GT(r.gflops, 0) << simd_target_name(path);
    EXPECT_TRUE(std::isfinite(r.gflops)) << simd_target_name(path);
  }
}

TEST(Cpu, BadArgumentsAreRefused) {
  EXPECT_THROW(measure_fma_peak(0, 0.01), Error);
  EXPECT_THROW(measure_fma_peak(1, 0.0), Error);
  EXPECT_THROW(measure_fma_peak(1, -1.0), Error);
}

}  // namespace
}  // namespace starface
