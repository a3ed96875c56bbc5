"""Adam (with the AMSGrad variant) and AdamW (decoupled weight decay)."""

from .. import _core
from .optimizer import Optimizer, _check_adam_group, _check_bool

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam as torch.optim.Adam. With g the gradient (negated when maximize) at step t:

        p = p * (1 - lr * weight_decay)      if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p             otherwise (L2 penalty folded into the gradient)
        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        v = max(max_exp_avg_sq, exp_avg_sq) (kept in max_exp_avg_sq) if amsgrad else exp_avg_sq
        p = p - lr / (1 - beta1^t) * exp_avg / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State: "step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        _check_adam_group(name, group)
        _check_bool(name, "amsgrad", group["amsgrad"])
        _check_bool(name, "decoupled_weight_decay", group["decoupled_weight_decay"])

    def _step_group(self, params, grads, states, group):
        exp_avgs = self._buffers(states, "exp_avg", params)
        exp_avg_sqs = self._buffers(states, "exp_avg_sq", params)
        max_exp_avg_sqs = self._buffers(states, "max_exp_avg_sq", params) if group["amsgrad"] else None
        beta1, beta2 = group["betas"]
        _core.adam_step_multi(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, [s["step"] for s in states],
                              float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                              float(group["weight_decay"]), bool(group["amsgrad"]),
                              bool(group["decoupled_weight_decay"]), bool(group["maximize"]))


class AdamW(Adam):
    """AdamW as torch.optim.AdamW: Adam with decoupled weight decay, p = p * (1 - lr * weight_decay)
    before the Adam step, instead of an L2 term in the gradient. Note the default weight_decay=1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
