// Matrix multiply on raw pointers: C (M, N) = alpha * op(A) @ op(B) + beta * C.
//   op(A) is (M, K): element (i, k) is A[i * lda + k], or A[k * lda + i] when trans_a (A stored (K, M)).
//   op(B) is (K, N): element (k, j) is B[k * ldb + j], or B[j * ldb + k] when trans_b (B stored (N, K)).
// beta == 0 overwrites C without reading it. Transposed operands are read in place, never copied.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>
#include <vector>

namespace pyseq::kernels::cpu {

// An activation applied in place to a row segment of n values (y may be x).
template <class T>
using Activation = void (*)(const T* x, T* y, int64_t n);

// The epilogue of a fused linear layer, done to finished pieces of C while they are still in
// cache: a bias row (one value per column of C) added, then an activation. Either may be null.
template <class T>
struct Epilogue {
  const T* bias = nullptr;
  Activation<T> activation = nullptr;
  explicit operator bool() const { return bias || activation; }
  // c: a row segment of C, its columns [j0, j0 + n).
  void operator()(T* c, int64_t j0, int64_t n) const {
    if (bias)
      for (int64_t j = 0; j < n; ++j) c[j] += bias[j0 + j];
    if (activation) activation(c, c, n);
  }
};

// Packed, cache-blocked and threaded, with the micro-kernel of the best instruction set this CPU
// has (see cpu.h; PYSEQ_CPU_LEVEL lowers it). With an epilogue, C = activation(alpha op(A) op(B) +
// beta C + bias).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, Epilogue<T> epilogue = {});

// op(B) (K, N) prepared once for many products C = alpha A op(B) + beta C with different A (a
// recurrent weight, used at every step of a sequence): packed into the blocked layout the
// micro-kernels read when A has many rows; read in place when A has few (gemm's few-rows path
// streams B unpacked), so B must then outlive the PreparedB.
template <class T>
struct PreparedB {
  int64_t K = 0, N = 0;
  bool packed = false;
  std::vector<T> data;       // packed: the blocks in the driver's order
  const T* source = nullptr;  // not packed: B itself, op(B) = trans ? B^T : B
  int64_t ld = 0;
  bool trans = false;
};
// rows: how many rows the A of the later products will have.
template <class T>
PreparedB<T> prepare_b(bool trans_b, int64_t K, int64_t N, const T* B, int64_t ldb, int64_t rows);
// C (M, N) = alpha A (M, K) B + beta C, A row-major.
template <class T>
void gemm_prepared(int64_t M, T alpha, const T* A, int64_t lda, const PreparedB<T>& B, T beta, T* C, int64_t ldc);

// A batch of products C_i (M, N) = op(A_i) op(B_i), C_i at C + i * M * N (ldc = N). The batch index
// i runs over `batch` (row-major); A_i and B_i start at the element offsets sum_d idx_d * stride_d
// (stride 0 along a broadcast dim). Small products run in parallel, a large one is threaded inside.
template <class T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                  const int64_t* a_batch_strides, const T* B, int64_t ldb, const int64_t* b_batch_strides, T* C,
                  const int64_t* batch, int64_t batch_ndim);

// Activations of a fused linear layer: relu, and GELU (erf or tanh form; float only, else null).
template <class T> Activation<T> relu_activation();
template <class T> Activation<T> gelu_activation(bool tanh_approximation);

// The textbook triple loop, kept as the reference the fast kernel is tested against.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                    const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace pyseq::kernels::cpu
