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


# --- orthogonal_, trunc_normal_, eye_, dirac_, sparse_ ---

def _both(shape, fn, *args, dtype=np.float32, **kwargs):
    """fn applied to an empty pyseq parameter and an empty torch tensor of `shape`: (ours, theirs)."""
    ours = nn.Parameter(pyseq.empty(*shape, dtype=pyseq.float64 if dtype == np.float64 else pyseq.float32))
    theirs = torch.empty(*shape, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    assert getattr(init, fn)(ours, *args, **kwargs) is ours
    getattr(torch.nn.init, fn)(theirs, *args, **kwargs)
    assert ours.requires_grad and ours.is_leaf and ours.grad_fn is None  # filled without recording a graph
    return ours, theirs


def _matrix(t):
    a = t.detach().numpy().astype(np.float64)
    return a.reshape(a.shape[0], -1)


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (8, 3), (4, 2, 3), (6, 2, 2, 2), (1, 4)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal(shape, gain, dtype):
    ours, theirs = _both(shape, "orthogonal_", gain=gain, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for t in (ours, theirs):
        w = _matrix(t)
        rows, cols = w.shape
        gram = w @ w.T if rows <= cols else w.T @ w  # orthonormal rows, or columns when there are fewer
        np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=tol * gain ** 2)
    assert ours.dtype == (pyseq.float64 if dtype == np.float64 else pyseq.float32)


@pytest.mark.parametrize("rows,cols", [(6, 6), (7, 4), (3, 8)])
def test_orthogonal_is_the_sign_corrected_q_of_the_generators_normal_matrix(rows, cols):
    """orthogonal_ factors a (rows, cols) standard normal matrix A drawn from pyseq's generator, so
    A = W^T R' (W^T A = R' when rows < cols: transposed) with R' upper triangular and a positive
    diagonal: the diagonal signs of R were moved into Q."""
    pyseq.manual_seed(5)
    a = pyseq.randn(rows, cols, dtype=pyseq.float64).numpy()
    pyseq.manual_seed(5)
    w = _matrix(init.orthogonal_(pyseq.empty(rows, cols, dtype=pyseq.float64)))
    r = w.T @ a if rows >= cols else w @ a.T  # (min, min)
    assert np.all(np.diag(r) > 0)
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-12)
    pyseq.manual_seed(5)
    np.testing.assert_array_equal(_matrix(init.orthogonal_(pyseq.empty(rows, cols, dtype=pyseq.float64))), w)


def test_orthogonal_entries_are_distributed_like_torchs():
    """The entries of a uniformly random orthogonal n x n matrix are close to N(0, 1/n), and its
    diagonal sums to about N(0, 1). Without the sign correction, Householder QR (LAPACK's) gives
    a diagonal biased negative (its sum is about -0.56 sqrt(n) for n = 300)."""
    n = 300
    ours, theirs = _both((n, n), "orthogonal_")
    assert_normal(ours, theirs, 1 / math.sqrt(n))
    for t in (ours, theirs):
        np.testing.assert_allclose(np.diag(_matrix(t)).sum() / math.sqrt(n), 0, atol=5 / math.sqrt(n))


def test_orthogonal_empty_and_errors():
    t = pyseq.empty(0, 3)
    assert init.orthogonal_(t) is t
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(pyseq.empty(4))


def _truncated_normal(mean, std, a, b):
    """The quantile function, density, mean and std of N(mean, std^2) truncated to [a, b]."""
    unit = NormalDist()
    alpha, beta = (a - mean) / std, (b - mean) / std
    lo, hi = unit.cdf(alpha), unit.cdf(beta)
    z = hi - lo
    pdf_a, pdf_b = unit.pdf(alpha), unit.pdf(beta)
    mu = mean + std * (pdf_a - pdf_b) / z
    var = std ** 2 * (1 + (alpha * pdf_a - beta * pdf_b) / z - ((pdf_a - pdf_b) / z) ** 2)
    return (lambda q: mean + std * unit.inv_cdf(lo + q * z)), (lambda x: unit.pdf((x - mean) / std) / (std * z)), \
        mu, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),    # the default: most of the mass, redraws from the normal
    (0.5, 2.0, -1.0, 1.5),    # narrow: 30% or less of the mass, uniform candidates accepted by density
    (0.0, 1.0, 1.0, 3.0),     # one tail
    (0.0, 0.02, -0.04, 0.04),  # BERT's initializer_range
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trunc_normal(mean, std, a, b, dtype):
    ours, theirs = _both((200, 100), "trunc_normal_", mean, std, a, b, dtype=dtype)
    quantile, density, mu, sigma = _truncated_normal(mean, std, a, b)
    expected = np.array([quantile(q) for q in QUANTILES])
    # a sample quantile's standard error: sqrt(q (1 - q) / n) / density at the quantile
    error = np.sqrt(QUANTILES * (1 - QUANTILES) / 20000) / np.array([density(x) for x in expected])
    for t in (ours, theirs):
        v = values(t)
        assert v.min() >= a and v.max() <= b
        assert abs(v.mean() - mu) < 5 * sigma / math.sqrt(v.size)
        assert abs(v.std() / sigma - 1) < 0.03
        assert np.all(np.abs(np.quantile(v, QUANTILES) - expected) < 5 * error)


def test_trunc_normal_reproducible_and_errors():
    pyseq.manual_seed(3)
    x = values(init.trunc_normal_(pyseq.empty(50), std=0.5, a=-0.3, b=0.3))
    pyseq.manual_seed(3)
    np.testing.assert_array_equal(values(init.trunc_normal_(pyseq.empty(50), std=0.5, a=-0.3, b=0.3)), x)
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(pyseq.empty(10), mean=5.0, std=1.0, a=-1.0, b=1.0)
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(pyseq.empty(3), a=1.0, b=-1.0)
    with pytest.raises(ValueError, match="std > 0"):
        init.trunc_normal_(pyseq.empty(3), std=0.0)
    with pytest.raises(TypeError, match="mean must be a number"):
        init.trunc_normal_(pyseq.empty(3), mean="0")


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 1)])
def test_eye(shape):
    ours, theirs = _both(shape, "eye_")
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    np.testing.assert_array_equal(ours.detach().numpy(), np.eye(*shape))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(pyseq.empty(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 2, 5), 3), ((8, 5, 3, 3), 1), ((8, 2, 4, 3), 2),
                                          ((4, 8, 3, 3), 1), ((6, 3, 1, 3, 2), 3), ((2, 1, 3, 3, 3), 1)])
def test_dirac(shape, groups):
    ours, theirs = _both(shape, "dirac_", groups=groups)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    assert values(ours).sum() == groups * min(shape[0] // groups, shape[1])


def test_dirac_keeps_the_input_through_a_convolution():
    conv = nn.Conv1d(3, 3, 5, padding=2, bias=False)
    init.dirac_(conv.weight)
    x = pyseq.randn(2, 3, 7)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), rtol=1e-6, atol=1e-6)


def test_dirac_errors():
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(pyseq.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(pyseq.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="groups must be an int >= 1"):
        init.dirac_(pyseq.empty(4, 2, 3), groups=0)


@pytest.mark.parametrize("shape,sparsity,std", [((100, 80), 0.1, 0.01), ((50, 300), 0.55, 1.0),
                                                ((7, 5), 0.0, 0.1), ((6, 4), 1.0, 0.1)])
def test_sparse(shape, sparsity, std):
    ours, theirs = _both(shape, "sparse_", sparsity, std=std)
    zeros = math.ceil(sparsity * shape[0])
    for t in (ours, theirs):
        m = _matrix(t)
        np.testing.assert_array_equal((m == 0).sum(axis=0), [zeros] * shape[1])  # exactly that many per column
        nonzero = m[m != 0]
        if nonzero.size > 10000:
            assert abs(nonzero.mean()) < 5 * std / math.sqrt(nonzero.size)
            assert abs(nonzero.std() / std - 1) < 0.03
    if 0 < zeros < shape[0]:  # the zeros fall at different rows in different columns
        m = _matrix(ours)
        assert len({tuple(np.flatnonzero(m[:, j] == 0)) for j in range(shape[1])}) > 1


def test_sparse_reproducible_and_errors():
    pyseq.manual_seed(9)
    a = values(init.sparse_(pyseq.empty(20, 10), 0.3))
    pyseq.manual_seed(9)
    np.testing.assert_array_equal(values(init.sparse_(pyseq.empty(20, 10), 0.3)), a)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(pyseq.empty(2, 3, 4), 0.1)
    with pytest.raises(ValueError, match="sparsity must be a number in \\[0, 1\\]"):
        init.sparse_(pyseq.empty(4, 4), 1.5)


def test_skip_init_builds_a_module_without_drawing_its_weights():
    from pyseq.nn.utils import skip_init
    pyseq.manual_seed(3)
    expected = values(pyseq.randn(5))
    pyseq.manual_seed(3)
    lstm = skip_init(nn.LSTM, 4, 6, num_layers=2)  # as torch.nn.utils.skip_init: no init function runs
    np.testing.assert_array_equal(values(pyseq.randn(5)), expected)  # nothing drew from the generator
    assert [n for n, _ in lstm.named_parameters()] == [n for n, _ in nn.LSTM(4, 6, num_layers=2).named_parameters()]
    assert values(init.normal_(pyseq.zeros(3))).any()  # the init functions work again after it
    with pytest.raises(TypeError, match="expected a module class"):
        skip_init(nn.Linear(2, 2))
