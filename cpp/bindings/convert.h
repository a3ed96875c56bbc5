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

// Defines `name` both as a module function (first argument "input") and as a Tensor method.
template <class F, class... Extra>
void def_both(py::module_& m, py::class_<Tensor>& cls, const char* name, F&& f, const Extra&... extra) {
  m.def(name, f, py::arg("input"), extra...);
  cls.def(name, std::forward<F>(f), extra...);
}

inline std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

// A Python int / float / bool (or a numpy scalar) as a Scalar; TypeError for anything else.
inline Scalar to_scalar(py::handle h, const char* what) {
  if (py::isinstance<py::bool_>(h)) return Scalar(h.cast<bool>());
  if (py::isinstance<py::int_>(h) || py::hasattr(h, "__index__")) {
    try {
      return Scalar(h.cast<int64_t>());
    } catch (const py::cast_error&) {
      throw ValueError(str(what, ": integer ", std::string(py::str(h)), " does not fit in int64"));
    }
  }
  if (py::isinstance<py::float_>(h) || py::hasattr(h, "__float__")) return Scalar(h.cast<double>());
  throw TypeError(str(what, ": expected a Tensor or a number, got ", type_name(h)));
}

// The other operand of a binary op: a Tensor, or a number turned into a 0-d tensor of the dtype
// it takes next to `like` (a float next to an int tensor gives float32, as in PyTorch).
inline Tensor to_operand(py::handle h, const Tensor& like, const char* what) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  return scalar_like(to_scalar(h, what), like);
}

// A shape from `*args`: either ints or a single sequence of ints.
inline Shape to_shape(const py::args& args, const char* what) {
  py::sequence seq = args;
  if (args.size() == 1 && !py::isinstance<py::int_>(args[0]) && py::isinstance<py::sequence>(args[0]))
    seq = args[0].cast<py::sequence>();
  Shape shape;
  for (py::handle h : seq) {
    PYSEQ_CHECK(py::isinstance<py::int_>(h) || py::hasattr(h, "__index__"), TypeError, what,
                ": expected a sequence of ints, got an element of type ", type_name(h));
    shape.push_back(h.cast<int64_t>());
  }
  return shape;
}

// dim=None -> {} (all dims); an int -> {d}; a sequence of ints -> as is.
inline Shape to_dims(py::handle h, const char* what) {
  if (h.is_none()) return {};
  if (py::isinstance<py::int_>(h)) return {h.cast<int64_t>()};
  PYSEQ_CHECK(py::isinstance<py::sequence>(h), TypeError, what, ": dim must be an int, a sequence of ints or None, got ",
              type_name(h));
  Shape dims;
  for (py::handle d : h.cast<py::sequence>()) dims.push_back(d.cast<int64_t>());
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

}  // namespace pyseq::bindings
