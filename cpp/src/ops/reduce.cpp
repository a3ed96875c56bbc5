// Reductions over one or more dims. The input is laid out as contiguous rows (kept dims first,
// reduced dims last) and a row kernel reduces each row; backward broadcasts the gradient back.
#include <algorithm>
#include <cmath>
#include <utility>

#include "../kernels/cpu/reduce.h"
#include "dispatch.h"
#include "internal.h"

namespace pyseq {
namespace detail {

std::vector<int64_t> reduction_dims(const Tensor& t, const Shape& dims, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < t.ndim(); ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, t.ndim()));  // a 0-d tensor takes dim 0 or -1
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i)
    PYSEQ_CHECK(out[i] != out[i - 1], ValueError, op, ": dim ", out[i], " appears multiple times in the list of dims ", dims);
  if (t.ndim() == 0) out.clear();
  return out;
}

Shape keepdim_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape out = shape;
  for (int64_t d : dims) out[d] = 1;
  return out;
}

}  // namespace detail

namespace {

// `t` as a contiguous (rows, n) block whose rows are the values each output element reduces.
struct Rows {
  Tensor data;
  int64_t rows = 1, n = 1;
  Shape keep_shape;  // output shape with keepdim=true
  Shape out_shape;   // output shape as requested
};

Rows to_rows(const Tensor& t, const std::vector<int64_t>& dims, bool keepdim, bool copy = true) {
  NoGradGuard no_grad;
  Rows r;
  Shape perm;
  for (int64_t d = 0; d < t.ndim(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      perm.push_back(d);
      r.rows *= t.shape()[d];
      r.out_shape.push_back(t.shape()[d]);
    }
  for (int64_t d : dims) {
    perm.push_back(d);
    r.n *= t.shape()[d];
  }
  if (copy) r.data = contiguous(permute(t, perm));
  r.keep_shape = detail::keepdim_shape(t.shape(), dims);
  if (keepdim) r.out_shape = r.keep_shape;
  return r;
}

// The gradient of a reduced output, reshaped to the keepdim shape so it broadcasts over the input.
Tensor unreduce(const Tensor& g, const Shape& keep_shape) { return reshape(g, keep_shape); }

Tensor floating_input(const Tensor& t, const char* op) {
  PYSEQ_CHECK(is_floating(t.dtype()), TypeError, op, ": expected a floating point tensor (float32 or float64), got ",
              t.dtype());
  return t;
}

}  // namespace

// sum and mean: the gradient, divided by n for mean, broadcast back over the reduced dims.
struct SumBackward final : Node {
  Shape keep_shape, input_shape;
  double divisor;  // 1 for sum, n for mean
  SumBackward(const char* name, Shape keep_shape, Shape input_shape, double divisor)
      : Node(name), keep_shape(std::move(keep_shape)), input_shape(std::move(input_shape)), divisor(divisor) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor g = unreduce(grads[0], keep_shape);
    return {expand(divisor == 1 ? g : g / divisor, input_shape)};
  }
};

// A reduced dim of stride 0 (an expanded view) repeats one value: `t` narrowed to size 1 along
// each such dim (nothing is copied), and how many times its values repeat.
std::pair<Tensor, int64_t> without_repeats(const Tensor& t, const std::vector<int64_t>& rdims) {
  NoGradGuard no_grad;
  Tensor compact = t.detach();
  int64_t repeat = 1;
  for (int64_t d : rdims)
    if (t.ndim() > 0 && t.strides()[d] == 0 && t.shape()[d] > 1) {
      repeat *= t.shape()[d];
      compact = narrow(compact, d, 0, 1);
    }
  return {compact, repeat};
}

Tensor sum(const Tensor& t, const Shape& dims, bool keepdim) {
  const std::vector<int64_t> rdims = detail::reduction_dims(t, dims, "sum");  // sorted
  // sum(x expanded n times along d) = n sum(x): reduce the values once, never materialise the view
  auto [compact, repeat] = without_repeats(t, rdims);
  const Tensor x = t.dtype() == DType::Bool ? detail::cast(compact, DType::Int64) : compact;
  // Over the leading dims of a contiguous tensor (a bias gradient): add whole rows, no transpose.
  const bool leading = x.is_contiguous() && !rdims.empty() && static_cast<int64_t>(rdims.size()) < x.ndim() &&
                       rdims.back() == static_cast<int64_t>(rdims.size()) - 1;
  Rows r = to_rows(x, rdims, keepdim, !leading);
  Tensor out = empty(r.out_shape, x.dtype());
  PYSEQ_DISPATCH(NUMERIC, x.device(), x.dtype(), "sum", {
    if (leading) dev::sum_leading<T>(x.data<T>(), r.n, r.rows, out.data<T>());
    else dev::sum_rows<T>(r.data.data<T>(), r.rows, r.n, out.data<T>());
  });
  if (repeat > 1) {
    NoGradGuard no_grad;
    mul_(out, scalar_tensor(repeat, out.dtype()));
  }
  if (needs_grad(t)) record(std::make_shared<SumBackward>("SumBackward", r.keep_shape, t.shape(), 1.0), {t}, {out});
  return out;
}

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int64_t lead = t.ndim() - static_cast<int64_t>(shape.size());
  PYSEQ_CHECK(lead >= 0, ValueError, "sum_to: cannot reduce shape ", t.shape(), " to ", shape);
  Shape dims;
  for (int64_t d = 0; d < t.ndim(); ++d) {
    if (d < lead) { dims.push_back(d); continue; }
    const int64_t want = shape[d - lead];
    PYSEQ_CHECK(want == t.shape()[d] || want == 1, ValueError, "sum_to: cannot reduce shape ", t.shape(), " to ", shape);
    if (want == 1 && t.shape()[d] != 1) dims.push_back(d);
  }
  return dims.empty() ? reshape(t, shape) : reshape(sum(t, dims, true), shape);
}

Tensor mean(const Tensor& t, const Shape& dims, bool keepdim) {
  floating_input(t, "mean");
  const std::vector<int64_t> rdims = detail::reduction_dims(t, dims, "mean");
  const auto [compact, repeat] = without_repeats(t, rdims);  // repeated values leave the mean as it is
  Rows r = to_rows(compact, rdims, keepdim);
  Tensor out = empty(r.out_shape, t.dtype());
  PYSEQ_DISPATCH(FLOAT, t.device(), t.dtype(), "mean", {
    dev::mean_rows<T>(r.data.data<T>(), r.rows, r.n, out.data<T>());
  });
  if (needs_grad(t))
    record(std::make_shared<SumBackward>("MeanBackward", r.keep_shape, t.shape(), static_cast<double>(r.n * repeat)),
           {t}, {out});
  return out;
}

// var, std and var_mean. With c the correction and n the count of each row:
//   d var = 2 (x - mean) / (n - c),  d std = (x - mean) / ((n - c) std),  d mean = 1 / n.
// var_mean's node has two outputs (var, mean); either or both may bring a gradient.
struct VarianceBackward final : Node {
  SavedTensor x, out;  // the input; the output std (var does not need it)
  Shape keep_shape, dims;
  double denom, n;     // n - c and n
  bool take_sqrt;
  VarianceBackward(const char* name, uint32_t num_outputs) : Node(name, num_outputs) {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& xs = x.get();
    Tensor gx;
    if (grads[0].defined()) {
      const Tensor g = unreduce(grads[0], keep_shape);
      const Tensor scale = take_sqrt ? g / (unreduce(out.get(), keep_shape) * denom) : g * (2.0 / denom);
      gx = (xs - mean(xs, dims, true)) * scale;
    }
    if (num_outputs == 2 && grads[1].defined()) {
      const Tensor gm = expand(unreduce(grads[1], keep_shape) / n, xs.shape());
      gx = gx.defined() ? gx + gm : gm;
    }
    return {gx};
  }
  void release() override { free_saved(x, out); }
};

namespace {

// var and std share the forward; `take_sqrt` selects std; `with_mean` also returns the means.
std::pair<Tensor, Tensor> variance(const Tensor& t, const Shape& dims, double correction, bool keepdim, bool take_sqrt,
                                   bool with_mean) {
  const char* name = with_mean ? "var_mean" : take_sqrt ? "std" : "var";
  floating_input(t, name);
  const auto rd = detail::reduction_dims(t, dims, name);
  Rows r = to_rows(t, rd, keepdim);
  Tensor out = empty(r.out_shape, t.dtype()), means = with_mean ? empty(r.out_shape, t.dtype()) : Tensor();
  PYSEQ_DISPATCH(FLOAT, t.device(), t.dtype(), name, {
    dev::var_rows<T>(r.data.data<T>(), r.rows, r.n, correction, take_sqrt, out.data<T>(),
                     with_mean ? means.data<T>() : nullptr);
  });
  if (needs_grad(t)) {
    auto node = std::make_shared<VarianceBackward>(with_mean ? "VarMeanBackward" : take_sqrt ? "StdBackward" : "VarBackward",
                                                   with_mean ? 2 : 1);
    node->x = t;
    if (take_sqrt) node->out = out;  // std's derivative reads it; var's does not
    node->keep_shape = r.keep_shape;
    node->dims = Shape(rd.begin(), rd.end());
    node->denom = static_cast<double>(r.n) - correction;
    node->n = static_cast<double>(r.n);
    node->take_sqrt = take_sqrt;
    record(node, {t}, with_mean ? std::vector<Tensor>{out, means} : std::vector<Tensor>{out});
  }
  return {out, means};
}

}  // namespace

Tensor var(const Tensor& t, const Shape& dims, double correction, bool keepdim) {
  return variance(t, dims, correction, keepdim, false, false).first;
}
Tensor std(const Tensor& t, const Shape& dims, double correction, bool keepdim) {
  return variance(t, dims, correction, keepdim, true, false).first;
}
std::pair<Tensor, Tensor> var_mean(const Tensor& t, const Shape& dims, double correction, bool keepdim) {
  return variance(t, dims, correction, keepdim, false, true);
}

// d lse = softmax(x) = exp(x - lse)
struct LogsumexpBackward final : Node {
  SavedTensor x, out;
  Shape keep_shape;
  LogsumexpBackward(const Tensor& x, const Tensor& out, Shape keep_shape)
      : Node("LogsumexpBackward"), x(x), out(out), keep_shape(std::move(keep_shape)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    return {unreduce(grads[0], keep_shape) * exp(x.get() - unreduce(out.get(), keep_shape))};
  }
  void release() override { free_saved(x, out); }
};

Tensor logsumexp(const Tensor& t, const Shape& dims, bool keepdim) {
  const Tensor x = is_floating(t.dtype()) ? t : detail::cast(t, DType::Float32);
  Rows r = to_rows(x, detail::reduction_dims(x, dims, "logsumexp"), keepdim);
  Tensor out = empty(r.out_shape, x.dtype());
  PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "logsumexp", {
    dev::logsumexp_rows<T>(r.data.data<T>(), r.rows, r.n, out.data<T>());
  });
  if (needs_grad(t)) record(std::make_shared<LogsumexpBackward>(x, out, r.keep_shape), {t}, {out});
  return out;
}

struct NormBackward final : Node {
  SavedTensor x, out;
  Shape keep_shape, dims;
  double p;
  NormBackward() : Node("NormBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& xs = x.get();
    const Tensor n = unreduce(out.get(), keep_shape), g = unreduce(grads[0], keep_shape);
    const Tensor zero = scalar_tensor(0.0, xs.dtype());
    if (p == 1) return {g * sign(xs)};
    if (std::isinf(p)) {  // shared evenly by the elements that reach the max
      const Tensor at_max = to_dtype(eq(abs(xs), n), xs.dtype());
      return {g * sign(xs) * at_max / sum(at_max, dims, true)};
    }
    // x |x|^(p-2) / ||x||^(p-1), and 0 where the norm is 0
    const Tensor d = p == 2 ? xs / n
                            : xs * pow(abs(xs), scalar_tensor(p - 2, xs.dtype())) / pow(n, scalar_tensor(p - 1, xs.dtype()));
    return {g * where(eq(n, zero), zero, d)};
  }
  void release() override { free_saved(x, out); }
};

Tensor norm(const Tensor& t, double p, const Shape& dims, bool keepdim) {
  floating_input(t, "norm");
  PYSEQ_CHECK(p > 0, ValueError, "norm: expected p > 0 (or inf), got p=", p);
  // over an expanded view, ||x repeated k times||_p = k^(1/p) ||x||_p (the inf-norm is unchanged)
  const std::vector<int64_t> rdims = detail::reduction_dims(t, dims, "norm");
  auto [compact, repeat] = without_repeats(t, rdims);
  Rows r = to_rows(compact, rdims, keepdim);
  Tensor out = empty(r.out_shape, t.dtype());
  PYSEQ_DISPATCH(FLOAT, t.device(), t.dtype(), "norm", {
    dev::norm_rows<T>(r.data.data<T>(), r.rows, r.n, p, out.data<T>());
  });
  if (repeat > 1 && std::isfinite(p)) {
    NoGradGuard no_grad;
    mul_(out, scalar_tensor(std::pow(static_cast<double>(repeat), 1.0 / p), out.dtype()));
  }
  if (needs_grad(t)) {
    auto node = std::make_shared<NormBackward>();
    node->x = t;
    node->out = out;
    node->keep_shape = r.keep_shape;
    node->dims = dims;
    node->p = p;
    record(node, {t}, {out});
  }
  return out;
}

// max/min along a dim: one node with two outputs, values and indices. The values' gradient goes
// to the selected element of each row; the indices carry none.
struct ExtremumBackward final : Node {
  SavedTensor indices;
  Shape keep_shape, input_shape;
  int64_t dim;
  ExtremumBackward(const char* name, const Tensor& indices, Shape keep_shape, Shape input_shape, int64_t dim)
      : Node(name, 2), indices(indices), keep_shape(std::move(keep_shape)), input_shape(std::move(input_shape)), dim(dim) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (input_shape.empty()) return {reshape(g, input_shape)};
    return {scatter_add(zeros(input_shape, g.dtype()), dim, unreduce(indices.get(), keep_shape), unreduce(g, keep_shape))};
  }
  void release() override { free_saved(indices); }
};

// max/min over all elements: shared evenly by every element equal to the extremum.
struct ExtremumAllBackward final : Node {
  SavedTensor x, out;
  ExtremumAllBackward(const char* name, const Tensor& x, const Tensor& out) : Node(name), x(x), out(out) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor hit = to_dtype(eq(x.get(), out.get()), grads[0].dtype());
    return {hit * (grads[0] / sum(hit))};
  }
  void release() override { free_saved(x, out); }
};

namespace {

// max/min along `dim`: values (dtype of t) and int64 indices, as contiguous rows.
std::pair<Tensor, Tensor> extremum_along(const Tensor& t, int64_t dim, bool keepdim, bool is_max, const char* op) {
  const Tensor x = t.dtype() == DType::Bool ? detail::cast(t, DType::Int64) : t;
  const std::vector<int64_t> dims = {wrap_dim(dim, t.ndim())};
  Rows r = to_rows(x, t.ndim() == 0 ? std::vector<int64_t>{} : dims, keepdim);
  PYSEQ_CHECK(r.n > 0, ValueError, op, ": cannot reduce over an empty dimension (input shape ", t.shape(), ")");
  Tensor values = empty(r.out_shape, x.dtype()), indices = empty(r.out_shape, DType::Int64);
  PYSEQ_DISPATCH(NUMERIC, x.device(), x.dtype(), op, {
    dev::minmax_rows<T>(r.data.data<T>(), r.rows, r.n, is_max, values.data<T>(), indices.data<int64_t>());
  });
  if (t.dtype() == DType::Bool) values = detail::cast(values, DType::Bool);
  if (needs_grad(t)) {
    auto node = std::make_shared<ExtremumBackward>(is_max ? "MaxBackward" : "MinBackward", indices, r.keep_shape,
                                                   t.shape(), dims[0]);
    record(node, {t}, {values, indices});
  }
  return {values, indices};
}

Tensor extremum_all(const Tensor& t, bool is_max) {
  const char* op = is_max ? "max" : "min";
  PYSEQ_CHECK(t.numel() > 0, ValueError, op, "(): expected a non-empty tensor, got shape ", t.shape());
  Tensor out;
  {
    NoGradGuard no_grad;
    Shape all(static_cast<size_t>(t.ndim()));
    for (int64_t d = 0; d < t.ndim(); ++d) all[d] = d;
    const Tensor values = without_repeats(t, all).first;  // an expanded view's values, once each
    out = reshape(extremum_along(reshape(values, {-1}), 0, false, is_max, op).first, {});
  }
  if (needs_grad(t)) record(std::make_shared<ExtremumAllBackward>(is_max ? "MaxBackward" : "MinBackward", t, out), {t}, {out});
  return out;
}

Tensor arg_extremum(const Tensor& t, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  NoGradGuard no_grad;
  if (dim) return extremum_along(t, *dim, keepdim, is_max, op).second;
  Tensor flat = extremum_along(reshape(t, {-1}), 0, false, is_max, op).second;
  return keepdim ? reshape(flat, Shape(t.ndim(), 1)) : reshape(flat, {});
}

}  // namespace

std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim) {
  return extremum_along(t, dim, keepdim, true, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim) {
  return extremum_along(t, dim, keepdim, false, "min");
}
Tensor max(const Tensor& t) { return extremum_all(t, true); }
Tensor min(const Tensor& t) { return extremum_all(t, false); }
Tensor argmax(const Tensor& t, std::optional<int64_t> dim, bool keepdim) { return arg_extremum(t, dim, keepdim, true); }
Tensor argmin(const Tensor& t, std::optional<int64_t> dim, bool keepdim) { return arg_extremum(t, dim, keepdim, false); }

// --- along a dim, keeping it: sort, topk, cumsum ---

namespace {

// t's shape with dim d moved last and sized m: the layout of a (rows, m) result of to_rows' rows.
Shape moved_shape(const Tensor& t, int64_t d, int64_t m) {
  Shape out;
  for (int64_t i = 0; i < t.ndim(); ++i)
    if (i != d) out.push_back(t.shape()[i]);
  out.push_back(m);
  return out;
}

// A result in moved_shape's layout, its last dim put back at d (contiguous).
Tensor moved_back(const Tensor& moved, int64_t d) {
  Shape perm;
  for (int64_t i = 0; i + 1 < moved.ndim(); ++i) perm.push_back(i);
  perm.insert(perm.begin() + d, moved.ndim() - 1);
  return contiguous(permute(moved, perm));
}

// The k largest (smallest) values along dim in order, and their indices; the values' gradient goes
// back to where each came from (ExtremumBackward with the dim kept).
std::pair<Tensor, Tensor> select_along(const Tensor& t, int64_t k, int64_t dim, bool largest, const char* op,
                                       const char* node_name) {
  PYSEQ_CHECK(t.dtype() != DType::Bool, TypeError, op, ": not supported for bool tensors");
  if (t.ndim() == 0) {
    wrap_dim(dim, 0);
    auto [values, indices] = select_along(reshape(t, {1}), k, 0, largest, op, node_name);
    return {reshape(values, {}), reshape(indices, {})};
  }
  const int64_t d = wrap_dim(dim, t.ndim()), n = t.shape()[d];
  PYSEQ_CHECK(0 <= k && k <= n, ValueError, op, ": k must be between 0 and the size of dim ", d, " (", n, "), got ", k,
              " (input shape ", t.shape(), ")");
  Tensor values, indices;
  {
    NoGradGuard no_grad;
    const Rows r = to_rows(t, {d}, true);
    values = empty(moved_shape(t, d, k), t.dtype());
    indices = empty(moved_shape(t, d, k), DType::Int64);
    if (k > 0 && r.rows > 0)
      PYSEQ_DISPATCH(NUMERIC, t.device(), t.dtype(), op, {
        dev::topk_rows<T>(r.data.data<T>(), r.rows, n, k, largest, values.data<T>(), indices.data<int64_t>());
      });
    values = moved_back(values, d);
    indices = moved_back(indices, d);
  }
  if (needs_grad(t))
    record(std::make_shared<ExtremumBackward>(node_name, indices, values.shape(), t.shape(), d), {t}, {values, indices});
  return {values, indices};
}

// Running sums along dim (from its end when reverse); the gradient is the running sum the other way.
struct CumsumBackward final : Node {
  int64_t dim;
  bool reverse;
  CumsumBackward(int64_t dim, bool reverse) : Node("CumsumBackward"), dim(dim), reverse(reverse) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override;
};

Tensor running_sum(const Tensor& t, int64_t dim, bool reverse) {
  if (t.ndim() == 0) {
    wrap_dim(dim, 0);
    return reshape(running_sum(reshape(t, {1}), 0, reverse), {});
  }
  const int64_t d = wrap_dim(dim, t.ndim());
  Tensor out;
  {
    NoGradGuard no_grad;
    const Tensor x = t.dtype() == DType::Bool ? detail::cast(t, DType::Int64) : t;  // bools count, as PyTorch
    const Rows r = to_rows(x, {d}, true);
    out = empty(moved_shape(x, d, r.n), x.dtype());
    if (out.numel() > 0)
      PYSEQ_DISPATCH(NUMERIC, x.device(), x.dtype(), "cumsum", {
        dev::cumsum_rows<T>(r.data.data<T>(), r.rows, r.n, reverse, out.data<T>());
      });
    out = moved_back(out, d);
  }
  if (needs_grad(t)) record(std::make_shared<CumsumBackward>(d, reverse), {t}, {out});
  return out;
}

std::vector<Tensor> CumsumBackward::backward(const std::vector<Tensor>& grads) {
  return {running_sum(grads[0], dim, !reverse)};
}

}  // namespace

std::pair<Tensor, Tensor> topk(const Tensor& t, int64_t k, int64_t dim, bool largest) {
  return select_along(t, k, dim, largest, "topk", "TopkBackward");
}
std::pair<Tensor, Tensor> sort(const Tensor& t, int64_t dim, bool descending) {
  return select_along(t, t.ndim() == 0 ? 1 : t.shape()[wrap_dim(dim, t.ndim())], dim, descending, "sort",
                      "SortBackward");
}
Tensor cumsum(const Tensor& t, int64_t dim) { return running_sum(t, dim, false); }

}  // namespace pyseq
