// Neural-network ops, random fills and fused optimizer steps.
#include "convert.h"
#include "pyseq/optim.h"

namespace pyseq::bindings {
namespace {

// An optional tensor argument: None -> undefined.
Tensor optional_tensor(py::handle h, const char* what) {
  if (h.is_none()) return Tensor();
  PYSEQ_CHECK(py::isinstance<Tensor>(h), TypeError, what, ": expected a Tensor or None, got ", type_name(h));
  return h.cast<Tensor>();
}

}  // namespace

void init_nn(py::module_& m, py::class_<Tensor>& cls) {
  const auto release = py::call_guard<py::gil_scoped_release>();

  cls.def("uniform_", [](py::object self, double a, double b) {
    Tensor t = self.cast<Tensor>();
    {
      py::gil_scoped_release release;
      uniform_(t, a, b);
    }
    return self;
  }, py::arg("a") = 0.0, py::arg("b") = 1.0);
  cls.def("normal_", [](py::object self, double mean, double std) {
    Tensor t = self.cast<Tensor>();
    {
      py::gil_scoped_release release;
      normal_(t, mean, std);
    }
    return self;
  }, py::arg("mean") = 0.0, py::arg("std") = 1.0);

  m.def("linear", [](const Tensor& x, const Tensor& weight, py::handle bias, const std::string& activation) {
    Tensor b = optional_tensor(bias, "linear");
    py::gil_scoped_release r;
    return linear(x, weight, b, activation);
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("activation") = "none");
  m.def("layer_norm", [](const Tensor& x, int64_t normalized_ndim, py::handle weight, py::handle bias, double eps) {
    Tensor w = optional_tensor(weight, "layer_norm"), b = optional_tensor(bias, "layer_norm");
    py::gil_scoped_release r;
    return layer_norm(x, normalized_ndim, w, b, eps);
  }, py::arg("input"), py::arg("normalized_ndim"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
     py::arg("eps") = 1e-5);
  m.def("cross_entropy", [](const Tensor& logits, const Tensor& target, py::handle weight, int64_t ignore_index,
                            double label_smoothing, const std::string& reduction) {
    Tensor w = optional_tensor(weight, "cross_entropy");
    py::gil_scoped_release r;
    return cross_entropy(logits, target, w, ignore_index, label_smoothing, reduction);
  }, py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
     py::arg("label_smoothing") = 0.0, py::arg("reduction") = "mean");
  m.def("dropout", &dropout, py::arg("input"), py::arg("p") = 0.5, py::arg("training") = true, release);
  m.def("conv1d", [](const Tensor& x, const Tensor& w, py::handle bias, int64_t stride, int64_t padding,
                     int64_t dilation, int64_t groups) {
    Tensor b = optional_tensor(bias, "conv1d");
    py::gil_scoped_release r;
    return conv1d(x, w, b, stride, padding, dilation, groups);
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1, py::arg("padding") = 0,
     py::arg("dilation") = 1, py::arg("groups") = 1);
  m.def("max_pool1d", &max_pool1d, py::arg("input"), py::arg("kernel_size"), py::arg("stride"),
        py::arg("padding") = 0, py::arg("dilation") = 1, release);
  m.def("kmax_pool1d", &kmax_pool1d, py::arg("input"), py::arg("k"), release);

  // Fused optimizer steps: state tensors given as None are not used by the chosen options.
  m.def("sgd_step", [](Tensor param, const Tensor& grad, py::handle buf, int64_t step, double lr, double momentum,
                       double dampening, double weight_decay, bool nesterov, bool maximize) {
    Tensor b = optional_tensor(buf, "sgd_step");
    py::gil_scoped_release r;
    optim::sgd_step(param, grad, b, step, lr, momentum, dampening, weight_decay, nesterov, maximize);
  }, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("step"), py::arg("lr"), py::arg("momentum"),
     py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize") = false);
  m.def("adagrad_step", [](Tensor param, const Tensor& grad, Tensor state_sum, int64_t step, double lr, double lr_decay,
                           double weight_decay, double eps, bool maximize) {
    optim::adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize);
  }, py::arg("param"), py::arg("grad"), py::arg("state_sum"), py::arg("step"), py::arg("lr"), py::arg("lr_decay"),
     py::arg("weight_decay"), py::arg("eps"), py::arg("maximize") = false, release);
  m.def("adadelta_step", [](Tensor param, const Tensor& grad, Tensor square_avg, Tensor acc_delta, double lr, double rho,
                            double eps, double weight_decay, bool maximize) {
    optim::adadelta_step(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize);
  }, py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("acc_delta"), py::arg("lr"), py::arg("rho"),
     py::arg("eps"), py::arg("weight_decay"), py::arg("maximize") = false, release);
  m.def("rmsprop_step", [](Tensor param, const Tensor& grad, Tensor square_avg, py::handle buf, py::handle grad_avg,
                           double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
                           bool maximize) {
    Tensor b = optional_tensor(buf, "rmsprop_step"), ga = optional_tensor(grad_avg, "rmsprop_step");
    py::gil_scoped_release r;
    optim::rmsprop_step(param, grad, square_avg, b, ga, lr, alpha, eps, weight_decay, momentum, centered, maximize);
  }, py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("momentum_buffer"), py::arg("grad_avg"),
     py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"),
     py::arg("maximize") = false);
  m.def("adam_step", [](Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq, py::handle max_sq,
                        int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                        bool amsgrad, bool decoupled_weight_decay, bool maximize) {
    Tensor mx = optional_tensor(max_sq, "adam_step");
    py::gil_scoped_release r;
    optim::adam_step(param, grad, exp_avg, exp_avg_sq, mx, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
                     decoupled_weight_decay, maximize);
  }, py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("max_exp_avg_sq"),
     py::arg("step"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
     py::arg("amsgrad"), py::arg("decoupled_weight_decay"), py::arg("maximize") = false);
}

}  // namespace pyseq::bindings
