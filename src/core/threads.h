// Thread count and waiting policy for every parallel kernel (OpenMP: GNU libgomp, which
// Debian's oneDNN is built on too).
#pragma once

#include <string>

namespace starface {

// Sets the threads used by kernels; 0 means all available cores.
void set_num_threads(int threads);
int num_threads();

// How long a thread that reached a barrier spins before it sleeps, when the user sets
// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT: about 10 us. libgomp's own default spins
// 300,000 rounds (about 3 ms): 3-5 % faster on a quiet machine, but with a neighbour process
// on every core the waiting threads of a network's ~350 barriers burn the time slices their
// partners need. Measured on 2 cores (bench/BENCHMARKS.md, "A busy machine"): 10,000 rounds
// help little there, passive (0) costs ~9 % quiet and is no better busy.
inline constexpr const char* kDefaultSpinCount = "1000";

// libgomp reads its waiting policy from the environment once, when it is loaded, before
// main() runs. So a program that wants starface's default calls this first thing in main():
// when the user set neither variable, it sets GOMP_SPINCOUNT to kDefaultSpinCount and
// restarts the program (execv of /proc/self/exe with the same arguments); it returns
// (changing nothing) when the user set one, or when the restart is impossible.
void restart_with_default_wait_policy(char** argv);

// The threading runtime and the waiting policy in effect, e.g. "GNU OpenMP (libgomp),
// 2 threads; at a barrier: spin 1000 rounds, then sleep (GOMP_SPINCOUNT=1000)".
std::string threading_summary();

}  // namespace starface
