// Neural-network ops, random fills, fused optimizer steps and gradient clipping.
#include "convert.h"
#include "pyseq/optim.h"

namespace pyseq::bindings {
namespace {

// A list of tensors: None -> empty (a state list the options do not use); otherwise a list or tuple
// of Tensors. `what` names the call and the argument in messages.
optim::TensorList tensor_list(py::handle h, const char* op, const char* what, bool optional = false) {
  optim::TensorList out;
  if (optional && h.is_none()) return out;
  PYSEQ_CHECK(py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h), TypeError, op, ": ", what,
              " must be a list of Tensors", optional ? " or None" : "", ", got ", type_name(h));
  for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) {
    PYSEQ_CHECK(py::isinstance<Tensor>(item), TypeError, op, ": ", what, " must hold Tensors, but item ", out.size(),
                " is a ", type_name(item));
    out.push_back(item.cast<Tensor>());
  }
  return out;
}

// Per-parameter step counts: a list or tuple of ints.
std::vector<int64_t> step_list(py::handle h, const char* op) {
  PYSEQ_CHECK(py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h), TypeError, op,
              ": steps must be a list of ints, got ", type_name(h));
  std::vector<int64_t> out;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(h)) out.push_back(to_int(item, op));
  return out;
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
  m.def("layer_norm", [](const Tensor& x, const Shape& normalized_shape, py::handle weight, py::handle bias, double eps) {
    Tensor w = optional_tensor(weight, "layer_norm"), b = optional_tensor(bias, "layer_norm");
    py::gil_scoped_release r;
    return layer_norm(x, normalized_shape, w, b, eps);
  }, py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
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
  m.def("rnn_layer", [](const std::string& mode, const Tensor& x, py::handle h0, py::handle c0, const Tensor& w_ih,
                        const Tensor& w_hh, py::handle b_ih, py::handle b_hh, py::handle lengths, bool reverse,
                        py::handle w_hr) {
    const Tensor h = optional_tensor(h0, "rnn_layer"), c = optional_tensor(c0, "rnn_layer"),
                 bi = optional_tensor(b_ih, "rnn_layer"), bh = optional_tensor(b_hh, "rnn_layer"),
                 l = optional_tensor(lengths, "rnn_layer"), wr = optional_tensor(w_hr, "rnn_layer");
    py::gil_scoped_release r;
    const std::vector<Tensor> outs = rnn_layer(mode, x, h, c, w_ih, w_hh, bi, bh, l, reverse, wr);
    py::gil_scoped_acquire a;
    return py::make_tuple(outs[0], outs[1], outs[2].defined() ? py::cast(outs[2]) : py::none());
  }, py::arg("mode"), py::arg("input"), py::arg("h0"), py::arg("c0"), py::arg("weight_ih"), py::arg("weight_hh"),
     py::arg("bias_ih"), py::arg("bias_hh"), py::arg("lengths") = py::none(), py::arg("reverse") = false,
     py::arg("weight_hr") = py::none(),
     "One recurrent layer in one direction over a whole sequence (see ops.h): (output, h_n, c_n or None).");
  m.def("scaled_dot_product_attention", [](const Tensor& q, const Tensor& k, const Tensor& v, py::handle mask,
                                           double dropout_p, bool is_causal, std::optional<double> scale) {
    Tensor m = optional_tensor(mask, "scaled_dot_product_attention");
    py::gil_scoped_release r;
    return scaled_dot_product_attention(q, k, v, m, dropout_p, is_causal, scale);
  }, py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask") = py::none(), py::arg("dropout_p") = 0.0,
     py::arg("is_causal") = false, py::arg("scale") = py::none());
  m.def("attention_with_weights", [](const Tensor& q, const Tensor& k, const Tensor& v, py::handle mask, bool is_causal,
                                     std::optional<double> scale) {
    Tensor m = optional_tensor(mask, "attention_with_weights");
    py::gil_scoped_release r;
    return attention_with_weights(q, k, v, m, is_causal, scale);
  }, py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask") = py::none(), py::arg("is_causal") = false,
     py::arg("scale") = py::none());
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

  // Multi-tensor optimizer steps: one call per parameter group, lists indexed by parameter (see
  // pyseq/optim.h). A state list the options do not use may be None.
  m.def("sgd_step_multi", [](py::handle params, py::handle grads, py::handle bufs, py::handle steps, double lr,
                             double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
    const char* op = "sgd_step_multi";
    auto p = tensor_list(params, op, "params"), g = tensor_list(grads, op, "grads");
    auto b = tensor_list(bufs, op, "momentum_buffers", true);
    auto s = step_list(steps, op);
    py::gil_scoped_release r;
    optim::sgd_step_multi(p, g, b, s, lr, momentum, dampening, weight_decay, nesterov, maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("steps"), py::arg("lr"),
     py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
     py::arg("maximize") = false);
  m.def("adagrad_step_multi", [](py::handle params, py::handle grads, py::handle state_sums, py::handle steps,
                                 double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
    const char* op = "adagrad_step_multi";
    auto p = tensor_list(params, op, "params"), g = tensor_list(grads, op, "grads");
    auto ss = tensor_list(state_sums, op, "state_sums");
    auto s = step_list(steps, op);
    py::gil_scoped_release r;
    optim::adagrad_step_multi(p, g, ss, s, lr, lr_decay, weight_decay, eps, maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("steps"), py::arg("lr"), py::arg("lr_decay"),
     py::arg("weight_decay"), py::arg("eps"), py::arg("maximize") = false);
  m.def("adadelta_step_multi", [](py::handle params, py::handle grads, py::handle square_avgs, py::handle acc_deltas,
                                  double lr, double rho, double eps, double weight_decay, bool maximize) {
    const char* op = "adadelta_step_multi";
    auto p = tensor_list(params, op, "params"), g = tensor_list(grads, op, "grads");
    auto sq = tensor_list(square_avgs, op, "square_avgs"), acc = tensor_list(acc_deltas, op, "acc_deltas");
    py::gil_scoped_release r;
    optim::adadelta_step_multi(p, g, sq, acc, lr, rho, eps, weight_decay, maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("acc_deltas"), py::arg("lr"),
     py::arg("rho"), py::arg("eps"), py::arg("weight_decay"), py::arg("maximize") = false);
  m.def("rmsprop_step_multi", [](py::handle params, py::handle grads, py::handle square_avgs, py::handle bufs,
                                 py::handle grad_avgs, double lr, double alpha, double eps, double weight_decay,
                                 double momentum, bool centered, bool maximize) {
    const char* op = "rmsprop_step_multi";
    auto p = tensor_list(params, op, "params"), g = tensor_list(grads, op, "grads");
    auto sq = tensor_list(square_avgs, op, "square_avgs");
    auto b = tensor_list(bufs, op, "momentum_buffers", true), ga = tensor_list(grad_avgs, op, "grad_avgs", true);
    py::gil_scoped_release r;
    optim::rmsprop_step_multi(p, g, sq, b, ga, lr, alpha, eps, weight_decay, momentum, centered, maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"), py::arg("grad_avgs"),
     py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
     py::arg("centered"), py::arg("maximize") = false);
  m.def("adam_step_multi", [](py::handle params, py::handle grads, py::handle exp_avgs, py::handle exp_avg_sqs,
                              py::handle max_sqs, py::handle steps, double lr, double beta1, double beta2, double eps,
                              double weight_decay, bool amsgrad, bool decoupled_weight_decay, bool maximize) {
    const char* op = "adam_step_multi";
    auto p = tensor_list(params, op, "params"), g = tensor_list(grads, op, "grads");
    auto m1 = tensor_list(exp_avgs, op, "exp_avgs"), m2 = tensor_list(exp_avg_sqs, op, "exp_avg_sqs");
    auto mx = tensor_list(max_sqs, op, "max_exp_avg_sqs", true);
    auto s = step_list(steps, op);
    py::gil_scoped_release r;
    optim::adam_step_multi(p, g, m1, m2, mx, s, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay,
                           maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
     py::arg("steps"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
     py::arg("amsgrad"), py::arg("decoupled_weight_decay"), py::arg("maximize") = false);

  // Gradient clipping over lists of tensors (torch.nn.utils semantics; see pyseq/optim.h).
  m.def("total_norm", [](py::handle tensors, double norm_type) {
    auto t = tensor_list(tensors, "total_norm", "tensors");
    py::gil_scoped_release r;
    return optim::total_norm(t, norm_type);
  }, py::arg("tensors"), py::arg("norm_type") = 2.0);
  m.def("scale_", [](py::handle tensors, double coef) {
    auto t = tensor_list(tensors, "scale_", "tensors");
    py::gil_scoped_release r;
    optim::scale_(t, coef);
  }, py::arg("tensors"), py::arg("coef"));
  m.def("clip_grad_norm_", [](py::handle grads, double max_norm, double norm_type, bool error_if_nonfinite) {
    auto g = tensor_list(grads, "clip_grad_norm_", "grads");
    py::gil_scoped_release r;
    return optim::clip_grad_norm_(g, max_norm, norm_type, error_if_nonfinite);
  }, py::arg("grads"), py::arg("max_norm"), py::arg("norm_type") = 2.0, py::arg("error_if_nonfinite") = false);
  m.def("clip_grad_value_", [](py::handle grads, double clip_value) {
    auto g = tensor_list(grads, "clip_grad_value_", "grads");
    py::gil_scoped_release r;
    optim::clip_grad_value_(g, clip_value);
  }, py::arg("grads"), py::arg("clip_value"));
}

}  // namespace pyseq::bindings
