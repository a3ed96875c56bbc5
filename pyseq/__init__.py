"""pyseq: a compact engine for sequence models.

Tensors, ops and reverse-mode autograd live in the C++ core (``pyseq._core``); this package is the
thin Python layer over it, with names that follow PyTorch where the concept is the same.
"""

from . import _core  # noqa: F401
from ._core import (  # noqa: F401  (re-exported API)
    Tensor, dtype, from_numpy, manual_seed, initial_seed, get_rng_state, set_rng_state,
    set_num_threads, get_num_threads,
    empty, zeros, ones, full, arange, eye, rand, randn, randint,
    add, sub, mul, true_divide, pow, neg, matmul, mm, eq, ne, lt, le, gt, ge, logical_not, bitwise_not,
    exp, log, sqrt, rsqrt, abs, sign, sin, cos, tanh, sigmoid, relu, leaky_relu, elu, gelu, clamp,
    log1p, expm1, erf, floor, ceil, round, trunc, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh,
    log2, log10, exp2, reciprocal, square, atan2, hypot, remainder, fmod, floor_divide,
    bitwise_and, bitwise_or, bitwise_xor,
    where, masked_fill, tril, triu,
    sum, mean, var, std, var_mean, logsumexp, norm, max, min, argmax, argmin, softmax, log_softmax,
    cat, stack, split, chunk, index_select, gather, scatter_add, embedding, one_hot,
    reshape, permute, squeeze, unsqueeze, transpose, flatten, narrow, select,
    is_grad_enabled, cpu_level, empty_cache, memory_stats,
)
from ._tensor import tensor  # noqa: F401
from ._core import topk, sort, cumsum  # noqa: F401
from ._composed import (  # noqa: F401
    argsort, flip, roll, repeat, unbind, movedim, isnan, isinf, isfinite, any, all, amax, amin, maximum, minimum,
    outer, count_nonzero, linspace, nonzero, masked_select, kthvalue, median, nan_to_num, squeeze,
    prod, cumprod, logcumsumexp, cummax, cummin, diff, nansum, nanmean, std_mean, xlogy, lerp, addcmul, addcdiv, logit,
    frac, deg2rad, rad2deg, div, logical_and, logical_or, logical_xor, logaddexp, isclose, allclose, equal,
    bmm, mv, dot, addmm, baddbmm, tensordot, kron, einsum, diagonal, diag, trace,
    tile, repeat_interleave, hstack, vstack, dstack, column_stack, tensor_split, unflatten, rot90, fliplr, flipud,
    meshgrid, cartesian_prod, triu_indices, tril_indices, unique, bincount, histc, searchsorted, bucketize,
    zeros_like, ones_like, empty_like, full_like, rand_like, randn_like, randint_like, randperm, bernoulli, multinomial,
    scatter, index_add, index_copy, index_fill, masked_scatter, where, sum, mean, is_tensor, numel, as_tensor,
    asarray, finfo, iinfo, get_default_dtype,
)
clip, absolute, negative, arctan2 = clamp, abs, neg, atan2
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401
from . import autograd  # noqa: F401
from . import data, io, nn, optim, train  # noqa: F401,E402
from .serialization import load, save  # noqa: F401,E402

bool = dtype.bool  # noqa: A001  (pyseq.bool, like torch.bool)
int64 = dtype.int64
float32 = dtype.float32
float64 = dtype.float64
long = int64
float = float32  # noqa: A001
double = float64

__version__ = "0.1.0"
