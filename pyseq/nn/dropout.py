"""Dropout and Gaussian noise: random regularisers, active only in training mode."""

from . import functional as F
from .module import Module


class Dropout(Module):
    """Zeroes each element with probability p and scales the others by 1 / (1 - p) in training
    (fused C++, pyseq's seeded generator); the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        F._check_p(p, "Dropout")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class GaussianNoise(Module):
    """Adds N(0, std^2) noise in training mode; the identity in eval mode.

    For input noise put it in front of a layer; for weight noise apply it to the weight inside a
    forward, e.g. `F.linear(x, self.noise(self.weight), self.bias)`: the gradient reaches the
    weight unchanged."""

    def __init__(self, std=0.1):
        super().__init__()
        if not isinstance(std, (int, float)) or isinstance(std, bool) or std < 0:
            raise ValueError(f"GaussianNoise: std must be a non-negative number, got {std!r}")
        self.std = std

    def forward(self, input):
        return F.gaussian_noise(input, self.std, self.training)

    def extra_repr(self):
        return f"std={self.std}"


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) / (C, L) input with probability p in training (F.dropout1d)."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training)
