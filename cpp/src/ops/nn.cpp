// Neural-network ops with fused kernels: layer_norm, cross_entropy, dropout, conv1d, max_pool1d,
// kmax_pool1d; and the in-place random fills used by weight initialisation.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "../kernels/cpu/gemm.h"
#include "../kernels/cpu/index.h"
#include "../kernels/cpu/nn.h"
#include "../kernels/cpu/reduce.h"
#include "internal.h"
#include "pyseq/parallel.h"
#include "pyseq/random.h"

namespace pyseq {

// --- random fills ---

Tensor& uniform_(Tensor& self, double low, double high) {
  PYSEQ_CHECK(low <= high, ValueError, "uniform_: expected low <= high, got low=", low, ", high=", high);
  Tensor values;
  {
    NoGradGuard no_grad;
    values = rand(self.shape(), is_floating(self.dtype()) ? self.dtype() : DType::Float64) * (high - low) + low;
  }
  return copy_(self, values);
}

Tensor& normal_(Tensor& self, double mean, double std) {
  PYSEQ_CHECK(std >= 0, ValueError, "normal_: expected std >= 0, got ", std);
  Tensor values;
  {
    NoGradGuard no_grad;
    values = randn(self.shape(), is_floating(self.dtype()) ? self.dtype() : DType::Float64) * std + mean;
  }
  return copy_(self, values);
}

// --- layer_norm ---

Tensor layer_norm(const Tensor& x, int64_t normalized_ndim, const Tensor& weight, const Tensor& bias, double eps) {
  PYSEQ_CHECK(normalized_ndim >= 1 && normalized_ndim <= x.ndim(), ValueError, "layer_norm: cannot normalize over the last ",
              normalized_ndim, " dims of an input of shape ", x.shape());
  const Shape norm_shape(x.shape().end() - normalized_ndim, x.shape().end());
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    PYSEQ_CHECK(p->shape() == norm_shape, ValueError, "layer_norm: ", p == &weight ? "weight" : "bias", " has shape ",
                p->shape(), " but the normalized shape is ", norm_shape, " (input shape ", x.shape(), ")");
    PYSEQ_CHECK(p->dtype() == x.dtype(), TypeError, "layer_norm: ", p == &weight ? "weight" : "bias", " has dtype ",
                p->dtype(), " but the input has dtype ", x.dtype());
  }
  const int64_t D = numel_of(norm_shape), rows = D > 0 ? x.numel() / D : 0;
  const Tensor xc = contiguous(x.detach());
  const Tensor wc = weight.defined() ? contiguous(weight.detach()) : Tensor();
  const Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor y = empty(x.shape(), x.dtype()), mean = empty({rows}, x.dtype()), rstd = empty({rows}, x.dtype());
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::layer_norm_forward<T>(xc.data<T>(), wc.defined() ? wc.data<T>() : nullptr,
                                   bc.defined() ? bc.data<T>() : nullptr, rows, D, eps, y.data<T>(), mean.data<T>(),
                                   rstd.data<T>());
  });
  if (needs_grad(x, weight, bias)) {
    attach_grad_fn(y, "LayerNormBackward", {x, weight, bias},
                   [sx = SavedTensor(xc), sw = SavedTensor(wc), mean, rstd, rows, D, need_w = weight.defined() && weight.requires_grad(),
                    need_b = bias.defined() && bias.requires_grad()](const Tensor& g) {
                     const Tensor& xs = sx.get();
                     const Tensor& ws = sw.get();
                     const Tensor gc = contiguous(g);
                     Tensor gx = empty(xs.shape(), xs.dtype()), gw, gb;
                     if (need_w) gw = zeros(ws.shape(), xs.dtype());
                     if (need_b) gb = zeros(ws.defined() ? ws.shape() : Shape{D}, xs.dtype());
                     dispatch_float(xs.dtype(), "layer_norm backward", [&](auto tag) {
                       using T = decltype(tag);
                       kernels::layer_norm_backward<T>(gc.data<T>(), xs.data<T>(), ws.defined() ? ws.data<T>() : nullptr,
                                                       mean.data<T>(), rstd.data<T>(), rows, D, gx.data<T>(),
                                                       gw.defined() ? gw.data<T>() : nullptr,
                                                       gb.defined() ? gb.data<T>() : nullptr);
                     });
                     if (gb.defined() && ws.defined()) gb = reshape(gb, ws.shape());
                     return std::vector<Tensor>{gx, gw, gb};
                   });
  }
  return y;
}

// --- cross_entropy ---

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     double label_smoothing, const std::string& reduction) {
  PYSEQ_CHECK(logits.ndim() == 2, ValueError, "cross_entropy: expected logits of shape (N, C), got ", logits.shape());
  PYSEQ_CHECK(target.dtype() == DType::Int64, TypeError, "cross_entropy: expected int64 class indices as target, got ",
              target.dtype());
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  PYSEQ_CHECK(target.shape() == Shape({N}), ValueError, "cross_entropy: expected a target of shape [", N,
              "] for logits of shape ", logits.shape(), ", got ", target.shape());
  PYSEQ_CHECK(reduction == "none" || reduction == "mean" || reduction == "sum", ValueError,
              "cross_entropy: reduction must be 'none', 'mean' or 'sum', got '", reduction, "'");
  PYSEQ_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ValueError,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  if (weight.defined()) {
    PYSEQ_CHECK(weight.shape() == Shape({C}), ValueError, "cross_entropy: expected a class weight of shape [", C,
                "], got ", weight.shape());
    PYSEQ_CHECK(weight.dtype() == logits.dtype(), TypeError, "cross_entropy: weight has dtype ", weight.dtype(),
                " but the logits have dtype ", logits.dtype());
  }
  const Tensor z = contiguous(logits.detach()), t = contiguous(target);
  const int64_t* tp = t.data<int64_t>();
  for (int64_t i = 0; i < N; ++i)
    PYSEQ_CHECK(tp[i] == ignore_index || (tp[i] >= 0 && tp[i] < C), IndexError, "cross_entropy: target ", tp[i],
                " is out of bounds for ", C, " classes");
  const Tensor w = weight.defined() ? contiguous(weight.detach()) : Tensor();
  const double eps = label_smoothing;
  // Per row i with class t_i (not ignored): w_t = weight[t_i] (1 without weights) and
  //   loss_i = (1 - eps) * (-w_t * logp[i, t_i]) + eps / C * (-sum_c w_c * logp[i, c]).
  // "mean" divides the summed loss by sum_i w_t, as PyTorch's nll_loss does.
  Tensor logp = empty({N, C}, logits.dtype()), per_row = empty({N}, logits.dtype());
  double weight_total = 0;
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    kernels::softmax_rows<T>(z.data<T>(), N, C, true, logp.data<T>());
    const T* lp = logp.data<T>();
    const T* wp = w.defined() ? w.data<T>() : nullptr;
    T* out = per_row.data<T>();
    for (int64_t i = 0; i < N; ++i) {
      if (tp[i] == ignore_index) { out[i] = 0; continue; }
      const T* row = lp + i * C;
      const double wt = wp ? wp[tp[i]] : 1.0;
      double smooth = 0;
      if (eps > 0)
        for (int64_t c = 0; c < C; ++c) smooth -= (wp ? wp[c] : 1.0) * row[c];
      out[i] = static_cast<T>((1 - eps) * (-wt * row[tp[i]]) + eps / C * smooth);
      weight_total += wt;
    }
  });
  Tensor loss;
  {
    NoGradGuard no_grad;
    if (reduction == "none") loss = per_row;
    else if (reduction == "sum") loss = sum(per_row);
    else loss = sum(per_row) / weight_total;
  }
  if (needs_grad(logits, weight)) {
    PYSEQ_CHECK(!weight.defined() || !weight.requires_grad(), RuntimeError,
                "cross_entropy: gradients with respect to the class weights are not supported");
    // dloss_i/dz_c = (1 - eps) w_t (p_c - [c == t_i]) + eps / C (p_c W - w_c), W = sum_c w_c.
    attach_grad_fn(loss, "CrossEntropyBackward", {logits},
                   [sp = SavedTensor(logp), st = SavedTensor(t), sw = SavedTensor(w), reduction, weight_total, eps,
                    ignore_index, N, C](const Tensor& g) {
                     const Tensor &lp = sp.get(), &tt = st.get(), &ww = sw.get();
                     const Tensor gc = contiguous(g);
                     Tensor gz = empty({N, C}, lp.dtype());
                     dispatch_float(lp.dtype(), "cross_entropy backward", [&](auto tag) {
                       using T = decltype(tag);
                       const T* wp = ww.defined() ? ww.data<T>() : nullptr;
                       const int64_t* tp = tt.data<int64_t>();
                       double W = C;
                       if (wp) W = std::accumulate(wp, wp + C, 0.0);
                       const T* gv = gc.data<T>();
                       T* out = gz.data<T>();
                       for (int64_t i = 0; i < N; ++i) {
                         T* row = out + i * C;
                         if (tp[i] == ignore_index) { std::fill(row, row + C, T(0)); continue; }
                         const double scale = reduction == "none" ? gv[i] : reduction == "sum" ? gv[0] : gv[0] / weight_total;
                         const double wt = wp ? wp[tp[i]] : 1.0;
                         const T* lrow = lp.data<T>() + i * C;
                         for (int64_t c = 0; c < C; ++c) {
                           const double p = std::exp(static_cast<double>(lrow[c]));
                           double d = (1 - eps) * wt * (p - (c == tp[i] ? 1.0 : 0.0));
                           if (eps > 0) d += eps / C * (p * W - (wp ? wp[c] : 1.0));
                           row[c] = static_cast<T>(scale * d);
                         }
                       }
                     });
                     return std::vector<Tensor>{gz};
                   });
  }
  return loss;
}

// --- dropout ---

Tensor dropout(const Tensor& x, double p, bool training) {
  PYSEQ_CHECK(p >= 0 && p <= 1, ValueError, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  PYSEQ_CHECK(is_floating(x.dtype()), TypeError, "dropout: expected a floating point input, got ", x.dtype());
  // The kept elements' scale, 1 / (1 - p), or 0 everywhere when p == 1.
  Tensor mask = empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T keep_scale = p < 1 ? T(1.0 / (1.0 - p)) : T(0);
    std::bernoulli_distribution keep(1.0 - p);
    T* m = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) m[i] = keep(generator()) ? keep_scale : T(0);
  });
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x * mask;
  }
  if (needs_grad(x)) {
    attach_grad_fn(y, "DropoutBackward", {x}, [mask](const Tensor& g) { return std::vector<Tensor>{g * mask}; });
  }
  return y;
}

// --- conv1d ---

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  PYSEQ_CHECK(x.ndim() == 3, ValueError, "conv1d: expected an input of shape (N, C_in, L), got ", x.shape());
  PYSEQ_CHECK(weight.ndim() == 3, ValueError, "conv1d: expected a weight of shape (C_out, C_in / groups, K), got ",
              weight.shape());
  PYSEQ_CHECK(stride >= 1 && dilation >= 1 && padding >= 0 && groups >= 1, ValueError,
              "conv1d: expected stride >= 1, dilation >= 1, padding >= 0, groups >= 1, got stride=", stride,
              ", padding=", padding, ", dilation=", dilation, ", groups=", groups);
  PYSEQ_CHECK(x.dtype() == weight.dtype(), TypeError, "conv1d: input has dtype ", x.dtype(), " but weight has dtype ",
              weight.dtype());
  const int64_t N = x.shape()[0], C_in = x.shape()[1], L = x.shape()[2];
  const int64_t C_out = weight.shape()[0], K = weight.shape()[2];
  PYSEQ_CHECK(C_in % groups == 0 && C_out % groups == 0 && weight.shape()[1] == C_in / groups, ValueError,
              "conv1d: input of shape ", x.shape(), " with groups=", groups, " needs a weight of shape [C_out, ",
              C_in / groups, ", K] with C_out divisible by groups, got ", weight.shape());
  if (bias.defined())
    PYSEQ_CHECK(bias.shape() == Shape({C_out}) && bias.dtype() == x.dtype(), ValueError,
                "conv1d: expected a bias of shape [", C_out, "] and dtype ", x.dtype(), ", got ", bias.shape(), " ",
                bias.dtype());
  const int64_t span = dilation * (K - 1) + 1;
  PYSEQ_CHECK(L + 2 * padding >= span, ValueError, "conv1d: the input length ", L, " (padded by ", padding,
              " on each side) is shorter than the kernel span ", span);
  const kernels::Window1d win{L, (L + 2 * padding - span) / stride + 1, K, stride, padding, dilation};
  const int64_t G = groups, Cg = C_in / G, Og = C_out / G, CK = Cg * K, Lo = win.out_length;

  const Tensor xc = contiguous(x.detach()), wc = contiguous(weight.detach());
  Tensor y = empty({N, C_out, Lo}, x.dtype());
  dispatch_float(x.dtype(), "conv1d", [&](auto tag) {
    using T = decltype(tag);
    // Samples go in chunks whose windows sit side by side in cols (CK, chunk * Lo): one GEMM per
    // group and chunk instead of one per sample. Chunks keep cols near 16 MB.
    const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(CK * Lo, 1), 1, std::max<int64_t>(N, 1));
    std::vector<T> cols(static_cast<size_t>(CK * chunk * Lo)), prod(static_cast<size_t>(Og * chunk * Lo));
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
      const int64_t nc = std::min(chunk, N - n0), width = nc * Lo;
      for (int64_t g = 0; g < G; ++g) {
        parallel_for_each(nc, CK * Lo, [&](int64_t j) {
          kernels::im2col<T>(xc.data<T>() + ((n0 + j) * C_in + g * Cg) * L, Cg, win, cols.data() + j * Lo, width);
        });
        // prod (Og, nc * Lo) = W_g (Og, CK) @ cols (CK, nc * Lo), then each sample's block goes to y
        kernels::gemm<T>(false, false, Og, width, CK, T(1), wc.data<T>() + g * Og * CK, CK, cols.data(), width, T(0),
                         prod.data(), width);
        parallel_for_each(nc, Og * Lo, [&](int64_t j) {
          for (int64_t o = 0; o < Og; ++o)
            std::copy_n(prod.data() + o * width + j * Lo, Lo, y.data<T>() + ((n0 + j) * C_out + g * Og + o) * Lo);
        });
      }
    }
  });
  if (bias.defined()) {
    NoGradGuard no_grad;
    add_(y, reshape(bias.detach(), {C_out, 1}));
  }
  if (needs_grad(x, weight, bias)) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
    attach_grad_fn(y, "Conv1dBackward", {x, weight, bias},
                   [sx = SavedTensor(xc), sw = SavedTensor(wc), win, N, C_in, C_out, G, Cg, Og, CK, Lo, L, K, need_x,
                    need_w, need_b](const Tensor& grad) {
                     const Tensor &xs = sx.get(), &ws = sw.get();
                     const Tensor g = contiguous(grad);  // (N, C_out, Lo)
                     Tensor gx, gw, gb;
                     if (need_x) gx = zeros({N, C_in, L}, xs.dtype());
                     if (need_w) gw = zeros({C_out, Cg, K}, xs.dtype());
                     if (need_b) gb = sum(g, {0, 2});
                     dispatch_float(xs.dtype(), "conv1d backward", [&](auto tag) {
                       using T = decltype(tag);
                       // Chunks of samples side by side, as in the forward: two GEMMs per group and chunk.
                       const int64_t chunk = std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(CK * Lo, 1), 1,
                                                                 std::max<int64_t>(N, 1));
                       std::vector<T> cols(static_cast<size_t>(CK * chunk * Lo)), gys(static_cast<size_t>(Og * chunk * Lo));
                       for (int64_t n0 = 0; n0 < N; n0 += chunk) {
                         const int64_t nc = std::min(chunk, N - n0), width = nc * Lo;
                         for (int64_t gi = 0; gi < G; ++gi) {
                           parallel_for_each(nc, Og * Lo, [&](int64_t j) {  // dy of the chunk as one (Og, nc * Lo) matrix
                             for (int64_t o = 0; o < Og; ++o)
                               std::copy_n(g.data<T>() + ((n0 + j) * C_out + gi * Og + o) * Lo, Lo,
                                           gys.data() + o * width + j * Lo);
                           });
                           if (need_w) {  // dW_g (Og, CK) += dy (Og, nc * Lo) @ cols^T (nc * Lo, CK)
                             parallel_for_each(nc, CK * Lo, [&](int64_t j) {
                               kernels::im2col<T>(xs.data<T>() + ((n0 + j) * C_in + gi * Cg) * L, Cg, win,
                                                  cols.data() + j * Lo, width);
                             });
                             kernels::gemm<T>(false, true, Og, CK, width, T(1), gys.data(), width, cols.data(), width, T(1),
                                              gw.data<T>() + gi * Og * CK, CK);
                           }
                           if (need_x) {  // dcols (CK, nc * Lo) = W_g^T (CK, Og) @ dy (Og, nc * Lo), folded back onto dx
                             kernels::gemm<T>(true, false, CK, width, Og, T(1), ws.data<T>() + gi * Og * CK, CK, gys.data(),
                                              width, T(0), cols.data(), width);
                             parallel_for_each(nc, CK * Lo, [&](int64_t j) {
                               kernels::col2im_add<T>(cols.data() + j * Lo, width, Cg, win,
                                                      gx.data<T>() + ((n0 + j) * C_in + gi * Cg) * L);
                             });
                           }
                         }
                       }
                     });
                     return std::vector<Tensor>{gx, gw, gb};
                   });
  }
  return y;
}

// --- pooling ---

Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding, int64_t dilation) {
  PYSEQ_CHECK(x.ndim() == 2 || x.ndim() == 3, ValueError, "max_pool1d: expected an input of shape (N, C, L) or (C, L), got ",
              x.shape());
  PYSEQ_CHECK(kernel_size >= 1 && stride >= 1 && dilation >= 1, ValueError,
              "max_pool1d: kernel_size, stride and dilation must be positive, got ", kernel_size, ", ", stride, ", ", dilation);
  PYSEQ_CHECK(padding >= 0 && padding <= kernel_size / 2, ValueError,
              "max_pool1d: padding should be at most half of the kernel size, got padding=", padding,
              " and kernel_size=", kernel_size);
  const int64_t L = x.shape().back(), span = dilation * (kernel_size - 1) + 1;
  PYSEQ_CHECK(L + 2 * padding >= span, ValueError, "max_pool1d: the input length ", L, " (padded by ", padding,
              ") is shorter than the window span ", span);
  const kernels::Window1d win{L, (L + 2 * padding - span) / stride + 1, kernel_size, stride, padding, dilation};
  const int64_t rows = x.numel() / std::max<int64_t>(L, 1);
  Shape out_shape = x.shape();
  out_shape.back() = win.out_length;
  const Tensor xc = contiguous(x.detach());
  Tensor y = empty(out_shape, x.dtype()), index = empty(out_shape, DType::Int64);
  dispatch_float(x.dtype(), "max_pool1d", [&](auto tag) {
    using T = decltype(tag);
    kernels::max_pool1d_forward<T>(xc.data<T>(), rows, win, y.data<T>(), index.data<int64_t>());
  });
  if (needs_grad(x)) {  // each window's gradient goes to the element it picked
    attach_grad_fn(y, "MaxPool1dBackward", {x}, [index, shape = x.shape()](const Tensor& g) {
      return std::vector<Tensor>{scatter_add(zeros(shape, g.dtype()), -1, index, contiguous(g))};
    });
  }
  return y;
}

Tensor kmax_pool1d(const Tensor& x, int64_t k) {
  PYSEQ_CHECK(x.ndim() >= 1, ValueError, "kmax_pool1d: expected at least a 1-d input, got a 0-d tensor");
  const int64_t L = x.shape().back();
  PYSEQ_CHECK(k >= 1 && k <= L, ValueError, "kmax_pool1d: k must be in [1, ", L, "] for an input of shape ", x.shape(),
              ", got k=", k);
  const int64_t rows = x.numel() / L;
  Shape out_shape = x.shape();
  out_shape.back() = k;
  const Tensor xc = contiguous(x.detach());
  Tensor index = empty(out_shape, DType::Int64);
  dispatch_numeric(x.dtype(), "kmax_pool1d", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = xc.data<T>();
    int64_t* ip = index.data<int64_t>();
    std::vector<int64_t> order(static_cast<size_t>(L));
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = xp + r * L;
      std::iota(order.begin(), order.end(), 0);
      // The k largest (earlier position first among equal values), then back in positional order.
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
      std::sort(order.begin(), order.begin() + k);
      std::copy(order.begin(), order.begin() + k, ip + r * k);
    }
  });
  return gather(x, -1, index);  // differentiable: the gradient is scattered back by gather's backward
}

}  // namespace pyseq
