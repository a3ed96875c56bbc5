// Copies, dtype conversion and the in-place writes that do not depend on the old value.
#include "../kernels/cpu/loops.h"
#include "internal.h"

namespace pyseq {
namespace detail {

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype);
  dispatch_all(dtype, [&](auto out_tag) {
    dispatch_all(t.dtype(), [&](auto in_tag) {
      using Out = decltype(out_tag);
      using In = decltype(in_tag);
      kernels::map1<Out, In>(out, t, [](In v) { return static_cast<Out>(v); });
    });
  });
  return out;
}

void check_inplace(const Tensor& self, const char* op, const std::vector<Tensor>& others) {
  PYSEQ_CHECK(!self.storage()->read_only(), RuntimeError, op,
              ": the tensor's memory is read-only (it comes from a read-only numpy array); clone() it first");
  for (int64_t d = 0; d < self.ndim() && self.numel() > 0; ++d)
    PYSEQ_CHECK(self.strides()[d] != 0 || self.shape()[d] <= 1, RuntimeError, op,
                ": more than one element of the written-to tensor refers to a single memory location (an "
                "expanded view of shape ", self.shape(), " and strides ", self.strides(), "); clone() it first");
  if (!grad_enabled()) return;
  PYSEQ_CHECK(!(self.is_leaf() && self.requires_grad()), RuntimeError, op,
              ": a leaf tensor that requires grad is being used in an in-place operation; do it under "
              "no_grad() or on a clone");
  std::vector<Tensor> all(others);
  all.push_back(self);
  PYSEQ_CHECK(!(self.is_view() && needs_grad_list(all)), RuntimeError, op,
              ": in-place operations on views are not tracked by autograd; use the out-of-place op or "
              "write to a tensor that is not a view");
}

}  // namespace detail

Tensor& copy_(Tensor& self, const Tensor& src) {
  detail::check_inplace(self, "copy_", {src});
  const Shape shape = broadcast_shapes(self.shape(), src.shape());
  PYSEQ_CHECK(shape == self.shape(), ValueError, "copy_: source of shape ", src.shape(),
              " cannot be broadcast to the destination shape ", self.shape());
  {
    NoGradGuard no_grad;
    // Reading and writing one storage through different views: copy the source out first.
    Tensor from = src.storage() == self.storage() ? clone(src) : src;
    dispatch_all(self.dtype(), [&](auto out_tag) {
      dispatch_all(from.dtype(), [&](auto in_tag) {
        using Out = decltype(out_tag);
        using In = decltype(in_tag);
        kernels::map1<Out, In>(self, from, [](In v) { return static_cast<Out>(v); });
      });
    });
  }
  self.bump_version();
  if (needs_grad(self, src)) {
    // The old value is overwritten, so only the source receives a gradient.
    attach_grad_fn(self, "CopyBackward", {self, src}, [shape = src.shape()](const Tensor& g) {
      return std::vector<Tensor>{Tensor(), sum_to(g, shape)};
    });
  }
  return self;
}

Tensor& fill_(Tensor& self, Scalar value) {
  detail::check_inplace(self, "fill_");
  dispatch_all(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    kernels::map1<T, T>(self, self, [v](T) { return v; });
  });
  self.bump_version();
  if (needs_grad(self)) {
    attach_grad_fn(self, "FillBackward", {self}, [](const Tensor&) { return std::vector<Tensor>{Tensor()}; });
  }
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, Scalar(int64_t{0})); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype());
  {
    NoGradGuard no_grad;
    copy_(out, t);
  }
  if (needs_grad(t)) {
    attach_grad_fn(out, "CloneBackward", {t}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = detail::cast(t, dtype);
  if (needs_grad(t) && is_floating(dtype)) {
    // The engine converts each gradient to its input's dtype, so the gradient passes unchanged.
    attach_grad_fn(out, "ToCopyBackward", {t}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

}  // namespace pyseq
