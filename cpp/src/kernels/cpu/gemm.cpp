#include "gemm.h"

#include <algorithm>

#include "pyseq/parallel.h"

namespace pyseq::kernels {
namespace {
// Blocks: a panel of kBlockK rows of B, kBlockN wide, stays in L2 while kBlockM rows of A stream
// over it; the innermost loop is a contiguous axpy over a row of C that the compiler vectorises.
constexpr int64_t kBlockM = 32, kBlockN = 512, kBlockK = 128;
}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
          bool accumulate) {
  if (M == 0 || N == 0) return;
  const int64_t row_blocks = (M + kBlockM - 1) / kBlockM;
  // Small products stay on one thread: a task gets at least ~1M multiply-adds.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 20) / (kBlockM * N * std::max<int64_t>(K, 1)));
  parallel_for(0, row_blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t i_begin = b0 * kBlockM, i_end = std::min(M, b1 * kBlockM);
    if (!accumulate)
      for (int64_t i = i_begin; i < i_end; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    for (int64_t j0 = 0; j0 < N; j0 += kBlockN) {
      const int64_t nb = std::min(kBlockN, N - j0);
      for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
        const int64_t k_end = std::min(K, k0 + kBlockK);
        for (int64_t i = i_begin; i < i_end; ++i) {
          T* c = C + i * ldc + j0;
          const T* a = A + i * lda;
          for (int64_t k = k0; k < k_end; ++k) {
            const T aik = a[k];
            const T* b = B + k * ldb + j0;
            for (int64_t j = 0; j < nb; ++j) c[j] += aik * b[j];
          }
        }
      }
    }
  });
}

template <class T>
void gemm_reference(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                    int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T acc = accumulate ? C[i * ldc + j] : T(0);
      for (int64_t k = 0; k < K; ++k) acc += A[i * lda + k] * B[k * ldb + j];
      C[i * ldc + j] = acc;
    }
}

#define PYSEQ_INSTANTIATE(T)                                                                           \
  template void gemm<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, bool); \
  template void gemm_reference<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, bool);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
PYSEQ_INSTANTIATE(int64_t)

}  // namespace pyseq::kernels
