// What the CPU offers, detected at run time (one binary runs on AVX2-only and AVX-512
// machines), which SIMD target our own kernels run, and the FP32 FMA peak the CPU reaches:
// the floor every timing is measured against. The one place ISA facts come from.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace starface {

// The SIMD targets every own kernel is compiled for by Google Highway, widest first
// (Highway's AVX3 = AVX-512 F/VL/DQ/BW, AVX2 with FMA, and its portable target). On aarch64
// kScalar runs the NEON baseline, which every arm64 CPU has; the x86 targets never run there.
// Each kernel picks its code through core/simd_dispatch.h with selected_simd_target().
enum class SimdTarget { kAvx512, kAvx2, kScalar };
const char* simd_target_name(SimdTarget target);  // "avx512", "avx2", "scalar"
// "avx512" / "avx2" / "scalar", or nullopt.
std::optional<SimdTarget> parse_simd_target(const std::string& name);
// Whether this CPU runs `target` (as Highway detects it, OS register state included;
// kScalar always).
bool simd_target_supported(SimdTarget target);
// The widest target this CPU runs, whatever the cap.
SimdTarget widest_simd_target();
// The widest supported target, capped by set_max_simd_target() or else by the environment
// variable STARFACE_X86_MAX_ISA ("avx2", "scalar"; read once, unknown values ignored): the
// hook tests and benchmarks use to run the narrower code on a wide CPU.
SimdTarget selected_simd_target();
// Caps selected_simd_target() (nullopt lifts the cap, the variable included). Kernels pick
// their target per call; Winograd layers keep the one they were built for.
void set_max_simd_target(std::optional<SimdTarget> cap);

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

struct PeakResult {
  SimdTarget path = SimdTarget::kScalar;  // the kernel behind gflops
  int threads = 0;                        // threads that actually ran
  double gflops = 0;             // FP32 FLOP/s (2 per lane per FMA) summed over threads, 1e9
  double per_thread_gflops = 0;  // gflops / threads
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
// threads < 1 or seconds_per_trial <= 0. The widest target is taken whatever the cap.
PeakResult measure_fma_peak(int threads, double seconds_per_trial);
// The same on a given target (kBadArgument when this CPU cannot run it); avx2_gflops is left 0.
PeakResult measure_fma_peak_on(SimdTarget path, int threads, double seconds_per_trial);

}  // namespace starface
