"""Learning-rate schedules, as in torch.optim.lr_scheduler (and Hugging Face's warm-up schedules).

A scheduler rewrites `group["lr"]` of its optimizer's param groups. Call `scheduler.step()` once
per epoch (or per batch for the warm-up schedules), after `optimizer.step()`:

    opt = pyseq.optim.AdamW(params, lr=5e-5)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=100, num_training_steps=1000)
    for batch in batches:
        loss = ...; loss.backward(); opt.step(); sched.step(); opt.zero_grad()

`last_epoch` counts the scheduler's steps: it is 0 right after construction, when the lrs have
their step-0 values. ReduceLROnPlateau is different: `step(metric)` lowers the lrs when the
metric stops improving.
"""

import math
import numbers
import types
from collections.abc import Mapping

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "ReduceLROnPlateau", "get_linear_schedule_with_warmup",
           "get_cosine_schedule_with_warmup"]


_FUNCTIONS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType)


def _check_optimizer(name, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected a pyseq.optim.Optimizer, got {type(optimizer).__name__}")


def _check_int(name, key, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {key} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: {key} must be >= {minimum}, got {value}")


def _check_float(name, key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {key} must be a number, got {type(value).__name__} {value!r}")


class LRScheduler:
    """Base class: subclasses give `get_lr()`, the lrs for step `self.last_epoch`.

    last_epoch: -1 starts a new schedule (each group's current lr is kept as its "initial_lr");
    a value >= 0 resumes one, which needs "initial_lr" in every group (an optimizer restored
    from a state_dict taken while a scheduler was attached has it).
    """

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        _check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in "
                                     f"param group {i}; load the optimizer's state_dict first, or pass "
                                     "last_epoch=-1 to start a new schedule")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()  # last_epoch -1 -> 0: the lrs get their step-0 values

    def get_lr(self):
        """The lr of each param group at step `self.last_epoch`: each schedule defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr() (the schedule's formula)")

    def get_last_lr(self):
        """The lrs the last step() set, one per param group."""
        return list(self._last_lr)

    def step(self):
        """Advances the schedule by one step and writes the new lrs into the param groups."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        if len(values) != len(self.optimizer.param_groups):
            raise RuntimeError(f"{type(self).__name__}: the optimizer has {len(self.optimizer.param_groups)} "
                               f"param groups, the scheduler was built for {len(values)}")
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer (save the optimizer's own state_dict beside it)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(last_epoch). lr_lambda: a function of the step, or a list with
    one per param group. state_dict saves the attributes of callable objects (not of plain
    functions or lambdas, which are kept as they are)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer("LambdaLR", optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per param group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda {i} must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        # plain functions and lambdas cannot be saved (None); callable objects save their attributes
        state["lr_lambdas"] = [None if isinstance(fn, _FUNCTIONS) or not hasattr(fn, "__dict__") else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"LambdaLR.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None) or []
        if len(lambdas) not in (0, len(self.lr_lambdas)):
            raise ValueError(f"LambdaLR.load_state_dict: the state dict has {len(lambdas)} lr_lambdas, "
                             f"this scheduler has {len(self.lr_lambdas)}")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    """Multiplies the lr by gamma every step_size steps: lr = initial_lr * gamma ** (last_epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_int("StepLR", "step_size", step_size, 1)
        _check_float("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # chained like PyTorch's: a change made to group["lr"] by hand carries on
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiplies the lr by gamma every step: lr = initial_lr * gamma ** last_epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_float("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        self._initial = True
        super().__init__(optimizer, last_epoch)
        self._initial = False

    def get_lr(self):
        if self._initial:  # the constructor's step keeps the current lrs (also when resuming)
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiplies the lr by gamma at each milestone step: lr = initial_lr * gamma ** (the number of
    milestones <= last_epoch); a milestone listed twice counts twice, as in PyTorch."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            _check_int("MultiStepLR", "each milestone", m, 0)
        _check_float("MultiStepLR", "gamma", gamma)
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):  # chained, as StepLR's
        hits = self.milestones.count(self.last_epoch)
        return [group["lr"] * self.gamma ** hits for group in self.optimizer.param_groups]


class LinearLR(LRScheduler):
    """Scales the initial lr by a factor going linearly from start_factor to end_factor over
    total_iters steps, then kept: lr = initial_lr * (start + (end - start) * min(t, total_iters) / total_iters)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        _check_float("LinearLR", "start_factor", start_factor)
        _check_float("LinearLR", "end_factor", end_factor)
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError(f"LinearLR: expected 0 < start_factor <= 1 and 0 <= end_factor <= 1, got "
                             f"start_factor={start_factor}, end_factor={end_factor}")
        _check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t = min(self.last_epoch, self.total_iters) / self.total_iters
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor) * t) for base_lr in self.base_lrs]


def _cosine(base_lr, eta_min, t, period):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) (1 + cos(pi t / T_max)) / 2 at step t: down to eta_min
    at T_max, and back up over the next T_max steps (the cosine goes on, as in PyTorch)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        _check_float("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [_cosine(base_lr, self.eta_min, self.last_epoch, self.T_max) for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """The cosine of CosineAnnealingLR restarted every T_i steps (SGDR): T_0 steps at first, each
    period T_mult times the one before."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        _check_int("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        _check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        _check_float("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        super().__init__(optimizer, last_epoch)

    def _position(self):
        """(T_cur, T_i): the steps into the current period and its length."""
        t, period = self.last_epoch, self.T_0
        if self.T_mult == 1:
            return t % period, period
        while t >= period:
            t, period = t - period, period * self.T_mult
        return t, period

    def get_lr(self):
        t, period = self._position()
        return [_cosine(base_lr, self.eta_min, t, period) for base_lr in self.base_lrs]


class _WarmupLinear:
    """lr factor: 0 -> 1 linearly over num_warmup_steps, then 1 -> 0 linearly at num_training_steps."""

    def __init__(self, num_warmup_steps, num_training_steps):
        self.num_warmup_steps = num_warmup_steps
        self.num_training_steps = num_training_steps

    def __call__(self, step):
        if step < self.num_warmup_steps:
            return float(step) / float(max(1, self.num_warmup_steps))
        return max(0.0, float(self.num_training_steps - step) /
                   float(max(1, self.num_training_steps - self.num_warmup_steps)))


class _WarmupCosine:
    """lr factor: 0 -> 1 linearly over num_warmup_steps, then a cosine from 1 down to 0 at
    num_training_steps (num_cycles=0.5: half a cosine wave)."""

    def __init__(self, num_warmup_steps, num_training_steps, num_cycles):
        self.num_warmup_steps = num_warmup_steps
        self.num_training_steps = num_training_steps
        self.num_cycles = num_cycles

    def __call__(self, step):
        if step < self.num_warmup_steps:
            return float(step) / float(max(1, self.num_warmup_steps))
        progress = float(step - self.num_warmup_steps) / float(max(1, self.num_training_steps - self.num_warmup_steps))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(self.num_cycles) * 2.0 * progress)))


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1):
    """BERT's schedule (as Hugging Face transformers' function of the same name): the lr rises
    linearly from 0 to the optimizer's lr over num_warmup_steps, then falls linearly to 0 at
    num_training_steps. Returns a LambdaLR; call its step() after every optimizer step."""
    _check_int("get_linear_schedule_with_warmup", "num_warmup_steps", num_warmup_steps, 0)
    _check_int("get_linear_schedule_with_warmup", "num_training_steps", num_training_steps, 0)
    return LambdaLR(optimizer, _WarmupLinear(num_warmup_steps, num_training_steps), last_epoch)


def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5, last_epoch=-1):
    """Linear warm-up from 0 over num_warmup_steps, then cosine decay to 0 at num_training_steps
    (as Hugging Face transformers' function of the same name; num_cycles=0.5 is half a wave).
    Returns a LambdaLR."""
    _check_int("get_cosine_schedule_with_warmup", "num_warmup_steps", num_warmup_steps, 0)
    _check_int("get_cosine_schedule_with_warmup", "num_training_steps", num_training_steps, 0)
    _check_float("get_cosine_schedule_with_warmup", "num_cycles", num_cycles)
    return LambdaLR(optimizer, _WarmupCosine(num_warmup_steps, num_training_steps, num_cycles), last_epoch)


class ReduceLROnPlateau(LRScheduler):
    """Lowers the lrs by `factor` when a metric has stopped improving for more than `patience`
    calls of step(metric), as torch.optim.lr_scheduler.ReduceLROnPlateau.

    mode: "min" (lower is better, e.g. a loss) or "max" (e.g. accuracy).
    threshold, threshold_mode: a new value counts as better than `best` when, in "min" mode,
        it is < best * (1 - threshold) ("rel") or < best - threshold ("abs"); mirrored for "max".
    cooldown: steps to wait after a reduction before counting bad steps again.
    min_lr: a floor for the lr, one number or one per param group.
    eps: reductions smaller than eps are skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        _check_float(name, "factor", factor)
        if not 0 <= factor < 1:
            raise ValueError(f"{name}: factor must be in [0, 1), got {factor}")
        _check_int(name, "patience", patience, 0)
        _check_int(name, "cooldown", cooldown, 0)
        _check_float(name, "threshold", threshold)
        _check_float(name, "eps", eps)
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"{name}: expected {n} min_lrs (one per param group), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for v in self.min_lrs:
            _check_float(name, "min_lr", v)
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, value, best):
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics):
        """Records one value of the metric (a number or a one-element tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError) as e:
            raise type(e)(f"ReduceLROnPlateau.step: metrics must be a number or a one-element tensor, "
                          f"got {type(metrics).__name__} ({e})") from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer now has {len(groups)} param groups, but "
                                   f"{len(self.min_lrs)} min_lrs were given; set scheduler.min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr
