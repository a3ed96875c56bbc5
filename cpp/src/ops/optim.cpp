// Fused optimizer updates and gradient clipping: the checks, then the raw kernels of
// kernels/cpu/optim.h over the elements of one parameter or of a whole parameter group, split
// across threads. The arithmetic (and its order) lives in the kernels; nothing here changes it.
#include <algorithm>
#include <cmath>

#include "../kernels/cpu/optim.h"
#include "../kernels/cpu/reduce.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/optim.h"
#include "pyseq/parallel.h"

namespace pyseq::optim {
namespace {

namespace cpu = kernels::cpu;

// Elements below which an update stays on the calling thread.
constexpr int64_t kGrain = 65536;

// Names parameter i in messages: "adam_step" for the one-parameter form, "adam_step_multi:
// parameter 3" for a group.
struct Where {
  const char* op;
  bool multi;
  std::string operator()(size_t i) const { return multi ? str(op, ": parameter ", i) : std::string(op); }
};

// A list of state tensors of a group; list is null when the options do not use it.
struct StateList {
  const char* name;
  const TensorList* list;
};

// Checks a group before anything is written: one gradient, one step and one tensor of each used
// state list per parameter; every parameter floating, contiguous and writable; its gradient and
// state tensors contiguous, of its shape and dtype.
void check_group(const Where& where, const TensorList& params, const TensorList& grads,
                 const std::vector<int64_t>* steps, std::initializer_list<StateList> states) {
  const size_t n = params.size();
  PYSEQ_CHECK(grads.size() == n, ValueError, where.op, ": got ", n, " parameters but ", grads.size(), " gradients");
  PYSEQ_CHECK(!steps || steps->size() == n, ValueError, where.op, ": got ", n, " parameters but ", steps->size(),
              " steps");
  for (const StateList& s : states)
    PYSEQ_CHECK(!s.list || s.list->size() == n, ValueError, where.op, ": got ", n, " parameters but ",
                s.list->size(), " ", s.name, " tensors");
  for (size_t i = 0; i < n; ++i) {
    const Tensor& param = params[i];
    PYSEQ_CHECK(param.defined(), ValueError, where(i), ": the parameter is missing");
    PYSEQ_CHECK(is_floating(param.dtype()), TypeError, where(i), ": parameters must be floating point, got ",
                param.dtype());
    PYSEQ_CHECK(param.is_contiguous(), ValueError, where(i), ": the parameter must be contiguous");
    PYSEQ_CHECK(!param.storage()->read_only(), RuntimeError, where(i), ": the parameter's memory is read-only");
    auto check_like_param = [&](const char* name, const Tensor& t) {
      PYSEQ_CHECK(t.defined(), ValueError, where(i), ": ", name, " is missing");
      PYSEQ_CHECK(t.shape() == param.shape(), ValueError, where(i), ": ", name, " has shape ", t.shape(),
                  " but the parameter has shape ", param.shape());
      PYSEQ_CHECK(t.dtype() == param.dtype(), TypeError, where(i), ": ", name, " has dtype ", t.dtype(),
                  " but the parameter has dtype ", param.dtype());
      PYSEQ_CHECK(t.is_contiguous(), ValueError, where(i), ": ", name, " must be contiguous");
    };
    check_like_param("grad", grads[i]);
    for (const StateList& s : states)
      if (s.list) check_like_param(s.name, (*s.list)[i]);
  }
}

// Runs fn(i, begin, end) on pieces [begin, end) of the elements of tensors[i], with the elements of
// all the tensors split evenly across the threads: many small tensors share a thread, a large one
// is cut into pieces. Fewer than kGrain elements in all stay on the calling thread.
template <class F>
void for_each_piece(const TensorList& tensors, const F& fn) {
  std::vector<int64_t> start(tensors.size() + 1, 0);  // (count + 1,): elements before tensors[i]
  for (size_t i = 0; i < tensors.size(); ++i) start[i + 1] = start[i] + tensors[i].numel();
  parallel_for(0, start.back(), kGrain, [&](int64_t b, int64_t e) {
    size_t i = std::upper_bound(start.begin(), start.end(), b) - start.begin() - 1;
    for (; i < tensors.size() && start[i] < e; ++i) {
      const int64_t lo = std::max(b, start[i]) - start[i], hi = std::min(e, start[i + 1]) - start[i];
      if (lo < hi) fn(i, lo, hi);
    }
  });
}

// The elements of tensors[i] from `offset` on, or null for a state list the options leave out.
template <class T>
T* elements(const TensorList& tensors, size_t i, int64_t offset, bool used = true) {
  return used ? tensors[i].data<T>() + offset : nullptr;
}

void bump_versions(std::initializer_list<const TensorList*> lists) {
  for (const TensorList* list : lists)
    if (list)
      for (const Tensor& t : *list) t.bump_version();
}

// The one-parameter form's lists: a state tensor the options do not use may be undefined.
TensorList one(const Tensor& t) { return TensorList{t}; }

}  // namespace

// --- optimizer steps: the multi-tensor forms; the one-parameter forms call them with lists of one ---

namespace {

void sgd_group(const Where& where, const TensorList& params, const TensorList& grads, const TensorList& bufs,
               const std::vector<int64_t>& steps, double lr, double momentum, double dampening, double weight_decay,
               bool nesterov, bool maximize) {
  const bool use_buf = momentum != 0;
  check_group(where, params, grads, &steps, {{"momentum_buffer", use_buf ? &bufs : nullptr}});
  const cpu::SgdArgs args{lr, momentum, dampening, weight_decay, nesterov, maximize};
  for_each_piece(params, [&](size_t i, int64_t b, int64_t e) {
    PYSEQ_DISPATCH(FLOAT, params[i].device(), params[i].dtype(), where.op, {
      dev::sgd_update<T>(elements<T>(params, i, b), elements<const T>(grads, i, b), elements<T>(bufs, i, b, use_buf),
                         e - b, steps[i], args);
    });
  });
  bump_versions({&params, use_buf ? &bufs : nullptr});
}

void adagrad_group(const Where& where, const TensorList& params, const TensorList& grads, const TensorList& sums,
                   const std::vector<int64_t>& steps, double lr, double lr_decay, double weight_decay, double eps,
                   bool maximize) {
  check_group(where, params, grads, &steps, {{"state_sum", &sums}});
  const cpu::AdagradArgs args{lr, lr_decay, weight_decay, eps, maximize};
  for_each_piece(params, [&](size_t i, int64_t b, int64_t e) {
    PYSEQ_DISPATCH(FLOAT, params[i].device(), params[i].dtype(), where.op, {
      dev::adagrad_update<T>(elements<T>(params, i, b), elements<const T>(grads, i, b), elements<T>(sums, i, b),
                             e - b, steps[i], args);
    });
  });
  bump_versions({&params, &sums});
}

void adadelta_group(const Where& where, const TensorList& params, const TensorList& grads,
                    const TensorList& square_avgs, const TensorList& acc_deltas, double lr, double rho, double eps,
                    double weight_decay, bool maximize) {
  check_group(where, params, grads, nullptr, {{"square_avg", &square_avgs}, {"acc_delta", &acc_deltas}});
  const cpu::AdadeltaArgs args{lr, rho, eps, weight_decay, maximize};
  for_each_piece(params, [&](size_t i, int64_t b, int64_t e) {
    PYSEQ_DISPATCH(FLOAT, params[i].device(), params[i].dtype(), where.op, {
      dev::adadelta_update<T>(elements<T>(params, i, b), elements<const T>(grads, i, b),
                              elements<T>(square_avgs, i, b), elements<T>(acc_deltas, i, b), e - b, args);
    });
  });
  bump_versions({&params, &square_avgs, &acc_deltas});
}

void rmsprop_group(const Where& where, const TensorList& params, const TensorList& grads,
                   const TensorList& square_avgs, const TensorList& bufs, const TensorList& grad_avgs, double lr,
                   double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  const bool use_buf = momentum > 0;
  check_group(where, params, grads, nullptr,
              {{"square_avg", &square_avgs}, {"momentum_buffer", use_buf ? &bufs : nullptr},
               {"grad_avg", centered ? &grad_avgs : nullptr}});
  const cpu::RmspropArgs args{lr, alpha, eps, weight_decay, momentum, maximize};
  for_each_piece(params, [&](size_t i, int64_t b, int64_t e) {
    PYSEQ_DISPATCH(FLOAT, params[i].device(), params[i].dtype(), where.op, {
      dev::rmsprop_update<T>(elements<T>(params, i, b), elements<const T>(grads, i, b), elements<T>(square_avgs, i, b),
                             elements<T>(bufs, i, b, use_buf), elements<T>(grad_avgs, i, b, centered), e - b, args);
    });
  });
  bump_versions({&params, &square_avgs, use_buf ? &bufs : nullptr, centered ? &grad_avgs : nullptr});
}

void adam_group(const Where& where, const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
                const TensorList& exp_avg_sqs, const TensorList& max_sqs, const std::vector<int64_t>& steps,
                double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
                bool decoupled_weight_decay, bool maximize) {
  check_group(where, params, grads, &steps,
              {{"exp_avg", &exp_avgs}, {"exp_avg_sq", &exp_avg_sqs}, {"max_exp_avg_sq", amsgrad ? &max_sqs : nullptr}});
  for (size_t i = 0; i < steps.size(); ++i)
    PYSEQ_CHECK(steps[i] >= 1, ValueError, where(i), ": step counts from 1, got ", steps[i]);
  const cpu::AdamArgs args{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize};
  for_each_piece(params, [&](size_t i, int64_t b, int64_t e) {
    PYSEQ_DISPATCH(FLOAT, params[i].device(), params[i].dtype(), where.op, {
      dev::adam_update<T>(elements<T>(params, i, b), elements<const T>(grads, i, b), elements<T>(exp_avgs, i, b),
                          elements<T>(exp_avg_sqs, i, b), elements<T>(max_sqs, i, b, amsgrad), e - b, steps[i], args);
    });
  });
  bump_versions({&params, &exp_avgs, &exp_avg_sqs, amsgrad ? &max_sqs : nullptr});
}

}  // namespace

void sgd_step_multi(const TensorList& params, const TensorList& grads, const TensorList& momentum_buffers,
                    const std::vector<int64_t>& steps, double lr, double momentum, double dampening,
                    double weight_decay, bool nesterov, bool maximize) {
  sgd_group({"sgd_step_multi", true}, params, grads, momentum_buffers, steps, lr, momentum, dampening, weight_decay,
            nesterov, maximize);
}

void adagrad_step_multi(const TensorList& params, const TensorList& grads, const TensorList& state_sums,
                        const std::vector<int64_t>& steps, double lr, double lr_decay, double weight_decay, double eps,
                        bool maximize) {
  adagrad_group({"adagrad_step_multi", true}, params, grads, state_sums, steps, lr, lr_decay, weight_decay, eps,
                maximize);
}

void adadelta_step_multi(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                         const TensorList& acc_deltas, double lr, double rho, double eps, double weight_decay,
                         bool maximize) {
  adadelta_group({"adadelta_step_multi", true}, params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay,
                 maximize);
}

void rmsprop_step_multi(const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                        const TensorList& momentum_buffers, const TensorList& grad_avgs, double lr, double alpha,
                        double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  rmsprop_group({"rmsprop_step_multi", true}, params, grads, square_avgs, momentum_buffers, grad_avgs, lr, alpha, eps,
                weight_decay, momentum, centered, maximize);
}

void adam_step_multi(const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
                     const TensorList& exp_avg_sqs, const TensorList& max_exp_avg_sqs,
                     const std::vector<int64_t>& steps, double lr, double beta1, double beta2, double eps,
                     double weight_decay, bool amsgrad, bool decoupled_weight_decay, bool maximize) {
  adam_group({"adam_step_multi", true}, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2,
             eps, weight_decay, amsgrad, decoupled_weight_decay, maximize);
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor& buf, int64_t step, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool maximize) {
  sgd_group({"sgd_step", false}, one(param), one(grad), one(buf), {step}, lr, momentum, dampening, weight_decay,
            nesterov, maximize);
}

void adagrad_step(Tensor& param, const Tensor& grad, Tensor& state_sum, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize) {
  adagrad_group({"adagrad_step", false}, one(param), one(grad), one(state_sum), {step}, lr, lr_decay, weight_decay,
                eps, maximize);
}

void adadelta_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& acc_delta, double lr, double rho,
                   double eps, double weight_decay, bool maximize) {
  adadelta_group({"adadelta_step", false}, one(param), one(grad), one(square_avg), one(acc_delta), lr, rho, eps,
                 weight_decay, maximize);
}

void rmsprop_step(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor& buf, Tensor& grad_avg, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  rmsprop_group({"rmsprop_step", false}, one(param), one(grad), one(square_avg), one(buf), one(grad_avg), lr, alpha,
                eps, weight_decay, momentum, centered, maximize);
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor& max_exp_avg_sq,
               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
               bool decoupled_weight_decay, bool maximize) {
  adam_group({"adam_step", false}, one(param), one(grad), one(exp_avg), one(exp_avg_sq), one(max_exp_avg_sq), {step},
             lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, maximize);
}

// --- gradient clipping ---

namespace {

// Checks a list of gradients to clip: each a floating point tensor; `writable`: in writable memory.
void check_grads(const char* op, const TensorList& grads, bool writable) {
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    PYSEQ_CHECK(g.defined(), ValueError, op, ": gradient ", i, " is missing");
    PYSEQ_CHECK(is_floating(g.dtype()), TypeError, op, ": gradients must be floating point, but gradient ", i,
                " has dtype ", g.dtype());
    PYSEQ_CHECK(!writable || !g.storage()->read_only(), RuntimeError, op, ": the memory of gradient ", i,
                " is read-only");
  }
}

// Whether two of the (contiguous) tensors start at the same element: the same tensor listed twice.
bool has_repeats(const TensorList& tensors) {
  std::vector<const void*> starts;
  for (const Tensor& t : tensors)
    if (t.numel() > 0) starts.push_back(t.raw_data());
  std::sort(starts.begin(), starts.end());
  return std::adjacent_find(starts.begin(), starts.end()) != starts.end();
}

// Updates each tensor in place: dense(t, begin, end) on pieces of the contiguous ones, split across
// threads (for_each_piece); strided(t) on the others, one by one. A tensor listed twice is updated
// twice, in turn, as one call per tensor would.
template <class Dense, class Strided>
void update_each(const TensorList& tensors, const Dense& dense, const Strided& strided) {
  TensorList contiguous_ones, strided_ones;
  for (const Tensor& t : tensors) (t.is_contiguous() ? contiguous_ones : strided_ones).push_back(t);
  if (has_repeats(contiguous_ones)) {
    for (const Tensor& t : contiguous_ones)
      for_each_piece(one(t), [&](size_t, int64_t b, int64_t e) { dense(t, b, e); });
  } else {
    for_each_piece(contiguous_ones, [&](size_t i, int64_t b, int64_t e) { dense(contiguous_ones[i], b, e); });
  }
  for (const Tensor& t : contiguous_ones) t.bump_version();
  NoGradGuard no_grad;
  for (Tensor& t : strided_ones) strided(t);
}

}  // namespace

Tensor total_norm(const TensorList& tensors, double p) {
  PYSEQ_CHECK(p > 0, ValueError, "total_norm: norm_type must be > 0 or inf, got ", p);
  check_grads("total_norm", tensors, false);
  if (tensors.empty()) return zeros({}, DType::Float32);
  const bool wide = std::any_of(tensors.begin(), tensors.end(), [](const Tensor& t) { return t.dtype() == DType::Float64; });
  const DType out_dtype = wide ? DType::Float64 : tensors[0].dtype();
  TensorList flat;  // each (numel,), contiguous
  int64_t elements_in_all = 0;
  {
    NoGradGuard no_grad;
    for (const Tensor& t : tensors) {
      flat.push_back(t.is_contiguous() ? t : contiguous(t));
      elements_in_all += t.numel();
    }
  }
  const int64_t count = static_cast<int64_t>(flat.size());
  std::vector<double> norms(count);  // (count,): each tensor's norm, rounded to its dtype
  parallel_for_each(count, elements_in_all / count, [&](int64_t i) {
    PYSEQ_DISPATCH(FLOAT, flat[i].device(), flat[i].dtype(), "total_norm", {
      T norm;
      dev::norm_rows<T>(flat[i].data<T>(), 1, flat[i].numel(), p, &norm);
      norms[i] = norm;
    });
  });
  Tensor total = zeros({}, out_dtype);  // ()
  PYSEQ_DISPATCH(FLOAT, total.device(), out_dtype, "total_norm", {
    const std::vector<T> rounded(norms.begin(), norms.end());  // (count,) in the total's dtype
    dev::norm_rows<T>(rounded.data(), 1, count, p, total.data<T>());
  });
  return total;
}

void scale_(const TensorList& tensors, double coef) {
  check_grads("scale_", tensors, true);
  update_each(
      tensors,
      [&](const Tensor& t, int64_t b, int64_t e) {
        PYSEQ_DISPATCH(FLOAT, t.device(), t.dtype(), "scale_", {
          dev::scale<T>(t.data<T>() + b, e - b, T(coef));
        });
      },
      [&](Tensor& t) { mul_(t, scalar_tensor(coef, t.dtype())); });
}

Tensor clip_grad_norm_(const TensorList& grads, double max_norm, double p, bool error_if_nonfinite) {
  PYSEQ_CHECK(p > 0, ValueError, "clip_grad_norm_: norm_type must be > 0 or inf, got ", p);
  check_grads("clip_grad_norm_", grads, true);
  Tensor total = total_norm(grads, p);  // ()
  if (grads.empty()) return total;
  const double value = total.item<double>();
  PYSEQ_CHECK(!error_if_nonfinite || std::isfinite(value), RuntimeError, "clip_grad_norm_: the total norm of order ",
              p, " of the gradients is ", value, " (non-finite), so they cannot be clipped; to scale them by it "
              "anyway, pass error_if_nonfinite=False");
  const double coef = dispatch_float(total.dtype(), "clip_grad_norm_", [&](auto tag) {
    using T = decltype(tag);
    const T c = T(max_norm) / (T(value) + T(1e-6));  // in the total's dtype, as torch
    return static_cast<double>(c > T(1) ? T(1) : c);   // min(c, 1); NaN stays NaN
  });
  scale_(grads, coef);
  return total;
}

void clip_grad_value_(const TensorList& grads, double clip_value) {
  PYSEQ_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  check_grads("clip_grad_value_", grads, true);
  update_each(
      grads,
      [&](const Tensor& t, int64_t b, int64_t e) {
        PYSEQ_DISPATCH(FLOAT, t.device(), t.dtype(), "clip_grad_value_", {
          dev::clamp<T>(t.data<T>() + b, e - b, T(-clip_value), T(clip_value));
        });
      },
      [&](Tensor& t) { copy_(t, clamp(t, -clip_value, clip_value)); });
}

}  // namespace pyseq::optim
