// Matrix multiply on raw pointers: C (M, N) = A (M, K) @ B (K, N), plus C when accumulate.
// Each matrix is row-major with contiguous rows that are ld* elements apart.
#pragma once

#include <cstdint>

namespace pyseq::kernels {

// Cache-blocked and threaded.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
          bool accumulate);

// The textbook triple loop, kept as the reference the fast kernel is tested against.
template <class T>
void gemm_reference(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                    int64_t ldc, bool accumulate);

}  // namespace pyseq::kernels
