"""pyseq.nn.functional's own layer: the argument checks of its wrappers (the fused ops behind them are
tested in test_nn_ops.py, linear's activation in test_matmul.py) and the poolings it builds from
other ops (adaptive_max_pool1d, global_max_pool1d)."""

import pytest

import pyseq
from helpers import _lib
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")


def test_layer_norm_errors():
    x = pyseq.randn(2, 3)
    with pytest.raises(ValueError, match=r"[\[(]4,?[\])].*[\[(]2, 3,?[\])]"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match=r"weight.*[\[(]3,?[\])].*[\[(]2,?[\])]"):
        F.layer_norm(x, (3,), pyseq.ones(2))


def test_cross_entropy_errors():
    x = pyseq.randn(4, 3)
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\).*\(3,\)"):
        F.cross_entropy(x, pyseq.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="3"):
        F.cross_entropy(x, pyseq.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"weight.*\(3,\).*\(2,\)"):
        F.cross_entropy(x, pyseq.tensor([0, 1, 2, 0]), weight=pyseq.ones(2))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, pyseq.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, pyseq.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="bool"):
        F.cross_entropy(x, pyseq.tensor([True, False, True, True]))
    with pytest.raises(ValueError, match=r"probability.*\(4, 3\).*\(4, 2\)"):
        F.cross_entropy(x, pyseq.rand(4, 2))


def test_conv1d_errors():
    x, w = pyseq.randn(2, 4, 7), pyseq.randn(6, 4, 3)
    with pytest.raises(ValueError, match=r"[\[(]6, 4, 3,?[\])].*groups=1.*4 channels.*[\[(]2, 3, 7,?[\])]"):
        F.conv1d(pyseq.randn(2, 3, 7), w)
    with pytest.raises(ValueError, match=r"bias.*[\[(]6,?[\])].*[\[(]5,?[\])]"):
        F.conv1d(x, w, pyseq.randn(5))
    with pytest.raises(ValueError, match="weight must be 3-D"):
        F.conv1d(x, pyseq.randn(6, 4))
    with pytest.raises(ValueError, match="positive"):
        F.conv1d(x, w, stride=0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        F.conv1d(x, w, padding=-1)
    with pytest.raises(ValueError, match="'full'"):
        F.conv1d(x, w, padding="full")
    with pytest.raises(ValueError, match="output length would be 0"):
        F.conv1d(pyseq.randn(2, 4, 2), w)


def test_max_pool1d_errors():
    x = pyseq.randn(2, 3, 5)
    with pytest.raises(ValueError, match="half of the kernel size"):
        F.max_pool1d(x, 2, padding=2)
    with pytest.raises(ValueError, match="output length would be 0"):
        F.max_pool1d(x, 6)
    with pytest.raises(ValueError, match="not supported"):
        F.max_pool1d(x, 2, ceil_mode=True)
    with pytest.raises(ValueError, match="3D"):
        F.max_pool1d(pyseq.randn(5), 2)


@pytest.mark.parametrize("out,L", [(1, 5), (2, 6), (3, 7), (5, 5)])
def test_adaptive_max_pool1d(op, out, L):
    op.check(lambda lib, x: _lib(lib).adaptive_max_pool1d(x, out), [(2, 3, L)])


def test_global_max_pool1d(op):
    # length 37: past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
    op.check(lambda lib, x: F.global_max_pool1d(x) if lib is pyseq else x.amax(-1), [(2, 3, 37)])
