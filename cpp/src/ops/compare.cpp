// Comparisons (bool results), where, masked_fill and triangular masks.
#include "../kernels/cpu/loops.h"
#include "internal.h"

namespace pyseq {
namespace {

template <class Cmp>
Tensor compare(const Tensor& a, const Tensor& b, const Cmp& cmp) {
  const DType dt = result_type(a, b);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), DType::Bool);
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    kernels::map2<bool, T, T>(out, detail::cast(a, dt), detail::cast(b, dt), [cmp](T x, T y) { return cmp(x, y); });
  });
  return out;
}

void check_bool(const Tensor& t, const char* op, const char* what) {
  PYSEQ_CHECK(t.dtype() == DType::Bool, TypeError, op, ": expected ", what, " to be a bool tensor, got ", t.dtype());
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, [](auto x, auto y) { return x >= y; }); }

Tensor logical_not(const Tensor& t) { return eq(t, scalar_tensor(false, DType::Bool)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_bool(cond, "where", "condition");
  const DType dt = result_type(a, b);
  Tensor out = empty(broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape())), dt);
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    kernels::map3<T, bool, T, T>(out, cond, detail::cast(a, dt), detail::cast(b, dt),
                                 [](bool c, T x, T y) { return c ? x : y; });
  });
  if (needs_grad(a, b)) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    attach_grad_fn(out, "WhereBackward", {cond, a, b},
                   [need_a, need_b, sc = SavedTensor(cond), shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
                     Tensor zero = scalar_tensor(0.0, g.dtype()), ga, gb;
                     if (need_a) ga = sum_to(where(sc.get(), g, zero), shape_a);
                     if (need_b) gb = sum_to(where(sc.get(), zero, g), shape_b);
                     return std::vector<Tensor>{Tensor(), ga, gb};
                   });
  }
  return out;
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, Scalar value) {
  check_bool(mask, "masked_fill", "mask");
  PYSEQ_CHECK(broadcast_shapes(t.shape(), mask.shape()) == t.shape(), ValueError, "masked_fill: mask of shape ",
              mask.shape(), " cannot be broadcast to the tensor's shape ", t.shape());
  Tensor out = empty(t.shape(), t.dtype());
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    kernels::map2<T, T, bool>(out, t, mask, [v](T x, bool m) { return m ? v : x; });
  });
  if (needs_grad(t)) {
    attach_grad_fn(out, "MaskedFillBackward", {t}, [sm = SavedTensor(mask)](const Tensor& g) {
      return std::vector<Tensor>{masked_fill(g, sm.get(), 0.0)};
    });
  }
  return out;
}

namespace {

// Keeps the elements of the last two dims on the kept side of `diagonal`, zeroes the rest.
Tensor triangle(const Tensor& t, int64_t diagonal, bool lower) {
  PYSEQ_CHECK(t.ndim() >= 2, ValueError, lower ? "tril" : "triu", ": expected a tensor with at least 2 dims, got shape ",
              t.shape());
  const int64_t rows = t.shape()[t.ndim() - 2], cols = t.shape()[t.ndim() - 1];
  Tensor keep = empty({rows, cols}, DType::Bool);  // (R, C), broadcast over the batch dims
  bool* k = keep.data<bool>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) k[i * cols + j] = lower ? j - i <= diagonal : j - i >= diagonal;
  Tensor out;
  {
    NoGradGuard no_grad;
    out = masked_fill(t, logical_not(keep), 0.0);
  }
  if (needs_grad(t)) {
    attach_grad_fn(out, lower ? "TrilBackward" : "TriuBackward", {t}, [diagonal, lower](const Tensor& g) {
      return std::vector<Tensor>{triangle(g, diagonal, lower)};
    });
  }
  return out;
}

}  // namespace

Tensor tril(const Tensor& t, int64_t diagonal) { return triangle(t, diagonal, true); }
Tensor triu(const Tensor& t, int64_t diagonal) { return triangle(t, diagonal, false); }

}  // namespace pyseq
