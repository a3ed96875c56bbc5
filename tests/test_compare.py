"""Comparisons, where, masked_fill, tril/triu."""

import numpy as np
import pytest

import pyseq


def test_comparisons_broadcast_and_return_bool(rng):
    a = rng.integers(0, 3, size=(3, 4)).astype(np.float32)
    b = rng.integers(0, 3, size=(4,)).astype(np.float32)
    x, y = pyseq.from_numpy(a), pyseq.from_numpy(b)
    for ours, ref in [(x == y, a == b), (x != y, a != b), (x < y, a < b), (x <= y, a <= b), (x > y, a > b),
                      (x >= y, a >= b), (x > 1, a > 1), (pyseq.logical_not(x == y), ~(a == b)), (~(x < y), ~(a < b))]:
        assert ours.dtype == pyseq.bool
        np.testing.assert_array_equal(ours.numpy(), ref)
    assert (pyseq.tensor([1, 2]) == pyseq.tensor([1.0, 2.5])).tolist() == [True, False]


def test_where_gradcheck_and_parity(op, rng):
    cond = rng.uniform(size=(3, 4)) > 0.5

    def fn(m, a, b):
        c = m.tensor(cond) if m is pyseq else m.tensor(cond)
        return m.where(c, a, b)

    op.check(fn, [(3, 4), (4,)])
    op.check(lambda m, a: m.where(m.tensor(cond), a, 0.5), [(3, 4)])


def test_masked_fill_gradcheck_and_parity(op, rng):
    mask = rng.uniform(size=(1, 4)) > 0.5
    op.check(lambda m, a: a.masked_fill(m.tensor(mask), -3.0), [(3, 4)])
    op.check(lambda m, a: a.masked_fill(m.tensor(mask), float("-inf")).softmax(-1), [(3, 4)], gradcheck=False)


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_triu(op, name, diagonal):
    op.check(lambda m, a: getattr(m, name)(a, diagonal), [(2, 4, 5)])


def test_causal_mask_from_triu():
    mask = pyseq.triu(pyseq.ones(3, 3), 1) == 1
    scores = pyseq.zeros(3, 3).masked_fill(mask, float("-inf")).softmax(-1)
    np.testing.assert_allclose(scores.numpy(), [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
