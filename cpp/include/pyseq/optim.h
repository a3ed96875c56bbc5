// Fused optimizer updates: one call updates a parameter and its state tensors in place, with the
// same arithmetic, in the same order, as torch.optim's single-tensor implementations.
// All tensors are contiguous with the parameter's shape and floating dtype. `step` counts from 1.
//
// The *_step_multi forms update a whole parameter group in one call: params[i] with grads[i], the
// state tensors at index i of each state list and steps[i] (each parameter keeps its own step). A
// state list the options do not use may be empty. Everything is checked before anything is
// written; then the elements of all parameters are split across threads (many small parameters
// share a thread, a large one is cut into pieces). The results are those of one *_step call per
// parameter, bit for bit.
//
// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_) over lists of tensors,
// which may be strided and of mixed float dtypes.
#pragma once

#include <vector>

#include "pyseq/tensor.h"

namespace pyseq::optim {

using TensorList = std::vector<Tensor>;

// momentum_buffer may be undefined when momentum == 0; on step 1 it is set to the gradient.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, int64_t step, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool maximize);
void adagrad_step(Tensor& param, const Tensor& grad, Tensor& state_sum, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize);
void adadelta_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& acc_delta, double lr, double rho,
                   double eps, double weight_decay, bool maximize);
// momentum_buffer is used when momentum > 0, grad_avg when centered.
void rmsprop_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& momentum_buffer, Tensor& grad_avg,
                  double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
                  bool maximize);
// max_exp_avg_sq is used when amsgrad; decoupled_weight_decay gives AdamW.
void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor& max_exp_avg_sq,
               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
               bool decoupled_weight_decay, bool maximize);

// Multi-tensor forms: one parameter group per call (see the top of this file).
// momentum_buffers: used when momentum != 0 (a buffer's step-1 update sets it to the gradient).
void sgd_step_multi(const TensorList& params, const TensorList& grads, const TensorList& momentum_buffers,
                    const std::vector<int64_t>& steps, double lr, double momentum, double dampening,
                    double weight_decay, bool nesterov, bool maximize);
void adagrad_step_multi(const TensorList& params, const TensorList& grads, const TensorList& state_sums,
                        const std::vector<int64_t>& steps, double lr, double lr_decay, double weight_decay, double eps,
                        bool maximize);
void adadelta_step_multi(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                         const TensorList& acc_deltas, double lr, double rho, double eps, double weight_decay,
                         bool maximize);
// momentum_buffers: used when momentum > 0; grad_avgs: used when centered.
void rmsprop_step_multi(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                        const TensorList& momentum_buffers, const TensorList& grad_avgs, double lr, double alpha,
                        double eps, double weight_decay, double momentum, bool centered, bool maximize);
// max_exp_avg_sqs: used when amsgrad.
void adam_step_multi(const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
                     const TensorList& exp_avg_sqs, const TensorList& max_exp_avg_sqs,
                     const std::vector<int64_t>& steps, double lr, double beta1, double beta2, double eps,
                     double weight_decay, bool amsgrad, bool decoupled_weight_decay, bool maximize);

// The p-norm (p > 0 or inf) of all tensors seen as one vector, as a 0-d tensor: the p-norm of each
// tensor (in its dtype), converted to float64 if any tensor is float64, then the p-norm of those.
// An empty list gives a float32 zero.
Tensor total_norm(const TensorList& tensors, double p);
// Multiplies every tensor by coef (rounded to its dtype) in place.
void scale_(const TensorList& tensors, double coef);
// Scales the gradients in place by min(1, max_norm / (total + 1e-6)), computed in the total's
// dtype, and returns the total norm. error_if_nonfinite: raise RuntimeError, scaling nothing, when
// the total is NaN or infinite.
Tensor clip_grad_norm_(const TensorList& grads, double max_norm, double p, bool error_if_nonfinite);
// Clamps every element into [-clip_value, clip_value] in place (clip_value >= 0; NaN stays NaN).
void clip_grad_value_(const TensorList& grads, double clip_value);

}  // namespace pyseq::optim
