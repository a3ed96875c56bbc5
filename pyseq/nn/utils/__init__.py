"""Gradient clipping (torch.nn.utils' clip_grad_norm_, clip_grad_value_, get_total_norm,
clip_grads_with_norm_), parameters as one vector (parameters_to_vector, vector_to_parameters),
weight penalties, skip_init, and batches of variable-length sequences (utils.rnn)."""

import math

from ... import _core
from ..._core import Tensor
from ...autograd import no_grad
from ..init import skipping_init

from . import rnn  # noqa: F401,E402  (pack_padded_sequence, pad_packed_sequence, pad_sequence, PackedSequence)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_", "parameters_to_vector",
           "vector_to_parameters", "l1_penalty", "l2_penalty", "skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with its parameters left uninitialised (torch.nn.utils.skip_init):
    the nn.init fills its constructor calls do nothing, so a model whose weights are loaded next
    does not draw them first. Every parameter must then be written (e.g. by load_state_dict)."""
    if not isinstance(module_cls, type):
        raise TypeError(f"skip_init: expected a module class, got {type(module_cls).__name__}")
    with skipping_init():
        return module_cls(*args, **kwargs)


def _param_list(parameters, fn, what="parameters"):
    if isinstance(parameters, Tensor):
        return [parameters]
    if not hasattr(parameters, "__iter__") or isinstance(parameters, (str, bytes)):
        raise TypeError(f"{fn}: {what} must be a Tensor or an iterable of Tensors, got {type(parameters).__name__}")
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: {what} must be Tensors, but item {i} is a {type(p).__name__}")
    return params


def _norm_type(fn, norm_type):
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not norm_type > 0:
        raise ValueError(f"{fn}: norm_type must be > 0 or inf, got {norm_type}")
    return norm_type


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients in place so that their total norm is at most max_norm.

    The total norm is the p-norm (norm_type: p > 0, or float("inf") / "inf") of all gradients seen
    as one vector. The gradients are multiplied by min(1, max_norm / (total + 1e-6)), as in
    PyTorch. Parameters whose .grad is None are skipped. Returns the total norm (before clipping)
    as a 0-d tensor. error_if_nonfinite: raise RuntimeError instead of scaling when the total
    norm is NaN or infinite. foreach: accepted for PyTorch's signature, ignored.
    """
    params = _param_list(parameters, "clip_grad_norm_")
    norm_type = _norm_type("clip_grad_norm_", norm_type)
    try:
        max_norm = float(max_norm)
    except (TypeError, ValueError):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number, got {max_norm!r}") from None
    grads = [p.grad for p in params if p.grad is not None]
    # One C++ call, threaded over the gradients: the norm of each gradient, the norm of those norms
    # (in float64 if any gradient is float64), then every gradient times min(1, max_norm / (total + 1e-6)).
    return _core.clip_grad_norm_(grads, max_norm, norm_type, bool(error_if_nonfinite))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of `tensors` (a Tensor or an iterable of them, usually the gradients) seen as one
    vector: ||(||t_1||_p, ..., ||t_n||_p)||_p, with norm_type p > 0 or float("inf") / "inf".
    A 0-d tensor (float64 when any tensor is float64; 0.0 for no tensors). error_if_nonfinite: raise
    RuntimeError when the norm is NaN or infinite. foreach: accepted for PyTorch's signature, ignored.
    With clip_grads_with_norm_ it splits clip_grad_norm_ in two, e.g. to reduce the norm across
    processes in between."""
    tensors = _param_list(tensors, "get_total_norm", "tensors")
    norm_type = _norm_type("get_total_norm", norm_type)
    if not tensors:
        return _core.zeros(())
    total = _core.stack([t.norm(norm_type) for t in tensors]).norm(norm_type)  # (n,) -> ()
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite "
                           f"({total.item()}), so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scales the gradients in place by min(1, max_norm / (total_norm + 1e-6)), total_norm computed
    beforehand (by get_total_norm: a number or a one-element tensor). Parameters whose .grad is None
    are skipped. foreach: accepted for PyTorch's signature, ignored."""
    params = _param_list(parameters, "clip_grads_with_norm_")
    try:
        max_norm, total_norm = float(max_norm), float(total_norm)
    except (TypeError, ValueError):
        raise TypeError(f"clip_grads_with_norm_: max_norm and total_norm must be numbers (or one-element tensors), "
                        f"got {max_norm!r} and {total_norm!r}") from None
    scale = min(max_norm / (total_norm + 1e-6), 1.0)  # NaN stays NaN, as in PyTorch
    with no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.mul_(scale)


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-d tensor (a copy, through which
    gradients flow back to the parameters)."""
    params = _param_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return _core.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of the 1-d tensor `vec` into the parameters, in order (the inverse of
    parameters_to_vector). PyTorch makes each parameter's .data a view of `vec`; here the values are
    copied in place, so the parameters keep their storage (and the optimizers' state keyed on them)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a pyseq.Tensor, but got: {type(vec).__name__}")
    params = _param_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-d vec of {total} elements (the parameters' total), "
                         f"got shape {tuple(vec.shape)}")
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.narrow(0, start, n).reshape(p.shape))
            start += n


def clip_grad_value_(parameters, clip_value):
    """Clamps every gradient element into [-clip_value, clip_value], in place. Parameters whose
    .grad is None are skipped."""
    params = _param_list(parameters, "clip_grad_value_")
    try:
        clip_value = float(clip_value)
    except (TypeError, ValueError):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, got {clip_value!r}") from None
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    _core.clip_grad_value_([p.grad for p in params if p.grad is not None], clip_value)


def _penalty(parameters, fn, term):
    params = _param_list(parameters, fn)
    total = None
    for p in params:
        t = term(p).sum()  # ()
        total = t if total is None else total + t
    return _core.zeros(()) if total is None else total


def l1_penalty(parameters):
    """sum over the parameters of sum(|p|): a differentiable scalar to add to a loss, as in
    `loss = loss + 1e-5 * l1_penalty(model.parameters())`. Its gradient is sign(p) (0 at 0)."""
    return _penalty(parameters, "l1_penalty", lambda p: p.abs())


def l2_penalty(parameters):
    """sum over the parameters of sum(p ** 2) (squared, not the norm itself): a differentiable
    scalar to add to a loss. Its gradient is 2 * p. Adding `wd / 2 * l2_penalty(params)` to the
    loss is the weight decay `wd` of SGD."""
    return _penalty(parameters, "l2_penalty", lambda p: p * p)
