// Raw-pointer kernels of the neural-network ops (layer norm, conv1d's im2col, pooling).
#pragma once

#include <cstdint>

namespace pyseq::kernels {

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

// rows of x (rows, L) -> y, argmax index (rows, L_out); windows beyond the edges count as -inf.
template <class T> void max_pool1d_forward(const T* x, int64_t rows, const Window1d& w, T* y, int64_t* index);

}  // namespace pyseq::kernels
