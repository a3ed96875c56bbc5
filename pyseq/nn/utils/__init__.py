"""Gradient clipping and weight penalties (torch.nn.utils' clip_grad_norm_ / clip_grad_value_), and
batches of variable-length sequences (utils.rnn)."""

from ... import _core
from ..._core import Tensor

from . import rnn  # noqa: F401,E402  (pack_padded_sequence, pad_packed_sequence, pad_sequence, PackedSequence)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty", "l2_penalty"]


def _param_list(parameters, fn):
    if isinstance(parameters, Tensor):
        return [parameters]
    if not hasattr(parameters, "__iter__") or isinstance(parameters, (str, bytes)):
        raise TypeError(f"{fn}: parameters must be a Tensor or an iterable of Tensors, got {type(parameters).__name__}")
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameters must be Tensors, but item {i} is a {type(p).__name__}")
    return params


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales the gradients in place so that their total norm is at most max_norm.

    The total norm is the p-norm (norm_type: p > 0, or float("inf") / "inf") of all gradients seen
    as one vector. The gradients are multiplied by min(1, max_norm / (total + 1e-6)), as in
    PyTorch. Parameters whose .grad is None are skipped. Returns the total norm (before clipping)
    as a 0-d tensor. error_if_nonfinite: raise RuntimeError instead of scaling when the total
    norm is NaN or infinite.
    """
    params = _param_list(parameters, "clip_grad_norm_")
    try:
        norm_type = float(norm_type)
        max_norm = float(max_norm)
    except (TypeError, ValueError) as e:
        raise TypeError(f"clip_grad_norm_: max_norm and norm_type must be numbers ({e})") from None
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    grads = [p.grad for p in params if p.grad is not None]
    # One C++ call, threaded over the gradients: the norm of each gradient, the norm of those norms
    # (in float64 if any gradient is float64), then every gradient times min(1, max_norm / (total + 1e-6)).
    return _core.clip_grad_norm_(grads, max_norm, norm_type, bool(error_if_nonfinite))


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
