// Row kernels for reductions and softmax. Input rows are contiguous: x is (rows, n) row-major.
#pragma once

#include <cstdint>

namespace pyseq::kernels {

template <class T> void sum_rows(const T* x, int64_t rows, int64_t n, T* out);              // (rows,)
template <class T> void minmax_rows(const T* x, int64_t rows, int64_t n, bool is_max,       // NaN wins
                                    T* values, int64_t* indices);                           // (rows,) each
template <class T> void var_rows(const T* x, int64_t rows, int64_t n, double correction, T* out);
template <class T> void logsumexp_rows(const T* x, int64_t rows, int64_t n, T* out);
template <class T> void norm_rows(const T* x, int64_t rows, int64_t n, double p, T* out);   // p > 0 or inf
template <class T> void softmax_rows(const T* x, int64_t rows, int64_t n, bool log, T* y);  // (rows, n)

}  // namespace pyseq::kernels
