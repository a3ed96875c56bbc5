"""_composed.py: tensor ops made of other ops (flip, roll, repeat, unbind, movedim, mT, isnan/isinf/
isfinite, any/all, amax/amin, maximum/minimum, argsort, outer, count_nonzero, linspace, nonzero,
masked_select, boolean-mask indexing, kthvalue, median, nan_to_num, squeeze over several dims), as
functions and methods, against torch."""

import math

import numpy as np
import pytest

import pyseq

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name,call", [
    ("flip", lambda m, x: m.flip(x, (0, 2))),
    ("flip method", lambda m, x: x.flip(1)),
    ("roll", lambda m, x: m.roll(x, 2, 2)),
    ("roll dims", lambda m, x: x.roll((1, -3), (0, 2))),
    ("roll flat", lambda m, x: x.roll(5)),
    ("repeat", lambda m, x: x.repeat(2, 1, 3)),
    ("repeat new dims", lambda m, x: x.repeat(2, 1, 2, 1)),
    ("unbind", lambda m, x: m.stack([t * (i + 1) for i, t in enumerate(x.unbind(1))], 0)),
    ("movedim", lambda m, x: x.movedim(0, 2)),
    ("movedim pairs", lambda m, x: m.movedim(x, (0, 1), (2, 0))),
    ("mT", lambda m, x: x.mT),
    ("amax", lambda m, x: x.amax((0, 2))),
    ("amin keepdim", lambda m, x: m.amin(x, 1, keepdim=True)),
    ("amax all", lambda m, x: x.amax()),
    ("maximum", lambda m, x: m.maximum(x, x.flip(0))),
    ("minimum", lambda m, x: x.minimum(x.flip(2) * 0.5)),
    ("outer", lambda m, x: m.outer(x[0, 0], x[1, 2])),
    ("mask over leading dims", lambda m, x: x[x[:, :, 0].detach() > 0]),
    ("mask over all dims", lambda m, x: x[x.detach() > 0.3]),
    ("masked_select", lambda m, x: m.masked_select(x, x[:1, :, :1].detach() > 0)),
    ("kthvalue", lambda m, x: x.kthvalue(2, 1).values),
    ("median dim", lambda m, x: m.median(x, 2, keepdim=True).values),
    ("median all", lambda m, x: x.median()),
    ("squeeze dims", lambda m, x: x[:, :1, :1].squeeze((1, 2))),
])
def test_composed_ops(op, name, call):
    op.check(call, [(2, 3, 5)])


def test_nan_and_inf_predicates_and_nan_in_maximum():
    x = np.array([1.0, math.nan, -math.inf, 2.0, math.inf])
    y = np.array([math.nan, 0.0, 3.0, math.nan, -1.0])
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(pyseq, name)(pyseq.tensor(x)).numpy(), getattr(torch, name)(torch.tensor(x)))
    for name in ("maximum", "minimum"):
        ours = getattr(pyseq, name)(pyseq.tensor(x), pyseq.tensor(y)).numpy()
        np.testing.assert_array_equal(ours, getattr(torch, name)(torch.tensor(x), torch.tensor(y)).numpy())


def test_any_all():
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    for name in ("any", "all"):
        for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            ours = getattr(pyseq.tensor(x), name)(**kw)
            theirs = getattr(torch.tensor(x), name)(**kw)
            assert ours.dtype == pyseq.bool
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_argsort_descending_and_errors():
    x = np.array([[3.0, 1.0, 2.0, 1.0]])
    np.testing.assert_array_equal(pyseq.argsort(pyseq.tensor(x), descending=True).numpy(), [[0, 2, 1, 3]])
    with pytest.raises(ValueError, match="at least 2 sizes"):
        pyseq.ones(2, 3).repeat(2)
    with pytest.raises(ValueError, match="as many shifts as dims"):
        pyseq.ones(2, 3).roll((1, 2), 0)
    with pytest.raises(IndexError, match="dim 2 is out of range for a tensor of 2 dims"):
        pyseq.ones(2, 3).flip(2)


def test_boolean_mask_assignment_and_errors():
    x = np.random.default_rng(3).standard_normal((3, 4))
    ours, theirs = pyseq.tensor(x.copy()), torch.tensor(x.copy())
    ours[pyseq.tensor(x[:, 0] > 0)] = 2.5
    theirs[torch.tensor(x[:, 0] > 0)] = 2.5
    ours[pyseq.tensor(x < -0.5)] = pyseq.tensor(-1.0)
    theirs[torch.tensor(x < -0.5)] = -1.0
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(IndexError, match=r"mask of shape \(2,\) does not match the leading dims \(3,\)"):
        ours[pyseq.tensor([True, False])]
    with pytest.raises(TypeError, match="one-element tensor"):
        ours[pyseq.tensor(x > 0)] = pyseq.ones(2)


def test_nonzero_count_nonzero_linspace():
    m = np.random.default_rng(4).standard_normal((3, 5)) > 0
    np.testing.assert_array_equal(pyseq.nonzero(pyseq.tensor(m)).numpy(), torch.nonzero(torch.tensor(m)).numpy())
    for ours, theirs in zip(pyseq.tensor(m).nonzero(as_tuple=True), torch.tensor(m).nonzero(as_tuple=True)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(pyseq.count_nonzero(pyseq.tensor(m), 1).numpy(), m.sum(1))
    assert pyseq.tensor(m).count_nonzero().item() == m.sum()
    for args in [(0, 1, 7), (-3.3, 11, 10), (2, 2, 1), (0, 1, 0), (5, -5, 11)]:
        for dtype, tdtype in ((None, None), (pyseq.float64, torch.float64)):
            np.testing.assert_allclose(pyseq.linspace(*args, dtype=dtype).numpy(),
                                       torch.linspace(*args, dtype=tdtype).numpy(), rtol=1e-6, atol=1e-6)


def test_median_kthvalue_with_ties_and_nan_and_nan_to_num():
    x = np.array([[3.0, 1.0, 2.0, 5.0], [4.0, 4.0, 0.0, 1.0], [2.0, math.nan, 1.0, 0.0]])
    for kw in ({"dim": 1}, {"dim": 0}, {"dim": 1, "keepdim": True}):
        ours, theirs = pyseq.tensor(x).median(**kw), torch.tensor(x).median(**kw)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert math.isnan(pyseq.tensor(x).median().item()) and pyseq.tensor(x[:2]).median().item() == 2.0
    ours, theirs = pyseq.kthvalue(pyseq.tensor(x), 3, 1), torch.kthvalue(torch.tensor(x), 3, 1)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    y = np.array([math.nan, math.inf, -math.inf, 1.5], dtype=np.float32)
    np.testing.assert_array_equal(pyseq.nan_to_num(pyseq.tensor(y)).numpy(), torch.nan_to_num(torch.tensor(y)).numpy())
    np.testing.assert_array_equal(pyseq.tensor(y).nan_to_num(1.0, 2.0, -2.0).numpy(), [1.0, 2.0, -2.0, 1.5])
    with pytest.raises(IndexError, match="k \\(5\\) out of range for dim 1 of size 4"):
        pyseq.tensor(x).kthvalue(5, 1)


# Math, products and shapes made of the core ops: float64 gradcheck and float32 parity (values and
# gradients) on one (3, 4, 5) input.
MORE_OPS = {
    "prod": lambda m, x: x.prod(),
    "prod dim": lambda m, x: m.prod(x, 1),
    "prod keepdim": lambda m, x: x.prod(2, keepdim=True),
    "prod with zeros": lambda m, x: (x * (x.abs() > 0.5)).prod(2),
    "cumprod": lambda m, x: x.cumprod(2),
    "cumprod with zeros": lambda m, x: m.cumprod(x * (x.abs() > 0.5), 1),
    "logcumsumexp": lambda m, x: (x * 8).logcumsumexp(1),
    "logaddexp": lambda m, x: m.logaddexp(x, x.flip(0) * 3),
    "cummax": lambda m, x: x.cummax(1).values,
    "cummin": lambda m, x: m.cummin(x, 2).values,
    "diff": lambda m, x: x.diff(),
    "diff n=2": lambda m, x: m.diff(x, 2, 1),
    "diff prepend append": lambda m, x: m.diff(x, dim=0, prepend=x[:1], append=x[-1:]),
    "nansum": lambda m, x: m.nansum(x.log(), 1),
    "nanmean": lambda m, x: x.log().nanmean(),
    "std_mean": lambda m, x: m.stack(m.std_mean(x, 1)),
    "xlogy": lambda m, x: m.xlogy(x.clamp(min=0), x.abs()),
    "lerp": lambda m, x: m.lerp(x, x * 2, 0.3),
    "addcmul": lambda m, x: m.addcmul(x, x, x, value=0.5),
    "addcdiv": lambda m, x: m.addcdiv(x, x, x.abs() + 1, value=2),
    "logit": lambda m, x: x.sigmoid().logit(),
    "logit eps": lambda m, x: x.sigmoid().logit(0.1),
    "frac": lambda m, x: (x * 3).frac() * x,
    "deg2rad": lambda m, x: x.deg2rad(),
    "div trunc": lambda m, x: x.div(0.3, rounding_mode="trunc") * x,
    "bmm": lambda m, x: m.bmm(x, x.transpose(1, 2)),
    "mv": lambda m, x: m.mv(x[0], x[1, 1]),
    "dot": lambda m, x: m.dot(x[0, 0], x[1, 1]),
    "addmm": lambda m, x: m.addmm(x[0, :, :4], x[0], x[1].T, beta=0.5, alpha=2),
    "baddbmm": lambda m, x: m.baddbmm(x[:, :, :4], x, x.transpose(1, 2), alpha=0.5),
    "tensordot dims lists": lambda m, x: m.tensordot(x, x, dims=([1, 2], [1, 2])),
    "tensordot int": lambda m, x: m.tensordot(x, x.permute(2, 1, 0), 1),
    "kron": lambda m, x: m.kron(x[0, :2, :3], x[1, :3, :2]),
    "einsum batched": lambda m, x: m.einsum("bij,bkj->bik", x, x),
    "einsum heads": lambda m, x: m.einsum("bhqd,bhkd->bhqk", x.reshape(1, 3, 4, 5), x.reshape(1, 3, 4, 5)),
    "einsum implicit": lambda m, x: m.einsum("bij,bjk", x, x.transpose(1, 2)),
    "einsum ellipsis": lambda m, x: m.einsum("...ij,...kj->...ik", x, x),
    "einsum ellipsis inside": lambda m, x: m.einsum("i...k,k->i...", x, x[0, 0]),
    "einsum outer": lambda m, x: m.einsum("i,j->ij", x[0, 0], x[1, 1]),
    "einsum sum all": lambda m, x: m.einsum("ijk->", x),
    "einsum permute": lambda m, x: m.einsum("ijk->kji", x),
    "einsum three": lambda m, x: m.einsum("ij,jk,kl->il", x[0], x[1].T, x[2]),
    "einsum broadcast": lambda m, x: m.einsum("bij,jk->bik", x, x[0].T),
    "einsum trace": lambda m, x: m.einsum("bii->b", x[:, :4, :4]),
    "einsum diagonal": lambda m, x: m.einsum("ii->i", x[0, :4, :4]),
    "einsum list": lambda m, x: m.einsum("ij,ij->i", [x[0], x[1]]),
    "diagonal": lambda m, x: x.diagonal(),
    "diagonal offset": lambda m, x: m.diagonal(x, 1, 1, 2),
    "diagonal below": lambda m, x: x.diagonal(-2, 2, 0),
    "diag of vector": lambda m, x: m.diag(x[0, 0], 1),
    "diag below": lambda m, x: m.diag(x[0, 0], -2),
    "diag of matrix": lambda m, x: m.diag(x[0], 1),
    "trace": lambda m, x: x[0].trace(),
    "tile": lambda m, x: x.tile((2, 1)),
    "repeat_interleave": lambda m, x: x.repeat_interleave(2, dim=1),
    "repeat_interleave counts": lambda m, x: x.repeat_interleave(m.tensor([2, 0, 1, 3]), dim=1),
    "repeat_interleave flat": lambda m, x: m.repeat_interleave(x[0, 0], 3),
    "hstack": lambda m, x: m.hstack([x[0], x[1]]),
    "vstack": lambda m, x: m.vstack([x[0, 0], x[1, 1]]),
    "dstack": lambda m, x: m.dstack([x[0], x[1]]),
    "column_stack": lambda m, x: m.column_stack([x[0, 0], x[1, 1]]),
    "tensor_split": lambda m, x: m.cat([t * (i + 1) for i, t in enumerate(x.tensor_split(3, dim=2))], 2),
    "tensor_split indices": lambda m, x: m.cat(m.tensor_split(x, [1, 3], 1)[::-1], 1),
    "unflatten": lambda m, x: x.unflatten(1, (2, 2)),
    "rot90": lambda m, x: x.rot90(1, (1, 2)),
    "rot90 three": lambda m, x: m.rot90(x, 3, (0, 2)),
    "rot90 back": lambda m, x: x.rot90(-1, (1, 2)),
    "fliplr": lambda m, x: x.fliplr(),
    "flipud": lambda m, x: x.flipud(),
    "meshgrid xy": lambda m, x: m.stack(m.meshgrid(x[0, 0], x[1, 1, :3], indexing="xy")),
    "cartesian_prod": lambda m, x: m.cartesian_prod(x[0, 0, :2], x[1, 1, :3]),
    "max of two": lambda m, x: m.max(x, x.flip(0)),
    "min of two": lambda m, x: m.min(x, x.flip(1)),
}


@pytest.mark.parametrize("name", sorted(MORE_OPS))
def test_more_composed_ops(op, name):
    op.check(MORE_OPS[name], [(3, 4, 5)])


INTEGER_OPS = {
    "prod": lambda m, x: x.prod(1),
    "prod of bool": lambda m, x: (x > -4).prod(1),
    "cumprod": lambda m, x: x.cumprod(0),
    "diff": lambda m, x: x.diff(),
    "diff of bool": lambda m, x: (x > 0).diff(),
    "cummax indices (ties: the latest)": lambda m, x: x.cummax(1).indices,
    "cummin": lambda m, x: m.stack(m.cummin(x, 0)),
    "unique": lambda m, x: m.stack([m.unique(x, return_counts=True)[1], m.unique(x)]),
    "unique inverse": lambda m, x: m.unique(x, return_inverse=True)[1],
    "unique dim": lambda m, x: m.unique(x[:, :2] % 2, dim=0),
    "bincount": lambda m, x: m.bincount(x.reshape(-1) + 5, minlength=12),
    "bincount weights": lambda m, x: m.bincount(x[0] + 5, x[1] * 0.5),
    "isclose": lambda m, x: m.isclose(x * 1.0, x * 1.0 + 1e-9),
    "triu_indices": lambda m, x: m.triu_indices(4, 5, 1),
    "tril_indices": lambda m, x: m.tril_indices(5, 3, -1),
    "searchsorted": lambda m, x: m.searchsorted(m.arange(10) * 1.0, x * 1.5),
    "searchsorted right": lambda m, x: m.searchsorted(m.arange(10), x, right=True),
    "searchsorted rows": lambda m, x: m.searchsorted(x.sort(1).values, x[:, :2].contiguous()),
    "bucketize": lambda m, x: m.bucketize(x, m.arange(-3, 3)),
    "bucketize right": lambda m, x: m.bucketize(x, m.arange(-3, 3), right=True),
    "histc": lambda m, x: m.histc(x * 1.0, 5, -3, 3),
    "histc of the range": lambda m, x: m.histc(x * 1.0, 4),
    "zeros_like dtype": lambda m, x: m.zeros_like(x, dtype=m.float64),
    "full_like": lambda m, x: m.full_like(x, 2.5, dtype=m.float32),
    "new_zeros": lambda m, x: x.new_zeros((2, 3)),
    "new_ones": lambda m, x: x.new_ones(2, 3),
    "new_full": lambda m, x: x.new_full((2,), 7),
    "new_tensor": lambda m, x: x.new_tensor([1, 2]),
    "type_as": lambda m, x: x.type_as(x * 1.5),
    "view_as": lambda m, x: x.reshape(-1).view_as(x),
    "expand_as": lambda m, x: x[:1].expand_as(x),
    "clip": lambda m, x: x.clip(-1, 2),
    "clamp_min": lambda m, x: x.clamp_min(0),
    "remainder": lambda m, x: m.remainder(x, -3),
    "div floor": lambda m, x: m.div(x, 4, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", sorted(INTEGER_OPS))
def test_integer_and_counting_ops_match_torch(name):
    x = np.random.default_rng(0).integers(-5, 6, (4, 6))
    got, expected = INTEGER_OPS[name](pyseq, pyseq.tensor(x)), INTEGER_OPS[name](torch, torch.tensor(x))
    assert str(got.dtype) == str(expected.dtype).replace("torch", "pyseq")
    np.testing.assert_allclose(got.numpy(), expected.numpy())


def test_predicates_and_sizes_match_torch():
    x = np.array([[1.0, 2.0], [3.0, np.nan]])
    for name in ("allclose", "equal"):
        for other in (x, x + 1e-9, x + 1e-3):
            assert getattr(pyseq, name)(pyseq.tensor(x), pyseq.tensor(other)) is \
                getattr(torch, name)(torch.tensor(x), torch.tensor(other))
    assert pyseq.allclose(pyseq.tensor(x), pyseq.tensor(x), equal_nan=True)
    t = pyseq.zeros((2, 3), dtype=pyseq.float32)
    assert (t.element_size(), t.itemsize, t.nbytes, t.is_floating_point()) == (4, 4, 24, True)
    assert not pyseq.zeros(2, dtype=pyseq.int64).is_floating_point()


def test_random_sampling_ops_follow_the_generator_and_their_distributions():
    pyseq.manual_seed(3)
    perm = pyseq.randperm(50)
    assert sorted(perm.tolist()) == list(range(50)) and perm.dtype == pyseq.int64
    pyseq.manual_seed(3)
    assert pyseq.randperm(50).tolist() == perm.tolist()
    weights = pyseq.tensor([[0.0, 1.0, 3.0, 0.0], [5.0, 0.0, 0.0, 5.0]])
    draws = pyseq.multinomial(weights, 4000, replacement=True).numpy()
    assert set(np.unique(draws[0])) == {1, 2} and set(np.unique(draws[1])) == {0, 3}
    assert abs((draws[0] == 2).mean() - 0.75) < 0.03
    picks = pyseq.multinomial(weights, 2).numpy()  # without replacement: each nonzero category once
    assert sorted(picks[0]) == [1, 2] and sorted(picks[1]) == [0, 3]
    firsts = [pyseq.multinomial(pyseq.tensor([1.0, 3.0]), 1).item() for _ in range(2000)]
    assert abs(np.mean(firsts) - 0.75) < 0.04
    with pytest.raises(ValueError, match="without replacement"):
        pyseq.multinomial(weights, 3)
    with pytest.raises(ValueError, match="non-negative"):
        pyseq.multinomial(pyseq.tensor([1.0, -1.0]), 1)
    coins = pyseq.bernoulli(pyseq.full((4000,), 0.3))
    assert coins.dtype == pyseq.float32 and abs(coins.mean().item() - 0.3) < 0.03
    like = pyseq.rand_like(pyseq.zeros((3, 2), dtype=pyseq.float64))
    assert like.shape == (3, 2) and like.dtype == pyseq.float64
    ints = pyseq.randint_like(pyseq.zeros(1000), 3, 6)
    assert set(np.unique(ints.numpy())) == {3.0, 4.0, 5.0}


def test_einsum_and_friends_refuse_bad_input():
    x = pyseq.zeros((2, 3))
    with pytest.raises(ValueError, match="names 2 operands"):
        pyseq.einsum("ij,jk->ik", x)
    with pytest.raises(ValueError, match="do not fit"):
        pyseq.einsum("ijk->i", x)
    with pytest.raises(ValueError, match="has size 2 in one operand and 3"):
        pyseq.einsum("ij,ij->i", x, x.T)
    with pytest.raises(ValueError, match="output subscript"):
        pyseq.einsum("ij->k", x)
    with pytest.raises(ValueError, match="bad subscripts"):
        pyseq.einsum("i1->i", x)
    with pytest.raises(ValueError, match="batch sizes differ"):
        pyseq.bmm(pyseq.zeros((2, 3, 4)), pyseq.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="contracted dims differ"):
        pyseq.tensordot(x, x, 1)
    with pytest.raises(ValueError, match="1-d int64"):
        pyseq.bincount(x)
    with pytest.raises(ValueError, match="rounding_mode"):
        pyseq.div(x, 2, rounding_mode="round")


PERMUTED_ROWS = np.array([[0, 1, 2, 3, 0], [2, 0, 1, 1, 3], [1, 3, 0, 2, 2]])  # no element named twice
SCATTERS = {
    "scatter": lambda m, x, s: x.scatter(0, m.tensor(PERMUTED_ROWS), s),
    "scatter a number": lambda m, x, s: x.scatter(1, m.tensor(PERMUTED_ROWS[:, :4] % 5), 2.5) * s[0, 0],
    "index_add": lambda m, x, s: x.index_add(0, m.tensor([3, 0, 3]), s, alpha=2),
    "index_copy": lambda m, x, s: x.index_copy(0, m.tensor([3, 0, 1]), s),
    "index_fill": lambda m, x, s: x.index_fill(1, m.tensor([4, 0]), -1.0) * s[0, 0],
    "masked_scatter": lambda m, x, s: x.masked_scatter(x.detach() > 0, s.reshape(-1).repeat(2)),
    "unfold": lambda m, x, s: x.unfold(1, 2, 2) * s[0, 0],
    "unfold overlapping": lambda m, x, s: x.unfold(0, 3, 1) * s[0, 0],
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatters_and_windows_match_torch(op, name):
    op.check(SCATTERS[name], [(4, 5), (3, 5)])


def test_scatter_reductions_duplicates_and_in_place_forms_match_torch():
    x, s = np.arange(20.0).reshape(4, 5), np.arange(1.0, 16.0).reshape(3, 5)
    index = np.array([[0, 1, 2, 3, 0], [0, 1, 1, 1, 3]])
    for reduce in ("add", "multiply"):
        expected = torch.tensor(x).scatter(0, torch.tensor(index), torch.tensor(s[:2]), reduce=reduce)
        got = pyseq.tensor(x).scatter(0, pyseq.tensor(index), pyseq.tensor(s[:2]), reduce=reduce)
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    # several entries naming one element: the last one is written (what torch's CPU kernel does too)
    got = pyseq.zeros(5).scatter(0, pyseq.tensor([1, 1, 3]), pyseq.tensor([1.0, 2.0, 3.0]))
    assert got.tolist() == [0.0, 2.0, 0.0, 3.0, 0.0]
    ours, theirs = pyseq.zeros(3, 4), torch.zeros(3, 4)
    for t, lib in ((ours, pyseq), (theirs, torch)):
        t.index_fill_(1, lib.tensor([0]), 7.0).scatter_(0, lib.tensor([[2, 0, 1, 1]]), 1.0)
        t.index_add_(1, lib.tensor([3]), lib.ones(3, 1)).clamp_(max=5.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(IndexError, match="out of range"):
        pyseq.zeros(3).scatter(0, pyseq.tensor([3]), 1.0)


def test_where_of_a_condition_alone_and_reductions_in_a_dtype_match_torch():
    x = np.array([[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]], dtype=np.float32)
    for got, expected in zip(pyseq.where(pyseq.tensor(x) > 0), torch.where(torch.tensor(x) > 0)):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    for name in ("sum", "mean"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            got = getattr(pyseq.tensor(x), name)(dtype=pyseq.float64, **kwargs)
            expected = getattr(torch.tensor(x), name)(dtype=torch.float64, **kwargs)
            assert got.dtype == pyseq.float64
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-15)
        assert getattr(pyseq, name)(pyseq.tensor(x), 1).shape == (2,)
    assert pyseq.where(pyseq.tensor([True, False]), 1.0, 2.0).tolist() == [1.0, 2.0]


def test_data_type_and_other_tensor_conveniences_as_torch():
    p = pyseq.nn.Parameter(pyseq.ones(3))
    p.data.mul_(2)  # an alias outside the graph: the parameter changes, no error
    assert p.tolist() == [2.0, 2.0, 2.0] and p.requires_grad
    p.data = pyseq.zeros(3)
    assert p.tolist() == [0.0, 0.0, 0.0]
    t = pyseq.ones(2, 3)
    assert (t.type(), t.type(pyseq.float64).dtype, t.cpu() is t, t.is_cuda) == \
        ("pyseq.FloatTensor", pyseq.float64, True, False)
    assert (t.ndimension(), t.nelement(), pyseq.numel(t), pyseq.is_tensor(t), pyseq.is_tensor([1])) == \
        (2, 6, 6, True, False)
    for ours, theirs in ((pyseq.finfo(), torch.finfo(torch.float32)), (pyseq.finfo(pyseq.float64),
                                                                       torch.finfo(torch.float64))):
        for field in ("bits", "eps", "max", "min", "tiny", "resolution"):
            assert getattr(ours, field) == getattr(theirs, field)
    assert (pyseq.iinfo(pyseq.int64).max, pyseq.iinfo(pyseq.int64).min) == (2**63 - 1, -2**63)
    shared = np.arange(3.0)
    view = pyseq.as_tensor(shared)
    shared[0] = 9.0
    assert view.tolist() == [9.0, 1.0, 2.0] and pyseq.asarray([1, 2]).dtype == pyseq.int64
