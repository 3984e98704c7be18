#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace starface {

namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// What libgomp does at a barrier under the current environment (libgomp's env.c: a
// GOMP_SPINCOUNT wins; else OMP_WAIT_POLICY active spins without end, passive sleeps at
// once; else it spins 300,000 rounds).
std::string wait_policy() {
  if (const char* spin = env("GOMP_SPINCOUNT")) {
    return std::string("spin ") + spin + " rounds, then sleep (GOMP_SPINCOUNT=" + spin + ")";
  }
  if (const char* policy = env("OMP_WAIT_POLICY")) {
    return std::string("OMP_WAIT_POLICY=") + policy;
  }
  return "spin 300000 rounds, then sleep (libgomp's default)";
}

}  // namespace

void set_num_threads(int threads) {
  if (threads < 0) throw Error(ErrorCode::kBadArgument, "--threads must be >= 0");
  omp_set_num_threads(threads == 0 ? omp_get_num_procs() : threads);
}

int num_threads() { return omp_get_max_threads(); }

void restart_with_default_wait_policy(char** argv) {
  if (env("GOMP_SPINCOUNT") || env("OMP_WAIT_POLICY")) return;
  if (setenv("GOMP_SPINCOUNT", kDefaultSpinCount, 1) != 0) return;
  execv("/proc/self/exe", argv);
  // No restart (no /proc, say): run on with libgomp's default, and say so where asked.
  unsetenv("GOMP_SPINCOUNT");
}

std::string threading_summary() {
  const int threads = num_threads();
  return "GNU OpenMP (libgomp), " + std::to_string(threads) +
         (threads == 1 ? " thread" : " threads") + "; at a barrier: " + wait_policy();
}

}  // namespace starface
