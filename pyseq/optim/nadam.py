"""NAdam: Adam with Nesterov momentum (Dozat, 2016), with decoupled weight decay as an option."""

import numpy as np

from .optimizer import Optimizer, _check_adam_group, _check_bool, _check_number, _decayed_grad

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam as torch.optim.NAdam. With g the gradient (negated when maximize) at step t:

        p = p * (1 - lr * weight_decay)      if decoupled_weight_decay
        g = g + weight_decay * p             otherwise (L2 penalty folded into the gradient)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))          (mu_{t+1} likewise)
        mu_product = mu_1 * ... * mu_t
        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        denom = sqrt(exp_avg_sq / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
              - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * exp_avg / denom

    State: "step", "exp_avg", "exp_avg_sq", and "mu_product", a Python float that is rounded to
    float32 after each product, as torch keeps it in a float32 scalar tensor (so that float64
    parameters follow torch's to the last digits too).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_adam_group("NAdam", group)
        _check_number("NAdam", "momentum_decay", group["momentum_decay"], lambda v: v >= 0, ">= 0")
        _check_bool("NAdam", "decoupled_weight_decay", group["decoupled_weight_decay"])

    def _step_group(self, params, grads, states, group):
        beta1, beta2 = group["betas"]
        lr, eps, momentum_decay = group["lr"], group["eps"], group["momentum_decay"]
        for p, grad, state in zip(params, grads, states):
            exp_avg = self._buffer(state, "exp_avg", p)
            exp_avg_sq = self._buffer(state, "exp_avg_sq", p)
            step = state["step"]
            grad = _decayed_grad(p, grad, group, group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            mu_product = float(np.float32(state.get("mu_product", 1.0)) * np.float32(mu))  # a float32 product
            state["mu_product"] = mu_product
            exp_avg.add_((grad - exp_avg) * (1 - beta1))
            exp_avg_sq.mul_(beta2).add_((1 - beta2) * grad * grad)
            denom = (exp_avg_sq / (1 - beta2 ** step)).sqrt() + eps
            p.add_((-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom)
            p.add_((-lr * mu_next / (1.0 - mu_product * mu_next)) * exp_avg / denom)

    def _load_value(self, p, index, key, value):
        if key == "mu_product":  # a number (torch saves a 0-d tensor)
            try:
                return float(value)
            except (TypeError, ValueError):
                raise TypeError(f"NAdam.load_state_dict: state['mu_product'] of parameter {index} must be a "
                                f"number, got {value!r}") from None
        return super()._load_value(p, index, key, value)
