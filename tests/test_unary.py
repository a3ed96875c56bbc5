"""unary.cpp: unary math, float64 gradcheck and float32 parity with PyTorch (values and gradients)."""

import math

import numpy as np
import pytest

import pyseq

# name -> (call on lib and x, input range avoiding points where the derivative jumps; an op with a
# kink at 0 gets one entry per side)
UNARY = {
    "exp": (lambda m, x: m.exp(x), (-3, 3)),
    "log": (lambda m, x: m.log(x), (0.1, 4)),
    "sqrt": (lambda m, x: m.sqrt(x), (0.1, 4)),
    "rsqrt": (lambda m, x: m.rsqrt(x), (0.1, 4)),
    "abs": (lambda m, x: m.abs(x), (0.1, 2)),
    "abs_negative": (lambda m, x: m.abs(x), (-2, -0.1)),
    "neg": (lambda m, x: -x, (-2, 2)),
    "sin": (lambda m, x: m.sin(x), (-4, 4)),
    "cos": (lambda m, x: m.cos(x), (-4, 4)),
    "tanh": (lambda m, x: m.tanh(x), (-3, 3)),
    "sigmoid": (lambda m, x: m.sigmoid(x), (-6, 6)),
    "relu": (lambda m, x: m.relu(x), (0.05, 2)),
    "relu_negative": (lambda m, x: m.relu(x), (-2, -0.05)),
    "leaky_relu": (lambda m, x: m.nn.functional.leaky_relu(x, 0.2) if m.__name__ == "torch" else m.leaky_relu(x, 0.2), (-2, -0.05)),
    "leaky_relu_positive": (lambda m, x: m.nn.functional.leaky_relu(x, 0.2) if m.__name__ == "torch"
                            else m.leaky_relu(x, 0.2), (0.05, 2)),
    "elu": (lambda m, x: m.nn.functional.elu(x, 1.5) if m.__name__ == "torch" else m.elu(x, 1.5), (-3, -0.05)),
    "elu_positive": (lambda m, x: m.nn.functional.elu(x, 1.5) if m.__name__ == "torch" else m.elu(x, 1.5), (0.05, 3)),
    "gelu_erf": (lambda m, x: m.nn.functional.gelu(x) if m.__name__ == "torch" else m.gelu(x), (-4, 4)),
    "gelu_tanh": (lambda m, x: m.nn.functional.gelu(x, approximate="tanh") if m.__name__ == "torch"
                  else m.gelu(x, approximate="tanh"), (-4, 4)),
    "clamp": (lambda m, x: m.clamp(x, -0.5, 0.7), (-2, 2)),
    "clamp_min": (lambda m, x: m.clamp(x, min=0.25), (-2, 2)),
    "square_via_pow": (lambda m, x: x ** 2, (-2, 2)),
    "log1p": (lambda m, x: m.log1p(x), (-0.9, 3)),
    "expm1": (lambda m, x: m.expm1(x), (-3, 3)),
    "erf": (lambda m, x: m.erf(x), (-3, 3)),
    "floor": (lambda m, x: m.floor(x) * x, (1.1, 1.9)),  # times x: a gradient that is not all zero
    "ceil": (lambda m, x: m.ceil(x) * x, (-1.9, -1.1)),
    "round": (lambda m, x: m.round(x) * x, (0.6, 1.4)),
    "trunc": (lambda m, x: m.trunc(x) * x, (-2.9, -2.1)),
    "tan": (lambda m, x: m.tan(x), (-1.4, 1.4)),
    "asin": (lambda m, x: m.asin(x), (-0.9, 0.9)),
    "acos": (lambda m, x: m.acos(x), (-0.9, 0.9)),
    "atan": (lambda m, x: m.atan(x), (-4, 4)),
    "sinh": (lambda m, x: m.sinh(x), (-3, 3)),
    "cosh": (lambda m, x: m.cosh(x), (-3, 3)),
    "asinh": (lambda m, x: m.asinh(x), (-4, 4)),
    "acosh": (lambda m, x: m.acosh(x), (1.1, 4)),
    "atanh": (lambda m, x: m.atanh(x), (-0.9, 0.9)),
    "log2": (lambda m, x: m.log2(x), (0.1, 4)),
    "log10": (lambda m, x: m.log10(x), (0.1, 4)),
    "exp2": (lambda m, x: m.exp2(x), (-3, 3)),
    "reciprocal": (lambda m, x: m.reciprocal(x), (0.2, 3)),
    "square": (lambda m, x: m.square(x), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck_and_parity(op, name):
    fn, (lo, hi) = UNARY[name]
    # rows of 37: past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
    op.check(fn, [(3, 37)], low=lo, high=hi)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "gelu_erf", "sin"])
def test_unary_non_contiguous_input(op, name):
    fn, (lo, hi) = UNARY[name]
    op.parity(lambda m, x: fn(m, x.transpose(0, 1)[::2]), op.inputs([(5, 6)], lo, hi))


def test_sign_values_and_zero_gradient():
    x = pyseq.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = pyseq.sign(x)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_sigmoid_is_stable_for_large_inputs():
    y = pyseq.sigmoid(pyseq.tensor([-1000.0, 1000.0, 0.0]))
    assert y.tolist() == [0.0, 1.0, 0.5]


def test_special_values_pass_through():
    x = pyseq.tensor([float("nan"), float("inf"), -float("inf")])
    assert math.isnan(pyseq.exp(x).tolist()[0])
    assert pyseq.exp(x).tolist()[1:] == [float("inf"), 0.0]
    assert pyseq.tanh(x).tolist()[1:] == [1.0, -1.0]
    assert math.isnan(pyseq.clamp(x, -1, 1).tolist()[0])
    assert pyseq.log(pyseq.tensor([0.0])).tolist() == [-float("inf")]


def test_integer_inputs_promote_to_float_for_float_ops():
    x = pyseq.tensor([1, 2, 3])
    assert x.dtype == pyseq.int64
    assert pyseq.exp(x).dtype == pyseq.float32
    np.testing.assert_allclose(pyseq.sqrt(x).numpy(), np.sqrt([1, 2, 3]), rtol=1e-6)
    assert pyseq.abs(pyseq.tensor([-3, 4])).tolist() == [3, 4]
    assert pyseq.abs(pyseq.tensor([-3, 4])).dtype == pyseq.int64
    assert pyseq.relu(pyseq.tensor([-3, 4])).tolist() == [0, 4]
    assert pyseq.clamp(pyseq.tensor([-3, 4, 9]), 0, 5).tolist() == [0, 4, 5]


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        pyseq.gelu(pyseq.ones(2), approximate="fast")


# --- special values as in PyTorch (issue 19's silent wrong results) ---

def test_relu_passes_nan_and_negative_zero_like_torch():
    torch = pytest.importorskip("torch")
    x = [math.nan, -0.0, -2.0, 3.0]
    ours, theirs = pyseq.relu(pyseq.tensor(x)).numpy(), torch.relu(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.signbit(ours[1]) == np.signbit(theirs[1])
    fused = pyseq.nn.functional.linear(pyseq.tensor([[math.nan], [-1.0], [2.0]]), pyseq.ones(1, 1), activation="relu")
    assert math.isnan(fused[0, 0].item()) and fused[1:].numpy().ravel().tolist() == [0.0, 2.0]


@pytest.mark.parametrize("x,lo,hi", [([0.0, 5.0, 1.5], 2, 1), ([0.0, math.nan], math.nan, None),
                                     ([0.0, 5.0], None, math.nan), ([1, 2, 7], 0.5, None), ([1, 2, 7], 2, 5)])
def test_clamp_edge_cases_like_torch(x, lo, hi):
    torch = pytest.importorskip("torch")
    ours, theirs = pyseq.tensor(x).clamp(lo, hi), torch.tensor(x).clamp(lo, hi)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_rounding_values_halves_to_even_and_integers_unchanged():
    torch = pytest.importorskip("torch")
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.7, -1.2, -0.0, np.inf, np.nan])
    for name in ("floor", "ceil", "round", "trunc"):
        np.testing.assert_array_equal(getattr(pyseq, name)(pyseq.tensor(x)).numpy(),
                                      getattr(torch, name)(torch.tensor(x)).numpy(), err_msg=name)
        assert getattr(pyseq.tensor([3, -4]), name)().tolist() == [3, -4]
    tiny = np.array([1e-10, -1e-12])
    np.testing.assert_allclose(pyseq.log1p(pyseq.tensor(tiny)).numpy(), np.log1p(tiny), rtol=1e-15)
    np.testing.assert_allclose(pyseq.expm1(pyseq.tensor(tiny)).numpy(), np.expm1(tiny), rtol=1e-15)


def test_log_of_zero_negative_and_special_floats_matches_torch():
    """The vector log's slow path (zeros of either sign, negatives, NaN with the sign bit set,
    subnormals, inf) as torch; those lanes no longer overflow its integer arithmetic (UBSan)."""
    torch = pytest.importorskip("torch")
    x = np.array([-0.0, 0.0, -1.0, 2.0, np.nan, -np.nan, np.inf, -np.inf, 1e-40] * 3, dtype=np.float32)
    np.testing.assert_array_equal(pyseq.log(pyseq.tensor(x)).numpy(), torch.log(torch.tensor(x)).numpy())
