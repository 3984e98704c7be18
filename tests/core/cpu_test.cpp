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

TEST(Cpu, WidestPathFollowsTheFeatures) {
  CpuFeatures f;
  EXPECT_EQ(widest_fma_path(f), FmaPath::kScalar);
  f.avx2 = true;
  EXPECT_EQ(widest_fma_path(f), FmaPath::kScalar);  // AVX2 without FMA has no 8-wide FMA
  f.fma = true;
  EXPECT_EQ(widest_fma_path(f), FmaPath::kAvx2);
  f.avx512f = true;
  EXPECT_EQ(widest_fma_path(f), FmaPath::kAvx512);
  EXPECT_STREQ(fma_path_name(FmaPath::kAvx512), "avx512");
  EXPECT_STREQ(fma_path_name(FmaPath::kAvx2), "avx2");
  EXPECT_STREQ(fma_path_name(FmaPath::kScalar), "scalar");
}

TEST(Cpu, PeakOnOneThreadIsPositiveOnASupportedPath) {
  const CpuFeatures f = cpu_info().features;
  const PeakResult r = measure_fma_peak(1, 0.01);
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.trials, 3);
  EXPECT_TRUE(std::isfinite(r.gflops));
  EXPECT_GT(r.gflops, 0);
  EXPECT_DOUBLE_EQ(r.per_thread_gflops, r.gflops);
  EXPECT_EQ(r.path, widest_fma_path(f));
  switch (r.path) {
    case FmaPath::kAvx512:
      EXPECT_TRUE(f.avx512f);
      EXPECT_GT(r.avx2_gflops, 0);
      break;
    case FmaPath::kAvx2:
      EXPECT_TRUE(f.avx2 && f.fma);
      EXPECT_EQ(r.avx2_gflops, r.gflops);
      break;
    case FmaPath::kScalar:
      EXPECT_EQ(r.avx2_gflops, 0);
      break;
  }
  EXPECT_TRUE(std::isfinite(r.avx2_gflops));
}

TEST(Cpu, EveryRunnablePathMeasures) {
  const CpuFeatures f = cpu_info().features;
  for (FmaPath path : {FmaPath::kAvx512, FmaPath::kAvx2, FmaPath::kScalar}) {
    const bool runnable = path == FmaPath::kScalar || (path == FmaPath::kAvx2 && f.avx2 && f.fma) ||
                          (path == FmaPath::kAvx512 && f.avx512f);
    if (!runnable) {
      EXPECT_THROW(measure_fma_peak_on(path, 1, 0.01), Error) << fma_path_name(path);
      continue;
    }
    const PeakResult r = measure_fma_peak_on(path, 2, 0.01);
    EXPECT_EQ(r.path, path);
    EXPECT_GE(r.threads, 1);
    EXPECT_GT(r.gflops, 0) << fma_path_name(path);
    EXPECT_TRUE(std::isfinite(r.gflops)) << fma_path_name(path);
  }
}

TEST(Cpu, BadArgumentsAreRefused) {
  EXPECT_THROW(measure_fma_peak(0, 0.01), Error);
  EXPECT_THROW(measure_fma_peak(1, 0.0), Error);
  EXPECT_THROW(measure_fma_peak(1, -1.0), Error);
}

}  // namespace
}  // namespace starface
