"""Activation modules: each wraps the function of the same name in nn.functional."""

from .. import _core
from ..autograd import no_grad
from . import functional as F
from .module import Module, Parameter


class ReLU(Module):
    """max(0, x). `inplace` is accepted for compatibility; the result is a new tensor."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x where x >= 0, negative_slope * x elsewhere."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x * Phi(x) (approximate='none', erf) or its tanh approximation (approximate='tanh')."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear above threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim` (dim=None picks PyTorch's legacy implicit dim, with a warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, computed stably."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class _Elementwise(Module):
    """An activation with no state but its options: forward calls F.<fn>(input, *options)."""

    _fn = None
    _options = ()

    def __init__(self, inplace=False):  # (inplace accepted for PyTorch's sake: results are new tensors)
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, *(getattr(self, name) for name in self._options))

    def extra_repr(self):
        options = [f"{name}={getattr(self, name)}" for name in self._options]
        return ", ".join(options + (["inplace=True"] if getattr(self, "inplace", False) else []))


class ReLU6(_Elementwise):
    """min(max(0, x), 6)."""
    _fn = staticmethod(F.relu6)


class SELU(_Elementwise):
    """scale * elu(x, alpha), the self-normalising constants."""
    _fn = staticmethod(F.selu)


class CELU(_Elementwise):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    _fn, _options = staticmethod(F.celu), ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = alpha


class Mish(_Elementwise):
    """x * tanh(softplus(x))."""
    _fn = staticmethod(F.mish)


class Hardsigmoid(_Elementwise):
    _fn = staticmethod(F.hardsigmoid)


class Hardswish(_Elementwise):
    _fn = staticmethod(F.hardswish)


class Softsign(_Elementwise):
    """x / (1 + |x|)."""
    _fn = staticmethod(F.softsign)


class Tanhshrink(_Elementwise):
    """x - tanh(x)."""
    _fn = staticmethod(F.tanhshrink)


class LogSigmoid(_Elementwise):
    """log(sigmoid(x)), stable for any x."""
    _fn = staticmethod(F.logsigmoid)


class Threshold(_Elementwise):
    """x where x > threshold, else value."""
    _fn, _options = staticmethod(F.threshold), ("threshold", "value")

    def __init__(self, threshold, value, inplace=False):
        super().__init__(inplace)
        self.threshold, self.value = threshold, value


class Hardshrink(_Elementwise):
    _fn, _options = staticmethod(F.hardshrink), ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(_Elementwise):
    _fn, _options = staticmethod(F.softshrink), ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class GLU(_Elementwise):
    """a * sigmoid(b), a and b the halves of input along dim."""
    _fn, _options = staticmethod(F.glu), ("dim",)

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim


class Softmin(_Elementwise):
    """softmax(-x) along dim."""
    _fn, _options = staticmethod(F.softmin), ("dim",)

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim


class RReLU(Module):
    """Leaky ReLU with a random slope in [lower, upper] per element in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}"


class PReLU(Module):
    """x where x >= 0, a * x elsewhere, with a learned slope a (one, or one per channel: dim 1),
    starting at init."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(_core.full([num_parameters], init, dtype=dtype or _core.dtype.float32))

    def reset_parameters(self):
        with no_grad():
            self.weight.fill_(self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
