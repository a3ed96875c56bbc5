"""Adamax: Adam with the infinity norm in place of the second moment."""

from .optimizer import Optimizer, _check_adam_group, _decayed_grad

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax as torch.optim.Adamax. With g the gradient (negated when maximize) at step t:

        g = g + weight_decay * p
        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_inf = max(beta2 * exp_inf, |g| + eps)
        p = p - lr / (1 - beta1^t) * exp_avg / exp_inf

    State: "step", "exp_avg", "exp_inf".
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_adam_group("Adamax", group)

    def _step_group(self, params, grads, states, group):
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        for p, grad, state in zip(params, grads, states):
            exp_avg = self._buffer(state, "exp_avg", p)
            exp_inf = self._buffer(state, "exp_inf", p)
            grad = _decayed_grad(p, grad, group)
            exp_avg.add_((grad - exp_avg) * (1 - beta1))
            exp_inf.copy_(exp_inf.mul_(beta2).maximum(grad.abs() + eps))
            clr = lr / (1 - beta1 ** state["step"])
            p.add_(-clr * exp_avg / exp_inf)
