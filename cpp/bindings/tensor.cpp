// The Tensor class: metadata, creation, numpy interop, views and indexing.
#include "convert.h"
#include "pyseq/random.h"

namespace pyseq::bindings {
namespace {

// --- numpy interop (no copies) ---

py::dtype numpy_dtype(DType dt) {
  switch (dt) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
  }
  return py::dtype::of<float>();
}

// The array views the tensor's memory; a capsule holding the storage is the array's base, so the
// memory lives as long as either the tensor or the array (or any view of them) does.
py::array to_numpy(const Tensor& t) {
  PYSEQ_CHECK(!t.requires_grad(), RuntimeError,
              "can't call numpy() on a tensor that requires grad; use tensor.detach().numpy() instead");
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<int64_t>(itemsize(t.dtype())));
  py::array arr(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), base);
  if (t.storage()->read_only()) arr.attr("flags").attr("writeable") = false;
  return arr;
}

// The tensor views the array's memory and holds a reference to the array, so the memory lives
// as long as either does. Writes through one are seen by the other.
Tensor from_numpy(const py::array& arr) {
  const py::dtype dt = arr.dtype();
  const char kind = dt.kind();
  DType dtype;
  if (kind == 'f' && dt.itemsize() == 4) dtype = DType::Float32;
  else if (kind == 'f' && dt.itemsize() == 8) dtype = DType::Float64;
  else if (kind == 'i' && dt.itemsize() == 8) dtype = DType::Int64;
  else if (kind == 'b') dtype = DType::Bool;
  else
    throw TypeError(str("from_numpy: unsupported dtype ", std::string(py::str(dt)),
                        "; expected float32, float64, int64 or bool (convert with arr.astype(...) first)"));
  PYSEQ_CHECK(dt.attr("isnative").cast<bool>(), TypeError, "from_numpy: the array's byte order is not native");
  const int64_t item = static_cast<int64_t>(itemsize(dtype));
  Shape shape, strides;
  int64_t span = arr.size() > 0 ? item : 0;
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) {
    const int64_t stride = arr.strides(d);
    PYSEQ_CHECK(stride >= 0 && stride % item == 0, ValueError, "from_numpy: strides ", stride,
                " (bytes) are negative or not a multiple of the element size; use np.ascontiguousarray first");
    shape.push_back(arr.shape(d));
    strides.push_back(stride / item);
    if (arr.shape(d) > 0) span += (arr.shape(d) - 1) * stride;
  }
  PyObject* obj = arr.ptr();
  Py_INCREF(obj);
  std::shared_ptr<void> owner(obj, [](void* p) {
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
  // A read-only array gives a read-only tensor: in-place ops on it raise instead of writing.
  auto storage = Storage::borrow(const_cast<void*>(arr.data()), static_cast<size_t>(span), std::move(owner),
                                 !arr.writeable());
  return make_tensor(std::move(storage), shape, strides, 0, dtype);
}

// --- indexing: ints, slices (step > 0), None, Ellipsis and 1-d int64 tensors ---

std::vector<IndexItem> index_items(py::handle key) {
  std::vector<py::handle> handles;
  if (py::isinstance<py::tuple>(key)) for (py::handle h : key.cast<py::tuple>()) handles.push_back(h);
  else handles.push_back(key);
  std::vector<IndexItem> items;
  for (py::handle h : handles) {
    IndexItem it;
    if (h.is_none()) {
      it.kind = IndexItem::Kind::NewAxis;
    } else if (h.is(py::ellipsis())) {
      it.kind = IndexItem::Kind::Ellipsis;
    } else if (py::isinstance<py::bool_>(h)) {
      throw TypeError("indexing with a bool is not supported; use an int, a slice, None or ...");
    } else if (is_integer(h)) {
      it.kind = IndexItem::Kind::Int;
      it.index = to_int(h, "index");
    } else if (py::isinstance<py::slice>(h)) {
      Py_ssize_t start, stop, step;
      PYSEQ_CHECK(PySlice_Unpack(h.ptr(), &start, &stop, &step) == 0, ValueError, "invalid slice");
      it.kind = IndexItem::Kind::Slice;
      it.start = start;
      it.stop = stop;
      it.step = step;
    } else if (py::isinstance<Tensor>(h)) {
      it.kind = IndexItem::Kind::Tensor;
      it.tensor = h.cast<Tensor>();
    } else {
      throw TypeError(str("only integers, slices, None, ... and 1-d int64 tensors are valid indices (got ",
                          type_name(h), ")"));
    }
    items.push_back(std::move(it));
  }
  return items;
}

Tensor get_index(const Tensor& t, py::handle key) {
  std::vector<IndexItem> items = index_items(key);
  py::gil_scoped_release release;
  return index(t, items);
}

void set_index(Tensor& t, py::handle key, py::handle value) {
  if (py::isinstance<py::tuple>(key))
    for (py::handle h : key.cast<py::tuple>())
      PYSEQ_CHECK(!py::isinstance<Tensor>(h), TypeError, "assignment through tensor indices is not supported");
  PYSEQ_CHECK(!py::isinstance<Tensor>(key), TypeError, "assignment through tensor indices is not supported");
  const std::vector<IndexItem> items = index_items(key);
  const bool is_tensor = py::isinstance<Tensor>(value);
  const Tensor src = is_tensor ? value.cast<Tensor>() : Tensor();
  const Scalar fill = is_tensor ? Scalar() : to_scalar(value, "__setitem__");
  py::gil_scoped_release release;
  Tensor part = index(t, items);
  if (is_tensor) copy_(part, src);
  else fill_(part, fill);
}

DType to_dtype_arg(py::handle h) {
  PYSEQ_CHECK(py::isinstance<DType>(h), TypeError, "expected a pyseq dtype (pyseq.float32, pyseq.float64, pyseq.int64 or "
              "pyseq.bool), got ", type_name(h));
  return h.cast<DType>();
}

}  // namespace

void init_tensor(py::module_& m, py::class_<Tensor>& cls) {
  const auto release = py::call_guard<py::gil_scoped_release>();
  py::enum_<DType> dtype_cls(m, "dtype");
  dtype_cls.value("bool", DType::Bool)
      .value("int64", DType::Int64)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def_property_readonly("itemsize", [](DType d) { return itemsize(d); });
  // Replaces (rather than overloads) the enum's own repr: dtypes print as pyseq.float32.
  py::cpp_function dtype_repr([](DType d) { return str("pyseq.", dtype_name(d)); }, py::is_method(dtype_cls));
  dtype_cls.attr("__repr__") = dtype_repr;
  dtype_cls.attr("__str__") = dtype_repr;

  // --- metadata ---
  cls.def(py::init([](const Tensor& other) { return other; }), py::arg("data"),
          "An alias of `data` (same memory and autograd state); use pyseq.tensor() to build from Python data.")
      .def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape()); })
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("device", [](const Tensor& t) { return str(t.device()); })
      .def("dim", &Tensor::ndim)
      .def("numel", &Tensor::numel)
      .def("size", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return to_tuple(t.shape());
        return py::int_(t.size(to_int(dim, "size")));
      }, py::arg("dim") = py::none())
      .def("stride", [](const Tensor& t) { return to_tuple(t.strides()); })
      .def("storage_offset", &Tensor::offset)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def("__len__", [](const Tensor& t) {
        PYSEQ_CHECK(t.ndim() > 0, TypeError, "len() of a 0-d tensor");
        return t.shape()[0];
      })
      .def("item", [](const Tensor& t) -> py::object {
        switch (t.dtype()) {
          case DType::Bool: return py::bool_(t.item<bool>());
          case DType::Int64: return py::int_(t.item<int64_t>());
          default: return py::float_(t.item<double>());
        }
      })
      .def("numpy", &to_numpy)
      .def("to", [](const Tensor& t, py::handle dtype) {
        const DType dt = to_dtype_arg(dtype);
        py::gil_scoped_release release;
        return to_dtype(t, dt);
      }, py::arg("dtype"))
      .def("float", [](const Tensor& t) { return to_dtype(t, DType::Float32); }, release)
      .def("double", [](const Tensor& t) { return to_dtype(t, DType::Float64); }, release)
      .def("long", [](const Tensor& t) { return to_dtype(t, DType::Int64); }, release)
      .def("bool", [](const Tensor& t) { return to_dtype(t, DType::Bool); }, release)
      .def("clone", &clone, release)
      .def("contiguous", &contiguous, release)
      .def("__getitem__", &get_index)
      .def("__setitem__", [](Tensor& t, py::handle key, py::handle value) { set_index(t, key, value); })
      .def("__hash__", [](const Tensor& t) { return std::hash<const void*>()(t.impl()); });

  // --- views ---
  cls.def("view", [](const Tensor& t, py::args shape) { return view(t, to_shape(shape, "view")); })
      .def("reshape", [](const Tensor& t, py::args shape) { return reshape(t, to_shape(shape, "reshape")); })
      .def("expand", [](const Tensor& t, py::args shape) { return expand(t, to_shape(shape, "expand")); })
      .def("permute", [](const Tensor& t, py::args dims) { return permute(t, to_shape(dims, "permute")); })
      .def("squeeze", [](const Tensor& t, py::object dim) {
        return dim.is_none() ? squeeze(t) : squeeze(t, to_int(dim, "dim"));
      }, py::arg("dim") = py::none())
      .def_property_readonly("T", [](const Tensor& t) {  // all dims reversed, as numpy's .T
        Shape reversed;
        for (int64_t d = t.ndim() - 1; d >= 0; --d) reversed.push_back(d);
        return permute(t, reversed);
      });
  def_both(m, cls, "unsqueeze", &unsqueeze, py::arg("dim"));
  def_both(m, cls, "transpose", &transpose, py::arg("dim0"), py::arg("dim1"));
  def_both(m, cls, "flatten", &flatten, py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  def_both(m, cls, "narrow", &narrow, py::arg("dim"), py::arg("start"), py::arg("length"));
  def_both(m, cls, "select", &select, py::arg("dim"), py::arg("index"));
  m.def("reshape", [](const Tensor& t, const Shape& shape) { return reshape(t, shape); }, py::arg("input"), py::arg("shape"));
  m.def("permute", [](const Tensor& t, const Shape& dims) { return permute(t, dims); }, py::arg("input"), py::arg("dims"));
  m.def("squeeze", [](const Tensor& t, py::object dim) { return dim.is_none() ? squeeze(t) : squeeze(t, to_int(dim, "dim")); },
        py::arg("input"), py::arg("dim") = py::none());

  // --- in-place: each returns the very object it was called on ---
  auto inplace = [&cls](const char* name, Tensor& (*op)(Tensor&, const Tensor&)) {
    cls.def(name, [op, name](py::object self, py::handle other) {
      Tensor t = self.cast<Tensor>();
      const Tensor operand = to_operand(other, t, name);
      {
        py::gil_scoped_release release;
        op(t, operand);
      }
      return self;
    }, py::arg("other"));
  };
  inplace("add_", &add_);
  inplace("sub_", &sub_);
  inplace("mul_", &mul_);
  inplace("div_", &div_);
  inplace("__iadd__", &add_);
  inplace("__isub__", &sub_);
  inplace("__imul__", &mul_);
  inplace("__itruediv__", &div_);
  inplace("copy_", [](Tensor& t, const Tensor& src) -> Tensor& { return copy_(t, src); });
  cls.def("fill_", [](py::object self, py::handle value) {
    Tensor t = self.cast<Tensor>();
    const Scalar v = to_scalar(value, "fill_");
    {
      py::gil_scoped_release release;
      fill_(t, v);
    }
    return self;
  }, py::arg("value"));
  cls.def("zero_", [](py::object self) {
    Tensor t = self.cast<Tensor>();
    {
      py::gil_scoped_release release;
      zero_(t);
    }
    return self;
  });

  // --- creation ---
  auto dtype_or = [](py::handle h, DType fallback) { return h.is_none() ? fallback : to_dtype_arg(h); };
  auto leaf = [](Tensor t, bool requires_grad) {
    if (requires_grad) t.set_requires_grad(true);
    return t;
  };
  using ShapeFactory = Tensor (*)(const Shape&, DType);
  const std::pair<const char*, ShapeFactory> factories[] = {
      {"empty", &empty}, {"zeros", &zeros}, {"ones", &ones}, {"rand", &rand}, {"randn", &randn}};
  for (const auto& [name, factory] : factories) {
    m.def(name, [=, name = name, factory = factory](py::args shape, py::object dtype, bool requires_grad) {
      const Shape sizes = to_shape(shape, name);
      const DType dt = dtype_or(dtype, DType::Float32);
      py::gil_scoped_release release;
      return leaf(factory(sizes, dt), requires_grad);
    }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false);
  }
  m.def("full", [=](const Shape& shape, py::handle value, py::object dtype, bool requires_grad) {
    Scalar v = to_scalar(value, "full");
    const DType fallback = scalar_dtype(v);
    const DType dt = dtype_or(dtype, fallback);
    py::gil_scoped_release release;
    return leaf(full(shape, v, dt), requires_grad);
  }, py::arg("size"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false);
  m.def("arange", [=](py::handle a, py::object b, py::handle step, py::object dtype, bool requires_grad) {
    Scalar start = to_scalar(a, "arange"), end = b.is_none() ? start : to_scalar(b, "arange"), st = to_scalar(step, "arange");
    if (b.is_none()) start = Scalar(int64_t{0});
    const bool any_float = start.kind == Scalar::Kind::Float || end.kind == Scalar::Kind::Float || st.kind == Scalar::Kind::Float;
    const DType dt = dtype_or(dtype, any_float ? DType::Float32 : DType::Int64);
    py::gil_scoped_release release;
    return leaf(arange(start, end, st, dt), requires_grad);
  }, py::arg("start"), py::arg("end") = py::none(), py::arg("step") = 1, py::kw_only(), py::arg("dtype") = py::none(),
     py::arg("requires_grad") = false);
  m.def("eye", [=](int64_t n, py::object m_, py::object dtype, bool requires_grad) {
    const int64_t cols = m_.is_none() ? n : to_int(m_, "eye");
    const DType dt = dtype_or(dtype, DType::Float32);
    py::gil_scoped_release release;
    return leaf(eye(n, cols, dt), requires_grad);
  }, py::arg("n"), py::arg("m") = py::none(), py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false);
  m.def("randint", [=](int64_t low, py::object high, py::object size, py::object dtype) {
    // randint(high, size) or randint(low, high, size), as in PyTorch
    if (size.is_none()) {
      PYSEQ_CHECK(!high.is_none(), TypeError, "randint: expected (high, size) or (low, high, size)");
      size = high;
      high = py::int_(low);
      low = 0;
    }
    const int64_t hi = to_int(high, "randint: high");
    const Shape sizes = to_int_list(size, "randint: size");
    const DType dt = dtype_or(dtype, DType::Int64);
    py::gil_scoped_release release;
    return randint(low, hi, sizes, dt);
  }, py::arg("low"), py::arg("high") = py::none(), py::arg("size") = py::none(), py::kw_only(), py::arg("dtype") = py::none());
  m.def("zeros_like", &zeros_like, py::arg("input"));
  m.def("ones_like", &ones_like, py::arg("input"));
  m.def("empty_like", &empty_like, py::arg("input"));
  m.def("from_numpy", &from_numpy, py::arg("array"));
  // The counter-based generator behind rand, randn, randint, init and dropout (pyseq/random.h).
  m.def("manual_seed", &manual_seed, py::arg("seed"));
  m.def("initial_seed", &initial_seed);
  m.def("get_rng_state", &rng_state);
  m.def("set_rng_state", py::overload_cast<const Tensor&>(&set_rng_state), py::arg("new_state"));
}

}  // namespace pyseq::bindings
