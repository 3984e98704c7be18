#include "core/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "hwy/targets.h"

#if defined(__x86_64__) || defined(__i386__)
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

// Highway's targets for this CPU, detected once: hwy::SupportedTargets() runs CPUID each
// time (a trap to the hypervisor in a VM), and the kernels ask on every call.
int64_t highway_targets() {
  static const int64_t targets = hwy::SupportedTargets();
  return targets;
}

constexpr SimdTarget kSimdTargets[] = {SimdTarget::kAvx512, SimdTarget::kAvx2, SimdTarget::kScalar};

std::mutex g_cap_mutex;
std::optional<SimdTarget> g_cap;
bool g_cap_set = false;

// STARFACE_X86_MAX_ISA, read once: the kernels ask for their target on every call.
std::optional<SimdTarget> env_cap() {
  static const std::optional<SimdTarget> cap = [] {
    const char* env = std::getenv("STARFACE_X86_MAX_ISA");
    return env ? parse_simd_target(env) : std::nullopt;
  }();
  return cap;
}

// SimdTarget is ordered widest first, so "at most `cap`" means "not before it".
SimdTarget widest_up_to(std::optional<SimdTarget> cap) {
  for (SimdTarget target : kSimdTargets) {
    if (cap && static_cast<int>(target) < static_cast<int>(*cap)) continue;
    if (simd_target_supported(target)) return target;
  }
  return SimdTarget::kScalar;
}

}  // namespace

CpuInfo cpu_info() {
  CpuInfo info;
  info.model = cpu_model_name();
  info.logical_cores = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  info.features = detect_features();
  return info;
}

const char* simd_target_name(SimdTarget target) {
  switch (target) {
    case SimdTarget::kAvx512:
      return "avx512";
    case SimdTarget::kAvx2:
      return "avx2";
    case SimdTarget::kScalar:
      return "scalar";
  }
  return "scalar";
}

std::optional<SimdTarget> parse_simd_target(const std::string& name) {
  for (SimdTarget target : kSimdTargets) {
    if (name == simd_target_name(target)) return target;
  }
  return std::nullopt;
}

bool simd_target_supported(SimdTarget target) {
  switch (target) {
    case SimdTarget::kAvx512:
      return (highway_targets() & HWY_AVX3) != 0;
    case SimdTarget::kAvx2:
      return (highway_targets() & HWY_AVX2) != 0;
    case SimdTarget::kScalar:
      return true;
  }
  return false;
}

SimdTarget widest_simd_target() { return widest_up_to(std::nullopt); }

void set_max_simd_target(std::optional<SimdTarget> cap) {
  const std::lock_guard<std::mutex> lock(g_cap_mutex);
  g_cap = cap;
  g_cap_set = true;
}

SimdTarget selected_simd_target() {
  std::optional<SimdTarget> cap;
  {
    const std::lock_guard<std::mutex> lock(g_cap_mutex);
    cap = g_cap_set ? g_cap : env_cap();
  }
  return widest_up_to(cap);
}

}  // namespace starface
