#include "core/cpu.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define STARFACE_X86 1
#endif

namespace starface {

std::vector<std::pair<std::string, bool>> CpuFeatures::list() const {
  return {{"avx2", avx2},
          {"fma", fma},
          {"avx512f", avx512f},
          {"avx512bw", avx512bw},
          {"avx512vl", avx512vl},
          {"avx512_vnni", avx512_vnni},
          {"avx512_bf16", avx512_bf16},
          {"avx_vnni", avx_vnni},
          {"amx_tile", amx_tile},
          {"amx_bf16", amx_bf16},
          {"amx_int8", amx_int8}};
}

std::string CpuFeatures::present() const {
  std::string out;
  for (const auto& [name, has] : list()) {
    if (has) out += (out.empty() ? "" : " ") + name;
  }
  return out;
}

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("model name")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t begin = line.find_first_not_of(" \t", colon + 1);
    return begin == std::string::npos ? "unknown" : line.substr(begin);
  }
  return "unknown";
}

// gcc's __builtin_cpu_supports also checks that the OS enables the registers (XCR0), which a
// bare cpuid bit would not: a VM may hide AVX-512 state even when the host CPU has it.
CpuFeatures detect_features() {
  CpuFeatures f;
#ifdef STARFACE_X86
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
#if !defined(__clang__)
  // clang 14 (the fuzz build) knows none of these names; there they stay false.
  f.avx_vnni = __builtin_cpu_supports("avxvnni");
  f.amx_tile = __builtin_cpu_supports("amx-tile");
  f.amx_bf16 = __builtin_cpu_supports("amx-bf16");
  f.amx_int8 = __builtin_cpu_supports("amx-int8");
#endif
#endif
  return f;
}

// The FMA kernels. Each runs kChains independent dependency chains, enough to cover FMA
// latency x pipes (4 cycles x 2 on Zen 4 and recent Intel = 8 chains) with margin, and
// returns the FLOPs it did (2 per lane per FMA). The multiplier goes through an empty asm
// once per block so the compiler cannot hoist or fold the chains.
constexpr int kChains = 12;
constexpr int kBlock = 1000;  // FMA groups between two opaque points

using Kernel = double (*)(uint64_t blocks, float* sink);

#ifdef STARFACE_X86
__attribute__((target("avx512f"))) double fma_avx512(uint64_t blocks, float* sink) {
  __m512 a = _mm512_set1_ps(0.999999f);
  const __m512 b = _mm512_set1_ps(1e-6f);
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (uint64_t it = 0; it < blocks; ++it) {
    for (int k = 0; k < kBlock; ++k) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __asm__ volatile("" : "+v"(a));
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  // A store, not _mm512_reduce_add_ps: gcc 12's version of that trips -Wuninitialized.
  float lanes[16];
  _mm512_storeu_ps(lanes, s);
  *sink = lanes[0];
  return static_cast<double>(blocks) * kBlock * kChains * 16 * 2;
}

__attribute__((target("avx2,fma"))) double fma_avx2(uint64_t blocks, float* sink) {
  __m256 a = _mm256_set1_ps(0.999999f);
  const __m256 b = _mm256_set1_ps(1e-6f);
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (uint64_t it = 0; it < blocks; ++it) {
    for (int k = 0; k < kBlock; ++k) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __asm__ volatile("" : "+x"(a));
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  *sink = lanes[0];
  return static_cast<double>(blocks) * kBlock * kChains * 8 * 2;
}
#endif

// For CPUs without AVX2+FMA: a multiply and an add per step (2 FLOPs), in whatever form the
// compiler gives the baseline ISA. A volatile read stands in for the asm barrier.
volatile float g_scalar_multiplier = 0.999999f;

double fma_scalar(uint64_t blocks, float* sink) {
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = static_cast<float>(i);
  const float b = 1e-6f;
  for (uint64_t it = 0; it < blocks; ++it) {
    const float a = g_scalar_multiplier;
    for (int k = 0; k < kBlock; ++k) {
      for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
    }
  }
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += acc[i];
  *sink = s;
  return static_cast<double>(blocks) * kBlock * kChains * 2;
}

bool can_run(FmaPath path, const CpuFeatures& f) {
  switch (path) {
    case FmaPath::kAvx512:
      return f.avx512f;
    case FmaPath::kAvx2:
      return f.avx2 && f.fma;
    case FmaPath::kScalar:
      return true;
  }
  return false;
}

// Elsewhere than x86 every path is the scalar kernel.
Kernel kernel_for([[maybe_unused]] FmaPath path) {
#ifdef STARFACE_X86
  if (path == FmaPath::kAvx512) return fma_avx512;
  if (path == FmaPath::kAvx2) return fma_avx2;
#endif
  return fma_scalar;
}

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

CpuInfo cpu_info() {
  CpuInfo info;
  info.model = cpu_model_name();
  info.logical_cores = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  info.features = detect_features();
  return info;
}

const char* fma_path_name(FmaPath path) {
  switch (path) {
    case FmaPath::kAvx512:
      return "avx512";
    case FmaPath::kAvx2:
      return "avx2";
    case FmaPath::kScalar:
      return "scalar";
  }
  return "scalar";
}

FmaPath widest_fma_path(const CpuFeatures& features) {
  for (FmaPath path : {FmaPath::kAvx512, FmaPath::kAvx2}) {
    if (can_run(path, features)) return path;
  }
  return FmaPath::kScalar;
}

PeakResult measure_fma_peak_on(FmaPath path, int threads, double seconds_per_trial) {
  if (threads < 1) {
    throw Error(ErrorCode::kBadArgument,
                "FMA peak: threads must be >= 1, got " + std::to_string(threads));
  }
  if (!(seconds_per_trial > 0)) {
    throw Error(ErrorCode::kBadArgument, "FMA peak: seconds per trial must be > 0");
  }
  if (!can_run(path, detect_features())) {
    throw Error(ErrorCode::kBadArgument,
                std::string("FMA peak: this CPU cannot run the ") + fma_path_name(path) + " path");
  }
  PeakResult r;
  r.path = path;
  r.seconds_per_trial = seconds_per_trial;
  r.trials = kTrials;
  r.gflops = best_total_gflops(kernel_for(path), threads, seconds_per_trial, &r.threads);
  r.per_thread_gflops = r.gflops / r.threads;
  return r;
}

PeakResult measure_fma_peak(int threads, double seconds_per_trial) {
  const CpuFeatures features = detect_features();
  const FmaPath widest = widest_fma_path(features);
  PeakResult r = measure_fma_peak_on(widest, threads, seconds_per_trial);
  if (widest == FmaPath::kAvx2) {
    r.avx2_gflops = r.gflops;
  } else if (widest == FmaPath::kAvx512 && can_run(FmaPath::kAvx2, features)) {
    r.avx2_gflops = measure_fma_peak_on(FmaPath::kAvx2, threads, seconds_per_trial).gflops;
  }
  return r;
}

}  // namespace starface
