// matmul: 1-D, 2-D and batched N-D with broadcast batch dims, on the blocked GEMM kernel.
#include <type_traits>

#include "../kernels/cpu/gemm.h"
#include "../kernels/cpu/loops.h"
#include "../kernels/cpu/vecmath.h"
#include "dispatch.h"
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

Tensor matmul_nd(const Tensor& a, const Tensor& b);

// dA = g @ B^T, dB = A^T @ g, each summed over the batch dims its operand was broadcast along.
struct MatmulBackward final : Node {
  bool need_a, need_b, b_2d;
  Shape shape_a, shape_b;
  SavedTensor a, b;  // each saved only when the other's gradient needs it
  MatmulBackward(const Tensor& a, const Tensor& b)
      : Node("MatmulBackward"), need_a(a.requires_grad()), need_b(b.requires_grad()), b_2d(b.ndim() == 2),
        shape_a(a.shape()), shape_b(b.shape()) {
    if (need_b) this->a = a;
    if (need_a) this->b = b;
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];  // (..., M, N)
    Tensor ga, gb;
    if (need_a) ga = sum_to(matmul_nd(g, transpose(b.get(), -1, -2)), shape_a);
    if (need_b) {
      const Tensor& av = a.get();
      const int64_t K = av.shape().back(), N = g.shape().back();
      // A weight shared by every batch: one (K, B*M) @ (B*M, N) product.
      gb = b_2d && av.ndim() > 2 ? matmul_nd(transpose(reshape(av, {-1, K}), 0, 1), reshape(g, {-1, N}))
                                 : sum_to(matmul_nd(transpose(av, -1, -2), g), shape_b);
    }
    return {ga, gb};
  }
  void release() override { free_saved(a, b); }
};

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
    PYSEQ_DISPATCH(NUMERIC, a.device(), a.dtype(), "matmul", {
      if (b.ndim() == 2 && a.is_contiguous()) {  // (..., M, K) folds into one (B*M, K) matrix
        dev::gemm<T>(false, B.trans, numel_of(batch) * M, N, K, T(1), a.data<T>(), K, B.t.data<T>(), B.ld, T(0),
                         out.data<T>(), N);
        return;
      }
      const MatrixOperand A = as_matrix(a);
      Shape full_a = batch, full_b = batch;
      full_a.insert(full_a.end(), {M, K});
      full_b.insert(full_b.end(), {K, N});
      const Tensor Ae = expand(A.t, full_a), Be = expand(B.t, full_b);  // stride 0 along broadcast batch dims
      dev::gemm_batched<T>(A.trans, B.trans, M, N, K, Ae.data<T>(), A.ld, Ae.strides().data(), Be.data<T>(), B.ld,
                           Be.strides().data(), out.data<T>(), batch.data(), static_cast<int64_t>(batch.size()));
    });
  }
  if (needs_grad(a, b)) record(std::make_shared<MatmulBackward>(a, b), {a, b}, {out});
  return out;
}


// x (rows, in) @ W^T (in, out) + b, optionally through relu (whose derivative reads the output).
struct LinearBackward final : Node {
  bool relu_out, need_x = false, need_weight = false, need_bias = false;
  int64_t rows = 0, in_features = 0, out_features = 0;
  Shape x_shape;
  SavedTensor x, weight, out;
  explicit LinearBackward(bool relu_out) : Node(relu_out ? "LinearReluBackward" : "LinearBackward"), relu_out(relu_out) {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    Tensor g = reshape(grads[0], {rows, out_features});  // (rows, out)
    if (relu_out) {  // relu': g where the output is positive, else 0, in one pass
      Tensor masked = empty({rows, out_features}, g.dtype());
      PYSEQ_DISPATCH(FLOAT, g.device(), g.dtype(), "linear relu backward", {
        dev::map2<T, T, T>(masked, g, reshape(out.get(), {rows, out_features}),
                           [](T gv, T y) { return y > T(0) ? gv : T(0); });
      });
      g = masked;
    }
    Tensor gx, gw, gb;
    if (need_x) gx = reshape(matmul(g, weight.get()), x_shape);                               // (rows, in)
    if (need_weight) gw = matmul(transpose(g, 0, 1), reshape(x.get(), {rows, in_features}));  // (out, in)
    if (need_bias) gb = sum(g, {0});                                                           // (out,)
    return {gx, gw, gb};
  }
  void release() override { free_saved(x, weight, out); }
};

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
    const Tensor x2 = contiguous(x.detach());
    const MatrixOperand w = as_matrix(weight.detach());  // (out, in), or read as its transpose (in, out) in place
    Tensor out2 = reshape(out, {rows, out_f});  // (rows, out), a view of out
    const Tensor b = bias.defined() ? contiguous(bias.detach()) : Tensor();
    PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "linear", {
      // The bias and the activation are applied to each finished block of the output in cache.
      const dev::Epilogue<T> epilogue{b.defined() ? b.data<T>() : nullptr,
                                      activation == "relu" ? dev::relu_activation<T>()
                                      : is_gelu            ? dev::gelu_activation<T>(activation == "gelu_tanh")
                                                           : nullptr};
      dev::gemm<T>(false, !w.trans, rows, out_f, in_f, T(1), x2.data<T>(), in_f, w.t.data<T>(), w.ld, T(0),
                   out2.data<T>(), out_f, epilogue);
    });
  }
  if (needs_grad(x, weight, bias)) {
    auto node = std::make_shared<LinearBackward>(activation == "relu");
    node->need_x = x.requires_grad();
    node->need_weight = weight.requires_grad();
    node->need_bias = bias.defined() && bias.requires_grad();
    node->rows = rows;
    node->in_features = in_f;
    node->out_features = out_f;
    node->x_shape = x.shape();
    if (node->need_weight) node->x = x;
    if (node->need_x) node->weight = weight;
    if (node->relu_out) node->out = out;
    record(node, {x, weight, bias}, {out});
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
