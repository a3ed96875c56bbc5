// Reference-counted, 64-byte aligned memory shared by a tensor and all of its views.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pyseq/dtype.h"

namespace pyseq {

class Storage {
 public:
  static constexpr size_t kAlignment = 64;

  // Fresh, uninitialised memory of `nbytes` bytes on `device`.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device = {});
  // Borrowed memory (for example a numpy array's buffer). `owner` keeps it alive and is released
  // when the last tensor viewing this storage goes away.
  // `read_only` memory (a read-only numpy array) refuses in-place writes.
  static std::shared_ptr<Storage> borrow(void* data, size_t nbytes, std::shared_ptr<void> owner,
                                         bool read_only = false, Device device = {});

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool read_only() const { return read_only_; }

  // Bumped by every in-place write, so autograd can tell that a tensor it saved has changed.
  // Views share their storage, hence their version. Atomic: threads running ops with the GIL
  // released may read it while another writes in place.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner, bool read_only)
      : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)), read_only_(read_only) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  std::shared_ptr<void> owner_;  // null when the memory is ours to free
  bool read_only_;
  size_t capacity_ = 0;           // bytes reserved by the allocator (>= nbytes_)
  std::atomic<uint64_t> version_{0};
};

// The caching allocator behind Storage::allocate (see storage.cpp).
struct AllocatorStats {
  uint64_t hits = 0, misses = 0;  // allocations served from the cache / from the system
  size_t cached_bytes = 0;        // freed memory kept for reuse
  bool caching = true;
};
AllocatorStats allocator_stats();
void empty_cache();                // returns every cached block to the system
void set_allocator_caching(bool on);  // off: every free goes straight back (PYSEQ_NO_CACHING=1 at start)

}  // namespace pyseq
