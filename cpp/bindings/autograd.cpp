// Autograd from Python: requires_grad, grad, grad_fn, backward, detach and grad mode.
#include "convert.h"

namespace pyseq::bindings {

void init_autograd(py::module_& m, py::class_<Tensor>& cls) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node", "A step of the recorded graph (a tensor's grad_fn).")
      .def("name", [](const Node& n) { return n.name; })
      .def_property_readonly("next_functions", [](const Node& n) {
        py::list out;
        for (const Edge& next : n.next)
          out.append(py::make_tuple(next ? py::cast(next.node) : py::none(), next.output));
        return py::tuple(out);
      })
      .def("__repr__", [](const Node& n) { return str("<", n.name, ">"); });

  cls.def_property("requires_grad", &Tensor::requires_grad, &Tensor::set_requires_grad)
      .def("requires_grad_", [](py::object self, bool requires_grad) {
        self.cast<Tensor>().set_requires_grad(requires_grad);
        return self;
      }, py::arg("requires_grad") = true)
      .def_property("grad", [](const Tensor& t) -> py::object {
        Tensor g = t.grad();
        return g.defined() ? py::cast(g) : py::none();
      }, [](Tensor& t, py::object g) { t.set_grad(g.is_none() ? Tensor() : to_tensor(g, "grad")); })
      .def_property_readonly("grad_fn", [](const Tensor& t) -> py::object {
        return t.grad_fn() ? py::cast(t.grad_fn()) : py::none();
      })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def_property_readonly("_version", &Tensor::version)
      .def("detach", &Tensor::detach)
      .def("backward", [](const Tensor& t, py::object gradient, bool retain_graph) {
        Tensor g = gradient.is_none() ? Tensor() : to_tensor(gradient, "backward: gradient");
        py::gil_scoped_release release;
        backward(t, g, retain_graph);
      }, py::arg("gradient") = py::none(), py::arg("retain_graph") = false);

  m.def("is_grad_enabled", &grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("mode"));
}

}  // namespace pyseq::bindings
