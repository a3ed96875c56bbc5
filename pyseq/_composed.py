"""Tensor ops made of other ops (PyTorch's names and arguments), so autograd handles their
gradients; each is a module function and a Tensor method. Boolean-mask indexing (x[mask]) too:
numpy finds the selected positions, index_select takes them."""

import builtins
import functools
import math
from collections import namedtuple

import numpy as np

from . import _core
from ._core import Tensor
from .autograd import no_grad as _no_grad


def _dims(dims, ndim):
    """dims (an int or a sequence) as non-negative dims of an ndim-d tensor."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor of {ndim} dims")
    return tuple(d % ndim if ndim else 0 for d in dims)


def _checked(*positions):
    """Decorates an op: its positional arguments at `positions` must be Tensors (else a TypeError
    naming the op and the argument, not an AttributeError from inside), and numpy's MemoryError
    and OverflowError (sizes too large, ints past int64) become pyseq's RuntimeError and ValueError."""
    def wrap(fn):
        name = fn.__name__
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            for i in positions:
                if i < len(args) and not isinstance(args[i], Tensor):
                    raise TypeError(f"{name}(): argument {i + 1} must be a Tensor, got {type(args[i]).__name__}")
            try:
                return fn(*args, **kwargs)
            except MemoryError as e:
                raise RuntimeError(f"{name}(): out of memory for the result") from e
            except OverflowError as e:
                raise ValueError(f"{name}(): a size or value is out of range ({e})") from e
        return checked
    return wrap


def _tensor_list(name, tensors):
    """A list or tuple of Tensors (one list may also come as the only argument)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensors, got {type(t).__name__}")
    if not tensors:
        raise ValueError(f"{name}(): expected at least one Tensor")
    return tensors


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




# --- math made of the core ops -------------------------------------------------------------------


def _scan(input, dim, combine):
    """The inclusive scan of input along dim by an associative combine(a, b) of two slices, in
    log2(n) whole-tensor steps (Hillis-Steele): step s combines each element with the one s
    before it. Made of narrow, cat and combine, so autograd differentiates it exactly."""
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    if input.dim() == 0:
        return input
    n, out, s = input.shape[d], input, 1
    while s < n:
        out = _core.cat([out.narrow(d, 0, s), combine(out.narrow(d, s, n - s), out.narrow(d, 0, n - s))], d)
        s *= 2
    return out


def _integer_result(input):
    """bool inputs of products and counts become int64, as in PyTorch."""
    return input.to(_core.dtype.int64) if input.dtype == _core.dtype.bool else input


@_checked(0)
def prod(input, dim=None, keepdim=False):
    """The product of the elements (along dim): halves multiplied pairwise, so the gradient of each
    element is the product of the others, exact where some are zero."""
    x = _integer_result(input)
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _dims(dim, x.dim())[0] if x.dim() else 0
        if x.dim() == 0:
            return x
    while x.shape[d] > 1:
        n = x.shape[d]
        half = x.narrow(d, 0, n // 2) * x.narrow(d, n // 2, n // 2)
        x = _core.cat([half, x.narrow(d, n - 1, 1)], d) if n % 2 else half
    if x.shape[d] == 0:  # the empty product
        x = _core.ones([*x.shape[:d], 1, *x.shape[d + 1:]], dtype=x.dtype)
    return x if keepdim and dim is not None else x.squeeze(d)


@_checked(0)
def cumprod(input, dim):
    """Running products along dim (no division, so zeros need no special case)."""
    return _scan(_integer_result(input), dim, lambda later, earlier: later * earlier)


@_checked(0, 1)
def logaddexp(input, other):
    """log(e^input + e^other) without overflow: the larger plus log1p(e^-|difference|)."""
    high = maximum(input, other)
    both_inf = (input == other) * isinf(input)  # (inf, inf) and (-inf, -inf) give themselves
    return _core.where(both_inf, input, high + (-(input - other).abs()).exp().log1p())


@_checked(0)
def logcumsumexp(input, dim):
    """log of the running sum of exp along dim, each step a logaddexp (no underflow of early terms)."""
    return _scan(input, dim, logaddexp)


def _cumulative_extremum(input, dim, is_max):
    """Running max (min) along dim and the index where it was reached (the latest among ties; a
    NaN, once met, stays), as PyTorch's cummax / cummin; values taken with gather, so the gradient
    flows to those positions."""
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    x = np.moveaxis(input.detach().numpy(), d, -1) if input.dim() else input.detach().numpy().reshape(1)
    running = (np.maximum if is_max else np.minimum).accumulate(x, axis=-1)
    hit = (x == running) | np.isnan(x)
    positions = np.where(hit, np.arange(x.shape[-1]), 0)
    index = np.ascontiguousarray(np.moveaxis(np.maximum.accumulate(positions, axis=-1), -1, d)).astype(np.int64)
    if input.dim() == 0:
        return _ValuesIndices(input, _core.zeros((), dtype=_core.dtype.int64))
    index = _core.from_numpy(index)
    return _ValuesIndices(input.gather(d, index), index)


@_checked(0)
def cummax(input, dim):
    return _cumulative_extremum(input, dim, True)


@_checked(0)
def cummin(input, dim):
    return _cumulative_extremum(input, dim, False)


@_checked(0)
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim (prepend / append joined first), as torch.diff."""
    d = _dims(dim, input.dim())[0]
    parts = [t for t in (prepend, input, append) if t is not None]
    x = _core.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        x = (x.narrow(d, 1, m - 1) != x.narrow(d, 0, m - 1)) if x.dtype == _core.dtype.bool \
            else x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1)
    return x


@_checked(0)
def nansum(input, dim=None, keepdim=False):
    """The sum with NaNs counted as zero."""
    x = _core.where(isnan(input), 0.0, input)
    return x.sum() if dim is None else x.sum(dim, keepdim=keepdim)


@_checked(0)
def nanmean(input, dim=None, keepdim=False):
    """The mean of the elements that are not NaN (NaN where there is none)."""
    count = ~isnan(input)
    n = count.sum() if dim is None else count.sum(dim, keepdim=keepdim)
    return nansum(input, dim, keepdim) / n


@_checked(0)
def std_mean(input, dim=None, *, correction=1, keepdim=False):
    """(standard deviation, mean), as var_mean with the square root taken."""
    var, mean = _core.var_mean(input, dim, correction=correction, keepdim=keepdim)
    return var.sqrt(), mean


@_checked(0)
def xlogy(input, other):
    """input * log(other), 0 where input is 0 (unless other is NaN)."""
    return _core.where((input == 0) * ~isnan(other), 0.0, input * _core.log(other))


@_checked(0, 1)
def lerp(input, end, weight):
    """input + weight * (end - input)."""
    return input + weight * (end - input)


@_checked(0, 1, 2)
def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2


@_checked(0, 1, 2)
def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 / tensor2


@_checked(0)
def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    p = input if eps is None else input.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


@_checked(0)
def frac(input):
    """The fractional part, x - trunc(x), with the sign of x."""
    return input - input.trunc()


@_checked(0)
def deg2rad(input):
    return input * (math.pi / 180)


@_checked(0)
def rad2deg(input):
    return input * (180 / math.pi)


def div(input, other, *, rounding_mode=None):
    """input / other: true division, or rounded "floor" (as //) or "trunc" (toward zero)."""
    if rounding_mode is None:
        return _core.div(input, other)
    if rounding_mode == "floor":
        return _core.floor_divide(input, other)
    if rounding_mode == "trunc":
        return _core.floor_divide(input - _core.fmod(input, other), other) \
            if not _is_float(input, other) else _core.div(input, other).trunc()
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


def _is_float(*values):
    return builtins.any(isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point()) for v in values)


@_checked(0, 1)
def logical_and(input, other):
    return (input != 0) & (other != 0)


@_checked(0, 1)
def logical_or(input, other):
    return (input != 0) | (other != 0)


@_checked(0, 1)
def logical_xor(input, other):
    return (input != 0) ^ (other != 0)


@_checked(0, 1)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other| elementwise (equal infinities are close), a bool tensor."""
    close = (input - other).abs() <= atol + rtol * other.abs() if isinstance(other, Tensor) else \
        (input - other).abs() <= atol + rtol * abs(other)
    close = close + (input == other)  # bool + bool: or; covers equal infinities
    return close + isnan(input) * isnan(other) if equal_nan else close


@_checked(0, 1)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is close (isclose), as a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


@_checked(0, 1)
def equal(input, other):
    """Whether both tensors have the same shape and elements, as a Python bool."""
    return tuple(input.shape) == tuple(other.shape) and bool((input == other).all().item())


# --- products of matrices and tensors ------------------------------------------------------------


def _check_dims(name, t, ndim):
    if t.dim() != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d tensor, got {t.dim()}-d of shape {tuple(t.shape)}")


@_checked(0, 1)
def bmm(input, mat2):
    """Batched matrix product: (B, n, m) @ (B, m, p) -> (B, n, p)."""
    _check_dims("bmm", input, 3)
    _check_dims("bmm", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}")
    return _core.matmul(input, mat2)


@_checked(0, 1)
def mv(input, vec):
    """Matrix times vector: (n, m) @ (m,) -> (n,)."""
    _check_dims("mv", input, 2)
    _check_dims("mv", vec, 1)
    return _core.matmul(input, vec)


@_checked(0, 1)
def dot(input, other):
    """The inner product of two 1-d tensors of the same size."""
    _check_dims("dot", input, 1)
    _check_dims("dot", other, 1)
    if input.shape[0] != other.shape[0]:
        raise ValueError(f"dot: sizes differ: {input.shape[0]} and {other.shape[0]}")
    return (input * other).sum()


@_checked(0, 1, 2)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta input + alpha mat1 @ mat2."""
    return _scaled_sum(input, _core.mm(mat1, mat2), beta, alpha)


@_checked(0, 1, 2)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta input + alpha batch1 @ batch2 (batched)."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    product = product if alpha == 1 else product * alpha
    return product if beta == 0 else product + (input if beta == 1 else input * beta)


@_checked(0, 1)
def tensordot(a, b, dims=2):
    """Sums over the last `dims` dims of a and the first of b (or the dims listed in a pair of
    lists), as one matrix product."""
    if isinstance(dims, int):
        if not 0 <= dims <= builtins.min(a.dim(), b.dim()):
            raise ValueError(f"tensordot: dims must be in [0, {builtins.min(a.dim(), b.dim())}] for tensors of "
                             f"{a.dim()} and {b.dim()} dims, got {dims}")
        a_dims, b_dims = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        a_dims, b_dims = ([d] if isinstance(d, int) else list(d) for d in dims)
    a_dims, b_dims = list(_dims(a_dims, a.dim())), list(_dims(b_dims, b.dim()))
    for i, j in zip(a_dims, b_dims):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: contracted dims differ in size: {a.shape[i]} (dim {i} of a) and "
                             f"{b.shape[j]} (dim {j} of b)")
    a_rest = [d for d in range(a.dim()) if d not in a_dims]
    b_rest = [d for d in range(b.dim()) if d not in b_dims]
    k = math.prod(a.shape[d] for d in a_dims)
    left = a.permute(*a_rest, *a_dims).reshape(-1, k)
    right = b.permute(*b_dims, *b_rest).reshape(k, -1)
    return _core.mm(left, right).reshape(*[a.shape[d] for d in a_rest], *[b.shape[d] for d in b_rest])


@_checked(0, 1)
def kron(input, other):
    """The Kronecker product: each element of input times the whole of other."""
    n = builtins.max(input.dim(), other.dim())
    a = input.reshape(*([1] * (n - input.dim())), *input.shape)
    b = other.reshape(*([1] * (n - other.dim())), *other.shape)
    interleaved = [size for pair in zip(a.shape, [1] * n) for size in pair]
    out = a.reshape(*interleaved) * b.reshape(*[size for pair in zip([1] * n, b.shape) for size in pair])
    return out.reshape(*[p * q for p, q in zip(a.shape, b.shape)])


@_checked()
def einsum(equation, *operands):
    """Einstein summation, as torch.einsum: "bij,bjk->bik", implicit output ("ij,jk": the labels
    seen once, sorted), "..." for broadcast dims, a label twice in one operand (its diagonal).
    Operands are contracted left to right, each pair as one batched matrix product."""
    operands = _tensor_list("einsum", operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a str, got {type(equation).__name__}")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(terms)} operands, got {len(operands)}")
    labelled = [_einsum_labels(term, t.dim(), equation) for term, t in zip(terms, operands)]
    n_ellipsis = builtins.max([builtins.sum(c.isdigit() for c in labels) for labels in labelled])
    if arrow:
        out = _einsum_labels(rhs, len(rhs.replace("...", "")) + n_ellipsis * ("..." in rhs), equation)
        for c in out:
            if out.count(c) > 1 or not builtins.any(c in labels for labels in labelled):
                raise ValueError(f"einsum: output subscript {c!r} of {equation!r} must appear once in the output "
                                 "and in some input")
    else:
        seen = [c for labels in labelled for c in labels if not c.isdigit()]
        out = [str(k) for k in range(n_ellipsis - 1, -1, -1)] + sorted(c for c in set(seen) if seen.count(c) == 1)
    pairs = [_einsum_diagonals(labels, t) for labels, t in zip(labelled, operands)]
    size = {}
    for labels, t in pairs:
        for c, n in zip(labels, t.shape):
            if n != 1 and size.get(c, 1) not in (1, n):
                raise ValueError(f"einsum: subscript {c!r} of {equation!r} has size {size[c]} in one operand and "
                                 f"{n} in another")
            size[c] = builtins.max(size.get(c, 1), n)
    pairs = [(labels, t.expand(*[size[c] for c in labels])) for labels, t in pairs]  # size-1 dims broadcast
    labels, acc = pairs[0]
    for i in range(1, len(pairs)):
        keep = set(out).union(*[later for later, _ in pairs[i + 1:]])
        labels, acc = _einsum_pair(labels, acc, *pairs[i], keep)
    summed = [d for d, c in enumerate(labels) if c not in out]
    if summed:
        acc = acc.sum(summed)
        labels = [c for c in labels if c in out]
    return acc.permute(*[labels.index(c) for c in out]) if out else acc


def _einsum_labels(term, ndim, equation):
    """One operand's subscripts as a list of labels: its letters, and its "..." dims named "0", "1",
    ... counted from the right, so they line up across operands as broadcasting does."""
    head, dots, tail = term.partition("...")
    if "." in head + tail or not (head + tail).isalpha() and head + tail:
        raise ValueError(f"einsum: bad subscripts {term!r} in {equation!r} (letters and one '...' allowed)")
    n = ndim - len(head) - len(tail)
    if n < 0 or (n > 0 and not dots):
        raise ValueError(f"einsum: subscripts {term!r} of {equation!r} do not fit an operand of {ndim} dims")
    return list(head) + [str(k) for k in range(n - 1, -1, -1)] + list(tail)


def _einsum_diagonals(labels, t):
    """A label repeated in one operand: the diagonal over those dims, which stays as one dim."""
    while len(set(labels)) < len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        i = labels.index(c)
        j = labels.index(c, i + 1)
        t = diagonal(t, 0, i, j)  # the diagonal becomes the last dim
        labels = [x for k, x in enumerate(labels) if k not in (i, j)] + [c]
    return labels, t


def _einsum_pair(la, a, lb, b, keep):
    """Two labelled operands contracted into one, keeping the labels in `keep`. Shared labels kept
    are batch dims; shared labels not kept are summed by the matrix product; the others are its
    rows (a's) and columns (b's). A label of one operand that is not kept is summed first."""
    def sum_out(labels, t, other):
        gone = [d for d, c in enumerate(labels) if c not in keep and c not in other]
        return ([c for d, c in enumerate(labels) if d not in gone], t.sum(gone)) if gone else (labels, t)
    la, a = sum_out(la, a, lb)
    lb, b = sum_out(lb, b, la)
    size = dict(zip(la, a.shape)) | dict(zip(lb, b.shape))
    batch = [c for c in la if c in lb and c in keep]
    contracted = [c for c in la if c in lb and c not in keep]
    rows, cols = [c for c in la if c not in lb], [c for c in lb if c not in la]
    n_batch = [size[c] for c in batch]
    a = a.permute(*[la.index(c) for c in batch + rows + contracted])
    b = b.permute(*[lb.index(c) for c in batch + contracted + cols])
    k = math.prod(size[c] for c in contracted)
    product = _core.matmul(a.reshape(*n_batch, math.prod(size[c] for c in rows), k),
                           b.reshape(*n_batch, k, math.prod(size[c] for c in cols)))
    labels = batch + rows + cols
    return labels, product.reshape(*[size[c] for c in labels])


@_checked(0)
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of input over dims dim1, dim2 (offset above it, or below when negative), as the
    last dim of the result (a copy, taken with index_select so the gradient flows back)."""
    d1, d2 = _dims((dim1, dim2), input.dim())
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    x = movedim(input, (d1, d2), (-2, -1))
    n, m = x.shape[-2], x.shape[-1]
    first_row, first_col = builtins.max(0, -offset), builtins.max(0, offset)
    length = builtins.max(0, builtins.min(n - first_row, m - first_col))
    positions = (np.arange(length) + first_row) * m + np.arange(length) + first_col
    return x.reshape(*x.shape[:-2], n * m).index_select(x.dim() - 2, _core.from_numpy(positions.astype(np.int64)))


@_checked(0)
def diag(input, diagonal=0):
    """A 1-d input as the diagonal (offset `diagonal`) of a square matrix; a 2-d input's diagonal."""
    if input.dim() == 2:
        return input.diagonal(diagonal)
    _check_dims("diag", input, 1)
    k, n = input.shape[0], input.shape[0] + abs(diagonal)
    # every element of the matrix picks one of input's values or the zero appended at index k
    source = np.full(n * n, k, dtype=np.int64)
    i = np.arange(k)
    source[(i + builtins.max(0, -diagonal)) * n + i + builtins.max(0, diagonal)] = i
    padded = _core.cat([input, _core.zeros([1], dtype=input.dtype)], 0)
    return padded.index_select(0, _core.from_numpy(source)).reshape(n, n)


@_checked(0)
def trace(input):
    """The sum of a matrix's diagonal."""
    _check_dims("trace", input, 2)
    return diagonal(input).sum()


# --- shapes ---------------------------------------------------------------------------------------


@_checked(0)
def tile(input, dims):
    """input repeated dims[i] times along dim i; fewer dims than input's repeat its last dims."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return repeat(input, *((1,) * (input.dim() - len(dims)) + dims))


@_checked(0)
def repeat_interleave(input, repeats, dim=None):
    """Each element (each slice along dim) repeated `repeats` times in place, as torch.repeat_interleave;
    repeats an int or one count per element."""
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = _dims(dim, input.dim())[0]
    counts = repeats.numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim == 0 or counts.size == 1:
        counts = np.full(input.shape[d], int(counts.reshape(-1)[0]) if counts.size else 0)
    if counts.shape != (input.shape[d],) or (counts < 0).any():
        raise ValueError(f"repeat_interleave: expected {input.shape[d]} non-negative repeats, got {counts.tolist()}")
    if builtins.sum(int(c) for c in counts) > 2**40:  # (numpy's repeat overflows past int64 rather than fail)
        raise RuntimeError("repeat_interleave(): out of memory for the result")
    index = np.repeat(np.arange(input.shape[d]), counts).astype(np.int64)
    return input.index_select(d, _core.from_numpy(index))


def _atleast(input, ndim):
    if input.dim() >= ndim:
        return input
    return input.reshape(1, -1) if ndim == 2 else input.reshape(1, -1, 1) if input.dim() < 2 else input.unsqueeze(-1)


@_checked()
def hstack(tensors):
    """Joined along dim 1 (dim 0 for 1-d tensors)."""
    tensors = [_atleast(t, 1) for t in _tensor_list("hstack", tensors)]
    return _core.cat(tensors, 0 if tensors[0].dim() == 1 else 1)


@_checked()
def vstack(tensors):
    """Joined along dim 0, 1-d tensors taken as rows."""
    return _core.cat([_atleast(t, 2) for t in _tensor_list("vstack", tensors)], 0)


@_checked()
def dstack(tensors):
    """Joined along dim 2, 1-d and 2-d tensors first made (1, n, 1) and (m, n, 1)."""
    return _core.cat([_atleast(t, 3) for t in _tensor_list("dstack", tensors)], 2)


@_checked()
def column_stack(tensors):
    """1-d tensors as columns (and 2-d as they are), joined along dim 1."""
    return _core.cat([t.reshape(-1, 1) if t.dim() <= 1 else t for t in _tensor_list("column_stack", tensors)], 1)


_MAX_PARTS = 2**24  # each part is a Python object: a bound far above use, far below exhausting memory


@_checked(0)
def tensor_split(input, indices_or_sections, dim=0):
    """Views of input along dim: n nearly equal parts (the first ones one longer), or the parts
    between the given indices."""
    d = _dims(dim, input.dim())[0]
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if not 0 < sections <= _MAX_PARTS:
            raise ValueError(f"tensor_split: the number of sections must be in [1, {_MAX_PARTS}], got {sections}")
        sizes = [n // sections + (1 if i < n % sections else 0) for i in range(sections)]
        bounds = list(np.cumsum([0] + sizes))
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i), 0), n) for i in indices_or_sections] + [n]
    return tuple(input.narrow(d, a, builtins.max(b - a, 0)) for a, b in zip(bounds[:-1], bounds[1:]))


@_checked(0)
def unflatten(input, dim, sizes):
    """Dim `dim` split into `sizes` (one of them may be -1)."""
    d = _dims(dim, input.dim())[0]
    return input.reshape(*input.shape[:d], *sizes, *input.shape[d + 1:])


@_checked(0)
def rot90(input, k=1, dims=(0, 1)):
    """Rotated by 90 degrees k times, from the first of dims toward the second."""
    d0, d1 = _dims(dims, input.dim())
    k %= 4
    if k == 1:
        return flip(input, d1).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input.transpose(d0, d1), d1)
    return input


@_checked(0)
def fliplr(input):
    return flip(input, 1)


@_checked(0)
def flipud(input):
    return flip(input, 0)


@_checked()
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids (views) of 1-d tensors; indexing "xy" swaps the first two dims."""
    tensors = _tensor_list("meshgrid", tensors)
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    swap = indexing == "xy" and len(tensors) >= 2
    order = [1, 0, *range(2, len(tensors))] if swap else list(range(len(tensors)))
    shape = [tensors[i].numel() for i in order]
    grids = []
    for i, t in enumerate(tensors):
        at = order.index(i)
        grids.append(t.reshape(*[-1 if j == at else 1 for j in range(len(tensors))]).expand(*shape))
    return tuple(grids)


@_checked()
def cartesian_prod(*tensors):
    """Every combination of elements, one per row: (n1 * n2 * ..., k)."""
    tensors = _tensor_list("cartesian_prod", tensors)
    if len(tensors) == 1:
        return tensors[0]
    return _core.stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


@_checked()
def triu_indices(row, col, offset=0):
    """The (2, count) int64 indices of the upper triangle of a row x col matrix, row by row."""
    return _core.from_numpy(np.stack(np.triu_indices(row, offset, col)).astype(np.int64))


@_checked()
def tril_indices(row, col, offset=0):
    """The (2, count) int64 indices of the lower triangle of a row x col matrix, row by row."""
    return _core.from_numpy(np.stack(np.tril_indices(row, offset, col)).astype(np.int64))


# --- windows, scatters and index updates ----------------------------------------------------------


@_checked(0)
def unfold(input, dimension, size, step):
    """Every window of `size` elements along `dimension`, `step` apart: that dim becomes the
    window count and a new last dim of `size` holds each window (a copy, as index_select takes it)."""
    d = _dims(dimension, input.dim())[0] if input.dim() else 0
    n = input.shape[d] if input.dim() else 1
    if size < 0 or step <= 0 or size > n:
        raise ValueError(f"unfold: size ({size}) must be in [0, {n}] and step ({step}) positive for dim {d} of "
                         f"size {n}")
    windows = (n - size) // step + 1
    positions = (np.arange(windows)[:, None] * step + np.arange(size)[None, :]).reshape(-1).astype(np.int64)
    x = input if input.dim() else input.reshape(1)
    out = x.index_select(d, _core.from_numpy(positions))
    out = out.reshape(*x.shape[:d], windows, size, *x.shape[d + 1:])
    return movedim(out, d + 1, -1)


def _full_index(index, dim, like):
    """A 1-d index along dim spread over the shape of `like`, as scatter_add takes it."""
    shape = [1] * like.dim()
    shape[dim] = -1
    return index.reshape(*shape).expand(*like.shape)


def _write_order(index, dim, shape):
    """For each entry of a scatter's index (along dim, into a tensor of `shape`): how many earlier
    entries name the same element (its rank), and how many name it in all; numpy arrays of index's shape."""
    idx = index.detach().numpy()
    if idx.size and (idx.min() < 0 or idx.max() >= shape[dim]):
        raise IndexError(f"scatter: index out of range for dim {dim} of size {shape[dim]}")
    coords = list(np.indices(idx.shape))
    coords[dim] = idx
    target = np.ravel_multi_index(coords, shape).reshape(-1) if idx.size else np.zeros(0, np.int64)
    order = np.argsort(target, kind="stable")
    ordered = target[order]
    is_start = np.r_[True, ordered[1:] != ordered[:-1]] if target.size else np.zeros(0, bool)
    starts = np.flatnonzero(is_start)
    group = np.cumsum(is_start) - 1  # each sorted entry's group of equal targets
    rank, count = np.empty(target.size, np.int64), np.empty(target.size, np.int64)
    rank[order] = np.arange(target.size) - starts[group]
    count[order] = np.diff(np.r_[starts, target.size])[group]
    return rank.reshape(idx.shape), count.reshape(idx.shape)


@_checked(0, 2)
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """input with src's elements (or a number) written where index points along dim (for dim 0:
    out[index[i][j]][j] = src[i][j]); where several entries name one element the last one wins
    (PyTorch leaves it unspecified). reduce "add" / "multiply" combines them with the old value."""
    if isinstance(src, (int, float, bool)):
        src, value = None, src
    if not (isinstance(src, Tensor) or (src is None and isinstance(value, (int, float, bool)))):
        raise TypeError(f"scatter: expected src (a Tensor) or value (a number), got "
                        f"{type(value if src is None else src).__name__}")
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    if src is None:
        src = _core.full(list(index.shape), value, dtype=input.dtype)
    elif tuple(src.shape) != tuple(index.shape):  # the part of src that index covers, as PyTorch reads it
        src = src[tuple(slice(0, n) for n in index.shape)]
    if reduce == "add":
        return input.scatter_add(d, index, src)
    rank, count = _write_order(index, d, tuple(input.shape))
    zeros = _core.zeros(list(input.shape), dtype=input.dtype)

    def written(entries):  # the scattered values of the chosen entries, and where they land
        chosen = _core.from_numpy(entries)
        hit = zeros.to(_core.dtype.int64).scatter_add(d, index, chosen.to(_core.dtype.int64)) > 0
        return zeros.scatter_add(d, index, src * chosen), hit
    if reduce == "multiply":  # one product per level of duplicates, so each factor is used once
        out = input
        for level in range(int(count.max(initial=0))):
            values, hit = written(rank == level)
            out = _core.where(hit, out * values, out)
        return out
    values, hit = written(rank == count - 1)
    return _core.where(hit, values, input)


@_checked(0, 2, 3)
def index_add(input, dim, index, source, *, alpha=1):
    """input with source's slices added at the positions index (1-d) names along dim."""
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    return input.scatter_add(d, _full_index(index, d, source), source if alpha == 1 else source * alpha)


@_checked(0, 2, 3)
def index_copy(input, dim, index, source):
    """input with its slices along dim at the positions index (1-d) replaced by source's."""
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    return scatter(input, d, _full_index(index, d, source), source)


@_checked(0, 2)
def index_fill(input, dim, index, value):
    """input with its slices along dim at the positions index (1-d) set to value."""
    d = _dims(dim, input.dim())[0] if input.dim() else 0
    n = input.shape[d] if input.dim() else 1
    chosen = np.zeros(n, dtype=bool)
    chosen[index.detach().numpy().reshape(-1)] = True
    shape = [1] * input.dim()
    if input.dim():
        shape[d] = n
    return _core.where(_core.from_numpy(chosen).reshape(*shape), value, input)


@_checked(0, 1, 2)
def masked_scatter(input, mask, source):
    """input with the positions where mask (broadcast to input) is True filled, in order, by the
    first elements of source."""
    full = mask.expand(*input.shape).detach().numpy()
    count = int(full.sum())
    if count > source.numel():
        raise ValueError(f"masked_scatter: the mask selects {count} elements, source has {source.numel()}")
    positions = np.flatnonzero(full)
    taken = source.reshape(-1).narrow(0, 0, count)
    flat = input.reshape(-1)
    index = _core.from_numpy(positions.astype(np.int64))
    return scatter(flat, 0, index, taken).reshape(*input.shape)


# --- counting and searching (no gradient) ---------------------------------------------------------


def _values(t, name):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
    return t.detach().numpy()


@_checked(0)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), and optionally where each element went and how often each
    occurs; with dim, the distinct slices along it."""
    values = _values(input, "unique")
    if dim is None:
        out, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(values.shape)
    else:
        d = _dims(dim, input.dim())[0]
        out, inverse, counts = np.unique(values, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    result = [_core.from_numpy(np.ascontiguousarray(out))]
    if return_inverse:
        result.append(_core.from_numpy(inverse.astype(np.int64)))
    if return_counts:
        result.append(_core.from_numpy(counts.astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)


@_checked(0)
def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in a 1-d int64 tensor (or the sum of its weights)."""
    values = _values(input, "bincount")
    if values.ndim != 1 or values.dtype != np.int64:
        raise ValueError(f"bincount: expected a 1-d int64 tensor, got {values.ndim}-d {input.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"bincount: values must be non-negative, got {values.min()}")
    w = None if weights is None else _values(weights, "bincount")
    counts = np.bincount(values, w, minlength)
    return _core.from_numpy(counts.astype(np.int64 if w is None else w.dtype if w.dtype == np.float32 else np.float64))


@_checked(0)
def histc(input, bins=100, min=0, max=0):
    """Counts of input's values in `bins` equal bins over [min, max] (the data's range when both
    are 0); values outside are ignored."""
    values = _values(input, "histc").reshape(-1)
    lo, hi = (float(min), float(max)) if (min, max) != (0, 0) else \
        ((float(values.min()), float(values.max())) if values.size else (0.0, 0.0))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = np.histogram(values[(values >= lo) & (values <= hi)], bins, (lo, hi))
    return _core.from_numpy(counts.astype(values.dtype if values.dtype.kind == "f" else np.float32))


@_checked(0)
def searchsorted(sorted_sequence, input, *, right=False, side=None, out_int32=False):
    """Where each value of input would go in sorted_sequence (along its last dim, row by row when
    it has more than one), as int64 indices."""
    if out_int32:
        raise TypeError("searchsorted: pyseq has no int32 dtype; leave out_int32 False for int64 indices")
    seq = _values(sorted_sequence, "searchsorted")
    values = input.detach().numpy() if isinstance(input, Tensor) else np.asarray(input)
    side = side or ("right" if right else "left")
    if seq.ndim == 1:
        out = np.searchsorted(seq, values, side=side)
    else:
        if seq.shape[:-1] != values.shape[:-1]:
            raise ValueError(f"searchsorted: leading dims of sorted_sequence {seq.shape} and input {values.shape} "
                             "must match")
        rows = zip(seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1]))
        out = np.stack([np.searchsorted(s, v, side=side) for s, v in rows]).reshape(values.shape)
    return _core.from_numpy(np.ascontiguousarray(out, dtype=np.int64))


@_checked(1)
def bucketize(input, boundaries, *, right=False, out_int32=False):
    """The bucket of each value given sorted 1-d boundaries: the count of boundaries below it
    (right=False) or at most it (right=True)."""
    _check_dims("bucketize", boundaries, 1)
    return searchsorted(boundaries, input, side="left" if not right else "right", out_int32=out_int32)


# --- creation and random sampling -----------------------------------------------------------------


def _like(input, dtype):
    return input.dtype if dtype is None else dtype


def _like_of(make, name):
    """zeros_like & co.: `make` (zeros, ones, ...) of input's shape, in input's dtype unless given."""
    def like(input, *, dtype=None, requires_grad=False):
        return make(list(input.shape), dtype=_like(input, dtype), requires_grad=requires_grad)
    like.__name__ = name
    return _checked(0)(like)


zeros_like, ones_like, empty_like = (_like_of(_core.zeros, "zeros_like"), _like_of(_core.ones, "ones_like"),
                                     _like_of(_core.empty, "empty_like"))
rand_like, randn_like = _like_of(_core.rand, "rand_like"), _like_of(_core.randn, "randn_like")


@_checked(0)
def full_like(input, fill_value, *, dtype=None, requires_grad=False):
    return _core.full(list(input.shape), fill_value, dtype=_like(input, dtype), requires_grad=requires_grad)


@_checked(0)
def randint_like(input, low=0, high=None, *, dtype=None):
    low, high = (0, low) if high is None else (low, high)
    return _core.randint(low, high, list(input.shape), dtype=_like(input, dtype))


@_checked()
def randperm(n, *, dtype=None):
    """A random permutation of 0 .. n-1 (int64), from pyseq's generator (manual_seed applies)."""
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    order = argsort(_core.rand([n], dtype=_core.dtype.float64)) if n else _core.zeros([0], dtype=_core.dtype.int64)
    return order if dtype in (None, _core.dtype.int64) else order.to(dtype)


@_checked(0)
def bernoulli(input, p=None):
    """1 with probability input (or p) for each element, else 0, in input's dtype."""
    prob = input if p is None else _core.full(list(input.shape), p, dtype=input.dtype)
    return (_core.rand(list(input.shape), dtype=_core.dtype.float64) < prob).to(input.dtype)


@_checked(0)
def multinomial(input, num_samples, replacement=False):
    """num_samples category indices per row of non-negative weights (1-d or 2-d), drawn with or
    without replacement, from pyseq's generator. Without replacement: the Gumbel top-k (the k
    largest log w - log(-log u) are a draw of k without replacement)."""
    if input.dim() not in (1, 2):
        raise ValueError(f"multinomial: expected 1-d or 2-d weights, got shape {tuple(input.shape)}")
    w = input.detach().to(_core.dtype.float64)
    rows = w.reshape(1, -1) if input.dim() == 1 else w
    values = rows.numpy()
    if not np.isfinite(values).all() or (values < 0).any() or (values.sum(1) <= 0).any():
        raise ValueError("multinomial: weights must be finite, non-negative, with a positive sum in each row")
    n = values.shape[1]
    if not replacement and num_samples > n:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from {n} categories")
    if not replacement and num_samples > (values > 0).sum(1).min():
        raise ValueError("multinomial: fewer categories of nonzero weight than samples without replacement")
    if num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    if replacement:  # inverse CDF: the first category whose running weight exceeds u * total
        cdf = np.cumsum(values, 1)
        u = _core.rand([rows.shape[0], num_samples], dtype=_core.dtype.float64).numpy() * cdf[:, -1:]
        chosen = np.stack([np.searchsorted(c, t, side="right") for c, t in zip(cdf, u)])
        picks = _core.from_numpy(np.minimum(chosen, n - 1).astype(np.int64))
    else:
        u = _core.rand([rows.shape[0], n], dtype=_core.dtype.float64)
        picks = (rows.log() - (-u.log()).log()).topk(num_samples, 1).indices
    return picks.reshape(-1) if input.dim() == 1 else picks


Tensor.__getitem__, Tensor.__setitem__ = _getitem, _setitem
Tensor.flip = lambda self, *dims: flip(self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims)
for _name in ("argsort", "roll", "repeat", "unbind", "movedim", "isnan", "isinf", "isfinite", "any", "all",
              "amax", "amin", "maximum", "minimum", "outer", "count_nonzero", "nonzero", "masked_select", "kthvalue",
              "median", "nan_to_num", "squeeze"):
    setattr(Tensor, _name, globals()[_name])
Tensor.mT = property(lambda self: self.transpose(-2, -1), doc="The last two dims swapped (a view).")


def _new(fill):
    def method(self, size, *rest, dtype=None, requires_grad=False, **kwargs):
        shape = list(size) if isinstance(size, (tuple, list)) else [size, *rest]
        return fill(self, shape, self.dtype if dtype is None else dtype, requires_grad, **kwargs)
    return method


Tensor.new_zeros = _new(lambda t, shape, dt, rg: _core.zeros(shape, dtype=dt, requires_grad=rg))
Tensor.new_ones = _new(lambda t, shape, dt, rg: _core.ones(shape, dtype=dt, requires_grad=rg))
Tensor.new_empty = _new(lambda t, shape, dt, rg: _core.empty(shape, dtype=dt, requires_grad=rg))
Tensor.new_full = lambda self, size, fill_value, *, dtype=None, requires_grad=False: _core.full(
    list(size), fill_value, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, requires_grad=False):
    from ._tensor import tensor
    return tensor(data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)


Tensor.new_tensor = _new_tensor
Tensor.type_as = _checked(0, 1)(lambda self, other: self.to(other.dtype))
Tensor.view_as = _checked(0, 1)(lambda self, other: self.view(*other.shape))
Tensor.reshape_as = _checked(0, 1)(lambda self, other: self.reshape(*other.shape))
Tensor.expand_as = _checked(0, 1)(lambda self, other: self.expand(*other.shape))
Tensor.is_floating_point = lambda self: self.dtype in (_core.dtype.float32, _core.dtype.float64)
_ITEM_SIZE = {_core.dtype.bool: 1, _core.dtype.int64: 8, _core.dtype.float32: 4, _core.dtype.float64: 8}
Tensor.element_size = lambda self: _ITEM_SIZE[self.dtype]
Tensor.itemsize = property(lambda self: _ITEM_SIZE[self.dtype], doc="Bytes per element.")
Tensor.nbytes = property(lambda self: _ITEM_SIZE[self.dtype] * self.numel(), doc="Bytes of the elements.")
Tensor.clip = Tensor.clamp
Tensor.clamp_min = lambda self, min: self.clamp(min=min)
Tensor.clamp_max = lambda self, max: self.clamp(max=max)
Tensor.absolute = Tensor.abs
Tensor.negative = Tensor.neg
Tensor.sgn = Tensor.sign
Tensor.arctan2 = Tensor.atan2


def _data(self):
    """The same values, cut from the graph (an alias: writes reach this tensor), as Tensor.data."""
    return self.detach()


def _set_data(self, value):
    if not isinstance(value, Tensor) or tuple(value.shape) != tuple(self.shape):
        raise ValueError(f"Tensor.data: expected a Tensor of shape {tuple(self.shape)}, got "
                         f"{tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__}")
    with _no_grad():
        self.copy_(value)


_TYPE_NAMES = {_core.dtype.float32: "pyseq.FloatTensor", _core.dtype.float64: "pyseq.DoubleTensor",
               _core.dtype.int64: "pyseq.LongTensor", _core.dtype.bool: "pyseq.BoolTensor"}
Tensor.data = property(_data, _set_data)
Tensor.cpu = lambda self: self
Tensor.is_cuda = property(lambda self: False, doc="False: pyseq's tensors live on the CPU.")
Tensor.ndimension = Tensor.dim
Tensor.nelement = Tensor.numel
Tensor.type = lambda self, dtype=None: _TYPE_NAMES[self.dtype] if dtype is None else self.to(dtype)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def as_tensor(data, dtype=None):
    """A tensor of data, sharing memory where it can: the tensor itself (cast if dtype differs), a
    numpy array's buffer (from_numpy) or a copy of nested lists."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and dtype is None and data.dtype in (np.float32, np.float64, np.int64, np.bool_):
        return _core.from_numpy(data)
    from ._tensor import tensor
    return tensor(data, dtype=dtype)


asarray = as_tensor
_FloatInfo = namedtuple("finfo", ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"))
_IntInfo = namedtuple("iinfo", ("bits", "max", "min", "dtype"))


def finfo(dtype=None):
    """Machine limits of a floating dtype (float32 by default), as torch.finfo."""
    dtype = _core.dtype.float32 if dtype is None else dtype
    if dtype not in (_core.dtype.float32, _core.dtype.float64):
        raise TypeError(f"finfo: expected a floating dtype, got {dtype}")
    i = np.finfo(np.float32 if dtype == _core.dtype.float32 else np.float64)
    return _FloatInfo(i.bits, float(i.eps), float(i.max), float(i.min), float(i.tiny), float(i.smallest_normal),
                      10.0 ** -i.precision, str(dtype).split(".")[-1])


def iinfo(dtype):
    """Limits of an integer dtype (int64; bool as uint8-like 0..1 is refused, as in PyTorch)."""
    if dtype != _core.dtype.int64:
        raise TypeError(f"iinfo: expected an integer dtype, got {dtype}")
    i = np.iinfo(np.int64)
    return _IntInfo(i.bits, int(i.max), int(i.min), "int64")


def get_default_dtype():
    """float32: the dtype of floating tensors made from Python numbers."""
    return _core.dtype.float32


def where(condition, input=None, other=None):
    """where(condition, input, other): input where condition holds, else other (broadcast); with the
    condition alone, the indices of its True elements, one tensor a dim (nonzero(as_tuple=True))."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return _core.where(condition, input, other)


def _with_dtype(reduction):
    """A reduction that also takes dtype= (the input cast to it first), as PyTorch's sum and mean."""
    def reduce(input, *args, dtype=None, **kwargs):
        return reduction(input if dtype is None else input.to(dtype), *args, **kwargs)
    reduce.__name__, reduce.__doc__ = reduction.__name__, reduction.__doc__
    return reduce


sum, mean = _with_dtype(_core.sum), _with_dtype(_core.mean)  # noqa: A001 (pyseq.sum, as torch.sum)
Tensor.sum, Tensor.mean = _with_dtype(Tensor.sum), _with_dtype(Tensor.mean)

for _name in ("prod", "cumprod", "logcumsumexp", "cummax", "cummin", "diff", "nansum", "nanmean", "xlogy", "lerp",
              "addcmul", "addcdiv", "logit", "frac", "deg2rad", "rad2deg", "div", "logical_and", "logical_or",
              "logical_xor", "isclose", "allclose", "equal", "bmm", "mv", "dot", "addmm", "baddbmm", "kron",
              "diagonal", "diag", "trace", "tile", "repeat_interleave", "tensor_split", "unflatten", "rot90", "fliplr",
              "flipud", "unique", "bincount", "histc", "bernoulli", "multinomial", "logaddexp", "unfold", "scatter",
              "index_add", "index_copy", "index_fill", "masked_scatter"):
    setattr(Tensor, _name, globals()[_name])


def _in_place(op):
    """The in-place form of an op: its result copied into self (checked by copy_ like any write)."""
    def method(self, *args, **kwargs):
        return self.copy_(op(self, *args, **kwargs))
    method.__name__ = op.__name__ + "_"
    return method


for _name in ("scatter", "index_add", "index_copy", "index_fill", "masked_scatter", "masked_fill", "clamp",
              "scatter_add", "exp", "log", "sqrt", "abs", "neg", "sigmoid", "tanh", "relu", "pow", "remainder",
              "floor_divide", "square", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "sin", "cos", "lerp", "addcmul",
              "addcdiv", "clip", "fmod", "bitwise_and", "bitwise_or", "bitwise_xor", "logical_not", "tril", "triu",
              "log1p", "expm1", "erf"):
    if not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _in_place(getattr(Tensor, _name)))
