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
