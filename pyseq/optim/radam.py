"""RAdam: Adam with the variance of the adaptive lr rectified (Liu et al., 2019)."""

from .optimizer import Optimizer, _check_adam_group, _check_bool, _decayed_grad

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam as torch.optim.RAdam. With g the gradient (negated when maximize) at step t:

        p = p * (1 - lr * weight_decay)      if decoupled_weight_decay
        g = g + weight_decay * p             otherwise (L2 penalty folded into the gradient)
        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1,   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5 (the variance is tractable):
            rect = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            p = p - lr * exp_avg / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(exp_avg_sq) + eps) * rect
        else (the first steps: SGD with momentum):
            p = p - lr * exp_avg / (1 - beta1^t)

    State: "step", "exp_avg", "exp_avg_sq".
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_adam_group("RAdam", group)
        _check_bool("RAdam", "decoupled_weight_decay", group["decoupled_weight_decay"])

    def _step_group(self, params, grads, states, group):
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p, grad, state in zip(params, grads, states):
            exp_avg = self._buffer(state, "exp_avg", p)
            exp_avg_sq = self._buffer(state, "exp_avg_sq", p)
            step = state["step"]
            grad = _decayed_grad(p, grad, group, group["decoupled_weight_decay"])
            exp_avg.add_((grad - exp_avg) * (1 - beta1))
            exp_avg_sq.mul_(beta2).add_((1 - beta2) * grad * grad)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            update = exp_avg / bias_correction1 * lr
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                update = update * (bias_correction2 ** 0.5 / (exp_avg_sq.sqrt() + eps)) * rect
            p.sub_(update)
