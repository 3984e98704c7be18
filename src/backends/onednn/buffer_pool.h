// The memory plan of one program: every activation and temporary takes a buffer when it is
// produced and gives it back after its last reader, so a run needs only the few maps alive
// at once, and nothing is allocated while it runs.
#pragma once

#include <cstddef>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "core/tensor.h"

namespace starface::backends::onednn {

class BufferPool {
 public:
  // A free buffer for `bytes`: the smallest free one that fits, else the largest free one
  // (grown), else a new one. Sizes are final only at allocate().
  int acquire(size_t bytes);
  void release(int buffer);
  // Makes `buffer` at least `bytes` long (an op writing in place with a larger layout).
  void grow(int buffer, size_t bytes);
  // `mem` reads and writes `buffer`; its data handle is set by allocate().
  void bind(int buffer, const dnnl::memory& mem);
  // Allocates every buffer and points the memories bound to it there.
  void allocate();

  size_t total_bytes() const;
  int count() const { return static_cast<int>(buffers_.size()); }

 private:
  struct Buffer {
    size_t bytes = 0;
    bool free = false;
    std::vector<dnnl::memory> users;
    std::unique_ptr<Storage> storage;
  };
  std::vector<Buffer> buffers_;
};

}  // namespace starface::backends::onednn
