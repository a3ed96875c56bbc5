// Row kernels for reductions and softmax. Input rows are contiguous: x is (rows, n) row-major.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

namespace pyseq::kernels::cpu {

template <class T> void sum_rows(const T* x, int64_t rows, int64_t n, T* out);              // (rows,)
// out[j] = sum over i of x[i, j] for a contiguous (n, cols) block: a sum over leading dims (a bias
// gradient), done by adding whole rows instead of transposing first.
template <class T> void sum_leading(const T* x, int64_t n, int64_t cols, T* out);         // (cols,)
template <class T> void minmax_rows(const T* x, int64_t rows, int64_t n, bool is_max,       // NaN wins
                                    T* values, int64_t* indices);                           // (rows,) each
// Each row's k largest (or smallest) values in order, with their indices (rows, k): equal values
// keep their order along the row; NaN counts as larger than any number. k = n sorts the rows.
template <class T> void topk_rows(const T* x, int64_t rows, int64_t n, int64_t k, bool largest, T* values,
                                  int64_t* indices);
// Running sums along each row, from its start (or from its end when reverse): (rows, n).
template <class T> void cumsum_rows(const T* x, int64_t rows, int64_t n, bool reverse, T* out);
template <class T> void mean_rows(const T* x, int64_t rows, int64_t n, T* out);             // (rows,)
// var (rows,) with `correction` (1: unbiased), or its square root; the rows' means too when mean is not null.
template <class T> void var_rows(const T* x, int64_t rows, int64_t n, double correction, bool take_sqrt, T* var,
                                 T* mean);
template <class T> void logsumexp_rows(const T* x, int64_t rows, int64_t n, T* out);
template <class T> void norm_rows(const T* x, int64_t rows, int64_t n, double p, T* out);   // p > 0 or inf
template <class T> void softmax_rows(const T* x, int64_t rows, int64_t n, bool log, T* y);  // (rows, n)

}  // namespace pyseq::kernels::cpu
