// Scaled dot-product attention: the fused kernel (kernels/cpu/attention.h: O(T) memory, only each
// row's log-sum-exp saved for backward) and, beside it, the plain softmax(q k^T) v composition of
// ops that also returns the weights (for inspection and as the tests' reference).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "../kernels/cpu/attention.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/random.h"

namespace pyseq {
namespace {

// q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv) checked, and their batch dims broadcast together.
Shape attention_batch(const Tensor& q, const Tensor& k, const Tensor& v, const char* op) {
  PYSEQ_CHECK(q.ndim() >= 2 && k.ndim() >= 2 && v.ndim() >= 2, ValueError, op,
              ": expected query, key and value of shape (..., T, d), got ", q.shape(), ", ", k.shape(), ", ", v.shape());
  PYSEQ_CHECK(is_floating(q.dtype()) && k.dtype() == q.dtype() && v.dtype() == q.dtype(), TypeError, op,
              ": expected floating query, key and value of one dtype, got ", q.dtype(), ", ", k.dtype(), ", ", v.dtype());
  PYSEQ_CHECK(k.shape().back() == q.shape().back(), ValueError, op, ": query and key must have the same last dim, got ",
              q.shape(), " and ", k.shape());
  PYSEQ_CHECK(v.shape()[v.ndim() - 2] == k.shape()[k.ndim() - 2], ValueError, op,
              ": key and value must have the same number of positions (dim -2), got ", k.shape(), " and ", v.shape());
  auto batch_of = [](const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); };
  return broadcast_shapes(broadcast_shapes(batch_of(q), batch_of(k)), batch_of(v));
}

// `t` expanded to batch + its last two dims (a view).
Tensor expand_to_batch(const Tensor& t, const Shape& batch) {
  Shape shape = batch;
  shape.push_back(t.shape()[t.ndim() - 2]);
  shape.push_back(t.shape().back());
  return expand(t, shape);
}

// `t` expanded to batch + its last two dims, contiguous.
Tensor with_batch(const Tensor& t, const Shape& batch) { return contiguous(expand_to_batch(t, batch)); }

// The layout of e (batch..., rows, cols) for the fused forward, or false when it cannot read e in
// place: a row's elements adjacent, rows at least a row apart, and the batch dims before the last
// one reducible to a single stride (outer; the last batch dim's stride is inner).
bool matrix_layout(const Tensor& e, kernels::cpu::MatrixLayout& layout) {
  const Shape& shape = e.shape();
  const auto& strides = e.strides();
  const int64_t n = e.ndim(), rows = shape[n - 2], cols = shape[n - 1];
  if (cols > 1 && strides[n - 1] != 1) return false;
  layout.ld = rows > 1 ? strides[n - 2] : cols;
  layout.inner = n >= 3 && shape[n - 3] > 1 ? strides[n - 3] : 0;
  if (layout.ld < cols || layout.inner < 0) return false;
  int64_t span = 1;  // problems inside the dims seen so far (outer: the innermost one's stride)
  layout.outer = 0;
  for (int64_t d = n - 4; d >= 0; --d) {
    if (shape[d] == 1) continue;
    if (span == 1) layout.outer = strides[d];
    else if (strides[d] != layout.outer * span) return false;
    span *= shape[d];
  }
  return layout.outer >= 0;
}

// `t` expanded to batch + its last two dims, read in place where matrix_layout allows (a view),
// else copied contiguous; its layout in `layout`.
Tensor in_place_or_copy(const Tensor& t, const Shape& batch, kernels::cpu::MatrixLayout& layout) {
  Tensor e = expand_to_batch(t, batch);
  if (matrix_layout(e, layout)) return e;
  e = contiguous(e);
  matrix_layout(e, layout);
  return e;
}

// The output (batch..., Tq, dv), its dims laid out in the query's order (as torch's empty_like; the
// last dim stays innermost) where the kernel can write that, else dense; its layout in `layout`.
// Heads taken from the columns of (..., T, heads x d) so give an output whose heads sit side by
// side in each row too, and transposing them back to (..., T, heads x dv) is a view.
Tensor output_like(const Tensor& query, const Shape& out_shape, kernels::cpu::MatrixLayout& layout) {
  const int64_t n = static_cast<int64_t>(out_shape.size());
  Shape order(static_cast<size_t>(n)), inverse(static_cast<size_t>(n)), stored;
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end() - 1,
                   [&](int64_t a, int64_t b) { return query.strides()[a] > query.strides()[b]; });
  for (int64_t i = 0; i < n; ++i) {
    inverse[order[i]] = i;
    stored.push_back(out_shape[order[i]]);
  }
  const Tensor out = permute(empty(stored, query.dtype()), inverse);
  if (matrix_layout(out, layout)) return out;
  const Tensor dense = empty(out_shape, query.dtype());
  matrix_layout(dense, layout);
  return dense;
}

double scale_or_default(std::optional<double> scale, int64_t d) {
  return scale ? *scale : 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(d, 1)));
}

// The mask broadcast to (batch..., Tq, Tk) as a view, and the element offset of each batch's block.
struct BroadcastMask {
  Tensor view;  // undefined: no mask
  std::vector<int64_t> offsets;
};
BroadcastMask broadcast_mask(const Tensor& mask, const Shape& batch, int64_t Tq, int64_t Tk, DType dtype) {
  BroadcastMask m;
  if (!mask.defined()) return m;
  PYSEQ_CHECK(mask.dtype() == DType::Bool || mask.dtype() == dtype, TypeError,
              "scaled_dot_product_attention: attn_mask must be bool (True = may attend) or of the query's dtype ",
              dtype, ", got ", mask.dtype());
  Shape full = batch;
  full.push_back(Tq);
  full.push_back(Tk);
  PYSEQ_CHECK(broadcast_shapes(mask.shape(), full) == full, ValueError, "scaled_dot_product_attention: attn_mask of shape ",
              mask.shape(), " cannot be broadcast to ", full);
  m.view = expand(mask.detach(), full);
  const int64_t nb = numel_of(batch), nd = static_cast<int64_t>(batch.size());
  m.offsets.resize(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b) {  // b unravelled over the batch dims
    int64_t offset = 0;
    for (int64_t d = nd - 1, rest = b; d >= 0; --d) {
      offset += (rest % batch[d]) * m.view.strides()[d];
      rest /= batch[d];
    }
    m.offsets[b] = offset;
  }
  return m;
}

template <class T>
kernels::cpu::AttentionMask<T> kernel_mask(const BroadcastMask& m) {
  kernels::cpu::AttentionMask<T> km;
  if (!m.view.defined()) return km;
  if (m.view.dtype() == DType::Bool) km.keep = m.view.data<bool>();
  else km.add = m.view.data<T>();
  km.offsets = m.offsets.data();
  km.row_stride = m.view.strides()[m.view.ndim() - 2];
  km.col_stride = m.view.strides().back();
  return km;
}

}  // namespace

// Recomputes each block's probabilities from q, k and the saved log-sum-exp (flash-attention's backward).
struct AttentionBackward final : Node {
  SavedTensor q, k, v, out, lse;  // (batch..., T, d) contiguous; lse (batch..., Tq)
  BroadcastMask mask;
  kernels::cpu::AttentionShape shape;
  Shape q_shape, k_shape, v_shape;  // the inputs' own shapes, which may broadcast
  AttentionBackward() : Node("ScaledDotProductAttentionBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &qs = q.get(), &ks = k.get(), &vs = v.get(), &os = out.get(), &ls = lse.get();
    const Tensor g = contiguous(grads[0]);
    Tensor dq = empty(qs.shape(), qs.dtype()), dk = empty(ks.shape(), ks.dtype()), dv = empty(vs.shape(), vs.dtype());
    PYSEQ_DISPATCH(FLOAT, qs.device(), qs.dtype(), "scaled_dot_product_attention backward", {
      dev::attention_backward<T>(qs.data<T>(), ks.data<T>(), vs.data<T>(), os.data<T>(), ls.data<T>(), g.data<T>(),
                                 kernel_mask<T>(mask), shape, dq.data<T>(), dk.data<T>(), dv.data<T>());
    });
    return {sum_to(dq, q_shape), sum_to(dk, k_shape), sum_to(dv, v_shape)};
  }
  void release() override {
    free_saved(q, k, v, out, lse);
    mask = {};
  }
};

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention";
  const Shape batch = attention_batch(query, key, value, op);
  PYSEQ_CHECK(dropout_p >= 0 && dropout_p <= 1, ValueError, op, ": dropout_p must be in [0, 1], got ", dropout_p);
  const bool grad = needs_grad(query, key, value);  // the backward reads q, k, v and out dense
  const int64_t heads = batch.empty() ? 1 : batch.back();
  const int64_t Tq = query.shape()[query.ndim() - 2], Tk = key.shape()[key.ndim() - 2];
  const int64_t d = query.shape().back(), dv = value.shape().back();
  kernels::cpu::AttentionShape s{numel_of(batch), Tq, Tk, d, dv, scale_or_default(scale, d), is_causal, dropout_p,
                                 {}, heads, {}, {}, {}, {}};  // the layouts are set below
  Tensor q, k, v;
  if (grad) {
    q = with_batch(query.detach(), batch), k = with_batch(key.detach(), batch), v = with_batch(value.detach(), batch);
    s.q = kernels::cpu::MatrixLayout::dense(heads, Tq, d);
    s.k = kernels::cpu::MatrixLayout::dense(heads, Tk, d);
    s.v = kernels::cpu::MatrixLayout::dense(heads, Tk, dv);
  } else {
    q = in_place_or_copy(query.detach(), batch, s.q);
    k = in_place_or_copy(key.detach(), batch, s.k);
    v = in_place_or_copy(value.detach(), batch, s.v);
  }
  const BroadcastMask mask = broadcast_mask(attn_mask, batch, Tq, Tk, q.dtype());
  if (dropout_p > 0) s.rng = reserve_rng(kernels::cpu::dropout_blocks(s));
  Shape out_shape = batch;
  out_shape.push_back(Tq);
  out_shape.push_back(dv);
  Shape lse_shape = batch;
  lse_shape.push_back(Tq);
  Tensor out = output_like(expand_to_batch(query, batch), out_shape, s.out), lse = empty(lse_shape, q.dtype());
  PYSEQ_DISPATCH(FLOAT, q.device(), q.dtype(), op, {
    dev::attention_forward<T>(q.data<T>(), k.data<T>(), v.data<T>(), kernel_mask<T>(mask), s, out.data<T>(),
                              lse.data<T>());
  });
  if (grad) {
    auto node = std::make_shared<AttentionBackward>();
    node->q = q;
    node->k = k;
    node->v = v;
    node->out = contiguous(out);
    node->lse = lse;
    node->mask = mask;
    node->shape = s;
    node->q_shape = query.shape();
    node->k_shape = key.shape();
    node->v_shape = value.shape();
    record(node, {query, key, value}, {out});
  }
  return out;
}

std::pair<Tensor, Tensor> attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                 const Tensor& attn_mask, bool is_causal, std::optional<double> scale) {
  const Shape batch = attention_batch(query, key, value, "attention_with_weights");
  const int64_t Tq = query.shape()[query.ndim() - 2], Tk = key.shape()[key.ndim() - 2];
  broadcast_mask(attn_mask, batch, Tq, Tk, query.dtype());  // the same checks as the fused op
  Tensor scores = matmul(query, transpose(key, -1, -2)) * scale_or_default(scale, query.shape().back());  // (..., Tq, Tk)
  if (is_causal) scores = masked_fill(scores, logical_not(tril(ones({Tq, Tk}, DType::Bool))), -INFINITY);
  if (attn_mask.defined())
    scores = attn_mask.dtype() == DType::Bool ? masked_fill(scores, logical_not(attn_mask), -INFINITY) : scores + attn_mask;
  // a fully masked row (every score -inf) gets zero weights, and zero gradients: its scores are
  // replaced before the softmax (which would give NaN forward and backward) and its weights after
  Tensor weights = softmax(scores, -1);  // with no keys: (..., Tq, 0)
  if (Tk > 0) {
    const Tensor row_max = max(scores.detach(), -1, true).first;  // (..., Tq, 1)
    const Tensor dead = eq(row_max, scalar_tensor(-INFINITY, scores.dtype()));
    weights = masked_fill(softmax(masked_fill(scores, dead, 0.0), -1), dead, 0.0);
  }
  return {matmul(weights, value), weights};
}

}  // namespace pyseq
