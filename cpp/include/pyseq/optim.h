// Fused optimizer updates: one call updates a parameter and its state tensors in place, with the
// same arithmetic, in the same order, as torch.optim's single-tensor implementations.
// All tensors are contiguous with the parameter's shape and floating dtype. `step` counts from 1.
#pragma once

#include "pyseq/tensor.h"

namespace pyseq::optim {

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

}  // namespace pyseq::optim
