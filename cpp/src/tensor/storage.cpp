// Storage memory comes from a caching allocator: freed blocks are kept by size and handed out
// again, so a training loop that allocates the same shapes every step stops paying for fresh
// pages (a page fault per 4 KiB on first touch). Large blocks are 2 MiB aligned and asked to be
// backed by transparent huge pages.
#include "pyseq/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace pyseq {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

class CachingAllocator {
 public:
  // Bytes actually reserved for a request: 64-byte multiples for small blocks, 4 KiB multiples
  // up to 2 MiB, whole huge pages beyond.
  static size_t block_size(size_t nbytes) {
    const size_t step = nbytes <= 4096 ? 64 : nbytes < kHugePage ? 4096 : kHugePage;
    const size_t n = nbytes ? nbytes : 1;
    return (n + step - 1) / step * step;
  }

  void* allocate(size_t size) {
    if (caching_) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= size;
        ++stats_.hits;
        return p;
      }
      ++stats_.misses;
    }
    const size_t align = size >= kHugePage ? kHugePage : Storage::kAlignment;
    void* p = std::aligned_alloc(align, size);
    PYSEQ_CHECK(p, RuntimeError, "cannot allocate ", size, " bytes: out of memory");
#ifdef MADV_HUGEPAGE
    if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
  }

  void release(void* p, size_t size) {
    if (caching_) {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_bytes_ + size <= limit_) {
        free_[size].push_back(p);
        cached_bytes_ += size;
        return;
      }
    }
    std::free(p);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    AllocatorStats s = stats_;
    s.cached_bytes = cached_bytes_;
    s.caching = caching_;
    return s;
  }

  void set_caching(bool on) {
    if (!on) empty_cache();
    caching_ = on;
  }

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // block size -> free blocks of that size
  size_t cached_bytes_ = 0;
  size_t limit_ = size_t{2} << 30;  // never keep more than 2 GiB of freed memory
  bool caching_ = !(std::getenv("PYSEQ_NO_CACHING") && std::strcmp(std::getenv("PYSEQ_NO_CACHING"), "0"));
  AllocatorStats stats_;
};

// Never destroyed: tensors may outlive static destruction at interpreter exit.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator();
  return *a;
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  PYSEQ_CHECK(device.type == DeviceType::CPU, RuntimeError, "no kernels for device ", device, " in this build");
  const size_t capacity = CachingAllocator::block_size(nbytes);
  void* data = allocator().allocate(capacity);
  auto s = std::shared_ptr<Storage>(new Storage(data, nbytes, device, nullptr, false));
  s->capacity_ = capacity;
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner, bool read_only,
                                         Device device) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(owner), read_only));
}

Storage::~Storage() {
  if (!owner_) allocator().release(data_, capacity_);
}

AllocatorStats allocator_stats() { return allocator().stats(); }
void empty_cache() { allocator().empty_cache(); }
void set_allocator_caching(bool on) { allocator().set_caching(on); }

}  // namespace pyseq
