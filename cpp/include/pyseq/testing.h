// Hooks into the kernels for pyseq's own tests and benchmarks: every fast path can be compared with
// its naive reference, and every SIMD level with the others.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "pyseq/tensor.h"

namespace pyseq {

// The instruction-set level of the SIMD kernels: "avx512", "avx2" or "generic" (PYSEQ_CPU_LEVEL lowers it).
std::string cpu_level();

namespace testing {

// C = alpha op(A) op(B) + beta C on 2-d tensors of one dtype with contiguous rows (any row stride),
// in place, by the fast GEMM or the reference triple loop.
void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta, Tensor& C,
          bool reference);
// y = f(x) by the vectorised float32 kernel of this CPU level: exp, log, tanh, sigmoid, gelu_tanh, gelu_erf.
Tensor vecmath(const std::string& name, const Tensor& x);
// conv1d's forward (no bias) by the im2col + GEMM kernel or the textbook loops; x (N, C_in, L) and
// w (C_out, C_in / groups, K) contiguous, of one floating dtype.
Tensor conv1d(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
              bool reference);
// One recurrent layer (rnn_layer's arguments, ops.h) by the kernel's plain scalar reference: forward
// and, when any of d_out, d_hn, d_cn is given, backward. Returns {output, h_n, c_n, dx, dh0, dc0,
// dw_ih, dw_hh, db_ih, db_hh, dw_hr} (c_n and dc0 meaningful for LSTM only, dw_hr undefined without
// w_hr; the gradients for a forward-only call are unset).
std::vector<Tensor> rnn_reference(const std::string& mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                  const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                  const Tensor& lengths, bool reverse, const Tensor& d_out, const Tensor& d_hn,
                                  const Tensor& d_cn, const Tensor& w_hr = Tensor());
// One Philox-4x32-10 block, for the known-answer test.
std::array<uint32_t, 4> philox(uint64_t key, uint64_t counter_lo, uint64_t counter_hi);

}  // namespace testing
}  // namespace pyseq
