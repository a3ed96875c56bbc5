"""Conv1d and 1-D pooling (max, adaptive/global max, k-max) for TextCNN-style models.
Conv1d, max_pool1d and kmax_pool1d are fused C++ kernels."""


from .. import _core
from . import functional as F
from . import init
from .module import Module, Parameter


def _single(value, name, arg):
    """An int or 1-tuple as a 1-tuple (PyTorch stores conv sizes as tuples: kernel_size=(3,))."""
    return (F._int_arg(value, name, arg),)


class Conv1d(Module):
    """1-D convolution over (N, C_in, L) (or unbatched (C_in, L)) -> (N, C_out, L_out).

    weight (out_channels, in_channels / groups, kernel_size), bias (out_channels,); both start as
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kernel_size, as in
    PyTorch. padding: an int, 'valid' or 'same'."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"Conv1d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _single(kernel_size, "Conv1d", "kernel_size")
        self.stride = _single(stride, "Conv1d", "stride")
        self.dilation = _single(dilation, "Conv1d", "dilation")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Conv1d: padding must be an int, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _single(padding, "Conv1d", "padding")
        _check_window("Conv1d", self.kernel_size[0], self.stride[0], self.dilation[0],
                      0 if isinstance(self.padding, str) else self.padding[0])
        self.padding_mode = padding_mode
        self.weight = Parameter(_core.empty(out_channels, in_channels // groups, self.kernel_size[0], dtype=dtype))
        if bias:
            self.bias = Parameter(_core.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):  # (N, C_in, L) -> (N, C_out, L_out)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        if self.padding_mode != "zeros" and padding != "valid":  # pad by the mode first, then convolve without
            if padding == "same":
                total = self.dilation[0] * (self.kernel_size[0] - 1)
                sides = (total // 2, total - total // 2)
            else:
                sides = (padding, padding)
            input, padding = F.pad(input, sides, mode=self.padding_mode), 0
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


def _check_window(layer, kernel_size, stride, dilation, padding):
    """A window a layer can slide: positive kernel size, stride and dilation, padding >= 0 (at
    construction, not at the first forward)."""
    if not (kernel_size >= 1 and stride >= 1 and dilation >= 1 and padding >= 0):
        raise ValueError(f"{layer}: kernel_size, stride and dilation must be positive and padding non-negative, got "
                         f"kernel_size={kernel_size}, stride={stride}, dilation={dilation}, padding={padding}")


class MaxPool1d(Module):
    """Max over windows of kernel_size along the last dim, every `stride` (default kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        _check_window("MaxPool1d", kernel_size, self.stride, dilation, padding)
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):  # (N, C, L) or (C, L) -> (..., L_out) (and the indices with return_indices)
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AdaptiveMaxPool1d(Module):
    """Max over `output_size` bins of the last dim: (N, C, L) -> (N, C, output_size).
    AdaptiveMaxPool1d(1) is max-over-time pooling (keeping a length-1 dim)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        if return_indices:
            raise ValueError("AdaptiveMaxPool1d: return_indices is not supported")
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AvgPool1d(Module):
    """Mean over windows of kernel_size along the last dim, every `stride` (default kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        if ceil_mode:
            raise ValueError("AvgPool1d: ceil_mode is not supported")
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # 1-tuples, as PyTorch keeps them
        self.kernel_size = one(kernel_size)
        self.stride = one(stride if stride is not None else kernel_size)
        self.padding, self.ceil_mode, self.count_include_pad = one(padding), ceil_mode, count_include_pad

    def forward(self, input):  # (N, C, L) or (C, L) -> (..., L_out)
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Mean over `output_size` bins of the last dim: (N, C, L) -> (N, C, output_size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class GlobalMaxPool1d(Module):
    """Max over time: (N, C, L) -> (N, C), the pooling of TextCNN."""

    def forward(self, input):
        return F.global_max_pool1d(input)


class KMaxPool1d(Module):
    """The k largest values along the last dim, in their original order: (N, C, L) -> (N, C, k)."""

    def __init__(self, k):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"KMaxPool1d: k must be a positive int, got {k!r}")
        self.k = k

    def forward(self, input):
        return F.kmax_pool1d(input, self.k)

    def extra_repr(self):
        return f"k={self.k}"
