"""nn.Module and nn.Parameter: the containers that hold a model's weights, as in PyTorch.

A Module keeps three ordered registries, filled by plain attribute assignment:
  _parameters  name -> Parameter (or None)       self.weight = Parameter(...)
  _buffers     name -> Tensor (or None)          self.register_buffer("running_mean", ...)
  _modules     name -> Module (or None)          self.fc = Linear(...)
Everything else (iteration, state_dict keys such as "layers.1.bias", train/eval, dtype conversion)
walks these registries recursively, so the keys and layouts match PyTorch checkpoints.
"""

from collections import OrderedDict, namedtuple

import numpy as np

from .. import _core
from .._core import Tensor, dtype as _dtype
from ..autograd import no_grad


class Parameter(Tensor):
    """A Tensor that a Module registers as a weight; requires grad by default.

    `Parameter(data)` shares `data`'s memory but is a new leaf of its own (like PyTorch's
    Parameter, which is built from `data.detach()`).
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _core.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a pyseq.Tensor, got {type(data).__name__}")
        super().__init__(data.detach())
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):  # pickle and copy.deepcopy: through a numpy copy of the values
        return (_rebuild_parameter, (self.detach().numpy().copy(), self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(_core.from_numpy(array), requires_grad)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: the keys the model wanted but did not get, and the extras."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """What the register_*_hook methods return: `handle.remove()` takes the hook off again; as a
    context manager (`with module.register_forward_hook(fn): ...`) it removes it on exit."""

    _next_id = 0

    def __init__(self, hooks):
        self.hooks = hooks  # the module's OrderedDict that holds the hook under self.id
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _shape_str(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _as_tensor(value, key):
    """A state-dict value as a pyseq Tensor: pyseq tensors as they are, numpy arrays (and anything
    with a .numpy(), such as a torch tensor) through numpy."""
    if isinstance(value, Tensor):
        return value
    if not isinstance(value, np.ndarray) and hasattr(value, "numpy"):
        value = value.detach().numpy() if hasattr(value, "detach") else value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        return _core.from_numpy(np.asarray(arr, order="C"))  # (ascontiguousarray would make 0-d 1-d)
    raise TypeError(f"load_state_dict: the value for key '{key}' must be a pyseq.Tensor or a numpy array, "
                    f"got {type(value).__name__}")


class Module:
    """Base class of every layer and model. Subclasses call `super().__init__()` first, assign
    parameters and submodules as attributes, and define `forward`."""

    _version = 1

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())  # id -> (hook, with_kwargs)
        object.__setattr__(self, "_forward_hooks", OrderedDict())      # id -> (hook, with_kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        backward_hooks = d.get("_backward_hooks") or d.get("_backward_pre_hooks")
        if not d.get("_forward_pre_hooks") and not d.get("_forward_hooks") and not backward_hooks:
            return self.forward(*args, **kwargs)
        if backward_hooks and _core.is_grad_enabled():
            return _BackwardHooks(self).call(args, kwargs)
        return self._call_with_forward_hooks(args, kwargs)

    def _call_with_forward_hooks(self, args, kwargs):
        d = self.__dict__
        for hook, with_kwargs in list(d.get("_forward_pre_hooks", {}).values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result!r}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(d.get("_forward_hooks", {}).values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    # --- hooks ---

    def _add_hook(self, registry, hook, prepend, with_kwargs):
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault(registry, OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Calls `hook(module, args)` before each forward; a non-None result replaces the positional
        args (a non-tuple is wrapped in one). With with_kwargs: `hook(module, args, kwargs)` returning
        None or (args, kwargs). prepend: run before the hooks already registered. Returns a handle
        whose remove() takes the hook off."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """Calls `hook(module, grad_input, grad_output)` once the gradients of the module's tensor
        inputs are known (tuples, None where an input has none); a non-None result replaces
        grad_input. Returns a removable handle."""
        return self._add_hook("_backward_hooks", hook, prepend, False)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Calls `hook(module, grad_output)` when the gradients of the module's outputs are known; a
        non-None result replaces grad_output. Returns a removable handle."""
        return self._add_hook("_backward_pre_hooks", hook, prepend, False)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Calls `hook(module, args, output)` after each forward (`hook(module, args, kwargs, output)`
        with with_kwargs); a non-None result replaces the output. Returns a removable handle."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    # --- registration ---

    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")

    @staticmethod
    def _check_name(name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\", got '{name}'")

    def register_parameter(self, name, param):
        """Adds `param` (a Parameter or None) under `name`."""
        self._check_init("parameters")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__module__}.{type(param).__name__}' object to parameter "
                            f"'{name}' (pyseq.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Adds a tensor that is state but not a parameter (e.g. BatchNorm's running_mean).
        Persistent buffers are part of state_dict()."""
        self._check_init("buffers")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(pyseq.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Adds a child module under `name` (same as `self.name = module`)."""
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._remove_from(name, d, self._buffers, self._modules, self._non_persistent_buffers)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__module__}.{type(value).__name__}' as parameter "
                                f"'{name}' (pyseq.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._remove_from(name, d, self._parameters, self._buffers, self._non_persistent_buffers)
            self._modules[name] = value
        elif d.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(pyseq.nn.Module or None expected)")
            self._modules[name] = None
        elif d.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(pyseq.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *registries):
        for r in registries:
            if name in r:
                if isinstance(r, set):
                    r.discard(name)
                else:
                    del r[name]

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the three registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            r = d.get(registry)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(object.__dir__(self)) + list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # --- iteration ---

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(value))
                yield (module_prefix + ("." if module_prefix else "") + name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs with dotted names, each shared parameter once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module ("" or `prefix`) and every descendant, depth first."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target):
        """The submodule at a dotted path such as "encoder.layers.0"; "" is the module itself."""
        module = self
        for item in target.split(".") if target else []:
            if item not in module._modules or module._modules[item] is None:
                raise AttributeError(f"{type(module).__name__} has no submodule `{item}` (looking up '{target}')")
            module = module._modules[item]
        return module

    def _get_attribute(self, target):
        """(the submodule, the attribute name) of a dotted path such as "encoder.layers.0.weight"."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        return module, name

    def get_parameter(self, target):
        """The Parameter at a dotted path such as "encoder.layers.0.weight"."""
        module, name = self._get_attribute(target)
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at a dotted path such as "bn.running_mean"."""
        module, name = self._get_attribute(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def set_submodule(self, target, module):
        """Replaces (or adds) the submodule at a dotted path such as "encoder.layers.0"."""
        if not target:
            raise ValueError("set_submodule: cannot set the module itself (target is \"\")")
        if not isinstance(module, Module):
            raise TypeError(f"`{type(module).__name__}` is not an nn.Module")
        parent_path, _, name = target.rpartition(".")
        self.get_submodule(parent_path).add_module(name, module)

    # --- modes and gradients ---

    def train(self, mode=True):
        """Sets training mode (Dropout active, BatchNorm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clears every parameter's .grad (sets it to None, or fills it with zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                with no_grad():
                    g.zero_()
                p.grad = g

    # --- functions over the tree ---

    def apply(self, fn):
        """Calls fn(module) on every submodule (children first) and then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply(self, fn):
        """Replaces each parameter and buffer t with fn(t) (when that gives a different tensor)."""
        for m in self.children():
            m._apply(fn)
        for name, p in self._parameters.items():
            if p is None:
                continue
            new = fn(p)
            if new is p:
                continue
            new_p = Parameter(new, requires_grad=p.requires_grad)
            if p.grad is not None:
                new_p.grad = fn(p.grad)
            self._parameters[name] = new_p
        for name, b in self._buffers.items():
            if b is not None:
                self._buffers[name] = fn(b)
        return self

    def to(self, *args, dtype=None, device=None):
        """Converts floating-point parameters and buffers to `dtype` (module.to(pyseq.float64));
        "cpu" as a device is accepted and does nothing. Returns self.

        Unlike PyTorch, a converted parameter is a new Parameter object: build the optimizer after
        calling to()."""
        for a in args:
            if isinstance(a, _dtype):
                dtype = a
            elif isinstance(a, str):
                device = a
            else:
                raise TypeError(f"to(): expected a pyseq dtype or a device string, got {type(a).__name__}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"to(): only the 'cpu' device is supported, got '{device}'")
        if dtype is None:
            return self
        if not dtype.is_floating_point:
            raise TypeError(f"to(): nn.Module.to only accepts floating point dtypes, got {dtype!r}")

        def convert(t):
            if t.dtype.is_floating_point and t.dtype != dtype:
                return t.detach().to(dtype)
            return t

        return self._apply(convert)

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def cpu(self):
        return self

    # --- state dicts ---

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer under its dotted name
        ("0.weight", "encoder.layers.1.bias", "bn.running_mean"). Values share memory with the
        module (detached unless keep_vars)."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, missing_keys, unexpected_keys, error_msgs, assign=False):
        persistent = [(n, b) for n, b in self._buffers.items() if n not in self._non_persistent_buffers]
        local = {n: t for n, t in list(self._parameters.items()) + persistent if t is not None}
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            try:
                value = _as_tensor(state_dict[key], key)
            except TypeError as e:
                error_msgs.append(str(e))
                continue
            if tuple(value.shape) != tuple(target.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {_shape_str(value.shape)} "
                                  f"from checkpoint, the shape in current model is {_shape_str(target.shape)}.")
                continue
            if not assign:
                with no_grad():
                    target.copy_(value)
            elif name in self._parameters:  # assign: the module takes the given tensor itself
                if not isinstance(value, Parameter):
                    value = Parameter(value, requires_grad=target.requires_grad)
                value.requires_grad_(target.requires_grad)
                self._parameters[name] = value
            else:
                self._buffers[name] = value
        for key in state_dict:  # as torch: a key for a (possibly None) child is the child's to check
            if key.startswith(prefix):
                head, dot, _ = key[len(prefix):].partition(".")
                if (head not in self._modules) if dot else (head not in local):
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copies values from `state_dict` (pyseq tensors or numpy arrays) into this module's
        parameters and buffers, in place; with assign=True the module takes the given tensors
        themselves instead (wrapped as Parameters, keeping each parameter's requires_grad).

        Returns (missing_keys, unexpected_keys). With strict=True (the default) missing or
        unexpected keys raise; a shape mismatch raises whatever `strict` is. The error lists every
        problem, naming each key and both shapes."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        missing, unexpected, errors = [], [], []
        state_dict = OrderedDict(state_dict)

        def load(module, prefix):  # every path to a module, shared ones included (as state_dict writes them)
            module._load_from_state_dict(state_dict, prefix, missing, unexpected, errors, assign)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")

        load(self, "")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # --- repr ---

    def extra_repr(self):
        """The text inside the parentheses of this module's repr, e.g. "in_features=3, out_features=2"."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2) for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


class _BackwardHooks:
    """One call of a module with full backward hooks: identity Functions around its tensor inputs
    and outputs see the gradients pass (grad_output first, then grad_input) and run the hooks, as
    PyTorch's BackwardHook does."""

    def __init__(self, module):
        self.module, self.grad_output = module, None

    def call(self, args, kwargs):
        from ..autograd import Function
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        hooks = self

        class InputsSeen(Function):
            @staticmethod
            def forward(ctx, *tensors):
                return tensors

            @staticmethod
            def backward(ctx, *grads):
                return hooks.grad_input_seen(grads, positions, len(args))

        class OutputsSeen(Function):
            @staticmethod
            def forward(ctx, *tensors):
                return tensors

            @staticmethod
            def backward(ctx, *grads):
                return hooks.grad_output_seen(grads, None if positions else len(args))

        if positions:
            seen = InputsSeen.apply(*[args[i] for i in positions])
            args = tuple(seen[positions.index(i)] if i in positions else a for i, a in enumerate(args))
        output = self.module._call_with_forward_hooks(args, kwargs)
        single = isinstance(output, Tensor)
        outputs = (output,) if single else tuple(output) if isinstance(output, (tuple, list)) else None
        if outputs is None or not any(isinstance(o, Tensor) and o.requires_grad for o in outputs):
            return output
        wrapped = OutputsSeen.apply(*outputs)
        return wrapped[0] if single else type(output)(wrapped)

    def grad_output_seen(self, grads, n_args_without_grad):
        module = self.module
        for hook, _ in list(module.__dict__.get("_backward_pre_hooks", {}).values()):
            result = hook(module, grads)
            if result is not None:
                grads = tuple(result)
        self.grad_output = grads
        if n_args_without_grad is not None:  # no input needs a gradient: the hooks run now (as PyTorch)
            self._run_hooks((None,) * n_args_without_grad)
        return grads

    def grad_input_seen(self, grads, positions, n_args):
        grad_input = [None] * n_args
        for i, g in zip(positions, grads):
            grad_input[i] = g
        grad_input = self._run_hooks(tuple(grad_input))
        return tuple(grad_input[i] for i in positions)

    def _run_hooks(self, grad_input):
        module = self.module
        for hook, _ in list(module.__dict__.get("_backward_hooks", {}).values()):
            result = hook(module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result)
        return grad_input

