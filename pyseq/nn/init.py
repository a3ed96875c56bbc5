"""Weight initialisation, as in torch.nn.init. Each function fills its tensor in place (without
recording a graph) from pyseq's seeded generator and returns it."""

import functools
import math
import numbers
import warnings

import numpy as np

from .. import _core
from ..autograd import no_grad

_skipping = False  # True while utils.skip_init builds a module: the fills below leave tensors as they are


class skipping_init:
    """A context in which the init functions leave their tensors untouched (utils.skip_init's)."""

    def __enter__(self):
        global _skipping
        self._was, _skipping = _skipping, True

    def __exit__(self, *exc):
        global _skipping
        _skipping = self._was


def _skippable(fill):
    """An init function that does nothing while skipping_init is on."""
    @functools.wraps(fill)
    def maybe_fill(tensor, *args, **kwargs):
        return tensor if _skipping else fill(tensor, *args, **kwargs)
    return maybe_fill


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table): linear/conv/sigmoid 1, tanh 5/3,
    relu sqrt(2), leaky_relu sqrt(2 / (1 + negative_slope^2)) (slope `param`, default 0.01), selu 3/4."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, for weights laid
    out (out, in, *kernel) as Linear (out, in) and Conv1d (C_out, C_in/groups, K)."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {tuple(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


@_skippable
def uniform_(tensor, a=0.0, b=1.0):
    """Fills with U(a, b)."""
    with no_grad():
        tensor.uniform_(a, b)
    return tensor


@_skippable
def normal_(tensor, mean=0.0, std=1.0):
    """Fills with N(mean, std^2)."""
    with no_grad():
        tensor.normal_(mean, std)
    return tensor


@_skippable
def constant_(tensor, val):
    with no_grad():
        tensor.fill_(val)
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


@_skippable
def zeros_(tensor):
    with no_grad():
        tensor.zero_()
    return tensor


def xavier_uniform_(tensor, gain=1.0):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std)


@_skippable
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fills with N(mean, std^2) truncated to [a, b], by rejection as PyTorch. When [a, b] holds
    more than 30% of the normal's mass, values outside it are redrawn from the normal until none
    is left. Otherwise (a narrow or far interval) candidates x are drawn from U(a, b) and each is
    kept with probability exp(-((x - mean) / std)^2 / 2) / exp(-((m - mean) / std)^2 / 2), m the
    point of [a, b] nearest the mean; the rejected ones are drawn again."""
    for key, value in (("mean", mean), ("std", std), ("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"trunc_normal_: {key} must be a number, got {type(value).__name__} {value!r}")
    if not (std > 0 and a < b):
        raise ValueError(f"trunc_normal_: expected std > 0 and a < b, got std={std}, a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with no_grad():
        if norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3:
            tensor.normal_(mean, std)
            while True:
                outside = (tensor < a) | (tensor > b)
                if not outside.any():
                    break
                tensor.copy_(_core.where(outside, _core.empty_like(tensor).normal_(mean, std), tensor))
        else:
            nearest = max(a, min(mean, b))
            log_peak = -0.5 * ((nearest - mean) / std) ** 2

            def rejected(x):  # log(u) > log(density(x) / density(nearest)), u ~ U(0, 1)
                return _core.empty_like(x).uniform_().log() > -0.5 * ((x - mean) / std) ** 2 - log_peak

            tensor.uniform_(a, b)
            pending = rejected(tensor)
            while pending.any():
                candidates = _core.empty_like(tensor).uniform_(a, b)
                tensor.copy_(_core.where(pending, candidates, tensor))
                pending = pending & rejected(candidates)
    return tensor


@_skippable
def eye_(tensor):
    """Fills the 2-d tensor with the identity matrix: ones on the main diagonal, zeros elsewhere, so
    that a Linear layer passes on as many of its inputs as it can."""
    if tensor.dim() != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {tuple(tensor.shape)})")
    with no_grad():
        tensor.copy_(_core.eye(*tensor.shape, dtype=tensor.dtype))
    return tensor


@_skippable
def dirac_(tensor, groups=1):
    """Fills a 3, 4 or 5-d convolution weight (out, in / groups, *kernel) with the Dirac delta: each
    group's output channel d takes input channel d at the kernel's centre (index size // 2 in each
    kernel dim), for d < min(out / groups, in / groups), so the convolution passes on as many of
    its input channels as it can; every other element is 0."""
    if tensor.dim() not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported (got shape {tuple(tensor.shape)})")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"dirac_: groups must be an int >= 1, got {groups!r}")
    shape = tuple(tensor.shape)
    if shape[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups (got shape {shape} and groups={groups})")
    out_per_group = shape[0] // groups
    centre = tuple(s // 2 for s in shape[2:])
    with no_grad():
        tensor.zero_()
        for g in range(groups):
            for d in range(min(out_per_group, shape[1])):
                tensor[(g * out_per_group + d, d) + centre] = 1.0
    return tensor


@_skippable
def orthogonal_(tensor, gain=1.0):
    """Fills with a (semi-)orthogonal matrix (Saxe et al., 2013), as PyTorch. The tensor is seen as
    a (rows, cols) matrix, rows = size(0), its trailing dims flattened. A standard normal matrix A
    of that shape (transposed when rows < cols, so that it is tall) is factored A = QR; Q's columns
    are multiplied by the signs of R's diagonal, which makes Q uniformly distributed over the
    orthogonal matrices; the result is Q (transposed back) times gain. So W W^T = gain^2 I when
    rows <= cols, W^T W = gain^2 I otherwise. The normal draws come from pyseq's generator; pyseq
    has no QR op, so numpy's (LAPACK Householder QR, as torch's) factors A, in float64."""
    if tensor.dim() < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape {tuple(tensor.shape)})")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _core.randn(rows, cols, dtype=tensor.dtype).numpy().astype(np.float64)  # (rows, cols)
    if rows < cols:
        flat = flat.T                                   # (cols, rows): tall
    q, r = np.linalg.qr(flat)                           # q (max, min), r (min, min)
    q *= np.sign(np.diag(r))                            # column j times sign(r_jj)
    if rows < cols:
        q = q.T                                         # (rows, cols)
    with no_grad():
        tensor.copy_(_core.from_numpy(np.ascontiguousarray(q * gain)).to(tensor.dtype).reshape(tensor.shape))
    return tensor


@_skippable
def sparse_(tensor, sparsity, std=0.01):
    """Fills the 2-d tensor as a sparse matrix (Martens, 2010), as PyTorch: values from N(0, std^2),
    then ceil(sparsity * rows) of them set to 0 in each column, at rows drawn at random."""
    if tensor.dim() != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {tuple(tensor.shape)})")
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not 0 <= sparsity <= 1:
        raise ValueError(f"sparse_: sparsity must be a number in [0, 1] (the fraction of zeros in each column), "
                         f"got {sparsity!r}")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with no_grad():
        tensor.normal_(0.0, std)
        if num_zeros > 0 and tensor.numel() > 0:
            # each column of ranks is a random permutation of 0 .. rows-1: zero the rows ranked below num_zeros
            ranks = _core.rand(rows, cols).argsort(dim=0).argsort(dim=0)  # (rows, cols)
            tensor.copy_(tensor.masked_fill(ranks < num_zeros, 0.0))
    return tensor


def _default_layer_init_(weight, bias):
    """PyTorch's reset_parameters for Linear and Conv: weight ~ kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range (0 when fan_in is 0)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
