"""Grad mode switches, gradients of chosen inputs (grad, backward), tensor hooks, custom ops with
their own backward (Function), and numerical gradient checking."""

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


class inference_mode(_GradModeContext):
    """As no_grad (pyseq has no separate inference tensors): `with pyseq.inference_mode(): ...`."""
    mode = False

    def __init__(self, mode=True):
        self.mode = not mode


def _tensors(value, name):
    """One tensor or a sequence of them, as a list."""
    items = [value] if isinstance(value, _core.Tensor) else list(value)
    for t in items:
        if not isinstance(t, _core.Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(t).__name__}")
    return items


def _seeds(grad_tensors, roots, name):
    if grad_tensors is None:
        return [None] * len(roots)
    seeds = [grad_tensors] if isinstance(grad_tensors, _core.Tensor) else list(grad_tensors)
    if len(seeds) != len(roots):
        raise ValueError(f"{name}: got {len(seeds)} gradients for {len(roots)} tensors")
    return seeds


def _check_create_graph(create_graph):
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported: pyseq's backward "
                                  "formulas read their saved values detached from the graph")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` (seeded with grad_outputs; ones for one-element outputs) with
    respect to `inputs`, as a tuple, as torch.autograd.grad: only the graph leading to the inputs
    runs and no .grad changes. An input the outputs do not depend on is an error unless allow_unused
    (None) or materialize_grads (zeros). create_graph (higher derivatives) is not supported: the
    backward formulas read saved values detached from the graph."""
    _check_create_graph(create_graph)
    roots, targets = _tensors(outputs, "grad"), _tensors(inputs, "grad")
    retain_graph = create_graph if retain_graph is None else retain_graph
    result = _core._run_backward(roots, _seeds(grad_outputs, roots, "grad"), bool(retain_graph), bool(create_graph),
                                 targets)
    for i, (g, t) in enumerate(zip(result, targets)):
        if g is None:
            if materialize_grads:
                result[i] = _core.zeros(list(t.shape), dtype=t.dtype)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Backward from several tensors at once (each seeded with its grad_tensors entry), accumulating
    into the leaves' .grad (or only into `inputs`), as torch.autograd.backward."""
    _check_create_graph(create_graph)
    roots = _tensors(tensors, "backward")
    seeds = _seeds(grad_tensors, roots, "backward")
    retain_graph = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        _core._run_backward(roots, seeds, bool(retain_graph), bool(create_graph), [])
        return
    targets = _tensors(inputs, "backward")
    for t, g in zip(targets, _core._run_backward(roots, seeds, bool(retain_graph), bool(create_graph), targets)):
        if g is not None:
            t.grad = g if t.grad is None else t.grad + g


class RemovableHandle:
    """What register_hook returns: remove() switches the hook off."""

    def __init__(self):
        self.active = True

    def remove(self):
        self.active = False


def _register_hook(self, hook):
    """Calls hook(grad) with this tensor's gradient during backward; a returned tensor replaces it."""
    if not callable(hook):
        raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle()
    self._register_hook(lambda g: hook(g) if handle.active else None)
    return handle


_core.Tensor.register_hook = _register_hook


class FunctionCtx:
    """The `ctx` of a Function: save_for_backward(*tensors) / saved_tensors (checked against
    in-place changes), needs_input_grad (one bool per argument), and any attributes forward sets."""

    def save_for_backward(self, *tensors):
        self._saved = [(t, t._version if isinstance(t, _core.Tensor) else None) for t in tensors]

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", None)
        if saved is None:
            raise RuntimeError("Trying to backward through the graph a second time, or the saved tensors were "
                               "freed: pass retain_graph=True to backward through the graph again")
        for t, version in saved:
            if version is not None and t._version != version:
                raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: a tensor of shape {tuple(t.shape)} is at version "
                                   f"{t._version}; expected version {version} instead")
        return tuple(t for t, _ in saved)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self._materialize = bool(value)


class Function:
    """A custom op with its own backward, as torch.autograd.Function:

        class Exp(pyseq.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):
                y, = ctx.saved_tensors
                return grad * y

        y = Exp.apply(x)

    forward runs without recording; backward gets one gradient per output (zeros where none came)
    and returns one per forward argument (None for arguments without one)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, ...) to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, _core.Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outputs = [result] if single else list(result)
        positions = [i for i, a in enumerate(args) if isinstance(a, _core.Tensor)]
        inputs = [args[i] for i in positions]
        differentiable = [i for i, o in enumerate(outputs) if isinstance(o, _core.Tensor)
                          and id(o) not in getattr(ctx, "_non_differentiable", ()) and o.is_floating_point()]
        if _core.is_grad_enabled() and any(t.requires_grad for t in inputs) and differentiable:
            for i in differentiable:  # an input given back as it is gets an alias of its own to carry grad_fn
                if any(outputs[i] is t for t in inputs):
                    outputs[i] = outputs[i].detach()
            recorded = [outputs[i] for i in differentiable]

            def run_backward(grads):  # one gradient per recorded output -> one per tensor input
                everything = [None] * len(outputs)
                for i, g in zip(differentiable, grads):
                    everything[i] = g
                returned = cls.backward(ctx, *everything)
                returned = returned if isinstance(returned, tuple) else (returned,)
                if len(returned) < len(args):
                    raise RuntimeError(f"{cls.__name__}.backward returned {len(returned)} gradients, expected "
                                       f"{len(args)} (one per forward argument)")
                grads_in = []
                for i in positions:
                    g = returned[i]
                    if g is not None and tuple(g.shape) != tuple(args[i].shape):
                        raise RuntimeError(f"{cls.__name__}.backward returned a gradient of shape {tuple(g.shape)} "
                                           f"for argument {i} of shape {tuple(args[i].shape)}")
                    grads_in.append(g)
                return grads_in  # (ctx and what it saved go with the node when the graph is freed)
            _core._record_function(run_backward, cls.__name__ + "Backward", inputs, recorded)
        return outputs[0] if single else tuple(outputs)


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
