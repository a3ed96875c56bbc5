"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from .. import _core
from .optimizer import Optimizer, _check_bool, _check_number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad as torch.optim.Adagrad. With g the gradient (negated when maximize) at step t:

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    State: "step", "sum" (starts at initial_accumulator_value).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_number("Adagrad", key, group[key], lambda v: v >= 0, ">= 0")
        _check_bool("Adagrad", "maximize", group["maximize"])

    def _step_group(self, params, grads, states, group):
        state_sums = self._buffers(states, "sum", params, fill=float(group["initial_accumulator_value"]))
        _core.adagrad_step_multi(params, grads, state_sums, [s["step"] for s in states], float(group["lr"]),
                                 float(group["lr_decay"]), float(group["weight_decay"]), float(group["eps"]),
                                 bool(group["maximize"]))
