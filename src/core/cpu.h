// What the CPU offers, detected at run time (one binary runs on AVX2-only and AVX-512
// machines), and the FP32 FMA peak it reaches: the floor every timing is measured against.
#pragma once

#include <string>
#include <utility>
#include <vector>

// Our plain C++ kernels marked with this are compiled by GCC for AVX-512, AVX2 and baseline
// x86-64 and the widest the CPU runs is picked at load time. Elsewhere (aarch64) there is one
// baseline build, which the compiler vectorises for NEON on its own.
#if defined(__x86_64__)
#define STARFACE_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STARFACE_ISA_CLONES
#endif

namespace starface {

// Instruction-set extensions the kernels and the FMA probe care about. Each flag means the
// CPU has it and the OS saves its registers, so code using it can run.
struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;
  bool amx_tile = false;
  bool amx_bf16 = false;
  bool amx_int8 = false;

  // (name, present) in a fixed order, with the names lscpu prints ("avx512_vnni", ...).
  std::vector<std::pair<std::string, bool>> list() const;
  // The names of the present features, space-separated ("avx2 fma avx512f ...").
  std::string present() const;
};

struct CpuInfo {
  std::string model;      // "model name" of /proc/cpuinfo, or "unknown"
  int logical_cores = 0;  // online logical CPUs
  CpuFeatures features;
};

CpuInfo cpu_info();

// The FMA kernels measure_fma_peak can run, widest first.
enum class FmaPath { kAvx512, kAvx2, kScalar };
const char* fma_path_name(FmaPath path);  // "avx512", "avx2", "scalar"
// The widest path this CPU can run.
FmaPath widest_fma_path(const CpuFeatures& features);

struct PeakResult {
  FmaPath path = FmaPath::kScalar;  // the kernel behind gflops
  int threads = 0;                  // threads that actually ran
  double gflops = 0;                // FP32 FLOP/s (2 per lane per FMA) summed over threads, 1e9
  double per_thread_gflops = 0;     // gflops / threads
  // The 8-wide AVX2+FMA figure: equal to gflops when path is kAvx2, measured separately
  // when path is kAvx512 (so users see whether 512-bit FMAs are worth it here), 0 when the
  // CPU has no AVX2+FMA.
  double avx2_gflops = 0;
  double seconds_per_trial = 0;
  int trials = 0;
};

// FP32 FMA throughput with `threads` OpenMP threads (each pinned to its own CPU for the
// measurement, then unpinned), on the widest path the CPU has. Mirrors
// shared/bench/fma_peak.c: 12 independent FMA chains per thread, iteration count calibrated
// per thread, best of 3 trials of about `seconds_per_trial` each. Throws kBadArgument for
// threads < 1 or seconds_per_trial <= 0.
PeakResult measure_fma_peak(int threads, double seconds_per_trial);
// The same on a given path (kBadArgument when this CPU cannot run it); avx2_gflops is left 0.
PeakResult measure_fma_peak_on(FmaPath path, int threads, double seconds_per_trial);

}  // namespace starface
