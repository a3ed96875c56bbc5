// Neural-network ops with fused kernels: layer_norm, cross_entropy, dropout, conv1d, max_pool1d,
// kmax_pool1d. Each op: checks, forward through the kernels, and its backward node beside it.
#include <algorithm>

#include "../kernels/cpu/conv.h"
#include "../kernels/cpu/index.h"
#include "../kernels/cpu/nn.h"
#include "../kernels/cpu/random.h"
#include "../kernels/cpu/reduce.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/random.h"

namespace pyseq {

// --- layer_norm ---

// x (rows, D) normalised per row; the gradients of x, weight and bias from the saved statistics.
struct LayerNormBackward final : Node {
  SavedTensor x, weight, mean, rstd;  // x (rows, D) contiguous; weight (normalized shape) or none; mean, rstd (rows,)
  int64_t rows, D;
  bool need_weight, need_bias;
  LayerNormBackward() : Node("LayerNormBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &xs = x.get(), &ws = weight.get(), &mu = mean.get(), &rs = rstd.get();
    const Tensor g = contiguous(grads[0]);
    const Shape norm_shape = ws.defined() ? ws.shape() : Shape{D};
    Tensor gx = empty(xs.shape(), xs.dtype()), gw, gb;
    if (need_weight) gw = zeros(norm_shape, xs.dtype());
    if (need_bias) gb = zeros(norm_shape, xs.dtype());
    PYSEQ_DISPATCH(FLOAT, xs.device(), xs.dtype(), "layer_norm backward", {
      dev::layer_norm_backward<T>(g.data<T>(), xs.data<T>(), ws.defined() ? ws.data<T>() : nullptr, mu.data<T>(),
                                rs.data<T>(), rows, D, gx.data<T>(), gw.defined() ? gw.data<T>() : nullptr,
                                gb.defined() ? gb.data<T>() : nullptr);
    });
    return {gx, gw, gb};
  }
  void release() override { free_saved(x, weight, mean, rstd); }
};

Tensor layer_norm(const Tensor& x, const Shape& norm_shape, const Tensor& weight, const Tensor& bias, double eps) {
  const int64_t normalized_ndim = static_cast<int64_t>(norm_shape.size());
  PYSEQ_CHECK(normalized_ndim >= 1 && normalized_ndim <= x.ndim() &&
                  Shape(x.shape().end() - normalized_ndim, x.shape().end()) == norm_shape,
              ValueError, "layer_norm: expected input with trailing shape ", norm_shape, ", got input of shape ",
              x.shape());
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    PYSEQ_CHECK(p->shape() == norm_shape, ValueError, "layer_norm: ", p == &weight ? "weight" : "bias",
                " must have shape ", norm_shape, ", got ", p->shape());
    PYSEQ_CHECK(p->dtype() == x.dtype(), TypeError, "layer_norm: ", p == &weight ? "weight" : "bias", " has dtype ",
                p->dtype(), " but the input has dtype ", x.dtype());
  }
  const int64_t D = numel_of(norm_shape), rows = D > 0 ? x.numel() / D : 0;
  const Tensor xc = contiguous(x.detach());
  const Tensor wc = weight.defined() ? contiguous(weight.detach()) : Tensor();
  const Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor y = empty(x.shape(), x.dtype()), mean = empty({rows}, x.dtype()), rstd = empty({rows}, x.dtype());
  PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "layer_norm", {
    dev::layer_norm_forward<T>(xc.data<T>(), wc.defined() ? wc.data<T>() : nullptr, bc.defined() ? bc.data<T>() : nullptr,
                             rows, D, eps, y.data<T>(), mean.data<T>(), rstd.data<T>());
  });
  if (needs_grad(x, weight, bias)) {
    auto node = std::make_shared<LayerNormBackward>();
    node->x = xc;
    node->weight = wc;
    node->mean = mean;
    node->rstd = rstd;
    node->rows = rows;
    node->D = D;
    node->need_weight = weight.defined() && weight.requires_grad();
    node->need_bias = bias.defined() && bias.requires_grad();
    record(node, {x, weight, bias}, {y});
  }
  return y;
}

// --- cross_entropy ---

// The gradient of the logits from the saved log-probabilities (see dev::cross_entropy_backward).
struct CrossEntropyBackward final : Node {
  SavedTensor logp, target, weight;  // (N, C), (N,) int64, (C,) or none
  int64_t ignore_index;
  double label_smoothing;
  bool per_row;  // reduction "none"
  double scale;  // "sum": 1, "mean": 1 / (sum of the target weights)
  CrossEntropyBackward() : Node("CrossEntropyBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &lp = logp.get(), &t = target.get(), &w = weight.get();
    const Tensor g = contiguous(grads[0]);
    const int64_t N = lp.shape()[0], C = lp.shape()[1];
    Tensor gz = empty({N, C}, lp.dtype());
    PYSEQ_DISPATCH(FLOAT, lp.device(), lp.dtype(), "cross_entropy backward", {
      dev::cross_entropy_backward<T>(lp.data<T>(), t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr, N, C,
                                   ignore_index, label_smoothing, g.data<T>(), per_row, scale, gz.data<T>());
    });
    return {gz};
  }
  void release() override { free_saved(logp, target, weight); }
};

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
  PYSEQ_CHECK(!weight.defined() || !weight.requires_grad() || !grad_enabled(), RuntimeError,
              "cross_entropy: gradients with respect to the class weights are not supported");
  int64_t bad = -1;  // the first target that is neither ignore_index nor a class
  PYSEQ_DISPATCH(ALL, t.device(), DType::Int64, "cross_entropy", {
    bad = dev::find_out_of_range(t.data<int64_t>(), N, C, &ignore_index);
  });
  PYSEQ_CHECK(bad < 0, IndexError, "cross_entropy: target ", bad < 0 ? 0 : t.data<int64_t>()[bad],
              " is out of bounds for ", C, " classes");
  const Tensor w = weight.defined() ? contiguous(weight.detach()) : Tensor();
  Tensor logp = empty({N, C}, logits.dtype()), per_row = empty({N}, logits.dtype());
  double weight_total = 0;
  PYSEQ_DISPATCH(FLOAT, logits.device(), logits.dtype(), "cross_entropy", {
    dev::softmax_rows<T>(z.data<T>(), N, C, true, logp.data<T>());
    weight_total = dev::cross_entropy_forward<T>(logp.data<T>(), t.data<int64_t>(), w.defined() ? w.data<T>() : nullptr,
                                               N, C, ignore_index, label_smoothing, per_row.data<T>());
  });
  Tensor loss;
  {
    NoGradGuard no_grad;
    if (reduction == "none") loss = per_row;
    else if (reduction == "sum") loss = sum(per_row);
    else loss = sum(per_row) / weight_total;  // as PyTorch's nll_loss: divided by the summed target weights
  }
  if (needs_grad(logits)) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->logp = logp;
    node->target = t;
    node->weight = w;
    node->ignore_index = ignore_index;
    node->label_smoothing = label_smoothing;
    node->per_row = reduction == "none";
    node->scale = reduction == "sum" ? 1.0 : 1.0 / weight_total;
    record(node, {logits}, {loss});
  }
  return loss;
}

// --- dropout ---

// The gradient passes where the element was kept, scaled like it.
struct DropoutBackward final : Node {
  Tensor mask;  // (x's shape): 1 / (1 - p) where kept, else 0
  explicit DropoutBackward(Tensor mask) : Node("DropoutBackward"), mask(std::move(mask)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {grads[0] * mask}; }
  void release() override { mask = Tensor(); }
};

Tensor dropout(const Tensor& x, double p, bool training) {
  PYSEQ_CHECK(p >= 0 && p <= 1, ValueError, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  PYSEQ_CHECK(is_floating(x.dtype()), TypeError, "dropout: expected a floating point input, got ", x.dtype());
  Tensor mask = empty(x.shape(), x.dtype());
  PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "dropout", {
    const RngState state = reserve_rng(static_cast<uint64_t>(dev::blocks_for(mask.numel(), 4)));
    dev::fill_dropout_mask<T>(mask.data<T>(), mask.numel(), state, p);
  });
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x * mask;
  }
  if (needs_grad(x)) record(std::make_shared<DropoutBackward>(mask), {x}, {y});
  return y;
}

// --- conv1d ---

struct Conv1dBackward final : Node {
  SavedTensor x, weight;  // contiguous (N, C_in, L), (C_out, C_in / G, K)
  kernels::cpu::Conv1dShape shape;
  bool need_x, need_weight, need_bias;
  Conv1dBackward() : Node("Conv1dBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &xs = x.get(), &ws = weight.get();
    const Tensor g = contiguous(grads[0]);  // (N, C_out, L_out)
    Tensor gx, gw, gb;
    if (need_x) gx = zeros(xs.shape(), xs.dtype());
    if (need_weight) gw = zeros(ws.shape(), xs.dtype());
    if (need_bias) gb = sum(g, {0, 2});
    if ((need_x || need_weight) && g.numel() > 0) {
      PYSEQ_DISPATCH(FLOAT, xs.device(), xs.dtype(), "conv1d backward", {
        dev::conv1d_backward<T>(g.data<T>(), xs.data<T>(), ws.data<T>(), shape, gx.defined() ? gx.data<T>() : nullptr,
                              gw.defined() ? gw.data<T>() : nullptr);
      });
    }
    return {gx, gw, gb};
  }
  void release() override { free_saved(x, weight); }
};

namespace detail {

// (internal.h)
kernels::cpu::Window1d window_1d(const char* op, const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t dilation) {
  PYSEQ_CHECK(x.ndim() == 2 || x.ndim() == 3, ValueError, op, ": expected 2D (C, L) or 3D (N, C, L) input, got input of shape ",
              x.shape());
  PYSEQ_CHECK(padding >= 0, ValueError, op, ": padding must be non-negative, got ", padding);
  const int64_t L = x.shape().back();  // (the subtraction of two non-negative sizes cannot overflow)
  const int64_t reach = size_add(L, size_mul(2, padding, op, "2 * padding"), op, "the padded input length") -
                        size_mul(dilation, kernel - 1, op, "the window's span dilation * (kernel_size - 1)") - 1;
  const int64_t out_length = (reach >= 0 ? reach / stride : -((-reach + stride - 1) / stride)) + 1;  // floor division
  PYSEQ_CHECK(out_length >= 1, ValueError, op, ": input of shape ", x.shape(), " is too short for kernel size ", kernel,
              " with padding=", padding, ", dilation=", dilation, ": the output length would be ", out_length);
  return {L, out_length, kernel, stride, padding, dilation};
}

}  // namespace detail

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  PYSEQ_CHECK(input.ndim() == 2 || input.ndim() == 3, ValueError,
              "conv1d: expected 2D (C, L) or 3D (N, C, L) input, got input of shape ", input.shape());
  PYSEQ_CHECK(weight.ndim() == 3, ValueError, "conv1d: weight must be 3-D (C_out, C_in / groups, K), got shape ",
              weight.shape());
  PYSEQ_CHECK(stride >= 1 && dilation >= 1 && groups >= 1, ValueError,
              "conv1d: stride, dilation and groups must be positive, got stride=", stride, ", dilation=", dilation,
              ", groups=", groups);
  PYSEQ_CHECK(input.dtype() == weight.dtype(), TypeError, "conv1d: input has dtype ", input.dtype(),
              " but weight has dtype ", weight.dtype());
  const Tensor x = input.ndim() == 3 ? input : unsqueeze(input, 0);  // (N, C_in, L)
  const int64_t N = x.shape()[0], C_in = x.shape()[1];
  const int64_t C_out = weight.shape()[0], K = weight.shape()[2];
  PYSEQ_CHECK(K >= 1, ValueError, "conv1d: kernel size should be greater than zero, got a weight of shape ",
              weight.shape());
  const int64_t expected_C_in = size_mul(weight.shape()[1], groups, "conv1d", "the input channels weight.shape[1] * groups");
  PYSEQ_CHECK(C_in == expected_C_in, ValueError, "conv1d: weight of shape ", weight.shape(), " with groups=", groups,
              " expects input with ", expected_C_in, " channels, got input of shape ", input.shape());
  PYSEQ_CHECK(C_out % groups == 0, ValueError, "conv1d: out_channels (", C_out, ") must be divisible by groups (", groups,
              ")");
  if (bias.defined())
    PYSEQ_CHECK(bias.shape() == Shape({C_out}) && bias.dtype() == x.dtype(), ValueError, "conv1d: bias must have shape [",
                C_out, "] and dtype ", x.dtype(), ", got ", bias.shape(), " ", bias.dtype());
  const kernels::cpu::Conv1dShape shape{N, C_in, C_out, groups, detail::window_1d("conv1d", input, K, stride, padding, dilation)};

  const Tensor xc = contiguous(x.detach()), wc = contiguous(weight.detach());
  Tensor y = empty({N, C_out, shape.window.out_length}, x.dtype());
  if (y.numel() > 0) {  // (an empty output must not loop over, say, 10^12 empty groups)
    PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "conv1d", {
      dev::conv1d_forward<T>(xc.data<T>(), wc.data<T>(), shape, y.data<T>());
    });
  }
  if (bias.defined()) {
    NoGradGuard no_grad;
    add_(y, reshape(bias.detach(), {C_out, 1}));
  }
  if (needs_grad(x, weight, bias)) {
    auto node = std::make_shared<Conv1dBackward>();
    node->x = xc;
    node->weight = wc;
    node->shape = shape;
    node->need_x = x.requires_grad();
    node->need_weight = weight.requires_grad();
    node->need_bias = bias.defined() && bias.requires_grad();
    record(node, {x, weight, bias}, {y});
  }
  return input.ndim() == 3 ? y : squeeze(y, 0);  // unbatched in, unbatched out
}

// --- pooling ---

// Each window's gradient goes to the element it picked.
struct MaxPool1dBackward final : Node {
  Shape input_shape;
  Tensor index;  // (output shape) int64: the position each window picked along the last dim
  MaxPool1dBackward(Shape input_shape, Tensor index)
      : Node("MaxPool1dBackward"), input_shape(std::move(input_shape)), index(std::move(index)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    return {scatter_add(zeros(input_shape, grads[0].dtype()), -1, index, contiguous(grads[0]))};
  }
  void release() override { index = Tensor(); }
};

Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding, int64_t dilation) {
  PYSEQ_CHECK(kernel_size >= 1 && stride >= 1 && dilation >= 1, ValueError,
              "max_pool1d: kernel_size, stride and dilation must be positive, got kernel_size=", kernel_size,
              ", stride=", stride, ", dilation=", dilation);
  PYSEQ_CHECK(padding >= 0 && padding <= kernel_size / 2, ValueError,
              "max_pool1d: padding should be between 0 and half of the kernel size (", kernel_size, "), got ", padding);
  const kernels::cpu::Window1d win = detail::window_1d("max_pool1d", x, kernel_size, stride, padding, dilation);
  const int64_t L = win.length;
  const int64_t rows = x.numel() / std::max<int64_t>(L, 1);
  Shape out_shape = x.shape();
  out_shape.back() = win.out_length;
  const Tensor xc = contiguous(x.detach());
  Tensor y = empty(out_shape, x.dtype()), index = empty(out_shape, DType::Int64);
  PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "max_pool1d", {
    dev::max_pool1d_forward<T>(xc.data<T>(), rows, win, y.data<T>(), index.data<int64_t>());
  });
  if (needs_grad(x)) record(std::make_shared<MaxPool1dBackward>(x.shape(), index), {x}, {y});
  return y;
}

Tensor kmax_pool1d(const Tensor& x, int64_t k) {
  PYSEQ_CHECK(x.ndim() >= 1, ValueError, "kmax_pool1d: expected at least a 1-d input, got a 0-d tensor");
  const int64_t L = x.shape().back();
  PYSEQ_CHECK(k >= 1 && k <= L, ValueError, "kmax_pool1d: k must be in [1, ", L, "] for an input of shape ", x.shape(),
              ", got k=", k);
  Shape out_shape = x.shape();
  out_shape.back() = k;
  const Tensor xc = contiguous(x.detach());
  Tensor index = empty(out_shape, DType::Int64);
  PYSEQ_DISPATCH(NUMERIC, x.device(), x.dtype(), "kmax_pool1d", {
    dev::kmax_indices<T>(xc.data<T>(), x.numel() / L, L, k, index.data<int64_t>());
  });
  return gather(x, -1, index);  // differentiable: the gradient is scattered back by gather's backward
}

}  // namespace pyseq
