"""reduce.cpp: sum, mean, var, std, logsumexp, norm, max/min, argmax/argmin; along a dim: sort,
topk, cumsum."""

import warnings

import numpy as np
import pytest

import pyseq
from helpers import N_CASES, random_input

DIMS = [None, 0, 1, -1, (0, 2), (2, 0, 1)]


@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "var_biased", "logsumexp"])
def test_reductions_gradcheck_and_parity(op, name, dim, keepdim):
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)  # torch requires dims for logsumexp
    calls = {  # dim=None with keepdim=True keeps every dim as 1, in both libraries
        "sum": lambda m, x: x.sum(dim=dim, keepdim=keepdim),
        "mean": lambda m, x: x.mean(dim=dim, keepdim=keepdim),
        "var": lambda m, x: x.var(dim=dim, keepdim=keepdim),
        "std": lambda m, x: x.std(dim=dim, keepdim=keepdim),
        "var_biased": lambda m, x: x.var(dim=dim, unbiased=False, keepdim=keepdim),
        "logsumexp": lambda m, x: m.logsumexp(x, dim=dim, keepdim=keepdim),
    }
    # rows of 37: past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
    op.check(calls[name], [(2, 3, 37)])


# Signs for norm's inputs: |x| in [0.2, 2] keeps finite differences away from the kinks at 0, the
# signs make every p's gradient (sign(x) |x|^(p-1) / ...) depend on them. Rows of 37 cross the
# vector widths of every ISA level.
NORM_SIGNS = np.where(np.random.default_rng(37).random((3, 37)) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)], ids=str)
def test_norm(op, p, dim):
    def signed_norm(m, x):
        signs = m.tensor(NORM_SIGNS, dtype=x.dtype)
        return m.norm(x * signs, p=p, dim=dim)
    op.check(signed_norm, [NORM_SIGNS.shape], low=0.2, high=2.0)


def test_norm_gradient_at_zero_is_zero():
    x = pyseq.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_dim(op, name, dim):
    # distinct values of both signs, rows of 37
    arrays = [np.random.default_rng(dim + 5).permutation(111).reshape(3, 37).astype(float) - 55]
    def values(m, x):
        return getattr(x, name)(dim=dim).values
    op.gradcheck(values, arrays)
    op.parity(values, arrays)
    torch = pytest.importorskip("torch")
    ours = getattr(pyseq.tensor(arrays[0]), name)(dim=dim, keepdim=True)
    theirs = getattr(torch.tensor(arrays[0]), name)(dim=dim, keepdim=True)
    assert ours.indices.tolist() == theirs.indices.tolist()
    assert ours.values.shape == tuple(theirs.values.shape)


def test_max_over_all_shares_gradient_between_ties():
    torch = pytest.importorskip("torch")
    data = [[1.0, 5.0], [5.0, 2.0]]
    x, t = pyseq.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (x.max() * 3).backward()
    (t.max() * 3).backward()
    assert x.grad.tolist() == t.grad.tolist() == [[0.0, 1.5], [1.5, 0.0]]
    assert pyseq.tensor(data).min().item() == 1.0


def test_argmax_argmin_match_torch(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((4, 5, 6)).astype(np.float32)
    x, t = pyseq.from_numpy(a), torch.from_numpy(a)
    assert x.argmax().item() == t.argmax().item()
    for dim in (0, 1, 2, -1):
        assert x.argmax(dim).tolist() == t.argmax(dim).tolist()
        assert x.argmin(dim, keepdim=True).tolist() == t.argmin(dim, keepdim=True).tolist()
    assert x.argmax(keepdim=True).shape == (1, 1, 1)


def test_max_propagates_nan():
    x = pyseq.tensor([1.0, float("nan"), 3.0])
    assert np.isnan(x.max().item())
    assert x.max(dim=0).indices.item() == 1


def test_sum_of_integers_and_bools_is_int64():
    assert pyseq.tensor([[1, 2], [3, 4]]).sum(dim=0).tolist() == [4, 6]
    b = pyseq.tensor([True, False, True]).sum()
    assert b.dtype == pyseq.int64 and b.item() == 2


def test_large_sum_is_accurate():
    # A naive float32 running sum of 10M values drifts by ~1e-2 relative; pyseq must stay within
    # one float32 rounding of the exact total.
    a = np.random.default_rng(0).uniform(0, 1, 10_000_000).astype(np.float32)
    exact = a.astype(np.float64).sum()
    assert abs(pyseq.from_numpy(a).sum().item() - exact) <= abs(exact) * 2 ** -23


def test_empty_reductions():
    e = pyseq.zeros(0, 3)
    assert e.sum(dim=0).tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(e.mean().item())
    with pytest.raises(ValueError, match="empty"):
        e.max()
    with pytest.raises(ValueError, match="empty"):
        e.max(dim=0)


def test_mean_of_integers_is_an_error():
    with pytest.raises(TypeError, match="int64"):
        pyseq.tensor([1, 2]).mean()


def test_repeated_dims_are_an_error():
    with pytest.raises(ValueError, match="multiple times"):
        pyseq.ones(2, 3).sum(dim=(1, -1))


SUM_SCRIPT = r"""
import json, math
import numpy as np
import pyseq
rng = np.random.default_rng(0)
worst = 0.0
# lengths around the vector width and the 16-vector float blocks; rows of a 2-d tensor too
for n in [1, 7, 8, 15, 16, 17, 255, 256, 257, 4099, 100_003]:
    x = (rng.standard_normal(n) * 10 + 3).astype(np.float32)
    exact = math.fsum(x.astype(np.float64))
    worst = max(worst, abs(pyseq.from_numpy(x).sum().item() - exact) / max(1.0, abs(exact)))
    rows = pyseq.from_numpy(np.stack([x, -x])).sum(1).numpy()
    scale = max(1.0, abs(exact))
    worst = max(worst, abs(float(rows[0]) - exact) / scale, abs(float(rows[1]) + exact) / scale)
print(json.dumps({"level": pyseq._core.cpu_level(), "worst": worst}))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_float_sum_kernel_on_every_level(at_cpu_level, level):
    # the vectorised float32 sum (float blocks, double across) against an exact sum
    assert at_cpu_level(level, SUM_SCRIPT)["worst"] <= 2e-7


@pytest.mark.parametrize("shape,dims", [((300, 1100), (0,)), ((4, 50, 600), (0, 1)), ((7, 1), (0,)), ((0, 5), (0,))])
def test_sum_over_leading_dims(rng, shape, dims):
    # a bias gradient's reduction: summed row by row in place, in double, without a transposed copy
    x = rng.standard_normal(shape).astype(np.float32) * 10 + 1
    exact = x.astype(np.float64).sum(axis=dims)
    got = pyseq.from_numpy(x).sum(dim=dims).numpy()
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=1e-5)
    i = rng.integers(-1000, 1000, shape)
    np.testing.assert_array_equal(pyseq.from_numpy(i).sum(dim=dims).numpy(), i.sum(axis=dims))


# --------------------------------------------------------------------------------------------
# random non-contiguous inputs against numpy
# --------------------------------------------------------------------------------------------

def random_dims(rng, ndim):
    """None, an int or a tuple of distinct dims (some negative)."""
    if ndim == 0:
        return None if rng.random() < 0.5 else int(rng.choice([0, -1]))
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.6:
        return int(rng.integers(-ndim, ndim))
    k = int(rng.integers(1, ndim + 1))
    dims = rng.choice(ndim, size=k, replace=False)
    return tuple(int(d) - ndim if rng.random() < 0.3 else int(d) for d in dims)


def np_axis(dims, ndim):
    if dims is None or ndim == 0:
        return None
    return dims


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_reductions_match_numpy(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 300)
    np_fn = {"sum": np.sum, "mean": np.mean,
             "var": lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1),
             "std": lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)}[name]
    for _ in range(N_CASES):
        base, values, steps, x, imap = random_input(rng)
        a = values.ravel()[imap]
        dims = random_dims(rng, x.ndim)
        keepdim = bool(rng.random() < 0.5)
        kwargs = {"keepdim": keepdim} if dims is None else {"dim": dims, "keepdim": keepdim}
        out = getattr(x, name)(**kwargs)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = np.asarray(np_fn(a.astype(np.float64), axis=np_axis(dims, x.ndim), keepdims=keepdim))
        assert out.shape == expected.shape, (name, x.shape, dims, keepdim)
        assert out.dtype == pyseq.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=2e-5, atol=1e-5, equal_nan=True)
        out2 = getattr(pyseq, name)(x, **kwargs)
        np.testing.assert_array_equal(out2.numpy(), out.numpy())
        np.testing.assert_array_equal(x.numpy(), a)  # input untouched


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_extrema_match_numpy(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 400)
    n_raised = 0
    for _ in range(N_CASES):
        base, values, steps, x, imap = random_input(rng)
        # distinct values along every dim (expanded inputs repeat values: ties go to the first index)
        a = values.ravel()[imap]
        nd = max(x.ndim, 1)
        dim = None if rng.random() < 0.25 else int(rng.integers(-nd, nd))
        keepdim = bool(rng.random() < 0.5)
        np_red = {"max": np.max, "min": np.min, "argmax": np.argmax, "argmin": np.argmin}[name]
        axis = None if (dim is None or x.ndim == 0) else dim
        empty = a.size == 0 if axis is None else a.shape[axis] == 0
        kwargs = {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}
        if name in ("max", "min") and dim is None:
            kwargs = {}
        if empty:
            n_raised += 1
            with pytest.raises(ValueError, match=r"empty"):
                getattr(x, name)(**kwargs)
            continue
        out = getattr(x, name)(**kwargs)
        if name in ("max", "min") and dim is None:
            assert out.shape == () and out.item() == np_red(a)
            continue
        keep = keepdim and not (x.ndim == 0)
        if name in ("max", "min"):
            values_t, indices_t = out
            assert values_t is out.values and indices_t is out.indices
            ev = np_red(a, axis=axis, keepdims=keep)
            ei = {"max": np.argmax, "min": np.argmin}[name](a, axis=axis, keepdims=keep)
            assert values_t.shape == np.shape(ev) and indices_t.dtype == pyseq.int64
            np.testing.assert_array_equal(values_t.numpy(), ev)
            np.testing.assert_array_equal(indices_t.numpy(), ei)
        else:
            if axis is None:
                ei = np.asarray(np_red(a))
                if keepdim:
                    ei = ei.reshape((1,) * x.ndim)
            else:
                ei = np.asarray(np_red(a, axis=axis, keepdims=keep))
            assert out.dtype == pyseq.int64 and out.shape == ei.shape, (x.shape, dim, keepdim)
            np.testing.assert_array_equal(out.numpy(), ei)
    assert n_raised > 0


def test_reduction_fixed_examples():
    x = pyseq.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4)).permute(2, 0, 1)  # (4, 2, 3)
    # x[k, i, j] = 12 i + 4 j + k
    assert x.sum(dim=(0, 2)).tolist() == [66.0, 210.0]
    assert x.sum(dim=-1, keepdim=True).shape == (4, 2, 1)
    assert x.mean().item() == pytest.approx(11.5)
    v, i = x.max(dim=0)
    assert v.tolist() == [[3, 7, 11], [15, 19, 23]] and i.tolist() == [[3, 3, 3], [3, 3, 3]]
    assert x.argmax().item() == 23 and x.argmin(dim=1).tolist() == [[0] * 3] * 4
    assert x.var(dim=0).tolist() == [[pytest.approx(5 / 3)] * 3] * 2
    with pytest.raises(ValueError, match=r"dim 1 appears multiple times"):
        x.sum(dim=(1, -2))


def test_nan_is_not_skipped_by_logsumexp_and_the_max_norm():
    x = pyseq.tensor([[1.0, float("nan"), 3.0], [1.0, 2.0, 3.0]])
    lse, inf_norm = pyseq.logsumexp(x, 1).numpy(), x.norm(float("inf"), dim=1).numpy()
    assert np.isnan(lse[0]) and np.isnan(inf_norm[0])
    np.testing.assert_allclose([lse[1], inf_norm[1]], [np.log(np.exp([1, 2, 3]).sum()), 3.0], rtol=1e-6)


def test_sum_and_mean_of_an_expanded_view_do_not_materialise_it():
    # 20000 x 20000 of one value: 1.6 GB if copied; the repeated dims are reduced once and scaled
    pyseq.empty_cache()  # what earlier tests left cached would hide a copy
    x = pyseq.ones(1).expand(20000, 20000)
    assert x.sum().item() == 4e8 and x.mean().item() == 1.0
    assert x.sum(0).shape == (20000,) and x.sum(0)[0].item() == 20000.0
    assert pyseq._core.memory_stats()["cached_bytes"] < 1e8
    y = pyseq.tensor([1.0, 2.0], requires_grad=True)
    z = y.unsqueeze(1).expand(2, 5)
    np.testing.assert_allclose(z.sum(1).detach().numpy(), [5.0, 10.0])
    z.mean().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.5])
    assert pyseq.tensor([True]).expand(7).sum().item() == 7


def test_max_min_and_norm_of_an_expanded_view_do_not_materialise_it():
    pyseq.empty_cache()  # what earlier tests left cached would hide a copy
    x = pyseq.tensor([1.0, -3.0, 2.0]).unsqueeze(0).expand(20000, 3).unsqueeze(2).expand(20000, 3, 10000)
    assert x.max().item() == 2.0 and x.min().item() == -3.0
    assert x.norm(float("inf")).item() == 3.0
    np.testing.assert_allclose(x.norm().item(), np.sqrt(14 * 2e8), rtol=1e-6)  # the 2e8 repeats of 3 values
    np.testing.assert_allclose(x.norm(1, dim=(0, 2)).numpy(), [2e8, 6e8, 4e8], rtol=1e-6)
    assert pyseq._core.memory_stats()["cached_bytes"] < 1e8  # (a copy would be 2.4 GB)
    # values and gradients as on the materialised tensor
    torch = pytest.importorskip("torch")
    base = np.array([[0.5, -1.5], [2.0, 1.0]])
    for p in (1, 2, 3):
        ours = pyseq.tensor(base, requires_grad=True)
        theirs = torch.tensor(base, requires_grad=True)
        a = ours.unsqueeze(1).expand(2, 4, 2).norm(p, dim=(1, 2))
        b = theirs.unsqueeze(1).expand(2, 4, 2).norm(p, dim=(1, 2))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


# --- sort, topk, cumsum ---

@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(op, dim, descending):
    torch = pytest.importorskip("torch")
    op.check(lambda m, x: x.sort(dim, descending=descending).values, [(3, 4, 37)])
    x = np.random.default_rng(0).integers(-3, 4, (3, 4, 9)).astype(np.float64)  # many ties
    ours = pyseq.tensor(x).sort(dim, descending=descending)
    theirs = torch.tensor(x).sort(dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(pyseq.argsort(pyseq.tensor(x), dim, descending).numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (5, -1, False), (4, 1, True), (3, 0, False), (37, 2, True)])
def test_topk(op, k, dim, largest):
    torch = pytest.importorskip("torch")
    op.check(lambda m, x: x.topk(k, dim, largest=largest).values, [(3, 4, 37)])
    x = np.random.default_rng(1).standard_normal((3, 4, 37))
    ours, theirs = pyseq.tensor(x).topk(k, dim, largest), torch.tensor(x).topk(k, dim, largest)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_sort_and_topk_put_nan_above_every_number():
    torch = pytest.importorskip("torch")
    x = np.array([1.0, np.nan, -np.inf, 2.0, np.inf])
    for descending in (False, True):
        ours = pyseq.tensor(x).sort(descending=descending)
        theirs = torch.tensor(x).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(pyseq.tensor(x).topk(2).indices.numpy(), [1, 4])


def test_sort_topk_edge_cases():
    assert pyseq.tensor(2.5).sort().values.item() == 2.5
    assert pyseq.tensor([[1.0, 2.0]]).topk(0).values.shape == (1, 0)
    np.testing.assert_array_equal(pyseq.tensor([3, 1, 2]).sort().values.numpy(), [1, 2, 3])  # int64
    with pytest.raises(ValueError, match=r"k must be between 0 and the size of dim 1 \(2\), got 3"):
        pyseq.ones(4, 2).topk(3)
    with pytest.raises(TypeError, match="bool"):
        pyseq.tensor([True, False]).sort()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(op, dim):
    op.check(lambda m, x: x.cumsum(dim), [(3, 4, 37)])


def test_cumsum_of_ints_and_bools():
    np.testing.assert_array_equal(pyseq.tensor([True, False, True]).cumsum(0).numpy(), [1, 1, 2])
    np.testing.assert_array_equal(pyseq.cumsum(pyseq.tensor([[1, 2], [3, 4]]), 0).numpy(), [[1, 2], [4, 6]])
    assert pyseq.tensor(3.0).cumsum(0).item() == 3.0


@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_correction(op, name, correction):
    op.check(lambda m, x: getattr(x, name)(1, correction=correction), [(3, 9)])


def test_var_mean_correction_and_conflicting_arguments():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((4, 6))
    ours, theirs = pyseq.var_mean(pyseq.tensor(x), 1, correction=0), torch.var_mean(torch.tensor(x), 1, correction=0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="either unbiased or correction"):
        pyseq.tensor(x).var(0, unbiased=True, correction=1)
