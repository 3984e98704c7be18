// How every own kernel picks its SIMD code: Highway compiles the kernel once per target
// (foreach_target.h re-including the kernel's .cpp), HWY_EXPORT puts the copies in a table,
// and STARFACE_SIMD_FUNCTION(Kernel, target) takes the copy for one SimdTarget from it, so
// the cap in core/cpu.h (set_max_simd_target, STARFACE_X86_MAX_ISA) holds for every kernel
// and tests can run each target in turn. Highway's own HWY_DYNAMIC_DISPATCH would always
// take the widest target and ignore that cap.
//
// Usage, in a kernel's .cpp, after the HWY_NAMESPACE block and inside `#if HWY_ONCE`:
//   #include "core/simd_targets.h"  // first: the targets every kernel is built for
//   ... per-target code ...
//   HWY_EXPORT(Kernel);
//   STARFACE_SIMD_FUNCTION(Kernel, selected_simd_target())(args...);
#pragma once

#include <cstddef>
#include <string>

#include "core/cpu.h"
#include "core/error.h"
#include "hwy/highway.h"

namespace starface::simd_detail {

// The slot of `target` in this translation unit's HWY_EXPORT tables (see hwy/targets.h:
// slot 0 initialises Highway's own choice, then one slot per dynamic target in the
// ChosenTarget bit order, then the portable fallback).
inline size_t table_slot([[maybe_unused]] SimdTarget target) {
#if HWY_IDE || ((HWY_TARGETS & (HWY_TARGETS - 1)) == 0)
  return 0;  // one target compiled (NEON on aarch64): the table has one entry
#else
#if HWY_ARCH_X86
  if (target == SimdTarget::kAvx512) {
    return static_cast<size_t>(__builtin_ctzll(HWY_CHOSEN_TARGET_SHIFT(HWY_AVX3)));
  }
  if (target == SimdTarget::kAvx2) {
    return static_cast<size_t>(__builtin_ctzll(HWY_CHOSEN_TARGET_SHIFT(HWY_AVX2)));
  }
#endif
  return HWY_MAX_DYNAMIC_TARGETS + 1;  // the portable target (or the baseline's)
#endif
}

[[noreturn]] inline void missing_target(SimdTarget target, const char* kernel) {
  throw Error(ErrorCode::kInternal, std::string(kernel) + ": no code compiled for SIMD target " +
                                        simd_target_name(target));
}

template <typename Function>
Function pick(Function const* table, SimdTarget target, const char* kernel) {
  const Function f = table[table_slot(target)];
  if (f == nullptr) missing_target(target, kernel);
  return f;
}

}  // namespace starface::simd_detail

// The copy of kernel FUNC (exported with HWY_EXPORT in this file) compiled for `target`.
#define STARFACE_SIMD_FUNCTION(FUNC, target) \
  (::starface::simd_detail::pick(HWY_DISPATCH_TABLE(FUNC), (target), #FUNC))
