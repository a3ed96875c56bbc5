// Reductions over one or more dims. The input is laid out as contiguous rows (kept dims first,
// reduced dims last) and a row kernel reduces each row; backward broadcasts the gradient back.
#include <algorithm>
#include <cmath>

#include "../kernels/cpu/reduce.h"
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

Tensor sum(const Tensor& t, const Shape& dims, bool keepdim) {
  const Tensor x = t.dtype() == DType::Bool ? detail::cast(t, DType::Int64) : t;
  const std::vector<int64_t> rdims = detail::reduction_dims(x, dims, "sum");  // sorted
  // Over the leading dims of a contiguous tensor (a bias gradient): add whole rows, no transpose.
  const bool leading = x.is_contiguous() && !rdims.empty() && static_cast<int64_t>(rdims.size()) < x.ndim() &&
                       rdims.back() == static_cast<int64_t>(rdims.size()) - 1;
  Rows r = to_rows(x, rdims, keepdim, !leading);
  Tensor out = empty(r.out_shape, x.dtype());
  dispatch_numeric(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    if (leading) kernels::sum_leading<T>(x.data<T>(), r.n, r.rows, out.data<T>());
    else kernels::sum_rows<T>(r.data.data<T>(), r.rows, r.n, out.data<T>());
  });
  if (needs_grad(t)) {
    attach_grad_fn(out, "SumBackward", {t}, [keep = r.keep_shape, shape = t.shape()](const Tensor& g) {
      return std::vector<Tensor>{expand(unreduce(g, keep), shape)};
    });
  }
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
  Rows r = to_rows(t, detail::reduction_dims(t, dims, "mean"), keepdim);
  Tensor out = empty(r.out_shape, t.dtype());
  const int64_t n = r.n;
  dispatch_float(t.dtype(), "mean", [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    kernels::sum_rows<T>(r.data.data<T>(), r.rows, n, o);
    for (int64_t i = 0; i < r.rows; ++i) o[i] /= static_cast<T>(n);
  });
  if (needs_grad(t)) {
    attach_grad_fn(out, "MeanBackward", {t}, [keep = r.keep_shape, shape = t.shape(), n](const Tensor& g) {
      return std::vector<Tensor>{expand(unreduce(g, keep) / static_cast<double>(n), shape)};
    });
  }
  return out;
}

namespace {

// var and std share the forward; `take_sqrt` selects std.
Tensor variance(const Tensor& t, const Shape& dims, bool unbiased, bool keepdim, bool take_sqrt) {
  const char* name = take_sqrt ? "std" : "var";
  floating_input(t, name);
  const auto rd = detail::reduction_dims(t, dims, name);
  Rows r = to_rows(t, rd, keepdim);
  const double correction = unbiased ? 1.0 : 0.0;
  Tensor out = empty(r.out_shape, t.dtype());
  dispatch_float(t.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    kernels::var_rows<T>(r.data.data<T>(), r.rows, r.n, correction, o);
    if (take_sqrt)
      for (int64_t i = 0; i < r.rows; ++i) o[i] = std::sqrt(o[i]);
  });
  if (needs_grad(t)) {
    // d var = 2 (x - mean) / (n - c);  d std = (x - mean) / ((n - c) std)
    const double denom = static_cast<double>(r.n) - correction;
    Shape dims_kept(rd.begin(), rd.end());
    attach_grad_fn(out, take_sqrt ? "StdBackward" : "VarBackward", {t},
                   [sx = SavedTensor(t), sy = SavedTensor(out), keep = r.keep_shape, dims_kept, denom,
                    take_sqrt](const Tensor& g) {
                     const Tensor& x = sx.get();
                     Tensor centered = x - mean(x, dims_kept, true);
                     Tensor scale = take_sqrt ? unreduce(g, keep) / (unreduce(sy.get(), keep) * denom)
                                              : unreduce(g, keep) * (2.0 / denom);
                     return std::vector<Tensor>{centered * scale};
                   });
  }
  return out;
}

}  // namespace

Tensor var(const Tensor& t, const Shape& dims, bool unbiased, bool keepdim) {
  return variance(t, dims, unbiased, keepdim, false);
}
Tensor std(const Tensor& t, const Shape& dims, bool unbiased, bool keepdim) {
  return variance(t, dims, unbiased, keepdim, true);
}

Tensor logsumexp(const Tensor& t, const Shape& dims, bool keepdim) {
  const Tensor x = is_floating(t.dtype()) ? t : detail::cast(t, DType::Float32);
  Rows r = to_rows(x, detail::reduction_dims(x, dims, "logsumexp"), keepdim);
  Tensor out = empty(r.out_shape, x.dtype());
  dispatch_float(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    kernels::logsumexp_rows<T>(r.data.data<T>(), r.rows, r.n, out.data<T>());
  });
  if (needs_grad(t)) {  // d lse = softmax(x) = exp(x - lse)
    attach_grad_fn(out, "LogsumexpBackward", {t},
                   [sx = SavedTensor(x), sy = SavedTensor(out), keep = r.keep_shape](const Tensor& g) {
                     return std::vector<Tensor>{unreduce(g, keep) * exp(sx.get() - unreduce(sy.get(), keep))};
                   });
  }
  return out;
}

Tensor norm(const Tensor& t, double p, const Shape& dims, bool keepdim) {
  floating_input(t, "norm");
  PYSEQ_CHECK(p > 0, ValueError, "norm: expected p > 0 (or inf), got p=", p);
  Rows r = to_rows(t, detail::reduction_dims(t, dims, "norm"), keepdim);
  Tensor out = empty(r.out_shape, t.dtype());
  dispatch_float(t.dtype(), "norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::norm_rows<T>(r.data.data<T>(), r.rows, r.n, p, out.data<T>());
  });
  if (needs_grad(t)) {
    attach_grad_fn(out, "NormBackward", {t},
                   [sx = SavedTensor(t), sy = SavedTensor(out), keep = r.keep_shape, p, dims](const Tensor& g) {
                     const Tensor& x = sx.get();
                     Tensor n = unreduce(sy.get(), keep), gk = unreduce(g, keep);
                     Tensor zero = scalar_tensor(0.0, x.dtype());
                     Tensor gx;
                     if (p == 1) {
                       gx = gk * sign(x);
                     } else if (std::isinf(p)) {  // shared evenly by the elements that reach the max
                       Tensor at_max = to_dtype(eq(abs(x), n), x.dtype());
                       gx = gk * sign(x) * at_max / sum(at_max, dims, true);
                     } else {  // x |x|^(p-2) / ||x||^(p-1), and 0 where the norm is 0
                       Tensor d = p == 2 ? x / n : x * pow(abs(x), scalar_tensor(p - 2, x.dtype())) /
                                                       pow(n, scalar_tensor(p - 1, x.dtype()));
                       gx = gk * where(eq(n, zero), zero, d);
                     }
                     return std::vector<Tensor>{gx};
                   });
  }
  return out;
}

namespace {

// max/min along `dim`: values (dtype of t) and int64 indices, as contiguous rows.
std::pair<Tensor, Tensor> extremum_along(const Tensor& t, int64_t dim, bool keepdim, bool is_max, const char* op) {
  const Tensor x = t.dtype() == DType::Bool ? detail::cast(t, DType::Int64) : t;
  const std::vector<int64_t> dims = {wrap_dim(dim, t.ndim())};
  Rows r = to_rows(x, t.ndim() == 0 ? std::vector<int64_t>{} : dims, keepdim);
  PYSEQ_CHECK(r.n > 0, ValueError, op, ": cannot reduce over an empty dimension (input shape ", t.shape(), ")");
  Tensor values = empty(r.out_shape, x.dtype()), indices = empty(r.out_shape, DType::Int64);
  dispatch_numeric(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::minmax_rows<T>(r.data.data<T>(), r.rows, r.n, is_max, values.data<T>(), indices.data<int64_t>());
  });
  if (t.dtype() == DType::Bool) values = detail::cast(values, DType::Bool);
  if (needs_grad(t)) {  // the gradient goes to the selected element of each row
    attach_grad_fn(values, is_max ? "MaxBackward" : "MinBackward", {t},
                   [si = SavedTensor(indices), keep = r.keep_shape, shape = t.shape(), d = dims[0]](const Tensor& g) {
                     if (shape.empty()) return std::vector<Tensor>{reshape(g, shape)};
                     return std::vector<Tensor>{
                         scatter_add(zeros(shape, g.dtype()), d, unreduce(si.get(), keep), unreduce(g, keep))};
                   });
  }
  return {values, indices};
}

Tensor extremum_all(const Tensor& t, bool is_max) {
  const char* op = is_max ? "max" : "min";
  PYSEQ_CHECK(t.numel() > 0, ValueError, op, "(): expected a non-empty tensor, got shape ", t.shape());
  Tensor out;
  {
    NoGradGuard no_grad;
    out = reshape(extremum_along(reshape(t, {-1}), 0, false, is_max, op).first, {});
  }
  if (needs_grad(t)) {  // shared evenly by every element equal to the extremum
    attach_grad_fn(out, is_max ? "MaxBackward" : "MinBackward", {t},
                   [sx = SavedTensor(t), sy = SavedTensor(out)](const Tensor& g) {
                     Tensor hit = to_dtype(eq(sx.get(), sy.get()), g.dtype());
                     return std::vector<Tensor>{hit * (g / sum(hit))};
                   });
  }
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

}  // namespace pyseq
