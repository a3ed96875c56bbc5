// Comparisons (bool results), where, masked_fill and triangular masks.
#include "../kernels/cpu/fill.h"
#include "../kernels/cpu/loops.h"
#include "dispatch.h"
#include "internal.h"

namespace pyseq {
namespace {

template <class Cmp>
Tensor compare(const Tensor& a, const Tensor& b, const Cmp& cmp) {
  const DType dt = result_type(a, b);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), DType::Bool);
  PYSEQ_DISPATCH(ALL, out.device(), dt, "compare", {
    dev::map2<bool, T, T>(out, detail::cast(a, dt), detail::cast(b, dt), [cmp](T x, T y) { return cmp(x, y); });
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

Tensor bitwise_not(const Tensor& t) {
  if (t.dtype() == DType::Bool) return logical_not(t);
  PYSEQ_CHECK(t.dtype() == DType::Int64, TypeError, "bitwise_not (~): expected an int64 or bool tensor, got ", t.dtype());
  Tensor out = empty(t.shape(), DType::Int64);
  PYSEQ_DISPATCH(ALL, out.device(), DType::Int64, "bitwise_not", {
    dev::map1<int64_t, int64_t>(out, t, [](int64_t v) { return ~v; });
  });
  return out;
}

// The gradient goes to a where cond holds and to b elsewhere.
struct WhereBackward final : Node {
  SavedTensor cond;
  bool need_a, need_b;
  Shape shape_a, shape_b;
  WhereBackward() : Node("WhereBackward") {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    const Tensor zero = scalar_tensor(0.0, g.dtype());
    Tensor ga, gb;
    if (need_a) ga = sum_to(where(cond.get(), g, zero), shape_a);
    if (need_b) gb = sum_to(where(cond.get(), zero, g), shape_b);
    return {Tensor(), ga, gb};
  }
  void release() override { free_saved(cond); }
};

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_bool(cond, "where", "condition");
  const DType dt = result_type(a, b);
  Tensor out = empty(broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape())), dt);
  PYSEQ_DISPATCH(ALL, out.device(), dt, "where", {
    dev::map3<T, bool, T, T>(out, cond, detail::cast(a, dt), detail::cast(b, dt),
                                 [](bool c, T x, T y) { return c ? x : y; });
  });
  if (needs_grad(a, b)) {
    auto node = std::make_shared<WhereBackward>();
    node->cond = cond;
    node->need_a = a.requires_grad();
    node->need_b = b.requires_grad();
    node->shape_a = a.shape();
    node->shape_b = b.shape();
    record(node, {cond, a, b}, {out});
  }
  return out;
}

// Filled elements get no gradient.
struct MaskedFillBackward final : Node {
  SavedTensor mask;
  explicit MaskedFillBackward(const Tensor& mask) : Node("MaskedFillBackward"), mask(mask) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {masked_fill(grads[0], mask.get(), 0.0)}; }
  void release() override { free_saved(mask); }
};

Tensor masked_fill(const Tensor& t, const Tensor& mask, Scalar value) {
  check_bool(mask, "masked_fill", "mask");
  PYSEQ_CHECK(broadcast_shapes(t.shape(), mask.shape()) == t.shape(), ValueError, "masked_fill: mask of shape ",
              mask.shape(), " cannot be broadcast to the tensor's shape ", t.shape());
  value.check_fits(t.dtype(), "masked_fill");
  Tensor out = empty(t.shape(), t.dtype());
  PYSEQ_DISPATCH(ALL, out.device(), t.dtype(), "masked_fill", {
    const T v = value.to<T>();
    dev::map2<T, T, bool>(out, t, mask, [v](T x, bool m) { return m ? v : x; });
  });
  if (needs_grad(t)) record(std::make_shared<MaskedFillBackward>(mask), {t}, {out});
  return out;
}

namespace {

Tensor triangle(const Tensor& t, int64_t diagonal, bool lower);

// The gradient keeps the same triangle.
struct TriangleBackward final : Node {
  int64_t diagonal;
  bool lower;
  TriangleBackward(int64_t diagonal, bool lower) : Node(lower ? "TrilBackward" : "TriuBackward"), diagonal(diagonal), lower(lower) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {triangle(grads[0], diagonal, lower)}; }
};

// Keeps the elements of the last two dims on the kept side of `diagonal`, zeroes the rest.
Tensor triangle(const Tensor& t, int64_t diagonal, bool lower) {
  PYSEQ_CHECK(t.ndim() >= 2, ValueError, lower ? "tril" : "triu", ": expected a tensor with at least 2 dims, got shape ",
              t.shape());
  const int64_t rows = t.shape()[t.ndim() - 2], cols = t.shape()[t.ndim() - 1];
  Tensor keep = empty({rows, cols}, DType::Bool);  // (R, C), broadcast over the batch dims
  PYSEQ_DISPATCH(ALL, keep.device(), DType::Bool, lower ? "tril" : "triu", {
    dev::triangle_mask(keep.data<bool>(), rows, cols, diagonal, lower);
  });
  Tensor out;
  {
    NoGradGuard no_grad;
    out = masked_fill(t, logical_not(keep), 0.0);
  }
  if (needs_grad(t)) record(std::make_shared<TriangleBackward>(diagonal, lower), {t}, {out});
  return out;
}

}  // namespace

Tensor tril(const Tensor& t, int64_t diagonal) { return triangle(t, diagonal, true); }
Tensor triu(const Tensor& t, int64_t diagonal) { return triangle(t, diagonal, false); }

}  // namespace pyseq
