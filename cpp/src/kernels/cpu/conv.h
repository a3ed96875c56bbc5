// 1-d convolution as im2col + GEMM on raw pointers. Samples go in chunks whose windows sit side by
// side in one (C_in/G * K, chunk * L_out) column matrix: one GEMM per group and chunk instead of
// one per sample; chunks keep that matrix near 16 MB.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

#include "nn.h"

namespace pyseq::kernels::cpu {

struct Conv1dShape {
  int64_t N, C_in, C_out, groups;
  Window1d window;  // length L, out_length L_out, kernel K, stride, padding, dilation
};

// x (N, C_in, L), w (C_out, C_in / G, K) -> y (N, C_out, L_out) (no bias).
template <class T> void conv1d_forward(const T* x, const T* w, const Conv1dShape& s, T* y);
// The same by the textbook loops (y[n, o, l] = sum over c, k of w[o, c, k] x[n, g c, l S - P + k D]),
// kept as the reference the fast kernel is tested against.
template <class T> void conv1d_reference(const T* x, const T* w, const Conv1dShape& s, T* y);
// From g = dL/dy (N, C_out, L_out): gx (N, C_in, L) and gw (C_out, C_in / G, K), each zeroed by
// the caller and skipped when null.
template <class T>
void conv1d_backward(const T* g, const T* x, const T* w, const Conv1dShape& s, T* gx, T* gw);

}  // namespace pyseq::kernels::cpu
