#include "pyseq/storage.h"

#include <cstdlib>

namespace pyseq {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  PYSEQ_CHECK(device.type == DeviceType::CPU, RuntimeError, "no kernels for device ", device, " in this build");
  // aligned_alloc wants a size that is a multiple of the alignment, and a non-zero one.
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded ? rounded : kAlignment);
  PYSEQ_CHECK(data, RuntimeError, "cannot allocate ", nbytes, " bytes: out of memory");
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, nullptr, false));
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner, bool read_only,
                                         Device device) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(owner), read_only));
}

Storage::~Storage() {
  if (!owner_) std::free(data_);
}

}  // namespace pyseq
