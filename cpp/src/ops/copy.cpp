// Copies, dtype conversion and the in-place writes that do not depend on the old value.
#include "../kernels/cpu/loops.h"
#include "dispatch.h"
#include "internal.h"

namespace pyseq {
namespace {

// out[i] = src[i] converted to out's dtype; src broadcasts to out's shape.
void convert_into(const Tensor& out, const Tensor& src) {
  PYSEQ_DISPATCH(ALL, out.device(), out.dtype(), "copy", {
    using Out = T;
    dispatch_all(src.dtype(), [&](auto in_tag) {
      using In = decltype(in_tag);
      dev::map1<Out, In>(out, src, [](In v) { return static_cast<Out>(v); });
    });
  });
}

}  // namespace

namespace detail {

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype);
  convert_into(out, t);
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

// The old value is overwritten, so only the source receives a gradient.
struct CopyBackward final : Node {
  Shape src_shape;
  explicit CopyBackward(Shape src_shape) : Node("CopyBackward"), src_shape(std::move(src_shape)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {Tensor(), sum_to(grads[0], src_shape)}; }
};

Tensor& copy_(Tensor& self, const Tensor& src) {
  detail::check_inplace(self, "copy_", {src});
  const Shape shape = broadcast_shapes(self.shape(), src.shape());
  PYSEQ_CHECK(shape == self.shape(), ValueError, "copy_: source of shape ", src.shape(),
              " cannot be broadcast to the destination shape ", self.shape());
  {
    NoGradGuard no_grad;
    // Reading and writing one storage through different views: copy the source out first.
    Tensor from = src.storage() == self.storage() ? clone(src) : src;
    convert_into(self, from);
  }
  self.bump_version();
  if (needs_grad(self, src)) record(std::make_shared<CopyBackward>(src.shape()), {self, src}, {self});
  return self;
}

// clone and to_dtype pass the gradient through; fill_ stops it (the old value is gone).
struct PassBackward final : Node {
  bool pass;
  PassBackward(const char* name, bool pass) : Node(name), pass(pass) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {pass ? grads[0] : Tensor()}; }
};

Tensor& fill_(Tensor& self, Scalar value) {
  detail::check_inplace(self, "fill_");
  value.check_fits(self.dtype(), "fill_");
  PYSEQ_DISPATCH(ALL, self.device(), self.dtype(), "fill_", {
    const T v = value.to<T>();
    dev::map1<T, T>(self, self, [v](T) { return v; });
  });
  self.bump_version();
  if (needs_grad(self)) record(std::make_shared<PassBackward>("FillBackward", false), {self}, {self});
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, Scalar(int64_t{0})); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype());
  {
    NoGradGuard no_grad;
    copy_(out, t);
  }
  if (needs_grad(t)) record(std::make_shared<PassBackward>("CloneBackward", true), {t}, {out});
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = detail::cast(t, dtype);
  // The engine converts each gradient to its input's dtype, so the gradient passes unchanged.
  if (needs_grad(t) && is_floating(dtype)) record(std::make_shared<PassBackward>("ToCopyBackward", true), {t}, {out});
  return out;
}

}  // namespace pyseq
