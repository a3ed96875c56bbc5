"""Arithmetic with broadcasting, Python numbers and type promotion; in-place forms."""

import numpy as np
import pytest

import pyseq

BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 3))]

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "pow": lambda m, a, b: a ** b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_gradcheck_and_parity(op, name, shapes):
    # positive inputs keep div and pow away from poles and complex results
    op.check(BINARY[name], list(shapes), low=0.5, high=2.0)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_with_python_numbers(op, name):
    fn = BINARY[name]
    op.check(lambda m, a: fn(m, a, 1.5), [(2, 3)], low=0.5, high=2.0)
    op.check(lambda m, a: fn(m, 2.5, a), [(2, 3)], low=0.5, high=2.0)


def test_number_to_the_power_of_tensor(op):
    op.check(lambda m, a: 2.0 ** a, [(4,)])
    op.check(lambda m, a: a ** 0.5, [(4,)], low=0.5, high=2.0)


def test_pow_gradient_at_zero_base_matches_torch():
    torch = pytest.importorskip("torch")
    for exponent in ([2.0, 0.0, 1.0], [0.5, 3.0, 0.0]):
        a = pyseq.tensor([0.0, 0.0, 2.0], requires_grad=True)
        b = pyseq.tensor(exponent, requires_grad=True)
        ta = torch.tensor([0.0, 0.0, 2.0], requires_grad=True)
        tb = torch.tensor(exponent, requires_grad=True)
        (a ** b).sum().backward()
        (ta ** tb).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())


def test_type_promotion_follows_torch():
    i, f, d, b = pyseq.tensor([1, 2]), pyseq.tensor([1.0, 2.0]), pyseq.tensor([1.0, 2.0], dtype=pyseq.float64), pyseq.tensor([True, False])
    assert (i + 1).dtype == pyseq.int64
    assert (i + 1.5).dtype == pyseq.float32
    assert (i / 2).dtype == pyseq.float32 and (i / 2).tolist() == [0.5, 1.0]
    assert (f + d).dtype == pyseq.float64
    assert (f + 1).dtype == pyseq.float32
    assert (d * 2.0).dtype == pyseq.float64
    assert (b + b).dtype == pyseq.int64
    assert (b * b).dtype == pyseq.bool
    assert (i ** 2).tolist() == [1, 4] and (i ** 2).dtype == pyseq.int64


def test_mixed_dtype_gradients_come_back_in_the_input_dtype():
    a = pyseq.tensor([1.0, 2.0], requires_grad=True)
    b = pyseq.tensor([3.0, 4.0], dtype=pyseq.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == pyseq.float32 and a.grad.tolist() == [3.0, 4.0]
    assert b.grad.dtype == pyseq.float64 and b.grad.tolist() == [1.0, 2.0]


def test_inplace_ops_update_values_and_version():
    x = pyseq.tensor([1.0, 2.0, 3.0])
    v = x._version
    y = x.add_(1).mul_(2).sub_(pyseq.tensor([1.0, 1.0, 1.0])).div_(2)
    assert y is x
    assert x.tolist() == [1.5, 2.5, 3.5]
    assert x._version == v + 4
    x += 1
    x *= pyseq.tensor([[2.0, 1.0, 1.0]])[0]
    assert x.tolist() == [5.0, 3.5, 4.5]


def test_inplace_ops_on_non_leaves_backprop_like_torch():
    torch = pytest.importorskip("torch")
    data = np.array([0.5, -1.0, 2.0])

    def run(m):
        x = m.tensor(data, requires_grad=True)
        w = m.tensor([1.5, 2.0, -0.5], requires_grad=True)
        h = x * 3.0
        h.add_(w)        # d h / d w = 1
        h.mul_(w)        # needs the old h and w
        h.div_(2.0)
        h.sub_(x)
        (h * h).sum().backward()
        return x.grad.numpy(), w.grad.numpy()

    (gx, gw), (tgx, tgw) = run(pyseq), run(torch)
    np.testing.assert_allclose(gx, tgx, rtol=1e-6)
    np.testing.assert_allclose(gw, tgw, rtol=1e-6)


def test_inplace_result_must_keep_shape_and_dtype():
    x = pyseq.zeros(3)
    with pytest.raises(ValueError, match=r"\[3\]"):
        x.add_(pyseq.ones(2, 3))
    i = pyseq.tensor([1, 2])
    with pytest.raises(TypeError, match="float32"):
        i.add_(1.5)
    with pytest.raises(TypeError, match="float32"):
        i /= 2
