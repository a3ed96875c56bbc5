// The pieces of GEMM that differ per instruction set, as a table of function pointers. Each
// gemm_<isa>.cpp fills one table from gemm_isa.inc; gemm.cpp picks a table at run time.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu.h"

namespace pyseq::kernels::cpu {

// An operand seen as a logical (rows, cols) matrix, stored row-major or transposed.
template <class T>
struct Operand {
  const T* p;
  int64_t ld;
  bool trans;
  T at(int64_t r, int64_t c) const { return trans ? p[c * ld + r] : p[r * ld + c]; }
};

template <class T>
struct GemmKernels {
  int64_t mr, nr;  // register tile of the micro-kernel
  // Packs rows [r0, r0 + rows) x cols [c0, c0 + cols) of op(A) into slivers of mr rows: sliver s
  // holds, for each col k, the mr values of rows s*mr .. s*mr+mr-1 (zero beyond `rows`).
  void (*pack_a)(const Operand<T>& A, int64_t r0, int64_t rows, int64_t c0, int64_t cols, T* out);
  // Packs rows [r0, r0 + rows) (the K range) x cols [c0, c0 + cols) of op(B) into slivers of nr
  // cols: sliver s holds, for each row k, the nr values of cols s*nr .. s*nr+nr-1 (zero beyond).
  void (*pack_b)(const Operand<T>& B, int64_t r0, int64_t rows, int64_t c0, int64_t cols, T* out);
  // The register tile: c (m x n of MR x NR) = alpha * A_tile . B_tile + beta * c over K, with a
  // packed sliver of B, B_tile(k, j) = b[k * nr + j], and A_tile(r, k) = a[k * lda + r] (micro: a
  // packed sliver, or a transposed A read in place) or a[r * lda + k] (micro_a_rows: rows of A
  // read in place).
  void (*micro)(int64_t K, const T* a, int64_t lda, const T* b, T* c, int64_t ldc, T alpha, T beta, int64_t m,
                int64_t n);
  void (*micro_a_rows)(int64_t K, const T* a, int64_t lda, const T* b, T* c, int64_t ldc, T alpha, T beta, int64_t m,
                       int64_t n);
  // Unpacked paths for a few rows of A (contiguous along K), with B as (K, N) or as (N, K).
  void (*rows_times_matrix)(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                            int64_t ldb, T beta, T* C, int64_t ldc);
  void (*rows_dot_rows)(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
                        T beta, T* C, int64_t ldc);
};

namespace generic {
GemmKernels<float> kernels_f32();
GemmKernels<double> kernels_f64();
GemmKernels<int64_t> kernels_i64();
}  // namespace generic
namespace avx2 {
GemmKernels<float> kernels_f32();
GemmKernels<double> kernels_f64();
}  // namespace avx2
namespace avx512 {
GemmKernels<float> kernels_f32();
GemmKernels<double> kernels_f64();
}  // namespace avx512

}  // namespace pyseq::kernels::cpu
