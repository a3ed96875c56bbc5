"""Stateless layer and loss functions (torch.nn.functional's names and signatures).

Layer norm, softmax + cross-entropy, dropout, conv1d and the poolings are fused C++ kernels
(`pyseq._core`); the rest are short compositions of core ops, so autograd handles their
gradients. This file only checks arguments (with messages naming the shapes) and reshapes.
"""

import warnings

import numpy as np

from .. import _core
from .._core import Tensor
from ..autograd import no_grad

_REDUCTIONS = ("none", "mean", "sum")


def _shape(t):
    return tuple(t.shape)


def _check_tensor(t, name, arg="input"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {arg} must be a pyseq.Tensor, got {type(t).__name__}")


def _check_reduction(reduction, name, extra=()):
    if reduction not in _REDUCTIONS + tuple(extra):
        allowed = ", ".join(f"'{r}'" for r in _REDUCTIONS + tuple(extra))
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _int_arg(value, name, arg):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name}: {arg} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: {arg} must be an int, got {type(value).__name__}")
    return value


# --- linear, embedding ---

def linear(input, weight, bias=None, activation=None):
    """y = input @ weight.T + bias. input (*, in), weight (out, in), bias (out,) -> (*, out).

    pyseq's addition: activation None, "relu", "gelu" or "gelu_tanh" is applied by the matrix
    multiply itself (its epilogue, while the output is in cache) instead of by a second pass.
    """
    return _core.linear(input, weight, bias, activation or "none")  # one GEMM, onto the bias rows


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of weight (V, D) picked by int64 indices input (*) -> (*, D); padding_idx's row gets no
    gradient. max_norm: the rows picked are first scaled down in place (no gradient) to a norm_type
    norm of at most max_norm, as PyTorch's embedding_renorm_ (by max_norm / (norm + 1e-7)).
    scale_grad_by_freq and sparse (gradients) are PyTorch's, which pyseq does not have: False only."""
    if scale_grad_by_freq or sparse:
        raise ValueError("embedding: scale_grad_by_freq and sparse gradients are not supported (pass False)")
    if max_norm is not None:
        _check_tensor(input, "embedding")
        rows = _core.from_numpy(np.unique(input.detach().numpy()).astype(np.int64))
        with no_grad():
            picked = weight.index_select(0, rows)
            norms = picked.norm(norm_type, 1, keepdim=True)
            scale = _core.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            weight.index_copy_(0, rows, picked * scale)
    return _core.embedding(input, weight, padding_idx)


# --- normalisation ---

def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises over the trailing dims `normalized_shape` (fused C++ forward and backward):
    (x - mean) / sqrt(var + eps) * weight + bias, var biased."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return _core.layer_norm(input, list(normalized_shape), weight, bias, float(eps))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch norm over (N, C) or (N, C, L) input, per channel C.

    training: normalises with the batch's mean and biased variance and, when running stats are
    given, updates them in place: running = (1 - momentum) * running + momentum * batch (the
    variance term unbiased). Not training: normalises with running_mean / running_var."""
    _check_tensor(input, "batch_norm")
    if input.dim() not in (2, 3):
        raise ValueError(f"batch_norm: expected 2D (N, C) or 3D (N, C, L) input, got input of shape {_shape(input)}")
    C = input.shape[1]
    for t, what in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"), (bias, "bias")):
        if t is not None and _shape(t) != (C,):
            raise ValueError(f"batch_norm: {what} must have shape ({C},) for input of shape {_shape(input)}, "
                             f"got {_shape(t)}")
    dims = (0,) if input.dim() == 2 else (0, 2)
    stat_shape = (C,) if input.dim() == 2 else (C, 1)  # broadcasts against (N, C) or (N, C, L)
    if training:
        n = input.numel() // C
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                             f"{_shape(input)}")
        mean = input.mean(dims, keepdim=True)                 # (1, C) or (1, C, 1)
        var = input.var(dims, unbiased=False, keepdim=True)   # biased, as used for normalising
        if running_mean is not None and running_var is not None:
            with no_grad():
                running_mean.mul_(1.0 - momentum).add_(mean.detach().reshape(C) * momentum)
                running_var.mul_(1.0 - momentum).add_(var.detach().reshape(C) * (momentum * n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when not training")
        mean, var = running_mean.view(*stat_shape), running_var.view(*stat_shape)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.view(*stat_shape)
    if bias is not None:
        out = out + bias.view(*stat_shape)
    return out


# --- noise ---

def _check_p(p, name):
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability p and scales the rest by 1 / (1 - p) (fused C++);
    the identity when not training. `inplace` is accepted for compatibility; the result is new."""
    _check_tensor(input, "dropout")
    _check_p(p, "dropout")
    return _core.dropout(input, float(p), bool(training))


def gaussian_noise(input, std=0.1, training=True):
    """input + N(0, std^2) noise when training (for input or weight noise injection); the
    identity otherwise. Gradients flow to input unchanged."""
    _check_tensor(input, "gaussian_noise")
    if not isinstance(std, (int, float)) or isinstance(std, bool) or std < 0:
        raise ValueError(f"gaussian_noise: std must be a non-negative number, got {std!r}")
    if not training or std == 0:
        return input
    return input + _core.randn(*input.shape, dtype=input.dtype) * float(std)


# --- activations ---

def relu(input, inplace=False):
    return _core.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _core.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _core.elu(input, alpha)


def gelu(input, approximate="none"):
    return _core.gelu(input, approximate)


def tanh(input):
    return _core.tanh(input)


def sigmoid(input):
    return _core.sigmoid(input)


def silu(input, inplace=False):
    """x * sigmoid(x) (swish)."""
    return input * _core.sigmoid(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch), computed
    without overflow."""
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero")
    scaled = input * beta
    return _core.where(scaled > threshold, input, _softplus_neg(-scaled) / beta)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere (as PyTorch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return _core.where(input <= min_val, min_val, _core.where(input >= max_val, max_val, input))  # NaN stays


def _softmax_dim(input, dim, name):
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if input.dim() in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along dim; with dtype, computed in that dtype (input cast first)."""
    return _core.softmax(input if dtype is None else input.to(dtype), _softmax_dim(input, dim, "softmax"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _core.log_softmax(input if dtype is None else input.to(dtype), _softmax_dim(input, dim, "log_softmax"))


# --- convolution and pooling ---

def _check_conv_input(input, name):
    _check_tensor(input, name)
    if input.dim() not in (2, 3):
        raise ValueError(f"{name}: expected 2D (C, L) or 3D (N, C, L) input, got input of shape {_shape(input)}")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation (fused C++). input (N, C_in, L) or (C_in, L), weight
    (C_out, C_in / groups, K), bias (C_out,) -> (N, C_out, L_out) with
    L_out = (L + 2 * padding - dilation * (K - 1) - 1) // stride + 1.
    padding may be an int, 'valid' (0) or 'same' (stride 1; an odd total pads one more on the right)."""
    stride, dilation, groups = (_int_arg(v, "conv1d", a) for v, a in ((stride, "stride"), (dilation, "dilation"),
                                                                     (groups, "groups")))
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv1d: padding must be an int, 'valid' or 'same', got '{padding}'")
        if padding == "same" and stride != 1:
            raise ValueError("conv1d: padding='same' is not supported for strided convolutions")
        total = dilation * (weight.shape[-1] - 1) if padding == "same" and weight.dim() == 3 else 0
        padding = total // 2
        if total % 2:  # one extra zero on the right, as PyTorch does
            input = _core.cat([input, _core.zeros(*input.shape[:-1], 1, dtype=input.dtype)], -1)
    return _core.conv1d(input, weight, bias, stride, _int_arg(padding, "conv1d", "padding"), dilation, groups)


# --- attention ---

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, as torch.nn.functional's, by a fused C++ kernel
    whose memory grows linearly with the sequence length (neither pass builds the (Tq, Tk) matrix).

    query (..., Tq, d), key (..., Tk, d), value (..., Tk, dv), batch dims broadcast -> (..., Tq, dv).
    attn_mask: bool (True = may attend) or additive float, broadcast to (..., Tq, Tk). A float mask
    that requires grad (a learned bias such as ALiBi's) gets its gradient, as in PyTorch: it takes
    the plain path (attention_with_weights), whose memory grows with Tq * Tk. is_causal: query i
    attends keys j <= i (with attn_mask too, both apply). scale: 1 / sqrt(d) by default. dropout_p
    drops attention weights (pass 0.0 in evaluation, as PyTorch). enable_gqa: grouped-query
    attention, inputs (..., Hq, Tq, d) against keys and values of Hkv heads (Hq a multiple of Hkv),
    each key head serving Hq / Hkv consecutive query heads.
    Unlike PyTorch, a query row whose keys are all masked gives zeros, never NaN."""
    for t, arg in ((query, "query"), (key, "key"), (value, "value")):
        _check_tensor(t, "scaled_dot_product_attention", arg)
    if attn_mask is not None:
        _check_tensor(attn_mask, "scaled_dot_product_attention", "attn_mask")
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3 and value.dim() >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk == 0 or hv == 0 or hq % hk or hq % hv:
            raise ValueError(f"scaled_dot_product_attention: with enable_gqa, query heads ({hq}) must be a multiple "
                             f"of key and value heads ({hk}, {hv})")
        key, value = key.repeat_interleave(hq // hk, dim=-3), value.repeat_interleave(hq // hv, dim=-3)
    if attn_mask is not None and attn_mask.requires_grad and _core.is_grad_enabled():
        # the fused kernel gives the mask no gradient; the plain ops' autograd does (summed over broadcast dims)
        out, weights = attention_with_weights(query, key, value, attn_mask, is_causal, scale)
        return out if dropout_p == 0 else dropout(weights, dropout_p) @ value
    return _core.scaled_dot_product_attention(query, key, value, attn_mask, float(dropout_p), bool(is_causal),
                                              None if scale is None else float(scale))


def attention_with_weights(query, key, value, attn_mask=None, is_causal=False, scale=None):
    """The same attention without dropout by plain ops, returning (output, weights (..., Tq, Tk)):
    for inspecting or plotting what each query attends to. Memory grows with Tq * Tk."""
    return _core.attention_with_weights(query, key, value, attn_mask, bool(is_causal),
                                        None if scale is None else float(scale))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of the last dim (fused C++); padding counts as -inf.
    input (N, C, L) or (C, L) -> (..., L_out), L_out = (L + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    (rounded up with ceil_mode, as PyTorch: a last window that starts inside the input or its left
    padding). return_indices: also the position in the input of each maximum (made of core ops)."""
    kernel_size = _int_arg(kernel_size, "max_pool1d", "kernel_size")
    stride = kernel_size if stride is None or stride == () else _int_arg(stride, "max_pool1d", "stride")
    padding = _int_arg(padding, "max_pool1d", "padding")
    dilation = _int_arg(dilation, "max_pool1d", "dilation")
    if not (ceil_mode or return_indices):
        return _core.max_pool1d(input, kernel_size, stride, padding, dilation)
    _check_tensor(input, "max_pool1d")
    if input.dim() not in (2, 3) or kernel_size < 1 or stride < 1 or dilation < 1 or not 0 <= padding <= kernel_size // 2:
        raise ValueError(f"max_pool1d: expected (N, C, L) or (C, L) input, positive kernel_size, stride and dilation "
                         f"and 0 <= padding <= kernel_size / 2, got shape {_shape(input)}, kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    L, span = input.shape[-1], dilation * (kernel_size - 1) + 1
    n = L + 2 * padding - span
    if n < 0:
        raise ValueError(f"max_pool1d: the window ({span}) is longer than the padded input ({L + 2 * padding})")
    windows = (n + stride - 1) // stride + 1 if ceil_mode else n // stride + 1
    if ceil_mode and (windows - 1) * stride >= L + padding:
        windows -= 1  # the last window must start inside the input or its left padding
    starts = np.arange(windows) * stride - padding  # (windows,) in input coordinates
    positions = starts[:, None] + np.arange(kernel_size)[None, :] * dilation  # (windows, k)
    inside = (positions >= 0) & (positions < L)
    gathered = input.index_select(-1, _core.from_numpy(np.clip(positions, 0, L - 1).reshape(-1).astype(np.int64)))
    gathered = gathered.reshape(*input.shape[:-1], windows, kernel_size)
    gathered = _core.where(_core.from_numpy(inside), gathered, float("-inf"))
    values, arg = gathered.max(-1)
    if not return_indices:
        return values
    picked = _core.from_numpy(positions.astype(np.int64)).expand(*arg.shape, kernel_size).gather(-1, arg.unsqueeze(-1))
    return values, picked.squeeze(-1)


def kmax_pool1d(input, k):
    """The k largest values along the last dim, kept in their original order (fused C++):
    (..., L) -> (..., k). k-max pooling of TextCNN / DCNN."""
    _check_tensor(input, "kmax_pool1d")
    k = _int_arg(k, "kmax_pool1d", "k")
    if input.dim() == 0 or not 1 <= k <= input.shape[-1]:
        raise ValueError(f"kmax_pool1d: k must be between 1 and the last dim's size, got k={k} for input of "
                         f"shape {_shape(input)}")
    return _core.kmax_pool1d(input, k)


def global_max_pool1d(input):
    """Max over time: (N, C, L) -> (N, C), (C, L) -> (C,)."""
    _check_conv_input(input, "global_max_pool1d")
    return input.max(dim=-1).values


def _adaptive_pool1d(input, output_size, name, reduce):
    """reduce(t, keepdim) over output_size nearly equal bins of the last dim, bin i covering
    [floor(i * L / out), ceil((i + 1) * L / out)) as in PyTorch: (..., L) -> (..., output_size)."""
    _check_conv_input(input, name)
    out = _int_arg(output_size, name, "output_size")
    L = input.shape[-1]
    if out < 1:
        raise ValueError(f"{name}: output_size must be positive, got {out}")
    if L < 1:
        raise ValueError(f"{name}: input of shape {_shape(input)} has an empty last dim")
    if L % out == 0:  # equal bins: (..., out, L / out) -> reduced over the last dim
        return reduce(input.reshape(*_shape(input)[:-1], out, L // out), False)
    # unequal (overlapping) bins: one reduction per bin; `out` is small in practice
    bins = [reduce(input.narrow(-1, (i * L) // out, -(-((i + 1) * L) // out) - (i * L) // out), True)
            for i in range(out)]
    return _core.cat(bins, -1)


def adaptive_max_pool1d(input, output_size):
    """Max over output_size nearly equal bins of the last dim (see _adaptive_pool1d)."""
    return _adaptive_pool1d(input, output_size, "adaptive_max_pool1d",
                            lambda t, keepdim: t.max(dim=-1, keepdim=keepdim).values)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of the last dim: (N, C, L) or (C, L) -> (..., L_out), L_out =
    (L + 2 * padding - kernel_size) // stride + 1. Zero padding counts in the mean unless
    count_include_pad=False. A grouped conv1d with a constant kernel does the sums."""
    _check_conv_input(input, "avg_pool1d")
    if ceil_mode:
        raise ValueError("avg_pool1d: ceil_mode is not supported")
    k = _int_arg(kernel_size, "avg_pool1d", "kernel_size")
    stride = k if stride is None or stride == () else _int_arg(stride, "avg_pool1d", "stride")
    padding = _int_arg(padding, "avg_pool1d", "padding")
    if k < 1 or stride < 1 or not 0 <= padding <= k // 2:
        raise ValueError(f"avg_pool1d: expected kernel_size >= 1, stride >= 1 and 0 <= padding <= kernel_size // 2, "
                         f"got kernel_size={k}, stride={stride}, padding={padding}")
    C = input.shape[-2]
    sums = conv1d(input, _core.full((C, 1, k), 1.0, dtype=input.dtype), stride=stride, padding=padding, groups=C)
    if count_include_pad or padding == 0:
        return sums / k
    ones = _core.full((1, 1, input.shape[-1]), 1.0, dtype=input.dtype)
    counts = conv1d(ones, _core.full((1, 1, k), 1.0, dtype=input.dtype), stride=stride, padding=padding)
    return sums / counts.reshape(counts.shape[-1])


def adaptive_avg_pool1d(input, output_size):
    """Mean over output_size nearly equal bins of the last dim (adaptive_max_pool1d's bins)."""
    return _adaptive_pool1d(input, output_size, "adaptive_avg_pool1d", lambda t, keepdim: t.mean(-1, keepdim=keepdim))


# --- vectors, padding, labels ---

def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p along dim, eps)."""
    _check_tensor(input, "normalize")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along dim (they broadcast), each norm at least eps:
    sum((x1 / ||x1||) * (x2 / ||x2||)) as PyTorch computes it."""
    _check_tensor(x1, "cosine_similarity", "x1")
    _check_tensor(x2, "cosine_similarity", "x2")
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)


def pad(input, pad, mode="constant", value=0.0):
    """Pads the last len(pad) // 2 dims: pad = (left, right) for the last dim, then for the one
    before it, and so on. mode 'constant' (value; negative sizes crop), 'reflect' (mirrored
    without the edge, sizes below the dim's), 'replicate' (the edge repeated) or 'circular'
    (wrapped around, sizes up to the dim's)."""
    _check_tensor(input, "pad")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    pad = [int(v) for v in pad]
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise ValueError(f"pad: expected an even number of sizes for at most {input.dim()} dims, got {tuple(pad)} "
                         f"for input of shape {_shape(input)}")
    out = input
    for i in range(len(pad) // 2):
        d, (left, right) = out.dim() - 1 - i, pad[2 * i:2 * i + 2]
        size = out.shape[d]
        if size + left + right < 0:
            raise ValueError(f"pad: padding {tuple(pad)} leaves a negative size in dim {d} of input of shape "
                             f"{_shape(input)}")
        if mode != "constant":
            out = out.index_select(d, _core.from_numpy(_pad_positions(mode, size, left, right, pad, _shape(input))))
            continue
        out = out.narrow(d, max(-left, 0), size + min(left, 0) + min(right, 0))
        parts = []
        for n in (max(left, 0), max(right, 0)):
            shape = list(out.shape)
            shape[d] = n
            parts.append(_core.full(shape, value, dtype=out.dtype) if n else None)
        if parts[0] is not None or parts[1] is not None:
            out = _core.cat([t for t in (parts[0], out, parts[1]) if t is not None], d)
    return out


def _pad_positions(mode, size, left, right, pad, shape):
    """The source position of each element of a dim of `size` padded by (left, right)."""
    limit = size - 1 if mode == "reflect" else size if mode == "circular" else None
    if min(left, right) < 0 or size == 0 or (limit is not None and max(left, right) > limit):
        raise ValueError(f"pad: {mode} padding {tuple(pad)} needs non-negative sizes"
                         + (f" of at most {limit}" if limit is not None else "")
                         + f" for a dim of size {size} (input shape {shape})")
    positions = np.arange(-left, size + right)
    if mode == "reflect":
        positions = np.abs(positions)
        positions = np.where(positions >= size, 2 * (size - 1) - positions, positions)
    elif mode == "replicate":
        positions = positions.clip(0, size - 1)
    else:
        positions = positions % size
    return positions.astype(np.int64)


def one_hot(tensor, num_classes=-1):
    """int64 indices (*) -> (*, num_classes) int64 with a 1 at each index (num_classes -1: the max + 1)."""
    return _core.one_hot(tensor, num_classes)


# --- losses ---

def _class_layout(input, target, name):
    """(N, C) input and (N,) target from (C,) / (N, C) / (N, C, d1, ...) inputs, plus the shape of
    the per-element loss: (), (N,) or (N, d1, ...)."""
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    ishape, tshape = _shape(input), _shape(target)
    if input.dim() == 0:
        raise ValueError(f"{name}: input must have a class dim, got a 0-d input")
    if input.dim() == 1:
        expected = ()
    else:
        expected = (ishape[0],) + ishape[2:]
    if tshape != expected:
        raise ValueError(f"{name}: expected target of shape {expected} for input of shape {ishape} "
                         f"(input (N, C, d1, ...) takes target (N, d1, ...)), got target of shape {tshape}")
    C = ishape[0] if input.dim() == 1 else ishape[1]
    if input.dim() == 1:
        return input.unsqueeze(0), target.reshape(1), C, ()
    if input.dim() == 2:
        return input, target, C, tshape
    # (N, C, d1, ...) -> (N, d1, ..., C) -> (N * d1 * ..., C)
    perm = (0,) + tuple(range(2, input.dim())) + (1,)
    return input.permute(*perm).reshape(-1, C), target.reshape(-1), C, tshape


def _check_class_weight(weight, C, name):
    if weight is not None and _shape(weight) != (C,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({C},), got {_shape(weight)}")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax + negative log-likelihood in one fused C++ op, with PyTorch's semantics.

    input (N, C), (C,) or (N, C, d1, ...) logits. target: int64 class indices (N,) / () /
    (N, d1, ...), or float class probabilities of input's shape. weight (C,) rescales classes;
    'mean' over index targets divides by the summed weight of the non-ignored targets."""
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    _check_tensor(target, "cross_entropy", "target")
    if target.dtype.is_floating_point:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    if target.dtype != _core.dtype.int64:
        raise TypeError(f"cross_entropy: target must be int64 class indices or float probabilities, got {target.dtype}")
    x, t, C, loss_shape = _class_layout(input, target, "cross_entropy")
    _check_class_weight(weight, C, "cross_entropy")
    loss = _core.cross_entropy(x, t, weight, int(ignore_index), float(label_smoothing), reduction)
    return loss.reshape(*loss_shape) if reduction == "none" else loss


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    _check_tensor(input, "cross_entropy")
    if _shape(target) != _shape(input):
        raise ValueError(f"cross_entropy: probability targets must have the input's shape {_shape(input)}, "
                         f"got target of shape {_shape(target)} (class-index targets must be int64)")
    class_dim = 0 if input.dim() == 1 else 1
    C = input.shape[class_dim]
    _check_class_weight(weight, C, "cross_entropy")
    logp = _core.log_softmax(input, class_dim)
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / C
    if weight is not None:  # (C,) -> (C, 1, ..., 1) to broadcast over the dims after the class dim
        logp = logp * weight.reshape(C, *([1] * (input.dim() - class_dim - 1)))
    loss = -(logp * target).sum(class_dim)  # (N, d1, ...)
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[target] (input holds log-probabilities), weighted per class; layouts as cross_entropy.
    'mean' divides by the summed weight of the non-ignored targets."""
    _check_reduction(reduction, "nll_loss")
    x, t, C, loss_shape = _class_layout(input, target, "nll_loss")
    if t.dtype != _core.dtype.int64:
        raise TypeError(f"nll_loss: target must be int64 class indices, got {t.dtype}")
    _check_class_weight(weight, C, "nll_loss")
    targets = t.numpy()
    bad = (targets != ignore_index) & ((targets < 0) | (targets >= C))
    if bad.any():
        raise IndexError(f"nll_loss: target {int(targets[bad][0])} is out of range for {C} classes (expected 0 <= "
                         f"target < {C}, or ignore_index={ignore_index})")
    keep = t != ignore_index                                    # (M,) bool
    safe = _core.where(keep, t, 0)                              # ignored targets point at class 0
    picked = x.gather(1, safe.unsqueeze(1)).squeeze(1)          # (M,)
    w = weight.index_select(0, safe) if weight is not None else _core.ones(t.shape[0], dtype=x.dtype)
    w = _core.where(keep, w, 0.0)
    loss = -picked * w
    if reduction == "none":
        return loss.reshape(*loss_shape)
    if reduction == "sum":
        return loss.sum()
    total = w.sum()
    if total.item() == 0:  # every target ignored: the mean is 0 / 0 = NaN, as in PyTorch, with a zero gradient
        return loss.sum() * 0.0 + float("nan")
    return loss.sum() / total


def _check_same_shape(input, target, name):
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if _shape(target) != _shape(input):
        raise ValueError(f"{name}: target of shape {_shape(target)} must have the input's shape {_shape(input)}")


def _clamped_log(x):
    """max(log(x), -100) as PyTorch's BCE takes it; log(0) is never evaluated, so the gradient
    stays finite (zero) at x == 0."""
    pos = x > 0
    return _core.clamp(_core.where(pos, _core.where(pos, x, 1.0).log(), -100.0), -100.0, None)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t * log(x) + (1 - t) * log(1 - x)) for probabilities x, each log clamped to >= -100 as
    in PyTorch. weight broadcasts against the loss."""
    _check_reduction(reduction, "binary_cross_entropy")
    _check_same_shape(input, target, "binary_cross_entropy")
    if input.numel() and not (0 <= input.min().item() and input.max().item() <= 1):  # NaN fails too
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         f"(got values in [{input.min().item():.6g}, {input.max().item():.6g}]); "
                         "use binary_cross_entropy_with_logits for logits")
    loss = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _softplus_neg(x):
    """log(1 + exp(-x)) without overflow: relu(-x) + log(1 + exp(-|x|)), written with relu so
    that the gradient at x == 0 is exactly -1/2 (abs's subgradient 0 would lose it)."""
    r = _core.relu(-x)
    return r + ((-x - 2.0 * r).exp() + 1.0).log()


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy, numerically stable for any logit:
    (1 - t) * x + (1 + (pos_weight - 1) * t) * log(1 + exp(-x)). pos_weight broadcasts over the
    last (class) dim, weight over the loss."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    sp = _softplus_neg(input)
    if pos_weight is not None:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * sp
    else:
        loss = (1.0 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def sigmoid_focal_loss(input, target, alpha=0.25, gamma=2.0, reduction="none"):
    """Focal loss on logits (torchvision.ops.sigmoid_focal_loss): BCE-with-logits scaled by
    (1 - p_t)^gamma and, when alpha >= 0, by alpha_t = alpha * t + (1 - alpha) * (1 - t)."""
    _check_reduction(reduction, "sigmoid_focal_loss")
    _check_same_shape(input, target, "sigmoid_focal_loss")
    if gamma < 0:
        raise ValueError(f"sigmoid_focal_loss: gamma must be non-negative, got {gamma}")
    p = input.sigmoid()
    ce = binary_cross_entropy_with_logits(input, target, reduction="none")
    loss = ce
    if gamma != 0:
        p_t = p * target + (1.0 - p) * (1.0 - target)
        loss = ce * (1.0 - p_t) ** float(gamma)
    if alpha is not None and alpha >= 0:
        loss = (alpha * target + (1.0 - alpha) * (1.0 - target)) * loss
    return _reduce(loss, reduction)


def softmax_focal_loss(input, target, gamma=2.0, alpha=None, ignore_index=-100, reduction="mean"):
    """Multi-class focal loss: -alpha_t * (1 - p_t)^gamma * log(p_t) with p_t the softmax
    probability of the target class. Layouts as cross_entropy; alpha is None, a number, or a
    (C,) tensor of class weights. 'mean' averages over the non-ignored targets. gamma=0 and
    alpha=None give cross_entropy."""
    _check_reduction(reduction, "softmax_focal_loss")
    x, t, C, loss_shape = _class_layout(input, target, "softmax_focal_loss")
    if t.dtype != _core.dtype.int64:
        raise TypeError(f"softmax_focal_loss: target must be int64 class indices, got {t.dtype}")
    if gamma < 0:
        raise ValueError(f"softmax_focal_loss: gamma must be non-negative, got {gamma}")
    keep = t != ignore_index
    safe = _core.where(keep, t, 0)
    logp_t = _core.log_softmax(x, 1).gather(1, safe.unsqueeze(1)).squeeze(1)  # (M,)
    loss = -logp_t
    if gamma != 0:
        loss = loss * (1.0 - logp_t.exp()) ** float(gamma)
    if isinstance(alpha, Tensor):
        _check_class_weight(alpha, C, "softmax_focal_loss")
        loss = loss * alpha.index_select(0, safe)
    elif alpha is not None:
        loss = loss * float(alpha)
    loss = _core.where(keep, loss, 0.0)
    if reduction == "none":
        return loss.reshape(*loss_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum().to(loss.dtype)


def _warn_size(input, target, name):
    _check_tensor(input, name)
    _check_tensor(target, name, "target")
    if _shape(target) != _shape(input):
        warnings.warn(f"{name}: using a target size {_shape(target)} that is different to the input size "
                      f"{_shape(input)}. This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2."""
    _check_reduction(reduction, "mse_loss")
    _warn_size(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """|input - target|."""
    _check_reduction(reduction, "l1_loss")
    _warn_size(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 * d^2 / beta where |d| < beta, else |d| - 0.5 * beta (d = input - target); beta=0 is L1."""
    _check_reduction(reduction, "smooth_l1_loss")
    _warn_size(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = _core.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 * d^2 where |d| < delta, else delta * (|d| - 0.5 * delta)."""
    _check_reduction(reduction, "huber_loss")
    _warn_size(input, target, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - target
    a = d.abs()
    loss = _core.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence with input holding log-probabilities: target * (log(target) - input)
    (0 where target is 0), or exp(target) * (target - input) with log_target. 'batchmean'
    divides the sum by the batch size input.size(0) (the true KL per sample); 'mean' divides by
    the number of elements, as PyTorch does."""
    _check_reduction(reduction, "kl_div", extra=("batchmean",))
    _check_tensor(input, "kl_div")
    _check_tensor(target, "kl_div", "target")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target > 0
        t_log_t = _core.where(pos, target * _core.where(pos, target, 1.0).log(), 0.0)  # xlogy(t, t)
        loss = t_log_t - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() > 0 else 1)
    return _reduce(loss, reduction)


# --- more activations (PyTorch's formulas, made of core ops) ---

def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * (x if x > 0 else alpha * (e^x - 1)), with the self-normalising constants."""
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (e^(x / alpha) - 1)."""
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero")
    return _core.where(input > 0, input, alpha * (input / alpha).expm1())


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return input * softplus(input).tanh()


def softsign(input):
    return input / (input.abs() + 1.0)


def hardsigmoid(input, inplace=False):
    """0 below -3, 1 above 3, (x + 3) / 6 between (gradient 1/6 strictly inside)."""
    return hardtanh(input + 3.0, 0.0, 6.0) / 6.0


def hardswish(input, inplace=False):
    """x * hardsigmoid(x)."""
    return input * hardsigmoid(input)


def tanhshrink(input):
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    return _core.where(input > threshold, input, value)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return _core.where(input.abs() > lambd, input, 0.0)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    return _core.where(input > lambd, input - lambd, _core.where(input < -lambd, input + lambd, 0.0))


def logsigmoid(input):
    """log(sigmoid(x)) = -log(1 + e^-x), without overflow."""
    return -_softplus_neg(input)


def softmin(input, dim=None):
    return softmax(-input, _softmax_dim(input, dim, "softmin"))


def glu(input, dim=-1):
    """The gated linear unit: a * sigmoid(b), a and b the two halves of input along dim."""
    _check_tensor(input, "glu")
    if input.dim() == 0 or input.shape[dim] % 2:
        raise ValueError(f"glu: halving dim {dim} needs an even size, got shape {_shape(input)}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input, weight):
    """x where x > 0, weight * x elsewhere; weight (C,) applies along dim 1 (the channels), or one
    value to all."""
    _check_tensor(input, "prelu")
    _check_tensor(weight, "prelu", "weight")
    if weight.numel() != 1:
        channels = input.shape[1] if input.dim() >= 2 else (input.shape[0] if input.dim() == 1 else 1)
        if weight.dim() != 1 or weight.shape[0] != channels:
            raise ValueError(f"prelu: weight of shape {_shape(weight)} must have one value or one per channel "
                             f"({channels}) of input of shape {_shape(input)}")
        if input.dim() >= 2:
            weight = weight.reshape(-1, *([1] * (input.dim() - 2)))
    else:
        weight = weight.reshape(())
    return _core.where(input > 0, input, weight * input)  # (at 0 the gradient is weight's, as torch)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU whose negative slope is drawn uniformly from [lower, upper] per element in
    training, and is (lower + upper) / 2 in evaluation."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    slope = _core.rand(list(input.shape), dtype=input.dtype) * (upper - lower) + lower
    return _core.where(input >= 0, input, input * slope)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with Gumbel noise g = -log(E), E ~ Exp(1) (pyseq's generator);
    hard: the one-hot of its argmax in the forward pass, the soft sample's gradient (straight-through)."""
    _check_tensor(logits, "gumbel_softmax", "logits")
    noise = -(-(_core.rand(list(logits.shape), dtype=logits.dtype).clamp(min=1e-20)).log()).log()
    soft = softmax((logits + noise) / tau, dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    one_hot_hard = _core.zeros(list(soft.shape), dtype=soft.dtype).scatter_add(
        dim, index, _core.ones(list(index.shape), dtype=soft.dtype))
    return one_hot_hard - soft.detach() + soft


# --- more normalisation ---

def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the last len(normalized_shape) dims, times weight (as in
    Llama-style models); eps None: the dtype's machine epsilon, as PyTorch."""
    _check_tensor(input, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if _shape(input)[input.dim() - len(shape):] != shape or len(shape) > input.dim():
        raise ValueError(f"rms_norm: normalized_shape {shape} must match the last dims of input of shape "
                         f"{_shape(input)}")
    if eps is None:
        eps = 2.0 ** -23 if input.dtype == _core.dtype.float32 else 2.0 ** -52
    dims = list(range(input.dim() - len(shape), input.dim()))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalises each sample's channels in num_groups groups (over the group's channels and the
    positions), then applies the per-channel weight and bias. input (N, C, *)."""
    _check_tensor(input, "group_norm")
    if input.dim() < 2 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: input (N, C, *) with C divisible by num_groups ({num_groups}), got shape "
                         f"{_shape(input)}")
    N, C = input.shape[0], input.shape[1]
    x = input.reshape(N, num_groups, -1)
    var, mean = _core.var_mean(x, 2, correction=0, keepdim=True)
    out = ((x - mean) * (var + eps).rsqrt()).reshape(*input.shape)
    channel = [1, C] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(*channel)
    if bias is not None:
        out = out + bias.reshape(*channel)
    return out


# --- distances ---

def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps along the last dim."""
    _check_tensor(x1, "pairwise_distance", "x1")
    _check_tensor(x2, "pairwise_distance", "x2")
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


# --- more losses (PyTorch's formulas) ---

def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin), target 1 or -1."""
    _check_reduction(reduction, "margin_ranking_loss")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """input where target is 1, max(0, margin - input) where it is -1."""
    _check_reduction(reduction, "hinge_embedding_loss")
    loss = _core.where(target != 1, (margin - input).clamp(min=0), 0.0) + _core.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, reduction="mean"):
    """log(1 + exp(-target * input)), target 1 or -1."""
    _check_reduction(reduction, "soft_margin_loss")
    return _reduce(_softplus_neg(target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """Per sample, the mean over classes of -(t log sigmoid(x) + (1 - t) log sigmoid(-x)), each class
    scaled by weight. input, target (N, C)."""
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    loss = target * _softplus_neg(input) + (1 - target) * _softplus_neg(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.mean(-1), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Per sample, sum over classes j != y of max(0, margin - x[y] + x[j])^p / C, scaled by
    weight[y]. input (N, C) or (C,), target int64 (N,) or ()."""
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    x = input.reshape(1, -1) if input.dim() == 1 else input
    y = target.reshape(-1, 1)
    C = x.shape[1]
    correct = x.gather(1, y)
    terms = (margin - correct + x).clamp(min=0) ** p
    if weight is not None:
        terms = terms * weight.index_select(0, y.reshape(-1)).reshape(-1, 1)
    not_target = _core.arange(C).reshape(1, C) != y
    loss = (terms * not_target).sum(1) / C
    return _reduce(loss if input.dim() > 1 else loss.reshape(()), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (cosine along
    the last dim, as PyTorch computes it: products over sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)))."""
    _check_reduction(reduction, "cosine_embedding_loss")
    eps = 1e-12
    cos = (input1 * input2).sum(-1) / (((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)).sqrt()
    loss = _core.where(target == 1, 1 - cos, 0.0) + _core.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the pairwise p-distance; swap
    takes the smaller of d(anchor, negative) and d(positive, negative)."""
    _check_reduction(reduction, "triplet_margin_loss")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _core.where(d_neg > (d_swap := pairwise_distance(positive, negative, p, eps)), d_swap, d_neg)
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """exp(x) - t x with log_input, else x - t log(x + eps); full adds Stirling's t log t - t +
    log(2 pi t) / 2 where t > 1."""
    _check_reduction(reduction, "poisson_nll_loss")
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        t = _core.where(target > 1, target, 1.0)
        stirling = t * t.log() - t + 0.5 * (2 * 3.141592653589793 * t).log()
        loss = loss + _core.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log(var) + (input - target)^2 / var) / 2 (+ log(2 pi) / 2 with full). var has input's shape,
    or one dim less / a last dim of 1 (one variance per sample); values below eps are raised to eps
    without a gradient, as PyTorch."""
    _check_reduction(reduction, "gaussian_nll_loss")
    if var.dim() == input.dim() - 1 and _shape(var) == _shape(input)[:-1]:
        var = var.unsqueeze(-1)
    if _shape(var) != _shape(input) and not (var.dim() == input.dim() and _shape(var)[:-1] == _shape(input)[:-1]
                                             and var.shape[-1] == 1):
        raise ValueError(f"gaussian_nll_loss: var of shape {_shape(var)} does not fit input of shape {_shape(input)}")
    if var.numel() and var.min().item() < 0:
        raise ValueError("gaussian_nll_loss: var has negative entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())  # clamped values, the identity's gradient
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * 1.8378770664093453  # log(2 pi)
    return _reduce(loss, reduction)


_CTC_NEG = -1e30  # log(0) for the CTC recursion: finite, so logsumexp's gradient stays defined


def _int64_array(values):
    """Ints as a numpy int64 array, from a tensor, a sequence or an array."""
    return np.asarray(values.tolist() if isinstance(values, Tensor) else values, dtype=np.int64)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification (Graves et al. 2006), as torch.nn.functional.ctc_loss:
    -log of the total probability of the alignments of each target (labels with blanks between and
    around, repeats only across a blank) under log_probs (T, N, C) (or (T, C) unbatched). targets
    (N, S) padded or 1-d concatenated; lengths int sequences or int64 tensors. The forward (alpha)
    recursion runs in log space over time, batched over samples and target positions; autograd
    gives the gradient (the true one w.r.t. log_probs; PyTorch's kernel returns it plus exp(log_probs),
    which is the same once it flows back through a log_softmax). 'mean' divides each loss by its
    target length, then averages."""
    _check_reduction(reduction, "ctc_loss")
    _check_tensor(log_probs, "ctc_loss", "log_probs")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.dim() != 3:
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {_shape(log_probs)}")
    T, N, C = log_probs.shape
    in_len, tgt_len = (_int64_array(v).reshape(-1) for v in (input_lengths, target_lengths))
    tgt = _int64_array(targets)
    if len(in_len) != N or len(tgt_len) != N:
        raise ValueError(f"ctc_loss: expected {N} input and target lengths, got {len(in_len)} and {len(tgt_len)}")
    if (in_len < 0).any() or (in_len > T).any() or (tgt_len < 0).any():
        raise ValueError(f"ctc_loss: input lengths must be in [0, {T}] and target lengths non-negative")
    if tgt.ndim == 2 and tgt.shape[0] == N and not unbatched:
        rows = [tgt[b, :tgt_len[b]] for b in range(N)]
        if (tgt_len > tgt.shape[1]).any():
            raise ValueError(f"ctc_loss: target lengths exceed the padded targets' width {tgt.shape[1]}")
    else:
        flat = tgt.reshape(-1)
        if tgt_len.sum() > len(flat):
            raise ValueError(f"ctc_loss: target lengths sum to {tgt_len.sum()}, more than the {len(flat)} targets")
        rows = np.split(flat[:tgt_len.sum()], np.cumsum(tgt_len)[:-1])
    if any(((r < 0) | (r >= C) | (r == blank)).any() for r in rows) or not 0 <= blank < C:
        raise ValueError(f"ctc_loss: targets must be class ids in [0, {C}) other than blank ({blank})")
    S = 2 * int(tgt_len.max(initial=0)) + 1  # blank, l1, blank, l2, ..., blank
    labels = np.full((N, S), blank, dtype=np.int64)
    can_skip = np.zeros((N, S), dtype=bool)  # s may come from s - 2: a label unlike the one two back
    for b, r in enumerate(rows):
        labels[b, 1:2 * len(r):2] = r
        can_skip[b, 3:2 * len(r):2] = r[1:] != r[:-1]
    index = _core.from_numpy(labels).reshape(1, N, S).expand(T, N, S)
    emit = log_probs.gather(2, index)  # (T, N, S): log p of each extended label at each step
    skip = _core.from_numpy(can_skip)
    alive = _core.from_numpy(np.arange(S)[None, :] < 2 * tgt_len[:, None] + 1)
    start = np.full((N, S), _CTC_NEG)
    start[:, 0] = 0.0
    if S > 1:
        start[:, 1] = np.where(tgt_len > 0, 0.0, _CTC_NEG)
    alpha = _core.from_numpy(start).to(log_probs.dtype) + emit[0] * _core.from_numpy(in_len > 0).reshape(N, 1)
    neg = _core.full([N, 1], _CTC_NEG, dtype=log_probs.dtype)
    for t in range(1, T):
        from_prev = _core.cat([neg, alpha.narrow(1, 0, S - 1)], 1)
        from_skip = _core.where(skip, _core.cat([neg, neg, alpha.narrow(1, 0, S - 2)], 1) if S > 2 else neg, _CTC_NEG)
        step = _core.stack([alpha, from_prev, from_skip], 0).logsumexp(0) + emit[t]
        step = _core.where(alive, step, _CTC_NEG)
        running = _core.from_numpy((t < in_len).reshape(N, 1))
        alpha = _core.where(running, step, alpha)  # a finished sequence keeps its last step
    last = _core.from_numpy(np.stack([2 * tgt_len, np.maximum(2 * tgt_len - 1, 0)], 1))
    ends = alpha.gather(1, last)
    ends = _core.where(_core.from_numpy(np.stack([tgt_len >= 0, tgt_len > 0], 1)), ends, _CTC_NEG)
    loss = -ends.logsumexp(1)
    impossible = (loss > -_CTC_NEG / 2) + _core.from_numpy(in_len == 0) * _core.from_numpy(tgt_len > 0)
    loss = _core.where(impossible, 0.0 if zero_infinity else float("inf"), loss)
    if unbatched:
        loss = loss.reshape(())
    if reduction == "mean":
        return (loss / _core.from_numpy(np.maximum(tgt_len, 1)).to(loss.dtype).reshape(_shape(loss))).mean()
    return _reduce(loss, reduction)


def embedding_bag(input, weight, offsets=None, mode="mean", per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """The sum, mean or max of the embeddings in each bag: bags are the rows of a 2-d input, or the
    runs of a 1-d input that start at offsets. per_sample_weights (input's shape) scale each
    embedding (mode 'sum' only); entries equal to padding_idx are left out; an empty bag gives zeros."""
    _check_tensor(input, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError("embedding_bag: per_sample_weights is only supported with mode='sum'")
    ids = _int64_array(input)
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None for a 2-d input (each row is a bag)")
        starts = np.arange(ids.shape[0]) * ids.shape[1]
        ids = ids.reshape(-1)
    elif ids.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: a 1-d input needs offsets (where each bag starts)")
        starts = _int64_array(offsets).reshape(-1)
        if include_last_offset:
            starts = starts[:-1]
        if len(starts) and (starts[0] != 0 or (np.diff(starts) < 0).any() or starts[-1] > len(ids)):
            raise ValueError(f"embedding_bag: offsets must start at 0 and rise to at most {len(ids)}, got "
                             f"{starts.tolist()}")
    else:
        raise ValueError(f"embedding_bag: input must be 1-d or 2-d, got shape {_shape(input)}")
    ends = np.append(starts[1:], len(ids)).astype(np.int64)
    counts = ends - starts
    width = int(counts.max(initial=0))
    # (bags, width) positions into ids, and which of them hold a real (non-padding) entry
    positions = starts[:, None] + np.arange(width)[None, :]
    real = np.arange(width)[None, :] < counts[:, None]
    positions = np.where(real, positions, 0)
    if padding_idx is not None:
        real &= ids[positions] != padding_idx % weight.shape[0]
    rows = embedding(_core.from_numpy(ids[positions]), weight)  # (bags, width, D)
    if per_sample_weights is not None:
        flat_weights = per_sample_weights.reshape(-1)
        rows = rows * flat_weights.index_select(0, _core.from_numpy(positions.reshape(-1))).reshape(*positions.shape, 1)
    keep = _core.from_numpy(real).unsqueeze(-1)
    if mode == "max":
        best = _core.where(keep, rows, float("-inf")).max(1).values if width else rows.sum(1)
        return _core.where(_core.from_numpy(real.any(1)).unsqueeze(-1), best, 0.0)
    total = (rows * keep).sum(1)
    if mode == "sum":
        return total
    return total / _core.from_numpy(np.maximum(real.sum(1), 1)).to(total.dtype).unsqueeze(-1)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels: each (sample, channel) of input (N, C, L) or (C, L) with probability p,
    the others scaled by 1 / (1 - p), in training."""
    _check_p(p, "dropout1d")
    _check_tensor(input, "dropout1d")
    if input.dim() not in (2, 3):
        raise ValueError(f"dropout1d: expected (N, C, L) or (C, L) input, got shape {_shape(input)}")
    if not training or p == 0:
        return input
    keep = (_core.rand([*input.shape[:-1], 1], dtype=input.dtype) >= p).to(input.dtype)
    return input * keep / (1 - p) if p < 1 else input * 0.0


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resamples the last dim of (N, C, L) input to `size` or L * scale_factor positions: mode
    'nearest' (source floor(i * scale)), 'nearest-exact' (floor((i + 0.5) * scale)) or 'linear'
    (between the two nearest sources; align_corners maps the end points onto each other), with
    PyTorch's source positions; made of index_select and lerp, so the gradient flows."""
    _check_tensor(input, "interpolate")
    if input.dim() != 3:
        raise ValueError(f"interpolate: only (N, C, L) input (1-d resampling) is supported, got shape {_shape(input)}")
    if mode not in ("nearest", "nearest-exact", "linear"):
        raise ValueError(f"interpolate: mode must be 'nearest', 'nearest-exact' or 'linear' for 1-d input, got {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if align_corners is not None and mode != "linear":
        raise ValueError("interpolate: align_corners only applies to mode='linear'")
    L = input.shape[-1]
    if size is not None:
        out = size[0] if isinstance(size, (tuple, list)) else int(size)
        scale = L / out if out > 0 else 0.0
    else:
        factor = scale_factor[0] if isinstance(scale_factor, (tuple, list)) else float(scale_factor)
        out = int(np.floor(L * factor))
        scale = L / out if recompute_scale_factor and out > 0 else 1.0 / factor
    if out <= 0 or L == 0:
        raise ValueError(f"interpolate: the output length must be positive, got {out} from input length {L}")
    i = np.arange(out, dtype=np.float64)
    if mode != "linear":
        source = np.floor((i + 0.5) * scale if mode == "nearest-exact" else i * np.float32(scale)).astype(np.int64)
        return input.index_select(2, _core.from_numpy(np.minimum(source, L - 1)))
    if align_corners:
        source = i * ((L - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        source = np.maximum((i + 0.5) * scale - 0.5, 0.0)
    left = np.minimum(np.floor(source).astype(np.int64), L - 1)
    right = np.minimum(left + 1, L - 1)
    weight = _core.from_numpy((source - left).astype(np.float64)).to(input.dtype)
    a = input.index_select(2, _core.from_numpy(left))
    b = input.index_select(2, _core.from_numpy(right))
    return a + (b - a) * weight

