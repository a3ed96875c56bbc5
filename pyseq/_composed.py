"""Tensor ops made of other ops (PyTorch's names and arguments), so autograd handles their
gradients; each is a module function and a Tensor method. Boolean-mask indexing (x[mask]) too:
numpy finds the selected positions, index_select takes them."""

from collections import namedtuple

import numpy as np

from . import _core
from ._core import Tensor


def _dims(dims, ndim):
    """dims (an int or a sequence) as non-negative dims of an ndim-d tensor."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor of {ndim} dims")
    return tuple(d % ndim if ndim else 0 for d in dims)


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices that sort input along dim (stable: equal values keep their order)."""
    return _core.sort(input, dim, descending).indices


def flip(input, dims):
    """input with the order of each dim in dims reversed (a copy)."""
    out = input
    for d in _dims(dims, input.dim()):
        n = input.shape[d]
        out = out.index_select(d, _core.arange(n - 1, -1, -1))
    return out


def roll(input, shifts, dims=None):
    """Elements shifted along dims (wrapping around); without dims, over the flattened tensor."""
    if dims is None:
        return roll(input.reshape(-1), shifts, 0).reshape(*input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = _dims(dims, input.dim())
    if len(shifts) != len(dims):
        raise ValueError(f"roll: expected as many shifts as dims, got shifts {shifts} and dims {dims}")
    out = input
    for s, d in zip(shifts, dims):
        n = input.shape[d]
        if n == 0 or s % n == 0:
            continue
        s %= n
        out = _core.cat([out.narrow(d, n - s, s), out.narrow(d, 0, n - s)], d)
    return out


def repeat(input, *sizes):
    """input tiled sizes[i] times along dim i (leading sizes add dims), as Tensor.repeat."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < input.dim():
        raise ValueError(f"repeat: expected at least {input.dim()} sizes for input of shape {tuple(input.shape)}, "
                         f"got {sizes}")
    shape = (1,) * (len(sizes) - input.dim()) + tuple(input.shape)
    x = input.reshape(*shape)
    # (s0, n0, s1, n1, ...): each dim of x behind a new dim of its repeat count, then merged
    tiled = [size for pair in zip(sizes, shape) for size in pair]
    x = x.reshape(*[size for n in shape for size in (1, n)]).expand(*tiled)
    return x.reshape(*[s * n for s, n in zip(sizes, shape)])


def unbind(input, dim=0):
    """The slices of input along dim, as a tuple."""
    return tuple(input.select(dim, i) for i in range(input.shape[dim]))


def movedim(input, source, destination):
    """input with dims source moved to positions destination (a view)."""
    source, destination = _dims(source, input.dim()), _dims(destination, input.dim())
    if len(source) != len(destination):
        raise ValueError(f"movedim: expected as many destinations as sources, got {source} and {destination}")
    rest = [d for d in range(input.dim()) if d not in source]
    order = [None] * input.dim()
    for s, d in zip(source, destination):
        order[d] = s
    it = iter(rest)
    return input.permute(*[d if d is not None else next(it) for d in order])


def isnan(input):
    return input != input


def isinf(input):
    return input.abs() == float("inf") if input.dtype in (_core.dtype.float32, _core.dtype.float64) else input != input


def isfinite(input):
    return (input - input) == 0  # inf - inf and NaN give NaN


def any(input, dim=None, keepdim=False):
    """Whether any element (along dim) is nonzero; a bool tensor."""
    nonzero = input != 0  # a bool sum counts, in int64
    return (nonzero.sum() if dim is None else nonzero.sum(dim, keepdim=keepdim)) > 0


def all(input, dim=None, keepdim=False):
    """Whether every element (along dim) is nonzero; a bool tensor."""
    zero = input == 0
    return (zero.sum() if dim is None else zero.sum(dim, keepdim=keepdim)) == 0


def amax(input, dim=(), keepdim=False):
    """Max over dims (all of them when dim is empty). Among equal maxima the gradient goes to the
    one max(dim) picks (PyTorch shares it between them)."""
    dims = _dims(dim, input.dim()) if dim != () else tuple(range(input.dim()))
    out = input
    for d in sorted(dims, reverse=True):
        out = out.max(d, keepdim=True).values
    return out if keepdim else out.reshape(*[n for i, n in enumerate(input.shape) if i not in dims])


def amin(input, dim=(), keepdim=False):
    """Min over dims (all of them when dim is empty)."""
    return -amax(-input, dim, keepdim)


def maximum(input, other):
    """The larger of each pair (NaN if either is NaN), broadcasting."""
    return _core.where((input > other) + isnan(input), input, other)  # bool + bool: or


def minimum(input, other):
    """The smaller of each pair (NaN if either is NaN), broadcasting."""
    return _core.where((input < other) + isnan(input), input, other)


def outer(input, vec2):
    """The outer product of two 1-d tensors: (n,), (m,) -> (n, m)."""
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def count_nonzero(input, dim=None):
    """How many elements (along dim) are nonzero, as int64."""
    nonzero = input != 0
    return nonzero.sum() if dim is None else nonzero.sum(dim)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """steps evenly spaced values from start to end (both included), float32 unless dtype says;
    the first half counted up from start and the second down from end, as PyTorch (whose vector
    kernel's fused multiply-adds may round an element one ulp apart)."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    kind = np.float32 if dtype in (None, _core.dtype.float32) else np.float64  # computed in the result's type
    start, end, i = kind(start), kind(end), np.arange(steps, dtype=kind)
    step = (end - start) / kind(steps - 1) if steps > 1 else kind(0)
    values = np.where(i < steps // 2, start + step * i, end - step * (kind(steps - 1) - i)).astype(kind)
    return _core.from_numpy(values).clone().requires_grad_(requires_grad)


def nonzero(input, as_tuple=False):
    """The indices of the nonzero elements: (count, ndim) int64, or one (count,) tensor a dim."""
    where = np.argwhere(input.detach().numpy() != 0).astype(np.int64)
    if as_tuple:
        return tuple(_core.from_numpy(np.ascontiguousarray(where[:, d])) for d in range(where.shape[1]))
    return _core.from_numpy(where)


_ValuesIndices = namedtuple("values_indices", ("values", "indices"))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest value along dim (k from 1) and its index, from a stable sort (NaN largest)."""
    if input.dim() == 0:
        if k != 1:
            raise IndexError(f"kthvalue: k ({k}) out of range for a 0-d tensor")
        return _ValuesIndices(input, _core.zeros((), dtype=_core.dtype.int64))
    d = _dims(dim, input.dim())[0]
    if not 1 <= k <= input.shape[d]:
        raise IndexError(f"kthvalue: k ({k}) out of range for dim {d} of size {input.shape[d]}")
    ordered = _core.sort(input, d)
    values, indices = ordered.values.narrow(d, k - 1, 1), ordered.indices.narrow(d, k - 1, 1)
    return _ValuesIndices(values, indices) if keepdim else _ValuesIndices(values.squeeze(d), indices.squeeze(d))


def median(input, dim=None, keepdim=False):
    """The lower median (along dim, with its index), NaN where the values hold a NaN, as PyTorch."""
    if dim is None:
        flat = input.reshape(-1)
        if flat.shape[0] == 0:
            raise ValueError("median: expected a non-empty tensor")
        lower = kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
        return _core.where(isnan(flat).any(), float("nan"), lower)
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    n = input.shape[d] if input.dim() else 1
    lower = kthvalue(input, (n + 1) // 2, d, keepdim)
    if input.dtype not in (_core.dtype.float32, _core.dtype.float64):
        return lower
    nan = isnan(input)
    has_nan = nan.any(d, keepdim=keepdim) if input.dim() else nan
    first_nan = nan.to(_core.dtype.int64).argmax(d, keepdim=keepdim) if input.dim() else lower.indices
    return _ValuesIndices(_core.where(has_nan, float("nan"), lower.values), _core.where(has_nan, first_nan, lower.indices))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced (by default with 0 and the dtype's largest and lowest finite values)."""
    if input.dtype not in (_core.dtype.float32, _core.dtype.float64):
        return input.clone()
    big = float(np.finfo(np.float32 if input.dtype == _core.dtype.float32 else np.float64).max)
    out = _core.where(isnan(input), nan, input)
    out = _core.where(out == float("inf"), big if posinf is None else posinf, out)
    return _core.where(out == float("-inf"), -big if neginf is None else neginf, out)


_squeeze = Tensor.squeeze


def squeeze(input, dim=None):
    """input without its size-1 dims (all, one, or those in a tuple of dims); a view."""
    if dim is None:
        return _squeeze(input)
    if isinstance(dim, int):
        return _squeeze(input, dim)
    out = input
    for d in sorted(_dims(dim, input.dim()), reverse=True):
        out = _squeeze(out, d)
    return out


# --- boolean masks as indices: x[mask], x[mask] = value ---

_get_index, _set_index = Tensor.__getitem__, Tensor.__setitem__


def _rows_where(t, mask):
    """t with its leading mask.dim() dims flattened, and the flat positions where mask is True."""
    lead = tuple(t.shape[:mask.dim()])
    if tuple(mask.shape) != lead:
        raise IndexError(f"boolean mask of shape {tuple(mask.shape)} does not match the leading dims {lead} of "
                         f"the indexed tensor of shape {tuple(t.shape)}")
    rows = t.reshape(-1, *t.shape[mask.dim():])
    return rows, _core.from_numpy(np.flatnonzero(mask.detach().numpy()).astype(np.int64))


def _is_mask(key):
    return isinstance(key, Tensor) and key.dtype == _core.dtype.bool and key.dim() > 0


def _getitem(self, key):
    """x[mask] with a bool mask over x's leading dims: the selected rows, (count, *rest). Else as before."""
    if _is_mask(key):
        rows, where = _rows_where(self, key)
        return rows.index_select(0, where)
    return _get_index(self, key)


def _setitem(self, key, value):
    """x[mask] = number (or a one-element tensor) sets the selected elements in place. Else as before."""
    if _is_mask(key):
        _rows_where(self, key)  # checks the shape
        if isinstance(value, Tensor):
            if value.numel() != 1:
                raise TypeError("assignment through a boolean mask takes a number or a one-element tensor, got a "
                                f"tensor of shape {tuple(value.shape)}")
            value = value.item()
        mask = key.reshape(*key.shape, *([1] * (self.dim() - key.dim())))
        self.copy_(self.masked_fill(mask, value))
        return
    _set_index(self, key, value)


def masked_select(input, mask):
    """The elements of input where mask (broadcast together) is True, as a 1-d tensor."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    return input.expand(*shape).reshape(-1)[mask.expand(*shape).reshape(-1)]


Tensor.__getitem__, Tensor.__setitem__ = _getitem, _setitem
Tensor.flip = lambda self, *dims: flip(self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims)
for _name in ("argsort", "roll", "repeat", "unbind", "movedim", "isnan", "isinf", "isfinite", "any", "all",
              "amax", "amin", "maximum", "minimum", "outer", "count_nonzero", "nonzero", "masked_select", "kthvalue",
              "median", "nan_to_num", "squeeze"):
    setattr(Tensor, _name, globals()[_name])
Tensor.mT = property(lambda self: self.transpose(-2, -1), doc="The last two dims swapped (a view).")
