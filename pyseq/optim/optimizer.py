"""The optimizer base class: parameter groups, per-parameter state, and state_dict save/load.

A subclass only validates its hyper-parameters (`_check_group`) and updates the parameters of a
group that have a gradient (`_step_group`) with ONE fused C++ call (`pyseq._core.<name>_step_multi`),
which changes the parameters and their state tensors in place, threaded over the parameters
(NAdam, RAdam and Adamax instead update each parameter with in-place tensor ops in Python). This
class does the bookkeeping around it: which parameters belong to which group, which of them have a
gradient, the step counters, and the state tensors (allocated once, contiguous, same shape and
dtype as the parameter).

`state_dict()` uses PyTorch's layout, so code written for torch.optim carries over:

    {"state": {0: {"step": 3, "exp_avg": Tensor, ...}, 1: {...}},     # keyed by parameter index
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}      # indices in group order

The differences: "step" is a Python int (torch keeps a 0-d float tensor), and SGD keeps a "step"
too; the groups hold only the hyper-parameters pyseq has (no foreach / fused / capturable:
load_state_dict leaves those keys of a torch state dict out).
"""

import abc
import numbers
from collections.abc import Mapping, MutableMapping

import numpy as np

from .. import _core
from .._core import Tensor
from ..autograd import enable_grad, no_grad

__all__ = ["Optimizer"]

_FLOATING = (_core.dtype.float32, _core.dtype.float64)

# Group keys that are not hyper-parameters of the update but may be present in any group: the
# learning-rate schedulers write "initial_lr" (all of them), "max_lr" and "min_lr" (OneCycleLR),
# "max_momentum" and "base_momentum" (OneCycleLR, CyclicLR), as in PyTorch.
_EXTRA_GROUP_KEYS = ("params", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
# torch's switches of how an update runs (not what it computes), in the groups of its state dicts:
# load_state_dict leaves them out
_TORCH_IMPLEMENTATION_KEYS = ("foreach", "fused", "capturable", "differentiable")


def _identity(p):
    """The identity of a parameter: Tensor.__hash__ hashes the C++ tensor itself, so every Python
    handle to one parameter maps to the same key (and `==`, which is elementwise, is never used)."""
    return hash(p)


class _ParamState(MutableMapping):
    """`optimizer.state[p]`: the state dict of parameter `p`, created empty on first access (like
    PyTorch's defaultdict(dict)). Iterating gives the parameters."""

    def __init__(self):
        self._items = {}  # identity -> (param, state dict)

    def __getitem__(self, p):
        key = _identity(p)
        if key not in self._items:
            self._items[key] = (p, {})
        return self._items[key][1]

    def __setitem__(self, p, value):
        self._items[_identity(p)] = (p, value)

    def __delitem__(self, p):
        del self._items[_identity(p)]

    def __contains__(self, p):
        return isinstance(p, Tensor) and _identity(p) in self._items

    def get(self, p, default=None):
        item = self._items.get(_identity(p))
        return default if item is None else item[1]

    def __iter__(self):
        return iter([p for p, _ in self._items.values()])

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return "{" + ", ".join(f"<param {tuple(p.shape)}>: {sorted(s)}" for p, s in self._items.values()) + "}"


def _check_number(opt, name, value, ok, expected):
    """Raises TypeError unless `value` is a real number, ValueError unless ok(value) (and not NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{opt}: {name} must be a number, got {type(value).__name__} {value!r}")
    if value != value or not ok(value):
        raise ValueError(f"{opt}: invalid {name}: {value!r} (expected {expected})")


def _check_bool(opt, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{opt}: {name} must be True or False, got {type(value).__name__} {value!r}")


def _check_adam_group(opt, group):
    """The hyper-parameters that the Adam family shares: lr, betas, eps, weight_decay, maximize."""
    _check_number(opt, "lr", group["lr"], lambda v: v >= 0, ">= 0")
    _check_number(opt, "eps", group["eps"], lambda v: v >= 0, ">= 0")
    _check_number(opt, "weight_decay", group["weight_decay"], lambda v: v >= 0, ">= 0")
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        _check_number(opt, f"beta parameter at index {i}", beta, lambda v: 0 <= v < 1, "in [0, 1)")
    _check_bool(opt, "maximize", group["maximize"])


def _decayed_grad(p, grad, group, decoupled=False):
    """The first lines of the Adam family's updates (in place on p, under no_grad): the gradient
    negated when maximize, then weight decay either decoupled, p = p * (1 - lr * weight_decay),
    or as an L2 term, g = g + weight_decay * p. Returns g (a new tensor when changed)."""
    if group["maximize"]:
        grad = -grad
    weight_decay = group["weight_decay"]
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - group["lr"] * weight_decay)
        else:
            grad = grad + weight_decay * p
    return grad


class Optimizer(abc.ABC):
    """Base class of the optimizers: `param_groups`, `state`, `zero_grad`, `step`, `state_dict`.

    params: an iterable of tensors (one group), or of dicts, each with "params" (the group's
    tensors) and any hyper-parameters that override `defaults` for that group.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, got a single Tensor "
                            f"(wrap it in a list: [tensor])")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered collection (list, generator), not a set: "
                            "the order of a set changes between runs, and state_dict refers to parameters by position")
        if isinstance(params, (Mapping, str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, got {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(params[0], Mapping):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # --- hooks for subclasses ---

    def _check_group(self, group):
        """Raises TypeError / ValueError for a bad hyper-parameter of `group` (all keys filled in)."""

    @abc.abstractmethod
    def _step_group(self, params, grads, states, group):
        """Updates `params` (the parameters of `group` that have a gradient) in place from their
        contiguous `grads` with one fused C++ call for the whole group (or in-place tensor ops per
        parameter; this runs under no_grad). `states[i]` is the state
        dict of `params[i]`; its "step" has already been incremented (1 on the first step)."""

    @staticmethod
    def _buffer(state, name, param, fill=0.0):
        """The state tensor `name`, allocated on first use: contiguous, like `param`, filled with `fill`."""
        buf = state.get(name)
        if buf is None:
            buf = _core.zeros_like(param)
            if fill != 0:
                buf.fill_(fill)
            state[name] = buf
        return buf

    @classmethod
    def _buffers(cls, states, name, params, fill=0.0):
        """`_buffer` for each (state, param) pair: the list of state tensors `name` of a group."""
        return [cls._buffer(state, name, p, fill) for state, p in zip(states, params)]

    # --- groups ---

    def _check_param(self, p, where):
        name = type(self).__name__
        if not isinstance(p, Tensor):
            hint = " (pass model.parameters(), not named_parameters())" if isinstance(p, tuple) else ""
            raise TypeError(f"{name}: can only optimize Tensors, but {where} is a {type(p).__name__}{hint}")
        if p.dtype not in _FLOATING:
            raise TypeError(f"{name}: can only optimize floating point tensors, but {where} has dtype {p.dtype} "
                            f"and shape {tuple(p.shape)}")
        if not p.is_leaf:
            raise ValueError(f"{name}: can't optimize a non-leaf Tensor ({where} has shape {tuple(p.shape)} and "
                             f"grad_fn {p.grad_fn!r}); optimize the leaf it was computed from, or use "
                             f"t.detach().requires_grad_() to make a new leaf")
        if not p.is_contiguous():
            raise ValueError(f"{name}: {where} (shape {tuple(p.shape)}, strides {tuple(p.stride())}) is not "
                             "contiguous; the fused update writes parameters in place and needs contiguous "
                             "ones: make the parameter from t.contiguous()")

    def _complete_group(self, group, index, source):
        """Checks the keys of `group` and fills in defaults; returns the completed dict."""
        name = type(self).__name__
        allowed = set(self.defaults) | set(_EXTRA_GROUP_KEYS)
        unknown = [k for k in group if k not in allowed]
        if unknown:
            raise ValueError(f"{name}: {source} {index} has unknown keys {sorted(map(str, unknown))}; "
                             f"known keys are {sorted(allowed)}")
        out = dict(group)
        for key, value in self.defaults.items():
            out.setdefault(key, value)
        self._check_group(out)
        return out

    def add_param_group(self, param_group):
        """Adds a group: a dict with "params" (tensors) and optional hyper-parameters overriding
        the defaults. A parameter may appear in only one group, once."""
        name = type(self).__name__
        index = len(self.param_groups)
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{name}: a param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: param group {index} has no 'params' key")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: the params of group {index} must be an ordered collection, not a set")
        else:
            params = list(params)
        for i, p in enumerate(params):
            self._check_param(p, f"parameter {i} of group {index}")
        group = self._complete_group(param_group, index, "param group")
        group["params"] = params

        seen = {}
        for i, p in enumerate(params):
            key = _identity(p)
            if key in seen:
                raise ValueError(f"{name}: parameter {i} of group {index} is the same tensor as parameter "
                                 f"{seen[key]} of that group; list each parameter once")
            seen[key] = i
        for g, other in enumerate(self.param_groups):
            for p in other["params"]:
                if _identity(p) in seen:
                    raise ValueError(f"{name}: parameter {seen[_identity(p)]} of the new group {index} is already "
                                     f"in group {g}; a parameter may belong to one group only")
        self.param_groups.append(group)

    # --- the update ---

    def zero_grad(self, set_to_none=True):
        """Clears the gradients: sets them to None (the default), or fills them with zeros."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient (those whose .grad is None are skipped).
        closure: an optional function that recomputes the loss (zero_grad, forward, backward)
        and returns it; it runs with gradients enabled and step returns its result."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                params, grads, states = [], [], []
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    if not grad.is_contiguous():
                        grad = grad.contiguous()
                    state = self.state[p]
                    state["step"] = state.get("step", 0) + 1
                    params.append(p)
                    grads.append(grad)
                    states.append(state)
                if params:
                    self._step_group(params, grads, states, group)
        return loss

    # --- save / load ---

    def state_dict(self):
        """{"state": {param index: {name: value}}, "param_groups": [{..., "params": [indices]}]}.

        Parameters are numbered in group order. The state tensors are the optimizer's own (as in
        PyTorch): save or clone them before the next step if you need a snapshot."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(_identity(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, entries in self.state.items():
            if entries and _identity(p) in index:
                state[index[_identity(p)]] = dict(entries)
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restores a state_dict() taken from an optimizer of the same kind over parameters of the
        same shapes, in the same groups. Tensors are copied (cast to each parameter's dtype), so
        the loaded dict is not changed by later steps. Raises ValueError naming the first
        mismatch; nothing is changed then."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}.load_state_dict: the state dict has no {key!r} entry "
                                 f"(it has {sorted(map(str, state_dict))})")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, (list, tuple)):
            raise TypeError(f"{name}.load_state_dict: 'param_groups' must be a list, got {type(saved_groups).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")

        by_index = {}  # saved parameter index -> current parameter
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{name}.load_state_dict: param group {g} of the state dict is not a dict "
                                 "with a 'params' list")
            indices = list(saved["params"])
            if len(indices) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: param group {g} of the state dict has {len(indices)} "
                                 f"parameters, the optimizer's group {g} has {len(group['params'])}")
            for i, p in zip(indices, group["params"]):
                by_index[self._state_key(i)] = p
            new_group = self._complete_group({k: v for k, v in saved.items()
                                              if k != "params" and k not in _TORCH_IMPLEMENTATION_KEYS}, g,
                                             "the state dict's param group")
            new_group["params"] = group["params"]
            new_groups.append(new_group)

        saved_state = state_dict["state"]
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"{name}.load_state_dict: 'state' must be a dict, got {type(saved_state).__name__}")
        new_state = _ParamState()
        for raw_key, entries in saved_state.items():
            key = self._state_key(raw_key)
            if key not in by_index:
                raise ValueError(f"{name}.load_state_dict: the state dict has state for parameter {raw_key!r}, "
                                 f"which none of its param groups lists (they list {sorted(by_index)})")
            if not isinstance(entries, Mapping):
                raise TypeError(f"{name}.load_state_dict: the state of parameter {raw_key!r} must be a dict, "
                                f"got {type(entries).__name__}")
            p = by_index[key]
            new_state[p] = {k: self._load_value(p, key, k, v) for k, v in entries.items()}

        self.param_groups = new_groups
        self.state = new_state

    def _state_key(self, key):
        """Parameter indices are ints; accept "3" too (JSON turns dict keys into strings)."""
        if isinstance(key, str) and key.strip().lstrip("-").isdigit():
            return int(key)
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return int(key)
        raise ValueError(f"{type(self).__name__}.load_state_dict: parameter keys must be integer indices, "
                         f"got {key!r}")

    def _load_value(self, p, index, key, value):
        name = type(self).__name__
        if key == "step":
            try:
                step = int(float(value))
            except (TypeError, ValueError):
                raise TypeError(f"{name}.load_state_dict: state['step'] of parameter {index} must be a number, "
                                f"got {value!r}") from None
            if step < 0:
                raise ValueError(f"{name}.load_state_dict: state['step'] of parameter {index} is {step} (< 0)")
            return step
        if isinstance(value, np.ndarray):
            value = _core.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, Tensor):
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(f"{name}.load_state_dict: state[{key!r}] of parameter {index} has shape "
                                 f"{tuple(value.shape)}, but the parameter has shape {tuple(p.shape)}")
            with no_grad():
                return value.detach().to(p.dtype).contiguous().clone()
        return value

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"
