// Thread count for every parallel kernel (OpenMP).
#pragma once

namespace starface {

// Sets the threads used by kernels; 0 means all available cores.
void set_num_threads(int threads);
int num_threads();

}  // namespace starface
