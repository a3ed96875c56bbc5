// Fused scaled dot-product attention on raw pointers, in the flash-attention manner: keys in
// blocks, an online softmax per query row, only each row's log-sum-exp kept for backward, so
// neither pass materialises the (Tq, Tk) matrix. Causal blocks above the diagonal are skipped, and
// so are the keys a mask hides from a whole block of queries (the padded tail of a sequence).
//
// For each of `batch` problems (the flattened leading dims), all contiguous in the backward; the
// forward reads q, k, v and writes out where their MatrixLayouts say (lse is contiguous):
//   q (Tq, d), k (Tk, d), v (Tk, dv) -> out (Tq, dv), lse (Tq,):
//   s_ij = scale q_i . k_j + mask_ij (masked: -inf; causal: j > i is masked)
//   p_ij = exp(s_ij - lse_i), lse_i = log sum_j exp(s_ij), out_i = sum_j drop_ij p_ij v_j.
// A row whose keys are all masked gives out_i = 0 and lse_i = -inf (never NaN).
// Dropout (p > 0): drop_ij = 0 with probability p, else 1 / (1 - p), drawn from the Philox stream
// at `rng` with element (b, i, j) at counter index (b Tq + i) Tk + j: backward redraws the same.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

#include "pyseq/random.h"

namespace pyseq::kernels::cpu {

// A mask broadcast to (batch, Tq, Tk): element (b, i, j) at offsets[b] + i * row_stride + j * col_stride.
// Either `keep` (bool, true = may attend) or `add` (added to the scores) or neither is set.
template <class T>
struct AttentionMask {
  const bool* keep = nullptr;
  const T* add = nullptr;
  const int64_t* offsets = nullptr;  // (batch,)
  int64_t row_stride = 0, col_stride = 0;
};

// Where problem b's matrix starts and how far apart its rows are (a row's elements are adjacent):
// b = o heads + h (h < heads, the last batch dim) starts at o outer + h inner. Heads taken from the
// columns of a (B, T, heads x d) tensor have inner = d and ld = heads d.
struct MatrixLayout {
  int64_t outer = 0, inner = 0, ld = 0;
  int64_t start(int64_t b, int64_t heads) const { return (b / heads) * outer + (b % heads) * inner; }
  static MatrixLayout dense(int64_t heads, int64_t rows, int64_t cols) {
    return {heads * rows * cols, rows * cols, cols};
  }
};

struct AttentionShape {
  int64_t batch, Tq, Tk, d, dv;
  double scale;
  bool causal;
  double dropout_p;  // 0: no dropout
  RngState rng;      // where the dropout draws start
  int64_t heads = 1;  // the last batch dim's size (1 with none)
  MatrixLayout q, k, v, out;  // the forward's; the backward reads and writes all dense
};

// The Philox counters a forward (and its backward) with dropout draws from: four elements a block.
inline uint64_t dropout_blocks(const AttentionShape& s) {
  return static_cast<uint64_t>((s.batch * s.Tq * s.Tk + 3) / 4);
}

template <class T>
void attention_forward(const T* q, const T* k, const T* v, const AttentionMask<T>& mask, const AttentionShape& s,
                       T* out, T* lse);
// From dout (batch, Tq, dv) and the forward's out and lse: dq, dk, dv (each overwritten).
template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout,
                        const AttentionMask<T>& mask, const AttentionShape& s, T* dq, T* dk, T* dv);

}  // namespace pyseq::kernels::cpu
