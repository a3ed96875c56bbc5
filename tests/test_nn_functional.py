"""pyseq.nn.functional's own layer: the argument checks of its wrappers (the fused ops behind them are
tested in test_nn_ops.py, linear's activation in test_matmul.py) and the poolings it builds from
other ops (adaptive_max_pool1d, global_max_pool1d, avg_pool1d, adaptive_avg_pool1d, silu, softplus,
hardtanh, normalize, cosine_similarity, pad, one_hot), each against torch.nn.functional."""

import numpy as np
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
    with pytest.raises(ValueError, match="padding <= kernel_size / 2"):
        F.max_pool1d(x, 2, padding=2, ceil_mode=True)
    with pytest.raises(ValueError, match="longer than the padded input"):
        F.max_pool1d(x, 6, return_indices=True)
    with pytest.raises(ValueError, match="3D"):
        F.max_pool1d(pyseq.randn(5), 2)


@pytest.mark.parametrize("out,L", [(1, 5), (2, 6), (3, 7), (5, 5)])
def test_adaptive_max_pool1d(op, out, L):
    op.check(lambda lib, x: _lib(lib).adaptive_max_pool1d(x, out), [(2, 3, L)])


def test_global_max_pool1d(op):
    # length 37: past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
    op.check(lambda lib, x: F.global_max_pool1d(x) if lib is pyseq else x.amax(-1), [(2, 3, 37)])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2), dict(kernel_size=3, padding=1),
                                dict(kernel_size=4, stride=1, padding=2),
                                dict(kernel_size=5, stride=2, padding=2, count_include_pad=False)])
def test_avg_pool1d(op, kw):
    op.check(lambda lib, x: _lib(lib).avg_pool1d(x, **kw), [(2, 3, 9)])
    op.check(lambda lib, x: _lib(lib).avg_pool1d(x, **kw), [(3, 9)])  # unbatched


@pytest.mark.parametrize("out,L", [(1, 5), (2, 6), (3, 7), (5, 5)])
def test_adaptive_avg_pool1d(op, out, L):
    op.check(lambda lib, x: _lib(lib).adaptive_avg_pool1d(x, out), [(2, 3, L)])


def test_avg_pool1d_errors():
    x = pyseq.randn(2, 3, 8)
    with pytest.raises(ValueError, match="padding <= kernel_size // 2.*padding=2"):
        F.avg_pool1d(x, 2, padding=2)
    with pytest.raises(ValueError, match="not supported"):
        F.avg_pool1d(x, 2, ceil_mode=True)
    with pytest.raises(ValueError, match="output_size must be positive"):
        F.adaptive_avg_pool1d(x, 0)


# Activations composed of core ops; the inputs include values past softplus's threshold (25 with
# beta 1, 5 with beta 2) and hardtanh's bounds.
@pytest.mark.parametrize("name,args", [("silu", ()), ("softplus", (1.0, 20.0)), ("softplus", (2.0, 2.5)),
                                       ("hardtanh", (-1.0, 1.0)), ("hardtanh", (-0.5, 0.7))])
def test_composed_activations(op, name, args):
    op.check(lambda lib, x: getattr(_lib(lib), name)(x, *args), [(4, 7)], low=-3.0, high=3.0)
    big = pyseq.tensor([-200.0, 25.0, 200.0])
    np.testing.assert_allclose(getattr(F, name)(big, *args).numpy(),
                               getattr(torch.nn.functional, name)(torch.tensor([-200.0, 25.0, 200.0]), *args).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize(op, p, dim):
    op.check(lambda lib, x: _lib(lib).normalize(x, p, dim), [(3, 5)])


@pytest.mark.parametrize("shapes,dim", [([(4, 6), (4, 6)], 1), ([(3, 1, 5), (1, 4, 5)], -1), ([(5, 2), (5, 2)], 0)])
def test_cosine_similarity(op, shapes, dim):
    op.check(lambda lib, a, b: _lib(lib).cosine_similarity(a, b, dim), shapes)


def test_cosine_similarity_of_a_zero_vector_is_zero():
    a, b = np.zeros((2, 3)), np.ones((2, 3))
    ours = F.cosine_similarity(pyseq.tensor(a), pyseq.tensor(b))
    np.testing.assert_array_equal(ours.numpy(), torch.nn.functional.cosine_similarity(torch.tensor(a), torch.tensor(b)))


@pytest.mark.parametrize("pad", [(1, 2), (0, 0), (-1, 2), (2, -3), (1, 1, 2, 0), (1, 0, -1, 1, 1, 1)])
def test_pad(op, pad):
    op.check(lambda lib, x: _lib(lib).pad(x, pad, value=0.5), [(2, 3, 7)])


def test_pad_errors():
    x = pyseq.ones(2, 3)
    with pytest.raises(ValueError, match=r"even number.*\(1,\)"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="negative size in dim 1"):
        F.pad(x, (-2, -2))


def test_one_hot():
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    for n in (-1, 6):
        np.testing.assert_array_equal(F.one_hot(pyseq.tensor(idx), n).numpy(),
                                      torch.nn.functional.one_hot(torch.tensor(idx), n).numpy())
