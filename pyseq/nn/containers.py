"""Containers: Sequential, ModuleList and ModuleDict (children named "0", "1", ... or by key);
ParameterList and ParameterDict (parameters named the same way)."""

import operator
from collections import OrderedDict

from .module import Module, Parameter, _addindent


def _index(idx, size, what):
    """An int index (negative allowed) checked against `size`, as a non-negative int."""
    idx = operator.index(idx)
    if not -size <= idx < size:
        raise IndexError(f"index {idx} is out of range for {what} of length {size}")
    return idx + size if idx < 0 else idx


def _parameters_repr(parameters):
    """ParameterList / ParameterDict repr lines, "(key): Parameter containing: [pyseq.float32 of size 2x3]"."""
    return "\n".join(f"({k}): Parameter containing: [{p.dtype!r} of size {'x'.join(map(str, p.shape))}]"
                     for k, p in parameters.items())


class Sequential(Module):
    """Runs its modules one after another: Sequential(Linear(3, 4), ReLU(), Linear(4, 1)), or
    Sequential(OrderedDict([("fc", Linear(3, 4)), ...])) for named children."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                delattr(self, key)
        else:
            delattr(self, keys[_index(idx, len(keys), "Sequential")])
        # keep the "0", "1", ... numbering contiguous, as PyTorch does
        self._renumber()

    def _renumber(self):
        items = list(self._modules.items())
        if all(k.isdigit() for k, _ in items):
            self._modules.clear()
            for i, (_, m) in enumerate(items):
                self._modules[str(i)] = m

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    __iadd__ = extend

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"add operator supports only objects of Sequential class, got {type(other).__name__}")
        return Sequential(*self, *other)

    def pop(self, idx):
        module = self[idx]
        del self[idx]
        return module

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: expected a Module, got {type(module).__name__}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for Sequential of length {n}")
        index = index + n if index < 0 else index
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters the parent sees ("layers.0.weight", ...). It has no
    forward: iterate over it in the parent's forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(items), "ModuleList")]
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def pop(self, idx):
        module = self[idx]
        del self[idx]
        return module

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable of modules, got a "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over its modules instead")

    def __repr__(self):
        """Runs of identical modules print once, as "(0-11): 12 x Layer(...)" (as in PyTorch)."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first index, last index, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _ChildDict(Module):
    """A dict view of one of Module's registries (`_registry`: "_modules" or "_parameters"), keyed by
    strings, so that the parent sees the entries ("heads.cls.weight"): ModuleDict and ParameterDict."""

    _registry = ""

    def __init__(self, entries=None):
        super().__init__()
        if entries is not None:
            self.update(entries)

    def _entries(self):
        return getattr(self, self._registry)

    def __getitem__(self, key):
        if key not in self._entries():
            raise KeyError(f"{type(self).__name__} has no key '{key}' (keys: {list(self._entries())})")
        return self._entries()[key]

    def __delitem__(self, key):
        del self._entries()[key]

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def __contains__(self, key):
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self):
        self._entries().clear()

    def update(self, entries):
        items = entries.items() if hasattr(entries, "items") else entries
        for entry in items:
            if len(entry) != 2:
                raise ValueError(f"{type(self).__name__}.update: expected (key, value) pairs, got an element of "
                                 f"length {len(entry)}")
            self[entry[0]] = entry[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); pick its entries by key instead")


class ModuleDict(_ChildDict):
    """A dict of modules, keyed by strings, whose parameters the parent sees ("heads.cls.weight")."""

    _registry = "_modules"

    def __init__(self, modules=None):
        super().__init__(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)


class ParameterList(Module):
    """A list of Parameters (tensors are wrapped), registered as "0", "1", ... so the parent's
    parameters() and state_dict see them."""

    def __init__(self, values=None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def _as_parameter(self, value):
        return value if isinstance(value, Parameter) else Parameter(value)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, value):
        self.register_parameter(str(_index(idx, len(self), "ParameterList")), self._as_parameter(value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value):
        self.register_parameter(str(len(self)), self._as_parameter(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        return _parameters_repr(self._parameters)


class ParameterDict(_ChildDict):
    """A dict of Parameters keyed by strings (tensors are wrapped), seen by the parent's parameters()."""

    _registry = "_parameters"

    def __init__(self, parameters=None):
        super().__init__(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, value if isinstance(value, Parameter) else Parameter(value))

    def extra_repr(self):
        return _parameters_repr(self._parameters)
