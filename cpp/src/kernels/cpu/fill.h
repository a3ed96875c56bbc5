// Kernels that write fresh tensors: constant fills, ranges, identity matrices.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

namespace pyseq::kernels::cpu {

template <class T> void fill(T* out, int64_t n, T value);                         // out (n,) = value
// out (n,): start + i * step, in double for floating T, in int64 (start_i, step_i) for integer T.
template <class T> void arange(T* out, int64_t n, double start, double step, int64_t start_i, int64_t step_i);
template <class T> void eye(T* out, int64_t n, int64_t m);                           // out (n, m)
// keep (rows, cols): true on the kept side of `diagonal`: j - i <= diagonal (lower) or >= (upper).
void triangle_mask(bool* keep, int64_t rows, int64_t cols, int64_t diagonal, bool lower);

}  // namespace pyseq::kernels::cpu
