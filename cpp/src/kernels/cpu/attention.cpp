#include "attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "gemm.h"
#include "vecmath.h"
#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

constexpr int64_t kBlockK = 256;  // keys per block

// Query rows per block: 256, or 128 when causal (a block's keys end at its last row's diagonal, so
// a taller block computes more of the masked triangle above it).
int64_t query_block(const AttentionShape& s) { return s.causal ? 128 : 256; }

// The dropout factors of a row segment: keep[c] = 1 / (1 - p) where element (b, i, j0 + c) is
// kept, 0 where it is dropped. Element (b, i, j) is counter index (b Tq + i) Tk + j, four to a
// Philox block, so one block serves four neighbours.
template <class T>
void dropout_factors(const AttentionShape& s, int64_t b, int64_t i, int64_t j0, int64_t cols, T* keep) {
  const T keep_scale = s.dropout_p < 1 ? static_cast<T>(1.0 / (1.0 - s.dropout_p)) : T(0);
  const float keep_prob = static_cast<float>(1.0 - s.dropout_p);
  const uint64_t first = static_cast<uint64_t>((b * s.Tq + i) * s.Tk + j0);
  std::array<uint32_t, 4> w{};
  for (int64_t c = 0; c < cols; ++c) {
    const uint64_t at = first + static_cast<uint64_t>(c);
    if (c == 0 || (at & 3) == 0) w = philox4x32(s.rng.seed, s.rng.offset + (at >> 2));
    keep[c] = uniform_float(w[at & 3]) < keep_prob ? keep_scale : T(0);
  }
}

// scores (rows, cols) of queries i0.. and keys j0.. of problem b (q and k its matrices, rows ldq and
// ldk apart): scale q k^T, then the mask and the causal cut applied (masked entries -inf).
template <class T>
void block_scores(const T* q, int64_t ldq, const T* k, int64_t ldk, const AttentionMask<T>& mask,
                  const AttentionShape& s, int64_t b, int64_t i0, int64_t rows, int64_t j0, int64_t cols, T* scores) {
  gemm<T>(false, true, rows, cols, s.d, T(s.scale), q + i0 * ldq, ldq, k + j0 * ldk, ldk, T(0), scores, cols);
  const T minus_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    T* row = scores + r * cols;
    const int64_t i = i0 + r;
    if (mask.keep || mask.add) {
      const int64_t base = mask.offsets[b] + i * mask.row_stride;
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = base + (j0 + c) * mask.col_stride;
        if (mask.keep) row[c] = mask.keep[at] ? row[c] : minus_inf;
        else row[c] += mask.add[at];
      }
    }
    if (s.causal)
      for (int64_t c = std::max<int64_t>(0, i + 1 - j0); c < cols; ++c) row[c] = minus_inf;
  }
}

// The largest of a row's n scores (-inf for none).
template <class T>
T row_max(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return vecmath().max(x, n);
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// x = exp(x - shift) in place over a row of n scores, returning the sum (in double across float
// blocks): the vectorised kernel of this CPU for float.
template <class T>
double exp_sum(T* x, int64_t n, T shift) {
  if constexpr (std::is_same_v<T, float>) return vecmath().exp_sum(x, x, n, shift);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - shift);
  return sum;
}

// Backward's row: p = exp(s - lse) in place of the scores, ds = p (dp - delta) in place of dp.
template <class T>
void softmax_grad_row(T* s_to_p, T* dp_to_ds, int64_t n, T lse, T delta) {
  if constexpr (std::is_same_v<T, float>) return vecmath().softmax_grad_row(s_to_p, dp_to_ds, n, lse, delta);
  for (int64_t i = 0; i < n; ++i) {
    s_to_p[i] = std::exp(s_to_p[i] - lse);
    dp_to_ds[i] = s_to_p[i] * (dp_to_ds[i] - delta);
  }
}

// The keys that query rows i0 .. i0 + rows - 1 of problem b need: up to the last row's diagonal
// when causal, and up to the last key the mask leaves visible to any of these rows (the padded
// tail of a shorter sequence costs nothing; a key past the end would only add e^-inf = 0).
template <class T>
int64_t key_end(const AttentionMask<T>& mask, const AttentionShape& s, int64_t b, int64_t i0, int64_t rows) {
  const int64_t end = s.causal ? std::min(s.Tk, i0 + rows) : s.Tk;
  if (!mask.keep && !mask.add) return end;
  int64_t live_end = 0;
  for (int64_t r = 0; r < (mask.row_stride == 0 ? 1 : rows); ++r) {  // a key padding mask: one row says all
    const int64_t base = mask.offsets[b] + (i0 + r) * mask.row_stride;
    for (int64_t j = end - 1; j >= live_end; --j) {
      const int64_t at = base + j * mask.col_stride;
      if (mask.keep ? mask.keep[at] : mask.add[at] != -std::numeric_limits<T>::infinity()) {
        live_end = j + 1;
        break;
      }
    }
  }
  return live_end;
}

}  // namespace

template <class T>
void attention_forward(const T* q, const T* k, const T* v, const AttentionMask<T>& mask, const AttentionShape& s,
                       T* out, T* lse) {
  const int64_t block_q = query_block(s), q_blocks = (s.Tq + block_q - 1) / block_q;
  parallel_for_each(s.batch * q_blocks, block_q * s.Tk * (s.d + s.dv), [&](int64_t task) {
    const int64_t b = task / q_blocks, i0 = (task % q_blocks) * block_q, rows = std::min(block_q, s.Tq - i0);
    const T *qb = q + s.q.start(b, s.heads), *kb = k + s.k.start(b, s.heads), *vb = v + s.v.start(b, s.heads);
    std::vector<T> scores(static_cast<size_t>(rows * kBlockK)), acc(static_cast<size_t>(rows * s.dv), T(0));
    std::vector<T> keep(s.dropout_p > 0 ? kBlockK : 0);
    std::vector<double> m(rows, -std::numeric_limits<double>::infinity()), l(rows, 0.0);
    const int64_t kend = key_end(mask, s, b, i0, rows);
    for (int64_t j0 = 0; j0 < kend; j0 += kBlockK) {
      const int64_t cols = std::min(kBlockK, kend - j0);
      block_scores(qb, s.q.ld, kb, s.k.ld, mask, s, b, i0, rows, j0, cols, scores.data());  // (rows, cols)
      for (int64_t r = 0; r < rows; ++r) {  // online softmax: rescale what came before to the new max
        T* row = scores.data() + r * cols;
        const double m_new = std::max(m[r], static_cast<double>(row_max(row, cols)));
        if (m_new == -std::numeric_limits<double>::infinity()) {  // every key so far masked
          std::fill(row, row + cols, T(0));
          continue;
        }
        const double correction = std::exp(m[r] - m_new);
        l[r] = l[r] * correction + exp_sum(row, cols, static_cast<T>(m_new));  // p = exp(s - m_new)
        m[r] = m_new;
        if (s.dropout_p > 0) {
          dropout_factors(s, b, i0 + r, j0, cols, keep.data());
          for (int64_t c = 0; c < cols; ++c) row[c] *= keep[c];
        }
        if (correction != 1.0) {
          const T scale = static_cast<T>(correction);
          T* a = acc.data() + r * s.dv;
          for (int64_t c = 0; c < s.dv; ++c) a[c] *= scale;
        }
      }
      // acc (rows, dv) += p (rows, cols) @ v[j0 : j0 + cols] (cols, dv)
      gemm<T>(false, false, rows, s.dv, cols, T(1), scores.data(), cols, vb + j0 * s.v.ld, s.v.ld, T(1), acc.data(),
              s.dv);
    }
    for (int64_t r = 0; r < rows; ++r) {
      T* o = out + s.out.start(b, s.heads) + (i0 + r) * s.out.ld;
      const double inv = l[r] > 0 ? 1.0 / l[r] : 0.0;  // a fully masked row: zeros
      for (int64_t c = 0; c < s.dv; ++c) o[c] = static_cast<T>(acc[r * s.dv + c] * inv);
      lse[b * s.Tq + i0 + r] = static_cast<T>(l[r] > 0 ? m[r] + std::log(l[r]) : -std::numeric_limits<double>::infinity());
    }
  });
}

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout,
                        const AttentionMask<T>& mask, const AttentionShape& s, T* dq, T* dk, T* dv) {
  // One problem per task: its dq, dk, dv are written by that task alone.
  parallel_for_each(s.batch, s.Tq * s.Tk * (s.d + s.dv), [&](int64_t b) {
    const T *qb = q + b * s.Tq * s.d, *kb = k + b * s.Tk * s.d, *vb = v + b * s.Tk * s.dv;
    const T *ob = out + b * s.Tq * s.dv, *gb = dout + b * s.Tq * s.dv, *lb = lse + b * s.Tq;
    T *dqb = dq + b * s.Tq * s.d, *dkb = dk + b * s.Tk * s.d, *dvb = dv + b * s.Tk * s.dv;
    std::fill(dqb, dqb + s.Tq * s.d, T(0));
    std::fill(dkb, dkb + s.Tk * s.d, T(0));
    std::fill(dvb, dvb + s.Tk * s.dv, T(0));
    const int64_t block_q = query_block(s);
    std::vector<T> p(static_cast<size_t>(block_q * kBlockK)), dp(p.size()), delta(static_cast<size_t>(s.Tq));
    std::vector<T> keep(s.dropout_p > 0 ? kBlockK : 0);
    for (int64_t i = 0; i < s.Tq; ++i) {  // delta_i = dout_i . out_i  (= sum_j p_ij dp_ij)
      double acc = 0;
      for (int64_t c = 0; c < s.dv; ++c) acc += static_cast<double>(gb[i * s.dv + c]) * ob[i * s.dv + c];
      delta[i] = static_cast<T>(acc);
    }
    for (int64_t i0 = 0; i0 < s.Tq; i0 += block_q) {
      const int64_t rows = std::min(block_q, s.Tq - i0), kend = key_end(mask, s, b, i0, rows);
      for (int64_t j0 = 0; j0 < kend; j0 += kBlockK) {
        const int64_t cols = std::min(kBlockK, kend - j0);
        block_scores(qb, s.d, kb, s.d, mask, s, b, i0, rows, j0, cols, p.data());
        // dp (rows, cols) = dout_i (rows, dv) @ v_j^T (dv, cols)
        gemm<T>(false, true, rows, cols, s.dv, T(1), gb + i0 * s.dv, s.dv, vb + j0 * s.dv, s.dv, T(0), dp.data(), cols);
        for (int64_t r = 0; r < rows; ++r) {
          T *prob = p.data() + r * cols, *dprob = dp.data() + r * cols;
          const T row_lse = lb[i0 + r];
          if (s.dropout_p > 0) {  // dp of the kept probabilities: the dropped ones weighted no v
            dropout_factors(s, b, i0 + r, j0, cols, keep.data());
            for (int64_t c = 0; c < cols; ++c) dprob[c] *= keep[c];
          }
          if (row_lse == -std::numeric_limits<T>::infinity()) {  // every key masked: no gradient
            std::fill(prob, prob + cols, T(0));
            std::fill(dprob, dprob + cols, T(0));
          } else {
            softmax_grad_row(prob, dprob, cols, row_lse, delta[i0 + r]);  // p = exp(s - lse), ds = p (dp - delta)
          }
          if (s.dropout_p > 0)  // prob becomes the dropped probability that weighted v
            for (int64_t c = 0; c < cols; ++c) prob[c] *= keep[c];
        }
        // dv_j (cols, dv) += p^T (cols, rows) @ dout_i (rows, dv)
        gemm<T>(true, false, cols, s.dv, rows, T(1), p.data(), cols, gb + i0 * s.dv, s.dv, T(1), dvb + j0 * s.dv, s.dv);
        // dq_i (rows, d) += scale ds (rows, cols) @ k_j (cols, d); dk_j (cols, d) += scale ds^T @ q_i (rows, d)
        gemm<T>(false, false, rows, s.d, cols, T(s.scale), dp.data(), cols, kb + j0 * s.d, s.d, T(1), dqb + i0 * s.d, s.d);
        gemm<T>(true, false, cols, s.d, rows, T(s.scale), dp.data(), cols, qb + i0 * s.d, s.d, T(1), dkb + j0 * s.d, s.d);
      }
    }
  });
}

template void attention_forward<float>(const float*, const float*, const float*, const AttentionMask<float>&,
                                       const AttentionShape&, float*, float*);
template void attention_forward<double>(const double*, const double*, const double*, const AttentionMask<double>&,
                                        const AttentionShape&, double*, double*);
template void attention_backward<float>(const float*, const float*, const float*, const float*, const float*,
                                        const float*, const AttentionMask<float>&, const AttentionShape&, float*,
                                        float*, float*);
template void attention_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                         const double*, const AttentionMask<double>&, const AttentionShape&, double*,
                                         double*, double*);

}  // namespace pyseq::kernels::cpu
