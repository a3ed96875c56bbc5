// Vectorised float32 math over arrays (see vecmath_isa.inc): y[i] = f(x[i]), x and y may alias;
// and fused row kernels.
// The instruction-set version is picked at run time like GEMM's (cpu.h).
#pragma once

#include "../layer.h"  // kernels are called by ops only

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // streaming stores
#endif

#include <algorithm>
#include <cstdint>
#include <vector>

namespace pyseq::kernels::cpu {

using ArrayFn = void (*)(const float* x, float* y, int64_t n);

struct VecMath {
  ArrayFn exp, log, tanh, sigmoid, gelu_tanh, gelu_erf;
  ArrayFn gelu_tanh_grad, gelu_erf_grad;  // the GELUs' derivatives d gelu(x) / dx
  // Fused row kernels, one row of n floats. softmax_row: y = softmax(x), or log_softmax(x) when
  // `log` (y may alias x); `stream` when y is large and not read soon (written past the caches).
  // layer_norm_row: y and the row's mean and 1/std (w, b may be null).
  // layer_norm_backward_row: gx from g = dL/dy, and the row's share added into gw, gb (if not null).
  void (*softmax_row)(const float* x, float* y, int64_t n, bool log, bool stream);
  double (*sum)(const float* x, int64_t n);  // in float blocks of 16 vectors, in double across them
  void (*layer_norm_row)(const float* x, const float* w, const float* b, int64_t n, double eps, float* y,
                         float* mean, float* rstd);
  void (*layer_norm_backward_row)(const float* g, const float* x, const float* w, int64_t n, float mean, float rstd,
                                  float* gx, float* gw, float* gb);
  // Recurrent cells over n hidden units of one row, in one pass (kernels/cpu/rnn.h has the gates):
  // gate q of unit j is gx[q * sx + j] + gh[q * sh + j]; the activated gates go to saved[q * ss + j]
  // (LSTM i, f, g, o; GRU r, z, n and gh's n part W_hn h + b_hn). LSTM: cp -> c', h'; GRU: hp -> h'.
  void (*lstm_cell_row)(const float* gx, int64_t sx, const float* gh, int64_t sh, const float* cp, float* saved,
                        int64_t ss, float* cn, float* hn, int64_t n);
  void (*gru_cell_row)(const float* gx, int64_t sx, const float* gh, int64_t sh, const float* hp, float* saved,
                       int64_t ss, float* hn, int64_t n);
  // word2vec's products of a few gathered rows with a few others (rows of n floats), for k < p and
  // i < m: out[k m + i] = xs[k] . rows[i], and ys[k] += sum_i a[k m + i] rows[i] (ys may repeat a
  // row, each update then counts; no ys[k] may be a rows[i]).
  void (*dot_rows)(const float* const* xs, int64_t p, float* const* rows, int64_t m, int64_t n, float* out);
  void (*axpy_rows)(const float* a, float* const* rows, int64_t m, float* const* ys, int64_t p, int64_t n);
  // Attention's rows of a score block (kernels/cpu/attention.cpp): the largest of n floats (-inf
  // for none); y = e^(x - shift) (y may be x, or null), returning the sum; and backward's
  // p = e^(s - lse) with the score gradient ds = p (dp - delta), each in place of s and dp.
  float (*max)(const float* x, int64_t n);
  double (*exp_sum)(const float* x, float* y, int64_t n, float shift);
  void (*softmax_grad_row)(float* s_to_p, float* dp_to_ds, int64_t n, float lse, float delta);
};

namespace generic { VecMath table(); }
namespace avx2 { VecMath table(); }
namespace avx512 { VecMath table(); }

// The table for this CPU.
const VecMath& vecmath();

// y = fn(x) over n floats, split across threads.
void apply_array(ArrayFn fn, const float* x, float* y, int64_t n);

}  // namespace pyseq::kernels::cpu
