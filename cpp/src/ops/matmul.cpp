// matmul: 1-D, 2-D and batched N-D with broadcast batch dims, on the blocked GEMM kernel.
#include <type_traits>

#include "../kernels/cpu/gemm.h"
#include "../kernels/cpu/vecmath.h"
#include "internal.h"
#include "pyseq/parallel.h"

namespace pyseq {
namespace {

// How GEMM reads the last two dims of `t` in place: row-major (unit stride along the last dim) or
// transposed (unit stride along the second to last, as in x.T). Anything else is copied first.
struct MatrixOperand {
  Tensor t;
  int64_t ld;
  bool trans;
};
MatrixOperand as_matrix(const Tensor& t) {
  const int64_t rows = t.shape()[t.ndim() - 2], cols = t.shape().back();
  const int64_t row_stride = t.strides()[t.ndim() - 2], col_stride = t.strides().back();
  if (cols <= 1 || col_stride == 1) return {t, rows <= 1 ? cols : row_stride, false};
  if (rows <= 1 || row_stride == 1) return {t, col_stride, true};
  return {contiguous(t), cols, false};
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
    const MatrixOperand B = as_matrix(b);
    dispatch_numeric(a.dtype(), "matmul", [&](auto tag) {
      using T = decltype(tag);
      if (b.ndim() == 2 && a.is_contiguous()) {  // (..., M, K) folds into one (B*M, K) matrix
        kernels::gemm<T>(false, B.trans, numel_of(batch) * M, N, K, T(1), a.data<T>(), K, B.t.data<T>(), B.ld, T(0),
                         out.data<T>(), N);
        return;
      }
      const MatrixOperand A = as_matrix(a);
      Shape full_a = batch, full_b = batch;
      full_a.insert(full_a.end(), {M, K});
      full_b.insert(full_b.end(), {K, N});
      const Tensor Ae = expand(A.t, full_a), Be = expand(B.t, full_b);  // stride 0 along broadcast batch dims
      const int64_t nb = numel_of(batch), nd = static_cast<int64_t>(batch.size());
      // Batches run in parallel when each is small; a large one is threaded inside GEMM instead.
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, M * N * K));
      parallel_for(0, nb, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t off_a = 0, off_b = 0;
          for (int64_t d = nd - 1, rem = i; d >= 0; --d) {
            const int64_t idx = rem % batch[d];
            rem /= batch[d];
            off_a += idx * Ae.strides()[d];
            off_b += idx * Be.strides()[d];
          }
          kernels::gemm<T>(A.trans, B.trans, M, N, K, T(1), Ae.data<T>() + off_a, A.ld, Be.data<T>() + off_b, B.ld,
                           T(0), out.data<T>() + i * M * N, N);
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

// The GEMM epilogues of linear: activations applied in place to finished rows of the output.
template <class T>
void relu_rows(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <class T>
kernels::Epilogue<T> gelu_rows(bool tanh_approximation) {
  if constexpr (std::is_same_v<T, float>) {
    const kernels::VecMath& vm = kernels::vecmath();
    return tanh_approximation ? vm.gelu_tanh : vm.gelu_erf;
  }
  return nullptr;  // double: the separate gelu op
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation) {
  PYSEQ_CHECK(activation == "none" || activation == "relu" || activation == "gelu" || activation == "gelu_tanh",
              ValueError, "linear: activation must be 'none', 'relu', 'gelu' or 'gelu_tanh', got '", activation, "'");
  const bool is_gelu = activation == "gelu" || activation == "gelu_tanh";
  if (is_gelu && (needs_grad(x, weight, bias) || x.dtype() != DType::Float32))  // gelu's backward needs its input
    return gelu(linear(x, weight, bias), activation == "gelu_tanh");
  PYSEQ_CHECK(weight.ndim() == 2, ValueError, "linear: weight must be 2-d (out_features, in_features), got shape ",
              weight.shape());
  const int64_t out_f = weight.shape()[0], in_f = weight.shape()[1];
  PYSEQ_CHECK(x.ndim() >= 1 && x.shape().back() == in_f, ValueError, "linear: input's last dim must be in_features=",
              in_f, ", got input of shape ", x.shape(), " (weight shape ", weight.shape(), ")");
  PYSEQ_CHECK(x.dtype() == weight.dtype() && is_floating(x.dtype()), TypeError,
              "linear: expected floating input and weight of one dtype, got ", x.dtype(), " and ", weight.dtype());
  if (bias.defined())
    PYSEQ_CHECK(bias.shape() == Shape({out_f}) && bias.dtype() == x.dtype(), ValueError, "linear: expected a bias of shape [",
                out_f, "] and dtype ", x.dtype(), ", got ", bias.shape(), " ", bias.dtype());
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  const int64_t rows = in_f > 0 ? x.numel() / in_f : numel_of(out_shape) / std::max<int64_t>(out_f, 1);
  Tensor out = empty(out_shape, x.dtype());
  {
    NoGradGuard no_grad;
    const Tensor x2 = contiguous(x.detach()), w = contiguous(weight.detach());
    Tensor out2 = reshape(out, {rows, out_f});  // (rows, out), a view of out
    if (bias.defined()) copy_(out2, bias.detach());  // every row starts as the bias
    dispatch_float(x.dtype(), "linear", [&](auto tag) {
      using T = decltype(tag);
      kernels::Epilogue<T> epilogue = activation == "relu" ? &relu_rows<T> : is_gelu ? gelu_rows<T>(activation == "gelu_tanh") : nullptr;
      kernels::gemm<T>(false, true, rows, out_f, in_f, T(1), x2.data<T>(), in_f, w.data<T>(), in_f,
                       bias.defined() ? T(1) : T(0), out2.data<T>(), out_f, epilogue);
    });
  }
  if (needs_grad(x, weight, bias)) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
    const bool relu_out = activation == "relu";
    attach_grad_fn(out, relu_out ? "LinearReluBackward" : "LinearBackward", {x, weight, bias},
                   [need_x, need_w, need_b, relu_out, rows, in_f, out_f, x_shape = x.shape(),
                    sx = need_w ? SavedTensor(x) : SavedTensor(), sw = need_x ? SavedTensor(weight) : SavedTensor(),
                    sy = relu_out ? SavedTensor(out) : SavedTensor()](const Tensor& g) {
                     Tensor g2 = reshape(g, {rows, out_f});  // (rows, out)
                     if (relu_out) g2 = mul(g2, gt(reshape(sy.get(), {rows, out_f}), zeros({}, g.dtype())));  // relu'
                     Tensor gx, gw, gb;
                     if (need_x) gx = reshape(matmul(g2, sw.get()), x_shape);                              // (rows, in)
                     if (need_w) gw = matmul(transpose(g2, 0, 1), reshape(sx.get(), {rows, in_f}));  // (out, in)
                     if (need_b) gb = sum(g2, {0});                                                     // (out,)
                     return std::vector<Tensor>{gx, gw, gb};
                   });
  }
  return out;
}

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
