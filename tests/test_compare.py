"""compare.cpp: comparisons, where, masked_fill, tril/triu."""

import numpy as np
import pytest

import pyseq
from helpers import N_CASES, random_broadcast_shapes, random_operand


def test_comparisons_broadcast_and_return_bool(rng):
    # both signs, ties, and rows of 37: past two 16-float (AVX-512) vectors with a ragged tail
    a = rng.integers(-2, 3, size=(3, 37)).astype(np.float32)
    b = rng.integers(-2, 3, size=(37,)).astype(np.float32)
    x, y = pyseq.from_numpy(a), pyseq.from_numpy(b)
    for ours, ref in [(x == y, a == b), (x != y, a != b), (x < y, a < b), (x <= y, a <= b), (x > y, a > b),
                      (x >= y, a >= b), (x > 1, a > 1), (pyseq.logical_not(x == y), ~(a == b)), (~(x < y), ~(a < b))]:
        assert ours.dtype == pyseq.bool
        np.testing.assert_array_equal(ours.numpy(), ref)
    assert (pyseq.tensor([1, 2]) == pyseq.tensor([1.0, 2.5])).tolist() == [True, False]


def test_where_gradcheck_and_parity(op, rng):
    cond = rng.uniform(size=(3, 37)) > 0.5  # rows of 37 cross every ISA level's vector width

    def fn(m, a, b):
        c = m.tensor(cond) if m is pyseq else m.tensor(cond)
        return m.where(c, a, b)

    op.check(fn, [(3, 37), (37,)])
    op.check(lambda m, a: m.where(m.tensor(cond), a, 0.5), [(3, 37)])


def test_masked_fill_gradcheck_and_parity(op, rng):
    mask = rng.uniform(size=(1, 37)) > 0.5  # rows of 37 cross every ISA level's vector width
    op.check(lambda m, a: a.masked_fill(m.tensor(mask), -3.0), [(3, 37)])
    op.check(lambda m, a: a.masked_fill(m.tensor(mask), float("-inf")).softmax(-1), [(3, 37)], gradcheck=False)


@pytest.mark.parametrize("diagonal", [-1, 0, 2])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_triu(op, name, diagonal):
    op.check(lambda m, a: getattr(m, name)(a, diagonal), [(2, 4, 5)])


def test_causal_mask_from_triu():
    mask = pyseq.triu(pyseq.ones(3, 3), 1) == 1
    scores = pyseq.zeros(3, 3).masked_fill(mask, float("-inf")).softmax(-1)
    np.testing.assert_allclose(scores.numpy(), [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_where_and_masked_fill_broadcast():
    rng = np.random.default_rng(31)
    for _ in range(N_CASES):
        sc, sa, sb = random_broadcast_shapes(rng, 3)
        cond_vals = rng.random(sc) < 0.5
        cond = pyseq.tensor(cond_vals)
        if len(sc) >= 2 and rng.random() < 0.5:
            cond = pyseq.tensor(np.ascontiguousarray(np.swapaxes(cond_vals, 0, -1))).transpose(0, -1)
        ta, a = random_operand(rng, sa)
        tb, b = random_operand(rng, sb)
        out = pyseq.where(cond, ta, tb)
        expected = np.where(cond_vals, a, b)
        assert out.shape == expected.shape and out.dtype == pyseq.float32
        np.testing.assert_array_equal(out.numpy(), expected)
        # masked_fill: the mask broadcasts to the (non-contiguous) tensor's shape
        (sx,) = random_broadcast_shapes(rng, 1)
        tx, x = random_operand(rng, sx)
        mshape = [1 if rng.random() < 0.4 else s for s in sx[int(rng.integers(0, len(sx) + 1)):]]
        mvals = rng.random(mshape) < 0.5
        filled = tx.masked_fill(pyseq.tensor(mvals), -3.5)
        np.testing.assert_array_equal(filled.numpy(), np.where(np.broadcast_to(mvals, sx), np.float32(-3.5), x))
        np.testing.assert_array_equal(tx.numpy(), x)  # out of place


def test_masked_fill_of_a_value_int64_cannot_hold_raises():
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        pyseq.zeros(2, dtype=pyseq.int64).masked_fill(pyseq.tensor([True, False]), float("inf"))


def test_where_of_two_numbers_takes_their_kind():
    c = pyseq.tensor([True, False])
    assert pyseq.where(c, 1, 2).dtype == pyseq.int64 and pyseq.where(c, 1, 2).tolist() == [1, 2]
    assert pyseq.where(c, 1.0, 2).dtype == pyseq.float32
    assert pyseq.where(c, True, False).dtype == pyseq.bool


def test_invert_is_bitwise_for_int64_and_logical_for_bool():
    assert (~pyseq.tensor([0, 5, -1])).tolist() == [-1, -6, 0]
    assert (~pyseq.tensor([True, False])).tolist() == [False, True]
    assert pyseq.bitwise_not(pyseq.tensor([7])).tolist() == [-8]
    with pytest.raises(TypeError, match="int64 or bool"):
        ~pyseq.tensor([1.0])
