// The pieces of GEMM that differ per instruction set, as a table of function pointers. Each
// gemm_<isa>.cpp fills one table from gemm_isa.inc; gemm.cpp picks a table at run time.
#pragma once

#include <cstdint>

#include "cpu.h"

namespace pyseq::kernels {

template <class T>
struct GemmKernels {
  int64_t mr, nr;  // register tile of the micro-kernel
  void (*micro)(int64_t K, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta, int64_t m, int64_t n);
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

}  // namespace pyseq::kernels
