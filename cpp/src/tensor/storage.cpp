#include "pyseq/storage.h"

#include <cstdlib>
#include <new>

namespace pyseq {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  PYSEQ_CHECK(device.type == DeviceType::CPU, RuntimeError, "no kernels for device ", device, " in this build");
  // aligned_alloc wants a size that is a multiple of the alignment, and a non-zero one.
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded ? rounded : kAlignment);
  if (!data) throw std::bad_alloc();
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, nullptr));
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner, Device device) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(owner)));
}

Storage::~Storage() {
  if (!owner_) std::free(data_);
}

}  // namespace pyseq
