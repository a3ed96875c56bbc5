"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from .. import _core
from .optimizer import Optimizer, _check_bool, _check_number

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD as torch.optim.SGD. For each parameter, with g its gradient (negated when maximize):

        g = g + weight_decay * p
        if momentum != 0:
            buf = g on the first step, else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g

    State: "step", and "momentum_buffer" when momentum != 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_number("SGD", "lr", group["lr"], lambda v: v >= 0, ">= 0")
        _check_number("SGD", "momentum", group["momentum"], lambda v: v >= 0, ">= 0")
        _check_number("SGD", "dampening", group["dampening"], lambda v: True, "a number")
        _check_number("SGD", "weight_decay", group["weight_decay"], lambda v: v >= 0, ">= 0")
        _check_bool("SGD", "nesterov", group["nesterov"])
        _check_bool("SGD", "maximize", group["maximize"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                             f"momentum={group['momentum']} and dampening={group['dampening']}")

    def _step_group(self, params, grads, states, group):
        steps = [s["step"] for s in states]
        bufs = None
        if group["momentum"] != 0:
            # a new buffer starts as the gradient, as on the first step
            steps = [1 if s.get("momentum_buffer") is None else step for s, step in zip(states, steps)]
            bufs = self._buffers(states, "momentum_buffer", params)
        _core.sgd_step_multi(params, grads, bufs, steps, float(group["lr"]), float(group["momentum"]),
                             float(group["dampening"]), float(group["weight_decay"]), bool(group["nesterov"]),
                             bool(group["maximize"]))
