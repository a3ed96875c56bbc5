"""Adadelta: steps scaled by the ratio of running RMS of past updates and of gradients."""

from .. import _core
from .optimizer import Optimizer, _check_bool, _check_number

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta as torch.optim.Adadelta. With g the gradient (negated when maximize):

        g = g + weight_decay * p
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        p = p - lr * delta

    State: "step", "square_avg", "acc_delta".
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_number("Adadelta", "lr", group["lr"], lambda v: v >= 0, ">= 0")
        _check_number("Adadelta", "rho", group["rho"], lambda v: 0 <= v <= 1, "in [0, 1]")
        _check_number("Adadelta", "eps", group["eps"], lambda v: v >= 0, ">= 0")
        _check_number("Adadelta", "weight_decay", group["weight_decay"], lambda v: v >= 0, ">= 0")
        _check_bool("Adadelta", "maximize", group["maximize"])

    def _step_group(self, params, grads, states, group):
        square_avgs = self._buffers(states, "square_avg", params)
        acc_deltas = self._buffers(states, "acc_delta", params)
        _core.adadelta_step_multi(params, grads, square_avgs, acc_deltas, float(group["lr"]), float(group["rho"]),
                                  float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
