// Conversions between Python objects and core types, shared by the binding files.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "pyseq/autograd.h"
#include "pyseq/ops.h"

namespace pyseq::bindings {

namespace py = pybind11;

void init_tensor(py::module_& m, py::class_<Tensor>& cls);
void init_ops(py::module_& m, py::class_<Tensor>& cls);
void init_autograd(py::module_& m, py::class_<Tensor>& cls);
void init_nn(py::module_& m, py::class_<Tensor>& cls);
void init_kernels(py::module_& m);

// Defines `name` both as a module function (first argument "input") and as a Tensor method.
template <class F, class... Extra>
void def_both(py::module_& m, py::class_<Tensor>& cls, const char* name, F&& f, const Extra&... extra) {
  m.def(name, f, py::arg("input"), extra...);
  cls.def(name, std::forward<F>(f), extra...);
}

inline std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

// An optional tensor argument: None -> undefined.
inline Tensor optional_tensor(py::handle h, const char* what) {
  if (h.is_none()) return Tensor();
  PYSEQ_CHECK(py::isinstance<Tensor>(h), TypeError, what, ": expected a Tensor or None, got ", type_name(h));
  return h.cast<Tensor>();
}

// An int, or an integer scalar with __index__ (numpy's); not a Tensor, not an array of one or more dims.
inline bool is_array(py::handle h) {
  return py::hasattr(h, "__array_interface__") && py::hasattr(h, "ndim") && h.attr("ndim").cast<int>() > 0;
}
inline bool is_integer(py::handle h) {
  if (py::isinstance<py::int_>(h)) return true;
  if (!py::hasattr(h, "__index__") || py::isinstance<Tensor>(h) || is_array(h)) return false;
  if (py::hasattr(h, "dtype")) {  // a numpy scalar or 0-d array: an integer only of an integer dtype
    const std::string kind = py::str(h.attr("dtype").attr("kind"));
    return kind == "i" || kind == "u";
  }
  return true;
}

// A Python int (or anything with __index__) as int64: TypeError for other types, ValueError when
// it does not fit.
inline int64_t to_int(py::handle h, const char* what) {
  PYSEQ_CHECK(is_integer(h), TypeError, what, ": expected an int, got ", type_name(h));
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
  if (!v) throw py::error_already_set();
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  PYSEQ_CHECK(!overflow, ValueError, what, ": integer ", std::string(py::str(h)), " does not fit in int64");
  return x;
}

// A Python int / float / bool (or a numpy scalar) as a Scalar; TypeError for anything else (a
// numpy array too, even of one element: it goes through pyseq.tensor or from_numpy).
inline Scalar to_scalar(py::handle h, const char* what) {
  if (py::isinstance<py::bool_>(h)) return Scalar(h.cast<bool>());
  if (is_integer(h)) return Scalar(static_cast<int64_t>(to_int(h, what)));
  PYSEQ_CHECK(!is_array(h), TypeError, what, ": expected a Tensor or a number, got a ", type_name(h),
              " (make it a tensor with pyseq.tensor(...) or pyseq.from_numpy(...))");
  if (py::isinstance<py::float_>(h) || py::hasattr(h, "__float__")) return Scalar(h.cast<double>());
  throw TypeError(str(what, ": expected a Tensor or a number, got ", type_name(h)));
}

// A Tensor argument: TypeError naming what came otherwise.
inline Tensor to_tensor(py::handle h, const char* what) {
  PYSEQ_CHECK(py::isinstance<Tensor>(h), TypeError, what, ": expected a Tensor, got ", type_name(h));
  return h.cast<Tensor>();
}

// A sequence of ints (a list, tuple or torch.Size-like): TypeError for anything else or any
// element that is not an int.
inline std::vector<int64_t> to_int_list(py::handle h, const char* what) {
  PYSEQ_CHECK(py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h), TypeError, what,
              ": expected a sequence of ints, got ", type_name(h));
  std::vector<int64_t> out;
  for (py::handle item : py::list(py::reinterpret_borrow<py::object>(h))) {
    PYSEQ_CHECK(is_integer(item), TypeError, what, ": expected a sequence of ints, got an item of type ",
                type_name(item), " (", std::string(py::repr(item)), ")");
    out.push_back(to_int(item, what));
  }
  return out;
}

// The other operand of a binary op: a Tensor, or a number turned into a 0-d tensor of the dtype
// it takes next to `like` (a float next to an int tensor gives float32, as in PyTorch).
inline Tensor to_operand(py::handle h, const Tensor& like, const char* what) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  return scalar_like(to_scalar(h, what), like);
}

// A shape from `*args`: either ints or a single sequence of ints.
inline Shape to_shape(const py::args& args, const char* what) {
  PYSEQ_CHECK(args.size() != 1 || !is_array(args[0]), TypeError, what,
              ": expected ints or a tuple of ints for the shape, got a ", type_name(args[0]), " (as PyTorch)");
  py::object seq = args;
  if (args.size() == 1 && !is_integer(args[0]) && py::isinstance<py::sequence>(args[0])) seq = args[0];
  Shape shape;
  for (py::handle h : py::list(seq)) shape.push_back(to_int(h, what));  // the list owns its items
  return shape;
}

// dim=None -> {} (all dims); an int -> {d}; a sequence of ints -> as is.
inline Shape to_dims(py::handle h, const char* what) {
  if (h.is_none()) return {};
  if (is_integer(h)) return {to_int(h, what)};
  PYSEQ_CHECK(py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h) && !is_array(h), TypeError, what,
              ": dim must be an int, a sequence of ints or None, got ", type_name(h));
  Shape dims;
  for (py::handle d : py::list(py::reinterpret_borrow<py::object>(h))) dims.push_back(to_int(d, what));  // the list owns its items
  PYSEQ_CHECK(!dims.empty(), ValueError, what, ": dim must not be an empty sequence");
  return dims;
}

inline py::tuple to_tuple(const Shape& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = shape[i];
  return t;
}

// Tokenizers (text.cpp): the submodule pyseq._core.text.
void init_text(py::module_& m);
void init_word2vec(py::module_& m);

}  // namespace pyseq::bindings
