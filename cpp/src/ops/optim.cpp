// Fused optimizer updates. Each element runs the whole update in registers; the order of the
// float operations follows torch.optim (foreach=False) so that results agree to rounding.
#include <cmath>
#include <type_traits>

#include "internal.h"
#include "pyseq/optim.h"
#include "pyseq/parallel.h"

namespace pyseq::optim {
namespace {

// Checks that every state tensor matches the parameter (shape, dtype, contiguity).
void check_state(const char* op, const Tensor& param, std::initializer_list<std::pair<const char*, const Tensor*>> ts) {
  PYSEQ_CHECK(is_floating(param.dtype()), TypeError, op, ": parameters must be floating point, got ", param.dtype());
  PYSEQ_CHECK(param.is_contiguous(), ValueError, op, ": the parameter must be contiguous");
  PYSEQ_CHECK(!param.storage()->read_only(), RuntimeError, op, ": the parameter's memory is read-only");
  for (const auto& [name, t] : ts) {
    PYSEQ_CHECK(t->defined(), ValueError, op, ": ", name, " is missing");
    PYSEQ_CHECK(t->shape() == param.shape(), ValueError, op, ": ", name, " has shape ", t->shape(),
                " but the parameter has shape ", param.shape());
    PYSEQ_CHECK(t->dtype() == param.dtype(), TypeError, op, ": ", name, " has dtype ", t->dtype(),
                " but the parameter has dtype ", param.dtype());
    PYSEQ_CHECK(t->is_contiguous(), ValueError, op, ": ", name, " must be contiguous");
  }
}

// Runs f(i) for every element index, in parallel for large parameters, then bumps versions.
// f captures by value and runs as a local copy: scalars reached through a reference or a shared
// closure might (as far as the compiler knows) change with each store into the parameter, which
// keeps the loop from vectorising.
template <class F>
void for_each_element(const Tensor& param, const F& f) {
  parallel_for(0, param.numel(), 65536, [&](int64_t b, int64_t e) {
    const F local = f;
    for (int64_t i = b; i < e; ++i) local(i);
  });
  param.bump_version();
}

// Calls f(std::true_type{}) or f(std::false_type{}): a flag that guards a store in an element loop
// becomes a compile-time constant, so the loop has no branch and vectorises.
template <class F>
void with_flag(bool flag, const F& f) {
  if (flag) f(std::true_type{});
  else f(std::false_type{});
}

}  // namespace

void sgd_step(Tensor& param, const Tensor& grad, Tensor& buf, int64_t step, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool maximize) {
  check_state("sgd_step", param, {{"grad", &grad}});
  if (momentum != 0) check_state("sgd_step", param, {{"momentum_buffer", &buf}});
  dispatch_float(param.dtype(), "sgd_step", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = momentum != 0 ? buf.data<T>() : nullptr;
    const T wd = T(weight_decay), mom = T(momentum), damp = T(1 - dampening), neg_lr = T(-lr);
    for_each_element(param, [=](int64_t i) {
      T d = maximize ? -g[i] : g[i];
      if (weight_decay != 0) d = d + p[i] * wd;
      if (m) {
        m[i] = step == 1 ? d : m[i] * mom + d * damp;
        d = nesterov ? d + m[i] * mom : m[i];
      }
      p[i] = p[i] + d * neg_lr;
    });
  });
  if (momentum != 0) buf.bump_version();
}

void adagrad_step(Tensor& param, const Tensor& grad, Tensor& state_sum, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize) {
  check_state("adagrad_step", param, {{"grad", &grad}, {"state_sum", &state_sum}});
  dispatch_float(param.dtype(), "adagrad_step", [&](auto tag) {
    using T = decltype(tag);
    T *p = param.data<T>(), *s = state_sum.data<T>();
    const T* g = grad.data<T>();
    const T wd = T(weight_decay), e = T(eps), neg_clr = T(-(lr / (1 + (step - 1) * lr_decay)));
    for_each_element(param, [=](int64_t i) {
      T d = maximize ? -g[i] : g[i];
      if (weight_decay != 0) d = d + p[i] * wd;
      s[i] = s[i] + d * d;
      p[i] = p[i] + neg_clr * (d / (std::sqrt(s[i]) + e));
    });
  });
  state_sum.bump_version();
}

void adadelta_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& acc_delta, double lr, double rho,
                   double eps, double weight_decay, bool maximize) {
  check_state("adadelta_step", param, {{"grad", &grad}, {"square_avg", &square_avg}, {"acc_delta", &acc_delta}});
  dispatch_float(param.dtype(), "adadelta_step", [&](auto tag) {
    using T = decltype(tag);
    T *p = param.data<T>(), *sq = square_avg.data<T>(), *acc = acc_delta.data<T>();
    const T* g = grad.data<T>();
    const T wd = T(weight_decay), r = T(rho), one_minus_r = T(1 - rho), e = T(eps), neg_lr = T(-lr);
    for_each_element(param, [=](int64_t i) {
      T d = maximize ? -g[i] : g[i];
      if (weight_decay != 0) d = d + p[i] * wd;
      sq[i] = sq[i] * r + d * d * one_minus_r;
      const T std_ = std::sqrt(sq[i] + e);
      const T delta = std::sqrt(acc[i] + e) / std_ * d;
      acc[i] = acc[i] * r + delta * delta * one_minus_r;
      p[i] = p[i] + delta * neg_lr;
    });
  });
  square_avg.bump_version();
  acc_delta.bump_version();
}

void rmsprop_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& buf, Tensor& grad_avg, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  check_state("rmsprop_step", param, {{"grad", &grad}, {"square_avg", &square_avg}});
  if (momentum > 0) check_state("rmsprop_step", param, {{"momentum_buffer", &buf}});
  if (centered) check_state("rmsprop_step", param, {{"grad_avg", &grad_avg}});
  dispatch_float(param.dtype(), "rmsprop_step", [&](auto tag) {
    using T = decltype(tag);
    T *p = param.data<T>(), *sq = square_avg.data<T>();
    T* m = momentum > 0 ? buf.data<T>() : nullptr;
    T* ga = centered ? grad_avg.data<T>() : nullptr;
    const T* g = grad.data<T>();
    const T wd = T(weight_decay), a = T(alpha), one_minus_a = T(1 - alpha), e = T(eps), mom = T(momentum),
            neg_lr = T(-lr);
    for_each_element(param, [=](int64_t i) {
      T d = maximize ? -g[i] : g[i];
      if (weight_decay != 0) d = d + p[i] * wd;
      sq[i] = sq[i] * a + d * d * one_minus_a;
      T avg;
      if (ga) {
        ga[i] = ga[i] + one_minus_a * (d - ga[i]);  // lerp(grad_avg, d, 1 - alpha)
        avg = std::sqrt(sq[i] + ga[i] * ga[i] * T(-1));
      } else {
        avg = std::sqrt(sq[i]);
      }
      avg = avg + e;
      if (m) {
        m[i] = m[i] * mom + d / avg;
        p[i] = p[i] + m[i] * neg_lr;
      } else {
        p[i] = p[i] + neg_lr * (d / avg);
      }
    });
  });
  square_avg.bump_version();
  if (momentum > 0) buf.bump_version();
  if (centered) grad_avg.bump_version();
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor& max_exp_avg_sq,
               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
               bool decoupled_weight_decay, bool maximize) {
  check_state("adam_step", param, {{"grad", &grad}, {"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq}});
  if (amsgrad) check_state("adam_step", param, {{"max_exp_avg_sq", &max_exp_avg_sq}});
  PYSEQ_CHECK(step >= 1, ValueError, "adam_step: step counts from 1, got ", step);
  // Scalars computed in double, as torch does in Python, then used at the parameter's precision.
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
  dispatch_float(param.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    T *p = param.data<T>(), *m = exp_avg.data<T>(), *v = exp_avg_sq.data<T>();
    T* vmax = amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
    const T* g = grad.data<T>();
    const T wd = T(weight_decay), decay = T(1 - lr * weight_decay), one_minus_b1 = T(1 - beta1), b2 = T(beta2),
            one_minus_b2 = T(1 - beta2), e = T(eps), bc2_sqrt = T(bias_correction2_sqrt),
            neg_step_size = T(-(lr / bias_correction1));
    const bool coupled_decay = weight_decay != 0 && !decoupled_weight_decay;
    with_flag(weight_decay != 0 && decoupled_weight_decay, [&](auto decay_param) {
      with_flag(amsgrad, [&](auto keep_max) {
        for_each_element(param, [=](int64_t i) {
          T d = maximize ? -g[i] : g[i];
          if (coupled_decay) d = d + p[i] * wd;
          if constexpr (decltype(decay_param)::value) p[i] = p[i] * decay;
          m[i] = m[i] + one_minus_b1 * (d - m[i]);  // lerp(exp_avg, d, 1 - beta1)
          v[i] = v[i] * b2 + d * d * one_minus_b2;
          T second = v[i];
          if constexpr (decltype(keep_max)::value) second = vmax[i] = std::max(vmax[i], v[i]);
          const T denom = std::sqrt(second) / bc2_sqrt + e;
          p[i] = p[i] + neg_step_size * (m[i] / denom);
        });
      });
    });
  });
  exp_avg.bump_version();
  exp_avg_sq.bump_version();
  if (amsgrad) max_exp_avg_sq.bump_version();
}

}  // namespace pyseq::optim
