"""LayerNorm (fused C++ kernel) and BatchNorm1d (running statistics, train vs eval)."""

from .. import _core
from ..autograd import no_grad
from . import functional as F
from . import init
from .module import Module, Parameter


class LayerNorm(Module):
    """Normalises over the trailing dims `normalized_shape`: (x - mean) / sqrt(var + eps) *
    weight + bias, with weight (ones) and bias (zeros) of shape normalized_shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_core.empty(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(_core.empty(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class BatchNorm1d(Module):
    """Batch normalisation per channel of (N, C) or (N, C, L) input.

    Training: normalises with the batch statistics and updates running_mean / running_var
    (running = (1 - momentum) * running + momentum * batch, the variance unbiased; momentum=None
    gives a cumulative average) and num_batches_tracked. Eval: normalises with the running
    statistics. Without track_running_stats it always uses batch statistics."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_core.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(_core.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _core.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", _core.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _core.zeros((), dtype=_core.dtype.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):  # (N, C) or (N, C, L) -> same shape
        if not input.dtype.is_floating_point:
            raise TypeError(f"BatchNorm1d: expected a floating input (float32 or float64), got {input.dtype}")
        if input.dim() not in (2, 3) or input.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected 2D (N, {self.num_features}) or 3D (N, {self.num_features}, L) "
                             f"input, got input of shape {tuple(input.shape)}")
        if self.training and input.numel() // self.num_features <= 1:
            raise ValueError(f"BatchNorm1d: expected more than 1 value per channel when training, got input of "
                             f"shape {tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or self.running_mean is None
        # Running stats are updated only when training with tracking; in eval they are read.
        update = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if update else None, self.running_var if update else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims normalized_shape (no centring, no
    bias), as Llama-style models use it; eps None: the dtype's machine epsilon."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_core.ones(list(self.normalized_shape), dtype=dtype or _core.dtype.float32))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalises the channels of each sample in num_groups groups, then a per-channel affine
    (weight ones, bias zeros). input (N, C, *)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = dtype or _core.dtype.float32
        weight = Parameter(_core.ones([num_channels], dtype=dtype)) if affine else None
        bias = Parameter(_core.zeros([num_channels], dtype=dtype)) if affine and bias else None
        self.register_parameter("weight", weight)
        self.register_parameter("bias", bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
