#include "core/threads.h"

#include <omp.h>

#include "core/error.h"

namespace starface {

void set_num_threads(int threads) {
  if (threads < 0) throw Error(ErrorCode::kBadArgument, "--threads must be >= 0");
  omp_set_num_threads(threads == 0 ? omp_get_num_procs() : threads);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace starface
