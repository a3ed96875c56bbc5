// Autograd from Python: requires_grad, grad, grad_fn, backward, detach and grad mode; gradient
// hooks, retain_grad, torch.autograd.grad's engine run, and the node of a Python autograd.Function.
#include "convert.h"

namespace pyseq::bindings {
namespace {

// A Python callable held by a C++ object that may be freed on any thread: dropped under the GIL.
std::shared_ptr<py::object> hold(py::object fn) {
  return std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* p) {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete p;
    } else {
      p->release();  // the interpreter is gone: nothing left to decrement
      delete p;
    }
  });
}

py::object tensor_or_none(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

// The node of a pyseq.autograd.Function: backward calls the Python `backward_fn(grads)` (one
// gradient per output, zeros where none arrived, as PyTorch materializes them), which returns one
// gradient (or None) per tensor input. release() drops it and with it what ctx saved.
struct PythonFunctionNode final : Node {
  PythonFunctionNode(std::string name, std::shared_ptr<py::object> fn, std::vector<InputMeta> outputs)
      : Node(std::move(name), static_cast<uint32_t>(outputs.size())), fn(std::move(fn)), outputs(std::move(outputs)) {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    py::gil_scoped_acquire gil;
    py::list args;
    for (size_t k = 0; k < grads.size(); ++k)
      args.append(grads[k].defined() ? grads[k] : zeros(outputs[k].shape, outputs[k].dtype));
    py::object result = (*fn)(args);
    std::vector<Tensor> out;
    for (py::handle g : result) out.push_back(g.is_none() ? Tensor() : g.cast<Tensor>());
    return out;
  }
  void release() override { fn.reset(); }

  std::shared_ptr<py::object> fn;
  std::vector<InputMeta> outputs;
};

}  // namespace

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
      .def("backward", [](const Tensor& t, py::object gradient, py::object retain_graph, bool create_graph,
                          py::object inputs) {
        PYSEQ_CHECK(!create_graph, RuntimeError, "backward: create_graph=True (higher-order gradients) is "
                    "not supported: pyseq's backward formulas read their saved values detached from the graph");
        Tensor g = gradient.is_none() ? Tensor() : to_tensor(gradient, "backward: gradient");
        const bool retain = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
        if (inputs.is_none()) {
          py::gil_scoped_release release;
          run_backward({t}, {g}, retain, create_graph);
          return;
        }
        // only into `inputs`: their gradients taken as autograd.grad does, then accumulated
        std::vector<Tensor> targets = py::isinstance<Tensor>(inputs) ? std::vector<Tensor>{inputs.cast<Tensor>()}
                                                                     : inputs.cast<std::vector<Tensor>>();
        std::vector<Tensor> grads;
        {
          py::gil_scoped_release release;
          grads = run_backward({t}, {g}, retain, create_graph, targets);
        }
        for (size_t i = 0; i < targets.size(); ++i) {
          if (!grads[i].defined()) continue;
          Tensor current = targets[i].grad();
          targets[i].set_grad(current.defined() ? add(current, grads[i]) : grads[i]);
        }
      }, py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(), py::arg("create_graph") = false,
         py::arg("inputs") = py::none())
      .def("retain_grad", [](const Tensor& t) { retain_grad(t); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t.impl()->retains_grad; })
      .def("_register_hook", [](const Tensor& t, py::function fn) {
        std::shared_ptr<py::object> held = hold(fn);
        register_hook(t, [held](const Tensor& g) -> Tensor {
          py::gil_scoped_acquire gil;
          py::object r = (*held)(g);
          return r.is_none() ? Tensor() : to_tensor(r, "a gradient hook's result");
        });
      }, py::arg("hook"));

  m.def("_run_backward", [](const std::vector<Tensor>& roots, const std::vector<py::object>& seeds, bool retain_graph,
                            bool create_graph, const std::vector<Tensor>& inputs) {
    std::vector<Tensor> gs;
    for (const py::object& s : seeds) gs.push_back(s.is_none() ? Tensor() : to_tensor(s, "backward: gradient"));
    std::vector<Tensor> out;
    {
      py::gil_scoped_release release;
      out = run_backward(roots, gs, retain_graph, create_graph, inputs);
    }
    py::list result;
    for (const Tensor& g : out) result.append(tensor_or_none(g));
    return result;
  }, py::arg("roots"), py::arg("seeds"), py::arg("retain_graph"), py::arg("create_graph"), py::arg("inputs"));

  m.def("_record_function", [](py::object backward_fn, const std::string& name, const std::vector<Tensor>& inputs,
                               const std::vector<Tensor>& outputs) {
    std::vector<InputMeta> metas;
    for (const Tensor& o : outputs) metas.push_back({o.shape(), o.dtype()});
    record(std::make_shared<PythonFunctionNode>(name, hold(backward_fn), std::move(metas)), inputs, outputs);
  }, py::arg("backward_fn"), py::arg("name"), py::arg("inputs"), py::arg("outputs"));

  m.def("is_grad_enabled", &grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("mode"));
}

}  // namespace pyseq::bindings
