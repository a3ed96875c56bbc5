// Raw-pointer kernels of the optimizer updates and of gradient clipping. Each update runs over n
// elements of one parameter (or a piece of it: the updates are elementwise) with its state
// tensors, all (n,) and contiguous, in place. The float operations follow torch.optim's
// single-tensor implementations (foreach=False), in the same order, so results agree to rounding.
// Single-threaded: the callers (ops/optim.cpp) split the work across threads.
#pragma once

#include <cstdint>

namespace pyseq::kernels::cpu {

struct SgdArgs {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
// param, grad (n,); momentum_buffer (n,) or null when momentum == 0. On step 1 the buffer is set
// to the gradient (with weight decay), later buf = momentum * buf + (1 - dampening) * g.
template <class T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, int64_t n, int64_t step, const SgdArgs& a);

struct AdagradArgs {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
};
// param, grad, state_sum (n,); step counts from 1 (it sets the decayed learning rate).
template <class T>
void adagrad_update(T* param, const T* grad, T* state_sum, int64_t n, int64_t step, const AdagradArgs& a);

struct AdadeltaArgs {
  double lr, rho, eps, weight_decay;
  bool maximize;
};
// param, grad, square_avg, acc_delta (n,).
template <class T>
void adadelta_update(T* param, const T* grad, T* square_avg, T* acc_delta, int64_t n, const AdadeltaArgs& a);

struct RmspropArgs {
  double lr, alpha, eps, weight_decay, momentum;
  bool maximize;
};
// param, grad, square_avg (n,); momentum_buffer (n,) or null (momentum == 0); grad_avg (n,) or
// null (not centered).
template <class T>
void rmsprop_update(T* param, const T* grad, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                    const RmspropArgs& a);

struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay, maximize;  // decoupled_weight_decay: AdamW
};
// param, grad, exp_avg, exp_avg_sq (n,); max_exp_avg_sq (n,) or null (amsgrad off). step >= 1
// sets the bias corrections.
template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step,
                 const AdamArgs& a);

// x (n,) *= coef, in place (clip_grad_norm_'s scaling).
template <class T> void scale(T* x, int64_t n, T coef);
// x (n,) clamped into [lo, hi] in place; NaN stays NaN (clip_grad_value_).
template <class T> void clamp(T* x, int64_t n, T lo, T hi);

}  // namespace pyseq::kernels::cpu
