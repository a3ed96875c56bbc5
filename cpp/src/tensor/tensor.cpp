#include "pyseq/tensor.h"

#include <algorithm>
#include <cmath>

#include "pyseq/autograd.h"
#include "pyseq/parallel.h"
#include "pyseq/random.h"

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

const Tensor& Tensor::grad() const { return impl_->grad; }

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    PYSEQ_CHECK(grad.shape() == shape(), ValueError, "assigned grad has shape ", grad.shape(),
                " but the tensor has shape ", shape());
    PYSEQ_CHECK(grad.dtype() == dtype(), TypeError, "assigned grad has dtype ", grad.dtype(),
                " but the tensor has dtype ", dtype());
  }
  impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
bool Tensor::is_view() const { return impl_->is_view; }

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward(*this, gradient, retain_graph);
}

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
  PYSEQ_CHECK(n <= INT64_MAX / 8, ValueError, "empty: shape ", shape, " needs more bytes than fit in int64");
  auto storage = Storage::allocate(static_cast<size_t>(n) * itemsize(dtype));
  return make_tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

// Writes f(i) to element i of a fresh contiguous tensor, in parallel.
template <class F>
static Tensor generate(const Shape& shape, DType dtype, const F& f) {
  Tensor out = empty(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    parallel_for(0, out.numel(), 65536, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = f(T{}, i);
    });
  });
  return out;
}

Tensor full(const Shape& shape, Scalar value, DType dtype) {
  check_shape(shape, "full");
  return dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    return generate(shape, dtype, [v](auto, int64_t) { return v; });
  });
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, Scalar(int64_t{0}), dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, Scalar(int64_t{1}), dtype); }
Tensor scalar_tensor(Scalar value, DType dtype) { return full({}, value, dtype); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype) {
  const double s = start.to<double>(), e = end.to<double>(), st = step.to<double>();
  PYSEQ_CHECK(st != 0, ValueError, "arange: step must be non-zero");
  PYSEQ_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), ValueError, "arange: upper bound ", e,
              " and lower bound ", s, " inconsistent with step sign ", st);
  PYSEQ_CHECK(dtype != DType::Bool, TypeError, "arange: bool dtype is not supported");
  const int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  const bool ints = dtype == DType::Int64;
  const int64_t si = start.to<int64_t>(), sti = step.to<int64_t>();
  return generate({n}, dtype, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    return ints ? static_cast<T>(si + i * sti) : static_cast<T>(s + static_cast<double>(i) * st);
  });
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  check_shape({n, m}, "eye");
  return generate({n, m}, dtype, [m](auto tag, int64_t i) {
    return static_cast<decltype(tag)>(i / m == i % m ? 1 : 0);
  });
}

// Random creation runs on one thread, in order, so a seed gives the same values everywhere.
Tensor rand(const Shape& shape, DType dtype) {
  check_shape(shape, "rand");
  Tensor out = empty(shape, dtype);
  dispatch_float(dtype, "rand", [&](auto tag) {
    using T = decltype(tag);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      T v = static_cast<T>(dist(generator()));
      p[i] = v < T(1) ? v : std::nextafter(T(1), T(0));  // rounding to float may reach 1
    }
  });
  return out;
}

Tensor randn(const Shape& shape, DType dtype) {
  check_shape(shape, "randn");
  Tensor out = empty(shape, dtype);
  dispatch_float(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    std::normal_distribution<double> dist(0.0, 1.0);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(dist(generator()));
  });
  return out;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  check_shape(shape, "randint");
  PYSEQ_CHECK(low < high, ValueError, "randint: expected low < high, got low=", low, ", high=", high);
  Tensor out = empty(shape, dtype);
  dispatch_numeric(dtype, "randint", [&](auto tag) {
    using T = decltype(tag);
    std::uniform_int_distribution<int64_t> dist(low, high - 1);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(dist(generator()));
  });
  return out;
}

// --- random generator ---

std::mt19937_64& generator() {
  static std::mt19937_64 gen(5489u);
  return gen;
}

void manual_seed(uint64_t seed) { generator().seed(seed); }

}  // namespace pyseq
