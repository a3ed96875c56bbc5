// The compiled module pyseq._core: error translation and the binding areas.
#include "convert.h"
#include "pyseq/parallel.h"

namespace pyseq::bindings {

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyseq's C++ core: tensors, ops and autograd";

  // Typed C++ errors become the Python exceptions of the same name.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<Tensor> cls(m, "Tensor", py::dynamic_attr(), "A strided, typed n-dimensional array with autograd.");
  init_tensor(m, cls);
  init_ops(m, cls);
  init_autograd(m, cls);
  init_nn(m, cls);
  init_kernels(m);

  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  init_text(m);
  init_word2vec(m);
#ifdef _OPENMP
  m.attr("has_openmp") = true;
#else
  m.attr("has_openmp") = false;
#endif
}

}  // namespace pyseq::bindings
