#include "optim.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace pyseq::kernels::cpu {

// The scalars below are local copies: read through `a` they might (as far as the compiler knows)
// change with each store into the parameter, which would keep the loops from vectorising.

template <class T>
void sgd_update(T* p, const T* g, T* m, int64_t n, int64_t step, const SgdArgs& a) {
  // p, g, m (n,): d = g (+ wd p); m = d on step 1, else mom m + (1 - dampening) d;
  // d = d + mom m (nesterov) or m; p = p - lr d
  const T wd = T(a.weight_decay), mom = T(a.momentum), damp = T(1 - a.dampening), neg_lr = T(-a.lr);
  const bool maximize = a.maximize, decay = a.weight_decay != 0, nesterov = a.nesterov, first = step == 1;
  for (int64_t i = 0; i < n; ++i) {
    T d = maximize ? -g[i] : g[i];
    if (decay) d = d + p[i] * wd;
    if (m) {
      m[i] = first ? d : m[i] * mom + d * damp;
      d = nesterov ? d + m[i] * mom : m[i];
    }
    p[i] = p[i] + d * neg_lr;
  }
}

template <class T>
void adagrad_update(T* p, const T* g, T* s, int64_t n, int64_t step, const AdagradArgs& a) {
  // p, g, s (n,): d = g (+ wd p); s = s + d^2; p = p - clr d / (sqrt(s) + eps),
  // clr = lr / (1 + (step - 1) lr_decay)
  const T wd = T(a.weight_decay), e = T(a.eps), neg_clr = T(-(a.lr / (1 + (step - 1) * a.lr_decay)));
  const bool maximize = a.maximize, decay = a.weight_decay != 0;
  for (int64_t i = 0; i < n; ++i) {
    T d = maximize ? -g[i] : g[i];
    if (decay) d = d + p[i] * wd;
    s[i] = s[i] + d * d;
    p[i] = p[i] + neg_clr * (d / (std::sqrt(s[i]) + e));
  }
}

template <class T>
void adadelta_update(T* p, const T* g, T* sq, T* acc, int64_t n, const AdadeltaArgs& a) {
  // p, g, sq, acc (n,): d = g (+ wd p); sq = rho sq + (1 - rho) d^2;
  // delta = sqrt(acc + eps) / sqrt(sq + eps) d; acc = rho acc + (1 - rho) delta^2; p = p - lr delta
  const T wd = T(a.weight_decay), r = T(a.rho), one_minus_r = T(1 - a.rho), e = T(a.eps), neg_lr = T(-a.lr);
  const bool maximize = a.maximize, decay = a.weight_decay != 0;
  for (int64_t i = 0; i < n; ++i) {
    T d = maximize ? -g[i] : g[i];
    if (decay) d = d + p[i] * wd;
    sq[i] = sq[i] * r + d * d * one_minus_r;
    const T std_ = std::sqrt(sq[i] + e);
    const T delta = std::sqrt(acc[i] + e) / std_ * d;
    acc[i] = acc[i] * r + delta * delta * one_minus_r;
    p[i] = p[i] + delta * neg_lr;
  }
}

template <class T>
void rmsprop_update(T* p, const T* g, T* sq, T* m, T* ga, int64_t n, const RmspropArgs& a) {
  // p, g, sq, m, ga (n,): d = g (+ wd p); sq = alpha sq + (1 - alpha) d^2;
  // avg = sqrt(sq - ga^2) + eps with ga = lerp(ga, d, 1 - alpha) (centered), else sqrt(sq) + eps;
  // m = mom m + d / avg, p = p - lr m (momentum), else p = p - lr d / avg
  const T wd = T(a.weight_decay), al = T(a.alpha), one_minus_a = T(1 - a.alpha), e = T(a.eps), mom = T(a.momentum),
          neg_lr = T(-a.lr);
  const bool maximize = a.maximize, decay = a.weight_decay != 0;
  for (int64_t i = 0; i < n; ++i) {
    T d = maximize ? -g[i] : g[i];
    if (decay) d = d + p[i] * wd;
    sq[i] = sq[i] * al + d * d * one_minus_a;
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
  }
}

namespace {

// Adam's element loop with its two optional stores as compile-time flags (no branch: it vectorises).
template <class T, bool DecayParam, bool KeepMax>
void adam_loop(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, bool maximize, bool coupled_decay, T wd, T decay,
               T one_minus_b1, T b2, T one_minus_b2, T e, T bc2_sqrt, T neg_step_size) {
  for (int64_t i = 0; i < n; ++i) {
    T d = maximize ? -g[i] : g[i];
    if (coupled_decay) d = d + p[i] * wd;
    if constexpr (DecayParam) p[i] = p[i] * decay;
    m[i] = m[i] + one_minus_b1 * (d - m[i]);  // lerp(exp_avg, d, 1 - beta1)
    v[i] = v[i] * b2 + d * d * one_minus_b2;
    T second = v[i];
    if constexpr (KeepMax) second = vmax[i] = std::max(vmax[i], v[i]);
    const T denom = std::sqrt(second) / bc2_sqrt + e;
    p[i] = p[i] + neg_step_size * (m[i] / denom);
  }
}

}  // namespace

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, int64_t step, const AdamArgs& a) {
  // p, g, m, v, vmax (n,): d = g (+ wd p, coupled), or p = p (1 - lr wd) first (decoupled, AdamW);
  // m = lerp(m, d, 1 - beta1); v = beta2 v + (1 - beta2) d^2; vmax = max(vmax, v) (amsgrad);
  // p = p - lr / (1 - beta1^step) m / (sqrt(v or vmax) / sqrt(1 - beta2^step) + eps)
  // Scalars computed in double, as torch does in Python, then used at the parameter's precision.
  const double bias_correction1 = 1 - std::pow(a.beta1, static_cast<double>(step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(a.beta2, static_cast<double>(step)));
  const bool decay_param = a.weight_decay != 0 && a.decoupled_weight_decay, keep_max = vmax != nullptr;
  auto loop = decay_param ? (keep_max ? &adam_loop<T, true, true> : &adam_loop<T, true, false>)
                          : (keep_max ? &adam_loop<T, false, true> : &adam_loop<T, false, false>);
  loop(p, g, m, v, vmax, n, a.maximize, a.weight_decay != 0 && !a.decoupled_weight_decay, T(a.weight_decay),
       T(1 - a.lr * a.weight_decay), T(1 - a.beta1), T(a.beta2), T(1 - a.beta2), T(a.eps), T(bias_correction2_sqrt),
       T(-(a.lr / bias_correction1)));
}

template <class T>
void scale(T* x, int64_t n, T coef) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * coef;
}

template <class T>
void clamp(T* x, int64_t n, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i];
    x[i] = v < lo ? lo : v > hi ? hi : v;  // NaN fails both tests and stays
  }
}

#define PYSEQ_INSTANTIATE(T)                                                                              \
  template void sgd_update<T>(T*, const T*, T*, int64_t, int64_t, const SgdArgs&);                        \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, int64_t, const AdagradArgs&);                \
  template void adadelta_update<T>(T*, const T*, T*, T*, int64_t, const AdadeltaArgs&);                   \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, const RmspropArgs&);                 \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, int64_t, const AdamArgs&);              \
  template void scale<T>(T*, int64_t, T);                                                                 \
  template void clamp<T>(T*, int64_t, T, T);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
#undef PYSEQ_INSTANTIATE

}  // namespace pyseq::kernels::cpu
