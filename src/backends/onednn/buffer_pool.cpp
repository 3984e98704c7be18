#include "backends/onednn/buffer_pool.h"

#include <algorithm>

#include "core/error.h"

namespace starface::backends::onednn {

int BufferPool::acquire(size_t bytes) {
  int best_fit = -1;
  int largest = -1;
  for (int i = 0; i < count(); ++i) {
    const Buffer& b = buffers_[i];
    if (!b.free) continue;
    if (b.bytes >= bytes && (best_fit < 0 || b.bytes < buffers_[best_fit].bytes)) best_fit = i;
    if (largest < 0 || b.bytes > buffers_[largest].bytes) largest = i;
  }
  // Growing the largest free buffer keeps the count low: the big maps of the 64x64 level
  // are made, freed and made again all through the network.
  const int chosen = best_fit >= 0 ? best_fit : largest;
  if (chosen >= 0) {
    buffers_[chosen].free = false;
    grow(chosen, bytes);
    return chosen;
  }
  buffers_.push_back(Buffer{bytes, false, {}, nullptr});
  return count() - 1;
}

void BufferPool::release(int buffer) {
  check_internal(buffer >= 0 && buffer < count() && !buffers_[buffer].free,
                 "onednn backend: buffer released twice");
  buffers_[buffer].free = true;
}

void BufferPool::grow(int buffer, size_t bytes) {
  buffers_.at(buffer).bytes = std::max(buffers_.at(buffer).bytes, bytes);
}

void BufferPool::bind(int buffer, const dnnl::memory& mem) {
  buffers_.at(buffer).users.push_back(mem);
}

void BufferPool::allocate() {
  for (Buffer& b : buffers_) {
    // Storage is zero-filled, so padded channels of blocked layouts start as zeros.
    b.storage = std::make_unique<Storage>(std::max<size_t>(b.bytes, 64));
    for (dnnl::memory& m : b.users) m.set_data_handle(b.storage->data());
  }
}

size_t BufferPool::total_bytes() const {
  size_t total = 0;
  for (const Buffer& b : buffers_) total += b.bytes;
  return total;
}

}  // namespace starface::backends::onednn
