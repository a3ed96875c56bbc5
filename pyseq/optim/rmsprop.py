"""RMSprop: gradients divided by a running RMS of themselves, with optional momentum and centering."""

from .. import _core
from .optimizer import Optimizer, _check_bool, _check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop as torch.optim.RMSprop. With g the gradient (negated when maximize):

        g = g + weight_decay * p
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        avg = sqrt(square_avg - grad_avg^2) + eps   with grad_avg = alpha * grad_avg + (1 - alpha) * g,
              if centered, else sqrt(square_avg) + eps
        if momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
        else:            p = p - lr * g / avg

    State: "step", "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_number("RMSprop", key, group[key], lambda v: v >= 0, ">= 0")
        _check_bool("RMSprop", "centered", group["centered"])
        _check_bool("RMSprop", "maximize", group["maximize"])

    def _step_group(self, params, grads, states, group):
        square_avgs = self._buffers(states, "square_avg", params)
        bufs = self._buffers(states, "momentum_buffer", params) if group["momentum"] > 0 else None
        grad_avgs = self._buffers(states, "grad_avg", params) if group["centered"] else None
        _core.rmsprop_step_multi(params, grads, square_avgs, bufs, grad_avgs, float(group["lr"]),
                                 float(group["alpha"]), float(group["eps"]), float(group["weight_decay"]),
                                 float(group["momentum"]), bool(group["centered"]), bool(group["maximize"]))
