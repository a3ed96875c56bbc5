#include "pyseq/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>


namespace pyseq {

// --- metadata ---

const Shape& Tensor::shape() const { return impl_->shape; }
const Shape& Tensor::strides() const { return impl_->strides; }
int64_t Tensor::offset() const { return impl_->offset; }
DType Tensor::dtype() const { return impl_->dtype; }
Device Tensor::device() const { return impl_->storage->device(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }

int64_t Tensor::size(int64_t dim) const {
  PYSEQ_CHECK(ndim() > 0, IndexError, "size(", dim, "): a 0-d tensor has no dimensions");
  return shape()[wrap_dim(dim, ndim())];
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * static_cast<int64_t>(itemsize(dtype()));
}

template <class T>
T Tensor::item() const {
  PYSEQ_CHECK(numel() == 1, ValueError, "item(): expected a tensor with one element, got shape ", shape(),
              " (", numel(), " elements)");
  return dispatch_all(dtype(), [&](auto tag) { return static_cast<T>(*data<decltype(tag)>()); });
}
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template bool Tensor::item<bool>() const;
template float Tensor::item<float>() const;

// --- autograd state ---

bool Tensor::requires_grad() const { return impl_->requires_grad; }

void Tensor::set_requires_grad(bool requires_grad) {
  PYSEQ_CHECK(is_leaf(), RuntimeError,
              "you can only change requires_grad flags of leaf tensors; use detach() to get a leaf from a "
              "tensor computed by an op");
  PYSEQ_CHECK(!requires_grad || is_floating(dtype()), RuntimeError,
              "only tensors of floating point dtype can require gradients, got ", dtype());
  impl_->requires_grad = requires_grad;
}

std::mutex& grad_mutex() {
  static std::mutex m;
  return m;
}

Tensor Tensor::grad() const {
  std::lock_guard<std::mutex> lock(grad_mutex());
  return impl_->grad;
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    PYSEQ_CHECK(grad.shape() == shape(), ValueError, "assigned grad has shape ", grad.shape(),
                " but the tensor has shape ", shape());
    PYSEQ_CHECK(grad.dtype() == dtype(), TypeError, "assigned grad has dtype ", grad.dtype(),
                " but the tensor has dtype ", dtype());
  }
  Tensor old;  // freed after the lock is let go
  std::lock_guard<std::mutex> lock(grad_mutex());
  old = std::move(impl_->grad);
  impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
bool Tensor::is_view() const { return impl_->is_view; }

Tensor Tensor::detach() const {
  Tensor out = make_tensor(storage(), shape(), strides(), offset(), dtype());
  out.impl()->is_view = is_view();
  return out;
}

Tensor make_tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// --- creation ---

const Shape& check_shape(const Shape& shape, const char* op) {
  checked_numel(shape, op);
  return shape;
}

Tensor empty(const Shape& shape, DType dtype) {
  const int64_t n = checked_numel(shape, "empty");
  const int64_t bytes = size_mul(n, static_cast<int64_t>(itemsize(dtype)), "empty", "the byte count of shape ", shape);
  auto storage = Storage::allocate(static_cast<size_t>(bytes));
  // A bool holds 0 or 1 only: reading any other byte as bool is undefined, so bool memory starts zeroed.
  if (dtype == DType::Bool && bytes > 0) std::memset(storage->data(), 0, static_cast<size_t>(bytes));
  return make_tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }

}  // namespace pyseq
