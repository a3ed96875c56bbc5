"""Grad mode switches and numerical gradient checking."""

import functools
import itertools

import numpy as np

from . import _core


class set_grad_enabled:
    """Turns gradient recording on or off, as a call, a context manager or a decorator."""

    def __init__(self, mode):
        self.prev = _core.is_grad_enabled()
        self.mode = bool(mode)
        _core._set_grad_enabled(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self.prev)
        return False


class _GradModeContext:
    mode = True

    def __enter__(self):
        self.prev = _core.is_grad_enabled()
        _core._set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside do not record a graph: `with pyseq.no_grad(): ...` or `@pyseq.no_grad()`."""
    mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a no_grad region."""
    mode = True


class GradcheckError(RuntimeError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compares backward's gradients of `fn(*inputs)` with central finite differences.

    Every input that requires grad must be float64. For each output element o, backward gives the
    row d o / d inputs; perturbing each input element by +-eps gives the same row numerically.
    Returns True, or raises GradcheckError naming the first input and element that disagree.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, _core.Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != _core.dtype.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64")

    def outputs():
        with no_grad():
            out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.detach().numpy().astype(np.float64).ravel().copy() for o in outs]

    # Numerical Jacobian columns: perturb one input element at a time, in place, through numpy.
    numerical = {}
    for i in diff:
        data = inputs[i].detach().numpy()  # a view: writes change the input itself
        for idx in itertools.product(*(range(s) for s in data.shape)):
            old = data[idx]
            data[idx] = old + eps
            plus = outputs()
            data[idx] = old - eps
            minus = outputs()
            data[idx] = old
            numerical[(i, idx)] = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]

    # Analytical Jacobian rows: one backward per output element.
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for j in range(o.numel()):
            for i in diff:
                inputs[i].grad = None
            seed = np.zeros(o.numel(), dtype=np.float64)
            seed[j] = 1.0
            o.backward(_core.from_numpy(seed.reshape(o.shape)).to(o.dtype), retain_graph=True)
            for i in diff:
                g = inputs[i].grad
                g = np.zeros(inputs[i].shape) if g is None else g.numpy()
                for idx in itertools.product(*(range(s) for s in g.shape)):
                    a, n = g[idx], numerical[(i, idx)][k][j]
                    if not abs(a - n) <= atol + rtol * abs(n):
                        if not raise_exception:
                            return False
                        raise GradcheckError(
                            f"gradcheck: mismatch for output {k} element {j} w.r.t. input {i} element {idx}: "
                            f"analytical {a:.8g} vs numerical {n:.8g}")
    for i in diff:
        inputs[i].grad = None
    return True
