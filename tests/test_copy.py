"""copy.cpp: copy_, fill_, zero_, clone, contiguous and dtype conversion (to, float, double, long, bool)."""

import numpy as np
import pytest

import pyseq
from helpers import check_values, effective_strides, random_input


def test_conversions():
    x = pyseq.tensor([1.7, -2.2])
    assert x.to(pyseq.int64).tolist() == [1, -2]
    assert x.long().dtype == pyseq.int64 and x.double().dtype == pyseq.float64
    assert x.bool().tolist() == [True, True]
    assert pyseq.tensor([0, 3]).float().tolist() == [0.0, 3.0]
    assert float(pyseq.tensor([2.5])) == 2.5 and int(pyseq.tensor(3)) == 3
    assert bool(pyseq.tensor(True))
    with pytest.raises(ValueError, match="one element"):
        pyseq.ones(2).item()
    with pytest.raises(TypeError, match="pyseq dtype"):
        x.to("float16")


def test_contiguous_of_noncontiguous_inputs():
    rng = np.random.default_rng(12)
    n_copied = 0
    for _ in range(150):
        base, values, steps, x, imap = random_input(rng)
        c = x.contiguous()
        assert c.is_contiguous()
        assert c.shape == x.shape
        check_values(c, values, imap)
        if x.is_contiguous():
            assert c.data_ptr() == x.data_ptr() and c.stride() == x.stride()
            continue
        n_copied += 1
        # a fresh row-major copy: C-order strides, independent of the base
        expected_strides = tuple(s // 4 for s in np.empty(x.shape, dtype=np.float32).strides)
        assert effective_strides(c) == effective_strides(x.shape, expected_strides)
        assert c.storage_offset() == 0
        c[...] = 0.5
        np.testing.assert_array_equal(base.numpy(), values)
        np.testing.assert_array_equal(x.numpy(), values.ravel()[imap])
    assert n_copied > 30


def test_copy_into_a_buffer_passes_the_gradient(op):
    def fn(m, x):
        buf = m.zeros(2, 2, 37, dtype=x.dtype)
        buf.copy_(x.sin())
        return buf * 2
    op.check(fn, [(2, 2, 37)])  # rows of 37 cross every ISA level's vector width


def test_dtype_conversion_passes_the_gradient_in_the_input_dtype(op):
    # float32 -> float64 -> math -> back: the gradient arrives as float32 (finite differences
    # through a float32 rounding would be meaningless, so this is a parity check only)
    out = op.parity(lambda m, x: (x.double().exp() * 3).float(), op.inputs([(3, 37)]))
    assert out.dtype == pyseq.float32


def test_grad_flows_through_copy_and_fill():
    torch = pytest.importorskip("torch")

    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        buf = m.zeros(3)
        buf.copy_(x * 2)
        h = buf * buf
        h2 = x + 0.0
        h2.fill_(3.0)  # the old value no longer matters
        (h + h2).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(pyseq), run(torch))


def test_fill_of_a_value_int64_cannot_hold_raises():
    t = pyseq.zeros(2, dtype=pyseq.int64)
    for value in (float("nan"), float("-inf"), 1e300):
        with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
            t.fill_(value)
    assert t.fill_(-2.7).tolist() == [-2, -2]
