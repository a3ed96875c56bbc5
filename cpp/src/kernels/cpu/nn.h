// Raw-pointer kernels of the neural-network ops (layer norm, conv1d's im2col, pooling).
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

namespace pyseq::kernels::cpu {

// x (rows, D) -> y (rows, D), per-row mean and 1/std (rows,). w, b (D,) may be null.
template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t D, double eps, T* y, T* mean,
                        T* rstd);
// Given g = dL/dy: gx (rows, D); gw, gb (D,) are accumulated into (zeroed by the caller) when not null.
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, int64_t rows, int64_t D,
                         T* gx, T* gw, T* gb);

// Geometry of a 1-d convolution / pooling window.
struct Window1d {
  int64_t length, out_length, kernel, stride, padding, dilation;
  int64_t input_at(int64_t out, int64_t k) const { return out * stride - padding + k * dilation; }
};

// x (C, L) of one sample -> cols (C * K, L_out), rows `ld` apart (ld >= L_out lets several samples
// sit side by side): cols[c*K + k, l] = x[c, l*S - P + k*D], or 0 outside x.
template <class T> void im2col(const T* x, int64_t channels, const Window1d& w, T* cols, int64_t ld);
// Adds cols (C * K, L_out), rows `ld` apart, back onto gx (C, L): the adjoint of im2col.
template <class T> void col2im_add(const T* cols, int64_t ld, int64_t channels, const Window1d& w, T* gx);

// Cross entropy over rows of log-probabilities logp (N, C) with targets (N,) and class weights
// w (C,) or null: per row i with class t_i (rows with t_i == ignore_index give 0),
//   loss_i = (1 - eps) * (-w_t * logp[i, t_i]) + eps / C * (-sum_c w_c * logp[i, c]).
// Returns sum_i w_t over the rows not ignored (the divisor of the mean).
template <class T>
double cross_entropy_forward(const T* logp, const int64_t* target, const T* w, int64_t N, int64_t C,
                             int64_t ignore_index, double eps, T* loss);
// gz (N, C) = scale_i * dloss_i/dz, dloss_i/dz_c = (1 - eps) w_t (p_c - [c == t_i]) + eps / C (p_c W - w_c),
// W = sum_c w_c, with scale_i = g[i] when `per_row` (reduction "none") else g[0] * scale.
template <class T>
void cross_entropy_backward(const T* logp, const int64_t* target, const T* w, int64_t N, int64_t C,
                            int64_t ignore_index, double eps, const T* g, bool per_row, double scale, T* gz);

// rows of x (rows, L) -> index (rows, k): the positions of each row's k largest values (earlier
// position first among equal values), in increasing order.
template <class T> void kmax_indices(const T* x, int64_t rows, int64_t L, int64_t k, int64_t* index);

// rows of x (rows, L) -> y, argmax index (rows, L_out); windows beyond the edges count as -inf.
template <class T> void max_pool1d_forward(const T* x, int64_t rows, const Window1d& w, T* y, int64_t* index);

}  // namespace pyseq::kernels::cpu
