// Ops as module functions (pyseq.exp(x)) and as Tensor methods (x.exp()). Long-running calls
// release the GIL.
#include "convert.h"

namespace pyseq::bindings {
namespace {

using Binary = Tensor (*)(const Tensor&, const Tensor&);

// a (op) b where either side may be a Python number.
py::object binary(Binary op, py::handle a, py::handle b, const char* name) {
  Tensor ta, tb;
  if (py::isinstance<Tensor>(a)) {
    ta = a.cast<Tensor>();
    tb = to_operand(b, ta, name);
  } else {
    PYSEQ_CHECK(py::isinstance<Tensor>(b), TypeError, name, ": expected at least one Tensor operand, got ",
                type_name(a), " and ", type_name(b));
    tb = b.cast<Tensor>();
    ta = to_operand(a, tb, name);
  }
  Tensor out;
  {
    py::gil_scoped_release release;
    out = op(ta, tb);
  }
  return py::cast(out);
}

// A (values, indices) named tuple, as PyTorch returns from max(dim), topk and sort.
py::object values_indices(const Tensor& values, const Tensor& indices) {
  static py::object result_type = py::module_::import("collections").attr("namedtuple")(
      "values_indices", py::make_tuple("values", "indices"));
  return result_type(values, indices);
}

// max/min: over all elements without dim, else a (values, indices) named tuple; with a tensor in
// place of dim, the elementwise maximum / minimum of the two (pyseq/_composed.py).
py::object extremum(const Tensor& t, py::object dim, bool keepdim, bool is_max) {
  if (py::isinstance<Tensor>(dim))
    return py::module_::import("pyseq._composed").attr(is_max ? "maximum" : "minimum")(t, dim);
  if (dim.is_none()) {
    Tensor out;
    {
      py::gil_scoped_release release;
      out = is_max ? max(t) : min(t);
    }
    return py::cast(out);
  }
  const int64_t d = to_int(dim, "dim");
  Tensor values, indices;
  {
    py::gil_scoped_release release;
    std::tie(values, indices) = is_max ? max(t, d, keepdim) : min(t, d, keepdim);
  }
  return values_indices(values, indices);
}

std::optional<int64_t> optional_dim(py::handle h) {
  return h.is_none() ? std::nullopt : std::optional<int64_t>(to_int(h, "dim"));
}

}  // namespace

void init_ops(py::module_& m, py::class_<Tensor>& cls) {
  const auto release = py::call_guard<py::gil_scoped_release>();

  // --- arithmetic: functions, methods and operators ---
  struct BinaryDef { const char* name; Binary op; const char* dunder; const char* rdunder; };
  const BinaryDef binaries[] = {
      {"add", &add, "__add__", "__radd__"},  {"sub", &sub, "__sub__", "__rsub__"},
      {"mul", &mul, "__mul__", "__rmul__"},  {"div", &div, "__truediv__", "__rtruediv__"},
      {"pow", &pow, "__pow__", "__rpow__"},  {"eq", &eq, "__eq__", nullptr},
      {"ne", &ne, "__ne__", nullptr},        {"lt", &lt, "__lt__", nullptr},
      {"le", &le, "__le__", nullptr},        {"gt", &gt, "__gt__", nullptr},
      {"ge", &ge, "__ge__", nullptr},        {"matmul", &matmul, "__matmul__", "__rmatmul__"},
      {"remainder", &remainder, "__mod__", "__rmod__"},
      {"floor_divide", &floor_divide, "__floordiv__", "__rfloordiv__"},
      {"bitwise_and", &bitwise_and, "__and__", "__rand__"},
      {"bitwise_or", &bitwise_or, "__or__", "__ror__"},
      {"bitwise_xor", &bitwise_xor, "__xor__", "__rxor__"},
      {"atan2", &atan2, nullptr, nullptr},   {"hypot", &hypot, nullptr, nullptr},
      {"fmod", &fmod, nullptr, nullptr},
  };
  for (const BinaryDef& d : binaries) {
    auto fn = [op = d.op, name = d.name](py::handle a, py::handle b) { return binary(op, a, b, name); };
    m.def(d.name, fn, py::arg("input"), py::arg("other"));
    cls.def(d.name, fn, py::arg("other"));
    if (d.dunder) cls.def(d.dunder, fn, py::is_operator());
    if (d.rdunder)
      cls.def(d.rdunder, [op = d.op, name = d.name](py::handle self, py::handle other) {
        return binary(op, other, self, name);
      }, py::is_operator());
  }
  m.attr("true_divide") = m.attr("div");
  def_both(m, cls, "neg", &neg, release);
  cls.def("__neg__", &neg, release);
  cls.def("__abs__", &abs, release);
  cls.def("__invert__", &bitwise_not, release);
  def_both(m, cls, "bitwise_not", &bitwise_not, release);
  def_both(m, cls, "logical_not", &logical_not, release);

  // --- unary math ---
  using Unary = Tensor (*)(const Tensor&);
  const std::pair<const char*, Unary> unaries[] = {
      {"exp", &exp}, {"log", &log}, {"sqrt", &sqrt}, {"rsqrt", &rsqrt}, {"abs", &abs}, {"sign", &sign},
      {"sin", &sin}, {"cos", &cos}, {"tanh", &tanh}, {"sigmoid", &sigmoid}, {"relu", &relu},
      {"log1p", &log1p}, {"expm1", &expm1}, {"erf", &erf}, {"floor", &floor}, {"ceil", &ceil},
      {"round", &round}, {"trunc", &trunc}, {"tan", &tan}, {"asin", &asin}, {"acos", &acos},
      {"atan", &atan}, {"sinh", &sinh}, {"cosh", &cosh}, {"asinh", &asinh}, {"acosh", &acosh},
      {"atanh", &atanh}, {"log2", &log2}, {"log10", &log10}, {"exp2", &exp2}, {"reciprocal", &reciprocal},
      {"square", &square},
  };
  for (const auto& [name, op] : unaries) def_both(m, cls, name, op, release);
  def_both(m, cls, "leaky_relu", &leaky_relu, py::arg("negative_slope") = 0.01, release);
  def_both(m, cls, "elu", &elu, py::arg("alpha") = 1.0, release);
  def_both(m, cls, "gelu", [](const Tensor& t, const std::string& approximate) {
    PYSEQ_CHECK(approximate == "none" || approximate == "tanh", ValueError,
                "gelu: approximate must be 'none' or 'tanh', got '", approximate, "'");
    py::gil_scoped_release r;
    return gelu(t, approximate == "tanh");
  }, py::arg("approximate") = "none");
  def_both(m, cls, "clamp", &clamp, py::arg("min") = py::none(), py::arg("max") = py::none(), release);

  // --- selection and masks ---
  m.def("where", [](const Tensor& cond, py::handle a, py::handle b) {
    Tensor ta, tb;
    if (py::isinstance<Tensor>(a)) { ta = a.cast<Tensor>(); tb = to_operand(b, ta, "where"); }
    else if (py::isinstance<Tensor>(b)) { tb = b.cast<Tensor>(); ta = to_operand(a, tb, "where"); }
    else {  // two numbers: the dtype of their kinds, as in PyTorch (where(c, 1, 2) is int64)
      const Scalar sa = to_scalar(a, "where"), sb = to_scalar(b, "where");
      const DType dt = promote(scalar_dtype(sa), scalar_dtype(sb));
      ta = scalar_tensor(sa, dt);
      tb = scalar_tensor(sb, dt);
    }
    py::gil_scoped_release r;
    return where(cond, ta, tb);
  }, py::arg("condition"), py::arg("input"), py::arg("other"));
  def_both(m, cls, "masked_fill", [](const Tensor& t, const Tensor& mask, py::handle value) {
    Scalar v = py::isinstance<Tensor>(value) ? Scalar(value.cast<Tensor>().item<double>()) : to_scalar(value, "masked_fill");
    py::gil_scoped_release r;
    return masked_fill(t, mask, v);
  }, py::arg("mask"), py::arg("value"));
  def_both(m, cls, "tril", &tril, py::arg("diagonal") = 0, release);
  def_both(m, cls, "triu", &triu, py::arg("diagonal") = 0, release);

  // --- reductions ---
  def_both(m, cls, "sum", [](const Tensor& t, py::object dim, bool keepdim) {
    Shape dims = to_dims(dim, "sum");
    py::gil_scoped_release r;
    return sum(t, dims, keepdim);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "mean", [](const Tensor& t, py::object dim, bool keepdim) {
    Shape dims = to_dims(dim, "mean");
    py::gil_scoped_release r;
    return mean(t, dims, keepdim);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  // var, std, var_mean: PyTorch's `correction` (the divisor is n - correction) or the older `unbiased`.
  auto correction_of = [](py::object unbiased, py::object correction, const char* op) {
    PYSEQ_CHECK(unbiased.is_none() || correction.is_none(), ValueError, op,
                ": give either unbiased or correction, not both");
    if (!correction.is_none()) return correction.cast<double>();
    return unbiased.is_none() || unbiased.cast<bool>() ? 1.0 : 0.0;
  };
  def_both(m, cls, "var", [correction_of](const Tensor& t, py::object dim, py::object unbiased, bool keepdim,
                                          py::object correction) {
    const Shape dims = to_dims(dim, "var");
    const double c = correction_of(unbiased, correction, "var");
    py::gil_scoped_release r;
    return var(t, dims, c, keepdim);
  }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
     py::arg("correction") = py::none());
  def_both(m, cls, "std", [correction_of](const Tensor& t, py::object dim, py::object unbiased, bool keepdim,
                                          py::object correction) {
    const Shape dims = to_dims(dim, "std");
    const double c = correction_of(unbiased, correction, "std");
    py::gil_scoped_release r;
    return std(t, dims, c, keepdim);
  }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
     py::arg("correction") = py::none());
  m.def("var_mean", [correction_of](const Tensor& t, py::object dim, py::object unbiased, bool keepdim,
                                    py::object correction) {
    const Shape dims = to_dims(dim, "var_mean");
    const double c = correction_of(unbiased, correction, "var_mean");
    py::gil_scoped_release r;
    return var_mean(t, dims, c, keepdim);
  }, py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
     py::arg("correction") = py::none());
  def_both(m, cls, "logsumexp", [](const Tensor& t, py::object dim, bool keepdim) {
    Shape dims = to_dims(dim, "logsumexp");
    py::gil_scoped_release r;
    return logsumexp(t, dims, keepdim);
  }, py::arg("dim"), py::arg("keepdim") = false);
  def_both(m, cls, "norm", [](const Tensor& t, py::object p, py::object dim, bool keepdim) {
    double pv = 2.0;
    if (py::isinstance<py::str>(p)) {
      PYSEQ_CHECK(p.cast<std::string>() == "fro", ValueError, "norm: p must be a number or 'fro', got '",
                  p.cast<std::string>(), "'");
    } else if (!p.is_none()) {
      pv = p.cast<double>();
    }
    Shape dims = to_dims(dim, "norm");
    py::gil_scoped_release r;
    return norm(t, pv, dims, keepdim);
  }, py::arg("p") = 2.0, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "max", [](const Tensor& t, py::object dim, bool keepdim) { return extremum(t, dim, keepdim, true); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "min", [](const Tensor& t, py::object dim, bool keepdim) { return extremum(t, dim, keepdim, false); },
           py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "argmax", [](const Tensor& t, py::object dim, bool keepdim) {
    const std::optional<int64_t> d = optional_dim(dim);
    py::gil_scoped_release r;
    return argmax(t, d, keepdim);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "argmin", [](const Tensor& t, py::object dim, bool keepdim) {
    const std::optional<int64_t> d = optional_dim(dim);
    py::gil_scoped_release r;
    return argmin(t, d, keepdim);
  }, py::arg("dim") = py::none(), py::arg("keepdim") = false);

  def_both(m, cls, "topk", [](const Tensor& t, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
    Tensor values, indices;
    {
      py::gil_scoped_release r;
      std::tie(values, indices) = topk(t, k, dim, largest);  // always sorted
    }
    return values_indices(values, indices);
  }, py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
  def_both(m, cls, "sort", [](const Tensor& t, int64_t dim, bool descending, bool /*stable*/) {
    Tensor values, indices;
    {
      py::gil_scoped_release r;
      std::tie(values, indices) = sort(t, dim, descending);  // always stable
    }
    return values_indices(values, indices);
  }, py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false);
  def_both(m, cls, "cumsum", &cumsum, py::arg("dim"), release);

  // --- softmax, matmul ---
  def_both(m, cls, "softmax", &softmax, py::arg("dim"), release);
  def_both(m, cls, "log_softmax", &log_softmax, py::arg("dim"), release);
  m.def("mm", &matmul, py::arg("input"), py::arg("mat2"), release);

  // --- joining, splitting, indexing ---
  m.def("cat", &cat, py::arg("tensors"), py::arg("dim") = 0, release);
  m.def("stack", &stack, py::arg("tensors"), py::arg("dim") = 0, release);
  def_both(m, cls, "split", [](const Tensor& t, py::object size, int64_t dim) {
    if (is_integer(size)) return split(t, to_int(size, "split"), dim);
    return split(t, to_int_list(size, "split: split_size_or_sections"), dim);
  }, py::arg("split_size_or_sections"), py::arg("dim") = 0);
  def_both(m, cls, "chunk", &chunk, py::arg("chunks"), py::arg("dim") = 0);
  def_both(m, cls, "index_select", &index_select, py::arg("dim"), py::arg("index"), release);
  def_both(m, cls, "gather", &gather, py::arg("dim"), py::arg("index"), release);
  def_both(m, cls, "scatter_add", &scatter_add, py::arg("dim"), py::arg("index"), py::arg("src"), release);
  m.def("embedding", [](const Tensor& indices, const Tensor& weight, py::object padding_idx) {
    const std::optional<int64_t> pad = padding_idx.is_none() ? std::nullopt : std::optional(to_int(padding_idx, "embedding"));
    py::gil_scoped_release r;
    return embedding(weight, indices, pad);
  }, py::arg("input"), py::arg("weight"), py::arg("padding_idx") = py::none());
  m.def("one_hot", &one_hot, py::arg("input"), py::arg("num_classes") = -1, release);
}

}  // namespace pyseq::bindings
