"""binary.cpp: arithmetic with broadcasting, Python numbers and type promotion; in-place forms."""

import numpy as np
import pytest

import pyseq
from helpers import N_CASES, ones, random_broadcast_shapes, random_operand

# The last two have rows of 37 floats: past two 16-float (AVX-512) vectors with a ragged tail at
# every ISA level, once against a row and once against a broadcast column.
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 3)),
                    ((3, 37), (37,)), ((2, 1, 37), (3, 1))]

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "pow": lambda m, a, b: a ** b,
}
# positive inputs keep div and pow away from poles and complex results; the others take both signs
BINARY_RANGE = {"add": (-2.0, 2.0), "sub": (-2.0, 2.0), "mul": (-2.0, 2.0), "div": (0.5, 2.0), "pow": (0.5, 2.0)}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_gradcheck_and_parity(op, name, shapes):
    low, high = BINARY_RANGE[name]
    op.check(BINARY[name], list(shapes), low=low, high=high)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_with_python_numbers(op, name):
    fn, (low, high) = BINARY[name], BINARY_RANGE[name]
    op.check(lambda m, a: fn(m, a, 1.5), [(3, 37)], low=low, high=high)
    op.check(lambda m, a: fn(m, 2.5, a), [(3, 37)], low=low, high=high)


def test_number_to_the_power_of_tensor(op):
    op.check(lambda m, a: 2.0 ** a, [(37,)])
    op.check(lambda m, a: a ** 0.5, [(37,)], low=0.5, high=2.0)


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
    assert (b + b).dtype == pyseq.bool and (b + b).tolist() == [True, False]  # logical or: torch's bool + bool
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


def test_inplace_op_cannot_change_the_shape():
    x = ones(3)
    with pytest.raises(ValueError, match=r"add_: output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        x.add_(ones(2, 3))
    assert x.tolist() == [1.0, 1.0, 1.0]


# --------------------------------------------------------------------------------------------
# random broadcasting against numpy; dtype promotion against PyTorch
# --------------------------------------------------------------------------------------------

BROADCAST_BINARY = {
    "add": (lambda a, b: a + b, "normal", "normal"),
    "sub": (lambda a, b: a - b, "normal", "normal"),
    "mul": (lambda a, b: a * b, "normal", "normal"),
    "div": (lambda a, b: a / b, "normal", "nonzero"),
    "pow": (lambda a, b: a ** b, "positive", "exponent"),
    "eq": (lambda a, b: a == b, "small_int", "small_int"),
    "ne": (lambda a, b: a != b, "small_int", "small_int"),
    "lt": (lambda a, b: a < b, "small_int", "small_int"),
    "le": (lambda a, b: a <= b, "small_int", "small_int"),
    "gt": (lambda a, b: a > b, "small_int", "small_int"),
    "ge": (lambda a, b: a >= b, "small_int", "small_int"),
}


@pytest.mark.parametrize("op", sorted(BROADCAST_BINARY))
def test_broadcast_binary_ops_match_numpy(op):
    fn, kind_a, kind_b = BROADCAST_BINARY[op]
    rng = np.random.default_rng(sum(map(ord, op)) + 100)
    for _ in range(N_CASES):
        sa, sb = random_broadcast_shapes(rng)
        ta, a = random_operand(rng, sa, kind_a)
        tb, b = random_operand(rng, sb, kind_b)
        expected = fn(a, b)
        out = fn(ta, tb)
        assert out.shape == expected.shape, (op, sa, sb)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            assert out.dtype == pyseq.bool
            np.testing.assert_array_equal(out.numpy(), expected)
        else:
            assert out.dtype == pyseq.float32
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
        # module function form gives the same result
        out2 = getattr(pyseq, op)(ta, tb)
        np.testing.assert_array_equal(out2.numpy(), out.numpy())


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "lt", "eq"])
def test_binary_ops_with_python_numbers(op):
    fn = BROADCAST_BINARY[op][0]
    rng = np.random.default_rng(sum(map(ord, op)) + 200)
    for _ in range(20):
        (shape,) = random_broadcast_shapes(rng, 1)
        kind = "positive" if op in ("pow", "div") else "small_int" if op in ("lt", "eq") else "normal"
        t, a = random_operand(rng, shape, kind)
        s = float(rng.choice([-1.5, 0.5, 2.0, 3.0])) if op != "pow" else float(rng.choice([0.5, 2.0, 3.0]))
        if op in ("lt", "eq"):
            s = float(rng.integers(-2, 3))
        for left, right, x, y in ((t, s, a, np.float32(s)), (s, t, np.float32(s), a)):
            out = fn(left, right)
            expected = fn(x, y)
            assert out.shape == expected.shape
            if out.dtype == pyseq.bool:
                np.testing.assert_array_equal(out.numpy(), expected)
            else:
                assert out.dtype == pyseq.float32
                np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
        # an int number keeps the tensor's float32 dtype
        if op in ("add", "mul"):
            out = fn(t, 3)
            assert out.dtype == pyseq.float32
            np.testing.assert_allclose(out.numpy(), fn(a, np.float32(3)), rtol=1e-6)


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("int64", "float32"), ("int64", "float64"),
                                   ("int64", "int64"), ("float64", "float64")])
def test_broadcast_dtype_promotion_matches_torch(da, db):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(41)
    n_zero_dim = 0
    for _ in range(16):
        sa, sb = random_broadcast_shapes(rng)
        n_zero_dim += (not sa) + (not sb)  # 0-d operands follow PyTorch's rule too
        a = rng.integers(1, 5, sa).astype(da)
        b = rng.integers(1, 5, sb).astype(db)
        for name in ("add", "sub", "mul", "div"):
            out = getattr(pyseq, name)(pyseq.tensor(a), pyseq.tensor(b))
            ref = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
            assert str(out.dtype) == "pyseq." + str(ref.dtype).replace("torch.", ""), (name, da, db)
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    assert n_zero_dim > 0


def test_zero_dim_tensor_promotion():
    # a 0-d tensor, like a Python number, only counts when it is of a higher kind (bool < int < float)
    out = pyseq.ones(2) + pyseq.tensor(1.0, dtype=pyseq.float64)
    assert out.dtype == pyseq.float32
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    out = pyseq.tensor(0.5, dtype=pyseq.float64) * pyseq.tensor([1, 2, 3])
    assert out.dtype == pyseq.float64 and out.tolist() == [0.5, 1.0, 1.5]
    assert (pyseq.tensor([True]) + pyseq.tensor(2)).dtype == pyseq.int64
    assert (pyseq.tensor([1, 2]) + pyseq.tensor(True)).dtype == pyseq.int64
    # two 0-d tensors, or two dimensioned ones, promote as usual
    assert (pyseq.tensor(1.0) + pyseq.tensor(1.0, dtype=pyseq.float64)).dtype == pyseq.float64
    assert (pyseq.ones(1) + pyseq.ones(1, dtype=pyseq.float64)).dtype == pyseq.float64
    # the comparison runs in the result type: 0.1 as float64 rounds to float32's 0.1
    assert (pyseq.tensor([0.1]) == pyseq.tensor(0.1, dtype=pyseq.float64)).tolist() == [True]
    assert (pyseq.tensor([0.1], dtype=pyseq.float64) == pyseq.tensor(0.1)).tolist() == [False]


DTYPES = ["bool", "int64", "float32", "float64"]


@pytest.mark.parametrize("d0", DTYPES)  # of the 0-d operand
@pytest.mark.parametrize("dn", DTYPES)  # of the dimensioned one
def test_zero_dim_tensor_promotion_matches_torch(d0, dn):
    torch = pytest.importorskip("torch")
    zero_d = np.array(3, dtype=d0)
    dimmed = np.array([1, 2, 0], dtype=dn)
    ops = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
           "pow": lambda a, b: a ** b, "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
           "where": lambda a, b: (pyseq if isinstance(a, pyseq.Tensor) else torch).where(b > 0, a, b)}
    if d0 == dn == "bool":  # arithmetic on two bools: PyTorch gives bool or raises, pyseq int64 (by design)
        ops = {name: ops[name] for name in ("lt", "eq", "where")}
    for name, fn in ops.items():
        for order in ((0, 1), (1, 0)):
            ps = [pyseq.tensor(zero_d), pyseq.tensor(dimmed)]
            th = [torch.from_numpy(zero_d.copy()), torch.from_numpy(dimmed.copy())]
            if name == "where" and order == (1, 0):
                continue
            out = fn(*[ps[i] for i in order])
            ref = fn(*[th[i] for i in order])
            assert str(out.dtype) == str(ref.dtype).replace("torch.", "pyseq."), (name, order, d0, dn)
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


def test_integer_to_a_negative_integer_power_raises_like_torch():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        pyseq.tensor([2, 3]) ** -1
    assert (pyseq.tensor([2, 3]) ** 2).tolist() == [4, 9]
    assert (pyseq.tensor([2.0, 4.0]) ** -1).tolist() == [0.5, 0.25]


def test_bool_arithmetic_like_torch():
    torch = pytest.importorskip("torch")
    a, b = [True, False, True, False], [True, True, False, False]
    ours, theirs = pyseq.tensor(a), torch.tensor(a)
    assert (ours + pyseq.tensor(b)).tolist() == (theirs + torch.tensor(b)).tolist()
    ours.add_(pyseq.tensor(b))  # used to compute "and"
    theirs.add_(torch.tensor(b))
    assert ours.tolist() == theirs.tolist() == [True, True, True, False]
    with pytest.raises(TypeError, match="subtraction of two bool"):
        pyseq.tensor(a) - pyseq.tensor(b)
    with pytest.raises(TypeError, match="can't be cast"):
        pyseq.tensor(a).add_(pyseq.tensor([1, 2, 3, 4]))


# atan2 and hypot everywhere smooth away from the origin; remainder and fmod away from their jumps
# (inputs in (0.5, 2) against a divisor of 0.3 < x / 3 would cross them, so those divide by 2.5..3)
MATH = {
    "atan2": (lambda m, a, b: m.atan2(a, b), (-2.0, 2.0)),
    "hypot": (lambda m, a, b: m.hypot(a, b), (0.5, 2.0)),
    "remainder": (lambda m, a, b: m.remainder(a, b + 2.0), (0.5, 0.9)),
    "fmod": (lambda m, a, b: m.fmod(-a, b + 2.0), (0.5, 0.9)),
}


@pytest.mark.parametrize("name", sorted(MATH))
def test_math_binary_gradcheck_and_parity(op, name):
    fn, (low, high) = MATH[name]
    op.check(fn, [(3, 37), (37,)], low=low, high=high)


ROUNDED_DIVISIONS = {
    "%": lambda m, x, d: x % d,
    "//": lambda m, x, d: x // d,
    "fmod": lambda m, x, d: m.fmod(x, d),
    "number % tensor": lambda m, x, d: d % x,
    "trunc": lambda m, x, d: m.div(x, d, rounding_mode="trunc"),
}


@pytest.mark.parametrize("divisor", [2.5, -2.5, 0.7, -1.0, 3])
def test_remainder_floor_divide_fmod_values_match_torch(divisor):
    """%, // and fmod with PyTorch's signs and rounding, for floats (signed zeros, values on the
    jumps, division by 0) and integers (the int64 minimum over -1 too)."""
    torch = pytest.importorskip("torch")
    floats = np.array([-7.5, -5.0, -2.5, -0.0, 0.0, 1e-30, 2.5, 5.0, 7.25, np.inf, -np.inf, np.nan])
    ints = np.array([-9, -7, -5, -1, 0, 1, 4, 5, 7, np.iinfo(np.int64).min])
    for values in (floats, ints):
        if values.dtype == np.int64 and not float(divisor).is_integer():
            continue
        d = int(divisor) if values.dtype == np.int64 else divisor
        ours, theirs = pyseq.tensor(values), torch.tensor(values)
        for name, call in ROUNDED_DIVISIONS.items():
            if name == "trunc" and values.dtype == np.int64 and d == -1:
                continue  # torch.div(INT64_MIN, -1, rounding_mode="trunc") traps (SIGFPE) in torch itself
            try:
                expected = call(torch, theirs, d).numpy()
            except RuntimeError:  # an integer divided by zero
                with pytest.raises(RuntimeError, match="division by zero"):
                    call(pyseq, ours, d)
                continue
            got = call(pyseq, ours, d).numpy()
            np.testing.assert_array_equal(got, expected)
            signed = ~np.isnan(expected)  # signed zeros alike (a NaN's sign bit means nothing)
            np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))


def test_integer_division_by_zero_raises():
    with pytest.raises(RuntimeError, match="division by zero"):
        pyseq.tensor([5, 6]) % pyseq.tensor([2, 0])
    with pytest.raises(RuntimeError, match="division by zero"):
        pyseq.tensor([5]) // 0
    assert np.isnan((pyseq.tensor([5.0]) % 0.0).item())


def test_bitwise_and_logical_ops_match_torch():
    torch = pytest.importorskip("torch")
    a, b = np.array([0, 3, -6, 12, 7]), np.array([5, 1, 3, -12, 7])
    for x, y in ((a, b), (a > 0, b > 2), (a > 0, b)):
        for call in (lambda m, p, q: p & q, lambda m, p, q: p | q, lambda m, p, q: p ^ q, lambda m, p, q: p & True,
                     lambda m, p, q: 6 | q, lambda m, p, q: m.logical_and(p, q), lambda m, p, q: m.logical_or(p, q),
                     lambda m, p, q: m.logical_xor(p, q)):
            expected = call(torch, torch.tensor(x), torch.tensor(y))
            got = call(pyseq, pyseq.tensor(x), pyseq.tensor(y))
            assert str(got.dtype) == str(expected.dtype).replace("torch", "pyseq")
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(TypeError, match="bool or integer"):
        pyseq.tensor([1.5]) & pyseq.tensor([1])


def test_floor_division_has_a_zero_gradient():
    x = pyseq.tensor([1.5, -2.5], requires_grad=True)
    ((x // 0.7) * 3 + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
