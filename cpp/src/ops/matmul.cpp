// matmul: 1-D, 2-D and batched N-D with broadcast batch dims, on the blocked GEMM kernel.
#include "../kernels/cpu/gemm.h"
#include "internal.h"
#include "pyseq/parallel.h"

namespace pyseq {
namespace {

// `t` with contiguous rows (unit stride along the last dim); copies only when it has not.
Tensor unit_column_stride(const Tensor& t) {
  return t.shape().back() <= 1 || t.strides().back() == 1 ? t : contiguous(t);
}

// a (..., M, K) @ b (..., K, N) -> (..., M, N); both at least 2-D, same dtype, K checked.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  const int64_t M = a.shape()[a.ndim() - 2], K = a.shape().back(), N = b.shape().back();
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, a.dtype());
  {
    NoGradGuard no_grad;
    Tensor A = unit_column_stride(a), B = unit_column_stride(b);
    dispatch_numeric(a.dtype(), "matmul", [&](auto tag) {
      using T = decltype(tag);
      if (b.ndim() == 2 && A.is_contiguous()) {  // (..., M, K) folds into one (B*M, K) matrix
        kernels::gemm<T>(numel_of(batch) * M, N, K, A.data<T>(), K, B.data<T>(), B.strides()[0],
                         out.data<T>(), N, false);
        return;
      }
      Shape full_a = batch, full_b = batch;
      full_a.insert(full_a.end(), {M, K});
      full_b.insert(full_b.end(), {K, N});
      Tensor Ae = expand(A, full_a), Be = expand(B, full_b);  // stride 0 along broadcast batch dims
      const int64_t nb = numel_of(batch), nd = static_cast<int64_t>(batch.size());
      const int64_t lda = Ae.strides()[nd], ldb = Be.strides()[nd];
      parallel_for(0, nb, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t off_a = 0, off_b = 0;
          for (int64_t d = nd - 1, rem = i; d >= 0; --d) {
            const int64_t idx = rem % batch[d];
            rem /= batch[d];
            off_a += idx * Ae.strides()[d];
            off_b += idx * Be.strides()[d];
          }
          kernels::gemm<T>(M, N, K, Ae.data<T>() + off_a, lda, Be.data<T>() + off_b, ldb, out.data<T>() + i * M * N,
                           N, false);
        }
      });
    });
  }
  if (needs_grad(a, b)) {
    // dA = g @ B^T, dB = A^T @ g, each summed over the batch dims its operand was broadcast along.
    const bool need_a = a.requires_grad(), need_b = b.requires_grad(), b_2d = b.ndim() == 2;
    attach_grad_fn(out, "MatmulBackward", {a, b},
                   [need_a, need_b, b_2d, shape_a = a.shape(), shape_b = b.shape(), sa = need_b ? SavedTensor(a) : SavedTensor(),
                    sb = need_a ? SavedTensor(b) : SavedTensor()](const Tensor& g) {
                     Tensor ga, gb;
                     if (need_a) {
                       const Tensor& bv = sb.get();
                       ga = sum_to(matmul_nd(g, transpose(bv, -1, -2)), shape_a);
                     }
                     if (need_b) {
                       const Tensor& av = sa.get();
                       const int64_t K = av.shape().back(), N = g.shape().back();
                       // A weight shared by every batch: one (K, B*M) @ (B*M, N) product.
                       gb = b_2d && av.ndim() > 2
                                ? matmul_nd(transpose(reshape(av, {-1, K}), 0, 1), reshape(g, {-1, N}))
                                : sum_to(matmul_nd(transpose(av, -1, -2), g), shape_b);
                     }
                     return std::vector<Tensor>{ga, gb};
                   });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  PYSEQ_CHECK(a.ndim() >= 1 && b.ndim() >= 1, ValueError,
              "matmul: both arguments need to be at least 1-D, got shapes ", a.shape(), " and ", b.shape());
  PYSEQ_CHECK(a.dtype() == b.dtype(), TypeError, "matmul: expected both operands to have the same dtype, got ",
              a.dtype(), " and ", b.dtype());
  PYSEQ_CHECK(a.dtype() != DType::Bool, TypeError, "matmul: not supported for bool tensors");
  const int64_t ka = a.shape().back(), kb = b.ndim() == 1 ? b.shape()[0] : b.shape()[b.ndim() - 2];
  PYSEQ_CHECK(ka == kb, ValueError, "matmul: shapes ", a.shape(), " and ", b.shape(), " cannot be multiplied (", ka,
              " != ", kb, ")");
  if (a.ndim() == 1 && b.ndim() == 1) return reshape(matmul_nd(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (a.ndim() == 1) return squeeze(matmul_nd(unsqueeze(a, 0), b), -2);
  if (b.ndim() == 1) return squeeze(matmul_nd(a, unsqueeze(b, 1)), -1);
  return matmul_nd(a, b);
}

}  // namespace pyseq
