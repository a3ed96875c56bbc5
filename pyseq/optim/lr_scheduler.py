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

Like PyTorch's, some schedules are "chained": each step scales the lr the param group has now
(StepLR, MultiStepLR, ExponentialLR, ConstantLR, PolynomialLR, MultiplicativeLR), so a change
made by hand or by another schedule carries on, and ChainedScheduler multiplies their effects.
The others compute the lr from the step number alone. SequentialLR restarts a chained schedule at
its milestone from its closed form (`_get_closed_form_lr`), as PyTorch does.

To resume, build the optimizer and the schedulers as for a new run, then load the optimizer's
state_dict and the scheduler's (a constructor sets the lrs of its step 0).
"""

import bisect
import math
import numbers
import types
import warnings
from collections.abc import Mapping

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "CyclicLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau", "get_linear_schedule_with_warmup",
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


def _per_group(name, key, optimizer, value):
    """value as a list with one entry per param group: a list or tuple of that length, or one
    number for all groups."""
    n = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{name}: expected {n} values of {key} (one per param group), got {len(values)}")
    for v in values:
        _check_float(name, key, v)
    return values


def _callable_state(fn):
    """What state_dict saves of a user function: the attributes of a callable object, None for a
    plain function or lambda (which cannot be saved; the one given to the constructor is kept)."""
    return None if isinstance(fn, _FUNCTIONS) or not hasattr(fn, "__dict__") else dict(fn.__dict__)


class LRScheduler:
    """Base class: subclasses give `get_lr()`, the lrs for step `self.last_epoch`.

    last_epoch: -1 starts a new schedule (each group's current lr is kept as its "initial_lr");
    a value >= 0 resumes one, which needs "initial_lr" in every group (an optimizer restored
    from a state_dict taken while a scheduler was attached has it).
    """

    _initial = False  # True during the constructor's step, in which chained schedules keep the lrs

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
        self._initial_step()

    def _initial_step(self):
        """The constructor's step: last_epoch -1 -> 0 (or a resumed epoch + 1), the lrs get their
        values for that step; chained schedules keep the current lrs in it, as in PyTorch."""
        self._step_count = 0
        self._initial = True
        try:
            self.step()
        finally:
            del self._initial  # back to the class's False (and out of state_dict)

    def get_lr(self):
        """The lr of each param group at step `self.last_epoch`: each schedule defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr() (the schedule's formula)")

    def get_last_lr(self):
        """The lrs the last step() set, one per param group."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advances the schedule by one step and writes the new lrs into the param groups. epoch (as
        torch, which deprecates it): go to that step instead, by the closed form where the schedule
        has one."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            self._set_lrs(self.get_lr())
            return
        warnings.warn(f"{type(self).__name__}.step(epoch): the epoch argument is deprecated in PyTorch too; call "
                      "step() once a step", UserWarning, stacklevel=2)
        self.last_epoch = epoch
        closed_form = getattr(self, "_get_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def _restart(self):
        """Goes to step 0 (as torch's step(epoch=0), which SequentialLR calls at a milestone): the
        lrs from the closed form when the schedule has one, else from get_lr()."""
        self.last_epoch = 0
        closed_form = getattr(self, "_get_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, values):
        """Writes one lr per param group and remembers them for get_last_lr()."""
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
        """The state of state_dict(); the lrs it last set go back into the param groups, so the
        optimizer runs with what get_last_lr() says whichever of the two was loaded first."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        self.__dict__.update(state_dict)
        self._restore_lrs()

    def _restore_lrs(self):
        last = getattr(self, "_last_lr", None)
        if last is not None and len(last) == len(self.optimizer.param_groups):
            for group, lr in zip(self.optimizer.param_groups, last):
                group["lr"] = lr

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class _LambdaSchedule(LRScheduler):
    """A schedule made of one user function of the step per param group (lr_lambda: one function,
    or a list with one per group). state_dict saves the attributes of callable objects (not of
    plain functions or lambdas, which are kept as they are)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"{name}: expected {n} lr_lambdas (one per param group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda {i} must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [_callable_state(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None) or []
        if len(lambdas) not in (0, len(self.lr_lambdas)):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(lambdas)} lr_lambdas, "
                             f"this scheduler has {len(self.lr_lambdas)}")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)
        self._restore_lrs()


class LambdaLR(_LambdaSchedule):
    """lr = initial_lr * lr_lambda(last_epoch). lr_lambda: a function of the step, or a list with
    one per param group."""

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaSchedule):
    """Multiplies the lr by lr_lambda(last_epoch) at every step after the first (chained):
    lr_t = lr_{t-1} * lr_lambda(t). lr_lambda: a function of the step, or a list with one per
    param group."""

    def get_lr(self):
        if self._initial:
            return self._current_lrs()
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


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
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the lr by gamma every step: lr = initial_lr * gamma ** last_epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_float("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._initial:  # the constructor's step keeps the current lrs (also when resuming)
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


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

    def _get_closed_form_lr(self):
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiplies the lr by `factor` until step total_iters, then restores it (chained):
    lr = initial_lr * factor for t < total_iters, initial_lr from then on."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        _check_float("ConstantLR", "factor", factor)
        if not 0 < factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in (0, 1] (the lr is divided by it at total_iters), "
                             f"got {factor}")
        _check_int("ConstantLR", "total_iters", total_iters, 0)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


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


class PolynomialLR(LRScheduler):
    """Decays the lr polynomially to 0 at step total_iters, then keeps it there (chained):
    lr = initial_lr * (1 - min(t, total_iters) / total_iters) ** power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        _check_int("PolynomialLR", "total_iters", total_iters, 1)
        _check_float("PolynomialLR", "power", power)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        t, n = self.last_epoch, self.total_iters
        decay = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power  # the ratio of this step's factor to the last
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base_lr in self.base_lrs]


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

    def step(self, epoch=None):
        """One step on; or, as torch, to `epoch`, which may be fractional (epoch + i / iters after
        batch i of an epoch) and must be >= 0."""
        if epoch is None:
            return super().step()
        if not isinstance(epoch, numbers.Real) or epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step: expected an epoch >= 0, got {epoch!r}")
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        t, period = self._position(epoch)
        self._set_lrs([_cosine(base_lr, self.eta_min, t, period) for base_lr in self.base_lrs])

    def _position(self, epoch=None):
        """(T_cur, T_i): the steps into the current period and its length, at `epoch` (default
        last_epoch)."""
        t, period = self.last_epoch if epoch is None else epoch, self.T_0
        if self.T_mult == 1:
            return t % period, period
        while t >= period:
            t, period = t - period, period * self.T_mult
        return t, period

    def get_lr(self):
        t, period = self._position()
        return [_cosine(base_lr, self.eta_min, t, period) for base_lr in self.base_lrs]


def _set_momentum(group, momentum, use_beta1):
    """Writes the momentum a cycling schedule computed: beta1 of Adam-style optimizers, else "momentum"."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _check_cycle_momentum(name, optimizer):
    """use_beta1: whether the optimizer's momentum is betas[0] (Adam-style) or "momentum" (SGD, RMSprop)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{name}: cycle_momentum needs an optimizer with a momentum or betas hyper-parameter, "
                         f"{type(optimizer).__name__} has neither; pass cycle_momentum=False")
    return "betas" in optimizer.defaults


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017), as torch.optim.lr_scheduler.OneCycleLR; call step()
    after every batch. The lr rises from initial_lr = max_lr / div_factor to max_lr over the first
    pct_start of total_steps, then anneals to min_lr = initial_lr / final_div_factor; with
    three_phase, it comes back down to initial_lr symmetrically first and reaches min_lr in a
    third phase. Each phase anneals from its start value to its end value with

        cos:    end + (start - end) / 2 * (1 + cos(pi * pct))
        linear: start + (end - start) * pct

    pct going 0 -> 1 through the phase. cycle_momentum: the momentum (betas[0] of Adam-style
    optimizers, "momentum" otherwise) moves the opposite way, between max_momentum and
    base_momentum. total_steps, or epochs * steps_per_epoch; max_lr, base_momentum and
    max_momentum: a number, or a list with one per param group. The groups keep "initial_lr",
    "max_lr", "min_lr" (and "max_momentum", "base_momentum"), as in PyTorch.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            _check_int(name, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            _check_int(name, "epochs", epochs, 1)
            _check_int(name, "steps_per_epoch", steps_per_epoch, 1)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give either total_steps, or epochs and steps_per_epoch")
        _check_float(name, "pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        _check_float(name, "div_factor", div_factor)
        _check_float(name, "final_div_factor", final_div_factor)
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        up = float(pct_start * total_steps) - 1
        # each phase: the step it ends at, and the group keys of its start and end lr and momentum
        if three_phase:
            self._schedule_phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total_steps) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _check_cycle_momentum(name, optimizer)
            max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, max_momentums, base_momentums):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        _set_momentum(group, momentum, self.use_beta1)
                    break
                start_step = end_step
        return lrs


class CyclicLR(LRScheduler):
    """The cyclical learning rate policy (Smith, 2017), as torch.optim.lr_scheduler.CyclicLR; call
    step() after every batch. The lr goes from base_lr up to max_lr over step_size_up steps and
    back down over step_size_down (default: step_size_up), the amplitude scaled by scale_fn:

        cycle = floor(1 + t / (up + down)),   x = 1 + t / (up + down) - cycle
        s = x / r if x <= r else (x - 1) / (r - 1),   r = up / (up + down)
        lr = base_lr + (max_lr - base_lr) * s * scale_fn(cycle or t)

    mode "triangular": scale 1; "triangular2": halved every cycle, 1 / 2^(cycle - 1);
    "exp_range": gamma^t. A scale_fn of your own replaces the mode's; scale_mode says whether it
    takes the cycle number ("cycle") or the step ("iterations"). cycle_momentum: the momentum
    (betas[0] of Adam-style optimizers, "momentum" otherwise) moves the opposite way, from
    max_momentum down to base_momentum. base_lr, max_lr, base_momentum, max_momentum: a number, or
    a list with one per param group. state_dict saves a scale_fn's attributes when it is a
    callable object (not a plain function or lambda).
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        name = "CyclicLR"
        _check_optimizer(name, optimizer)
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        _check_float(name, "step_size_up", step_size_up)
        if step_size_down is not None:
            _check_float(name, "step_size_down", step_size_down)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        if step_size_up < 0 or step_size_down < 0 or step_size_up + step_size_down <= 0:
            raise ValueError(f"{name}: step_size_up and step_size_down must be >= 0 with a positive sum, got "
                             f"{step_size_up} and {step_size_down}")
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{name}: mode must be 'triangular', 'triangular2' or 'exp_range' (or give a "
                             f"scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{name}: scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        _check_float(name, "gamma", gamma)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        # the built-in modes fix what their scale takes, as in PyTorch
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _check_cycle_momentum(name, optimizer)
            self.base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, self.max_momentums, self.base_momentums):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The amplitude's scale at cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        factor = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base_lr + (max_lr - base_lr) * factor * scale for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, bottom, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, top - (top - bottom) * factor * scale, self.use_beta1)
        return lrs

    def state_dict(self):
        state = super().state_dict()
        state["_scale_fn_custom"] = _callable_state(self._scale_fn_custom)
        return state

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"CyclicLR.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        state = dict(state_dict)
        saved_fn = state.pop("_scale_fn_custom", None)
        self.__dict__.update(state)
        if saved_fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved_fn)


class _Composite(LRScheduler):
    """A scheduler that drives others (SequentialLR, ChainedScheduler): state_dict holds theirs."""

    def _check_schedulers(self, optimizer, schedulers):
        """Checks that `schedulers` is a non-empty list of schedulers that all drive `optimizer` (when
        None: the first scheduler's). Returns (optimizer, the list)."""
        name = type(self).__name__
        if not isinstance(schedulers, (list, tuple)):
            raise TypeError(f"{name}: schedulers must be a list of schedulers, got {type(schedulers).__name__}")
        if not schedulers:
            raise ValueError(f"{name}: expected at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{name}: scheduler {i} must be a learning-rate scheduler, got {type(s).__name__}")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{name}: scheduler {i} is a ReduceLROnPlateau, which cannot be driven by "
                                 "step() alone (it needs the metric)")
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        _check_optimizer(name, optimizer)
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(f"{name}: every scheduler must drive the same optimizer, but scheduler {i} "
                                 f"({type(s).__name__}) drives another one")
        return optimizer, list(schedulers)

    def state_dict(self):
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        state = dict(state_dict)
        saved = state.pop("_schedulers", None) or []
        if len(saved) != len(self._schedulers):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved)} schedulers, "
                             f"this one has {len(self._schedulers)}")
        self.__dict__.update(state)
        for s, entries in zip(self._schedulers, saved):
            s.load_state_dict(entries)


class SequentialLR(_Composite):
    """Runs schedulers one after the other: schedulers[i] drives the lrs from step milestones[i - 1]
    on, restarted there at its step 0 (from its closed form when it is a chained schedule), as
    torch.optim.lr_scheduler.SequentialLR. The schedulers must drive `optimizer`; the lrs start
    again from each group's "initial_lr". A typical use: a LinearLR warm-up, then a cosine decay."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = "SequentialLR"
        _check_optimizer(name, optimizer)
        optimizer, schedulers = self._check_schedulers(optimizer, schedulers)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expected {len(schedulers) - 1} milestones (one fewer than the "
                             f"{len(schedulers)} schedulers), got {len(milestones)}")
        for m in milestones:
            _check_int(name, "each milestone", m, 0)
        _check_int(name, "last_epoch", last_epoch, -1)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo the constructors' steps of the schedulers
            group["lr"] = group["initial_lr"]
        self._undo_step(self)
        first = self._schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_step(self, scheduler):
        """Takes back the constructor's step of `scheduler`, or of every scheduler inside a composite."""
        if hasattr(scheduler, "_schedulers"):
            for s in scheduler._schedulers:
                self._undo_step(s)
        else:
            scheduler.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Steps several schedulers together: each step() calls step() of each in turn, so chained
    schedules (ConstantLR, ExponentialLR, StepLR, ...) multiply their effects, as
    torch.optim.lr_scheduler.ChainedScheduler. A schedule that computes the lr from the step alone
    (LambdaLR, LinearLR, CosineAnnealingLR here) overwrites what the ones before it did. last_epoch
    is the last scheduler's."""

    def __init__(self, schedulers, optimizer=None):
        self.optimizer, self._schedulers = self._check_schedulers(optimizer, schedulers)
        self._last_lr = self._current_lrs()

    @property
    def last_epoch(self):
        return self._schedulers[-1].last_epoch

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current_lrs()


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
