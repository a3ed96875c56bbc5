"""nn.init and the layers' default initialisation. pyseq's generator is not torch's, so values
cannot match; instead the gains and fans must equal torch's, and the drawn values must have
the right bounds and moments, and both pyseq's and torch's draws for the same layer must have
the quantiles of the distribution PyTorch documents."""

import math
from statistics import NormalDist

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.nn import init

torch = pytest.importorskip("torch")

QUANTILES = np.linspace(0.05, 0.95, 19)


@pytest.fixture(autouse=True)
def seeds():
    pyseq.manual_seed(0)
    torch.manual_seed(0)


def values(t):
    return t.detach().numpy().ravel().astype(np.float64)


def assert_uniform(ours, theirs, bound):
    """Both samples' quantiles are U(-bound, bound)'s, within 5 standard errors."""
    expected = -bound + 2 * bound * QUANTILES
    for t in (ours, theirs):
        v = values(t)
        np.testing.assert_allclose(np.quantile(v, QUANTILES), expected, atol=5 * bound / math.sqrt(v.size))


def assert_normal(ours, theirs, std):
    """Both samples' quantiles are N(0, std^2)'s, within ~5 standard errors."""
    expected = np.array([NormalDist(0, std).inv_cdf(q) for q in QUANTILES])
    for t in (ours, theirs):
        v = values(t)
        np.testing.assert_allclose(np.quantile(v, QUANTILES), expected, atol=11 * std / math.sqrt(v.size))


@pytest.mark.parametrize("name,param", [("linear", None), ("conv1d", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "a")


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (2, 3, 4, 5)])
def test_fans(shape):
    ours = init._calculate_fan_in_and_fan_out(pyseq.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions.*\(4,\)"):
        init._calculate_fan_in_and_fan_out(pyseq.empty(4))


def test_uniform_normal_constant():
    pyseq.manual_seed(0)
    t = nn.Parameter(pyseq.empty(200, 300))
    assert init.uniform_(t, -2.0, 3.0) is t
    v = values(t)
    assert v.min() >= -2.0 and v.max() <= 3.0 and v.min() < -1.99 and v.max() > 2.99
    assert abs(v.mean() - 0.5) < 0.02 and abs(v.var() - 25 / 12) < 0.03
    assert t.requires_grad and t.is_leaf and t.grad_fn is None  # filled without recording a graph
    init.normal_(t, 1.0, 0.5)
    v = values(t)
    assert abs(v.mean() - 1.0) < 0.01 and abs(v.std() - 0.5) < 0.01
    assert np.all(values(init.constant_(t, 0.25)) == 0.25)
    assert np.all(values(init.ones_(t)) == 1) and np.all(values(init.zeros_(t)) == 0)
    d = pyseq.empty(4, dtype=pyseq.float64)
    init.uniform_(d)
    assert d.dtype == pyseq.float64 and 0 <= values(d).min() and values(d).max() <= 1


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(shape, gain):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(pyseq.empty(*shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    ours, theirs = pyseq.empty(*shape), torch.empty(*shape)
    init.xavier_uniform_(ours, gain=gain)
    torch.nn.init.xavier_uniform_(theirs, gain=gain)
    v = values(ours)
    assert np.abs(v).max() <= bound and np.abs(v).max() > 0.99 * bound
    assert_uniform(ours, theirs, bound)
    init.xavier_normal_(ours, gain=gain)
    torch.nn.init.xavier_normal_(theirs, gain=gain)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    assert abs(values(ours).std() / std - 1) < 0.02
    assert_normal(ours, theirs, std)


@pytest.mark.parametrize("kw", [dict(), dict(a=math.sqrt(5)), dict(mode="fan_out"), dict(nonlinearity="relu"),
                                dict(a=0.1, mode="fan_out", nonlinearity="leaky_relu"), dict(nonlinearity="tanh")])
def test_kaiming(kw):
    shape = (256, 64, 3)
    fan = 64 * 3 if kw.get("mode", "fan_in") == "fan_in" else 256 * 3
    std = init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    ours, theirs = pyseq.empty(*shape), torch.empty(*shape)
    init.kaiming_uniform_(ours, **kw)
    torch.nn.init.kaiming_uniform_(theirs, **kw)
    v = values(ours)
    bound = math.sqrt(3.0) * std
    assert np.abs(v).max() <= bound * (1 + 1e-6) and np.abs(v).max() > 0.99 * bound
    assert_uniform(ours, theirs, bound)
    init.kaiming_normal_(ours, **kw)
    torch.nn.init.kaiming_normal_(theirs, **kw)
    assert abs(values(ours).std() / std - 1) < 0.02
    assert_normal(ours, theirs, std)


def test_kaiming_errors():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(pyseq.empty(3, 4), mode="fan_avg")


def test_linear_default_init_matches_torch_distribution():
    ours, theirs = nn.Linear(400, 300), torch.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) on (out, in) and the bias both give this
    for p, q in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        v = values(p)
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.95 * bound
        assert p.requires_grad and p.grad_fn is None
    assert abs(values(ours.weight).var() / (bound ** 2 / 3) - 1) < 0.03
    assert_uniform(ours.weight, theirs.weight, bound)
    assert_uniform(ours.bias, theirs.bias, bound)


@pytest.mark.parametrize("groups", [1, 4])
def test_conv1d_default_init_matches_torch_distribution(groups):
    ours, theirs = nn.Conv1d(64, 128, 5, groups=groups), torch.nn.Conv1d(64, 128, 5, groups=groups)
    bound = 1 / math.sqrt(64 // groups * 5)
    for p in (ours.weight, ours.bias):
        assert np.abs(values(p)).max() <= bound
    assert np.abs(values(ours.weight)).max() > 0.98 * bound
    assert_uniform(ours.weight, theirs.weight, bound)


def test_other_default_inits():
    emb = nn.Embedding(1000, 64, padding_idx=3)
    v = values(emb.weight)
    assert abs(v.mean()) < 0.02 and abs(v.std() - 1) < 0.02  # N(0, 1)
    assert_normal(nn.Embedding(1000, 64).weight, torch.nn.Embedding(1000, 64).weight, 1.0)
    assert np.all(emb.weight.detach().numpy()[3] == 0)
    ln, bn = nn.LayerNorm(5), nn.BatchNorm1d(5)
    for m in (ln, bn):
        assert np.all(values(m.weight) == 1) and np.all(values(m.bias) == 0)
    assert np.all(values(bn.running_mean) == 0) and np.all(values(bn.running_var) == 1)


def test_default_init_is_reproducible_under_manual_seed():
    pyseq.manual_seed(42)
    a = nn.Sequential(nn.Linear(3, 4), nn.Conv1d(2, 2, 3), nn.Embedding(5, 2))
    pyseq.manual_seed(42)
    b = nn.Sequential(nn.Linear(3, 4), nn.Conv1d(2, 2, 3), nn.Embedding(5, 2))
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=k)
    c = nn.Linear(3, 4)
    assert not np.array_equal(c.weight.detach().numpy(), a[0].weight.detach().numpy())
