// The FP32 FMA peak: one kernel of independent FMA chains, compiled by Highway for each
// SimdTarget (foreach_target.h re-includes this file), timed on a team of pinned threads.
#include "core/simd_targets.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/fma_peak.cpp"
#include <cstdint>

#include "hwy/foreach_target.h"  // IWYU pragma: keep; must come before highway.h
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace starface::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// kChains independent dependency chains, enough to cover FMA latency x pipes (4 cycles x 2
// on Zen 4 and recent Intel = 8 chains) with margin; returns the FLOPs done (2 per lane per
// FMA). The multiplier is read from a volatile once per block of kBlock FMA groups so the
// compiler can neither hoist nor fold the chains. On the portable target MulAdd may be a
// multiply and an add, which is 2 FLOPs all the same.
constexpr int kChains = 12;
constexpr int kBlock = 1000;

volatile float g_multiplier = 0.999999f;

double FmaChains(uint64_t blocks, float* sink) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const V b = hn::Set(d, 1e-6f);
  V acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = hn::Set(d, static_cast<float>(i));
  for (uint64_t it = 0; it < blocks; ++it) {
    const V a = hn::Set(d, g_multiplier);
    for (int k = 0; k < kBlock; ++k) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = hn::MulAdd(acc[i], a, b);
    }
  }
  V s = acc[0];
  for (int i = 1; i < kChains; ++i) s = hn::Add(s, acc[i]);
  *sink = hn::GetLane(s);
  return static_cast<double>(blocks) * kBlock * kChains * static_cast<double>(hn::Lanes(d)) * 2;
}

}  // namespace HWY_NAMESPACE
}  // namespace starface::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/simd_dispatch.h"

namespace starface {
namespace detail {
HWY_EXPORT(FmaChains);
}  // namespace detail

namespace {

using Kernel = double (*)(uint64_t blocks, float* sink);

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Pins the calling thread to the index-th CPU it may run on while alive, then restores its
// mask, so the engine's OpenMP threads are left as the user (or OMP_PROC_BIND) set them.
// Best effort: where affinity cannot be read or set, the thread stays unpinned.
class ScopedPin {
 public:
  explicit ScopedPin(int index) {
    saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) == 0;
    if (!saved_ok_) return;
    const int allowed = CPU_COUNT(&saved_);
    if (allowed < 1) return;
    int wanted = index % allowed;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &saved_) || wanted-- > 0) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
      break;
    }
  }
  ~ScopedPin() {
    if (saved_ok_) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;

 private:
  cpu_set_t saved_;
  bool saved_ok_ = false;
};

// Grows the block count until one call takes a noticeable time, then scales it to `seconds`.
uint64_t calibrate(Kernel kernel, double seconds, float* sink) {
  const double probe = std::min(0.05, seconds / 2);
  uint64_t blocks = 1;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    kernel(blocks, sink);
    const double t = seconds_since(start);
    if (t > probe || blocks > (uint64_t{1} << 40)) {
      return static_cast<uint64_t>(static_cast<double>(blocks) * (seconds / std::max(t, 1e-9))) + 1;
    }
    blocks *= 2;
  }
}

constexpr int kTrials = 3;

// Best-of-kTrials total GFLOP/s of `kernel` on a team of up to `threads` threads, each
// timing its own share; sets *team to the threads that ran.
double best_total_gflops(Kernel kernel, int threads, double seconds, int* team) {
  std::vector<std::vector<double>> rate(kTrials, std::vector<double>(threads, 0.0));
  std::vector<float> sinks(threads, 0.0f);
  int ran = 1;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
#pragma omp single
    ran = omp_get_num_threads();
    const ScopedPin pin(t);
    const uint64_t blocks = calibrate(kernel, seconds, &sinks[t]);
    for (int trial = 0; trial < kTrials; ++trial) {
      // Start every trial together so the threads compete for the cores as a model run does.
#pragma omp barrier
      const auto start = std::chrono::steady_clock::now();
      const double flops = kernel(blocks, &sinks[t]);
      rate[trial][t] = flops / std::max(seconds_since(start), 1e-9) * 1e-9;
    }
  }
  for (float s : sinks) {
    check_internal(std::isfinite(s), "FMA peak: a kernel produced a non-finite value");
  }
  *team = ran;
  double best = 0;
  for (const std::vector<double>& r : rate) {
    double total = 0;
    for (double g : r) total += g;
    best = std::max(best, total);
  }
  return best;
}

}  // namespace

PeakResult measure_fma_peak_on(SimdTarget path, int threads, double seconds_per_trial) {
  if (threads < 1) {
    throw Error(ErrorCode::kBadArgument,
                "FMA peak: threads must be >= 1, got " + std::to_string(threads));
  }
  if (!(seconds_per_trial > 0)) {
    throw Error(ErrorCode::kBadArgument, "FMA peak: seconds per trial must be > 0");
  }
  if (!simd_target_supported(path)) {
    throw Error(ErrorCode::kBadArgument, std::string("FMA peak: this CPU cannot run the ") +
                                             simd_target_name(path) + " path");
  }
  PeakResult r;
  r.path = path;
  r.seconds_per_trial = seconds_per_trial;
  r.trials = kTrials;
  r.gflops = best_total_gflops(STARFACE_SIMD_FUNCTION(detail::FmaChains, path), threads,
                               seconds_per_trial, &r.threads);
  r.per_thread_gflops = r.gflops / r.threads;
  return r;
}

PeakResult measure_fma_peak(int threads, double seconds_per_trial) {
  const SimdTarget widest = widest_simd_target();
  PeakResult r = measure_fma_peak_on(widest, threads, seconds_per_trial);
  if (widest == SimdTarget::kAvx2) {
    r.avx2_gflops = r.gflops;
  } else if (widest == SimdTarget::kAvx512 && simd_target_supported(SimdTarget::kAvx2)) {
    r.avx2_gflops = measure_fma_peak_on(SimdTarget::kAvx2, threads, seconds_per_trial).gflops;
  }
  return r;
}

}  // namespace starface

#endif  // HWY_ONCE
