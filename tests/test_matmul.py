"""matmul.cpp: matmul (1-D, 2-D, batched with broadcasting, transposed operands; values against numpy) and
linear (the fused bias, and the activation in the GEMM epilogue)."""

import numpy as np
import pytest

import pyseq
from pyseq.nn import functional as F

try:  # only the parity tests of linear's activations need it
    import torch
    TF = torch.nn.functional
except ImportError:
    torch = TF = None

SHAPES = [
    ((4,), (4,)),             # dot -> 0-d
    ((3, 4), (4,)),           # matrix @ vector
    ((4,), (4, 5)),           # vector @ matrix
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),      # batch @ shared weight (the Linear case)
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # broadcast batch dims
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul_gradcheck_and_parity(op, shapes):
    op.check(lambda m, a, b: a @ b, list(shapes))


def test_matmul_transposed_operands(op):
    op.check(lambda m, a, b: a.transpose(0, 1) @ b.transpose(-1, -2), [(4, 3), (2, 5, 4)])
    op.check(lambda m, a, b: a[:, ::2] @ b, [(3, 8), (4, 2)])


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 13, 5), (33, 65, 129), (128, 1, 64), (1, 300, 700), (0, 4, 3),
                                   (3, 0, 4), (65, 129, 513)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_matmul_values_on_odd_sizes(rng, m, k, n, dtype):
    a = rng.integers(-3, 4, size=(m, k)).astype(dtype)
    b = rng.integers(-3, 4, size=(k, n)).astype(dtype)
    out = (pyseq.from_numpy(a) @ pyseq.from_numpy(b)).numpy()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, a @ b)  # small integers: exact in every dtype


def test_matmul_large_float32_matches_a_float64_reference(rng):
    a = rng.standard_normal((300, 257)).astype(np.float32)
    b = rng.standard_normal((257, 190)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    out = (pyseq.from_numpy(a) @ pyseq.from_numpy(b)).numpy()
    # float32 rounding of a 257-term sum, relative to the sum of |terms|: about 2e-7 measured here
    bound = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    assert (np.abs(out - exact) / bound).max() < 1e-6


def test_matmul_threads_give_identical_results(rng):
    a = rng.standard_normal((256, 200)).astype(np.float32)
    b = rng.standard_normal((200, 300)).astype(np.float32)
    before = pyseq.get_num_threads()
    try:
        pyseq.set_num_threads(1)
        one = (pyseq.from_numpy(a) @ pyseq.from_numpy(b)).numpy()
        pyseq.set_num_threads(2)
        two = (pyseq.from_numpy(a) @ pyseq.from_numpy(b)).numpy()
    finally:
        pyseq.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\[2, 3\] and \[4, 5\]"):
        pyseq.ones(2, 3) @ pyseq.ones(4, 5)
    with pytest.raises(ValueError, match="at least 1-D"):
        pyseq.tensor(1.0) @ pyseq.ones(2)
    with pytest.raises(TypeError, match="float32 and float64"):
        pyseq.ones(2, 2) @ pyseq.ones(2, 2, dtype=pyseq.float64)
    with pytest.raises(ValueError, match="broadcast"):
        pyseq.ones(2, 3, 4) @ pyseq.ones(3, 4, 5)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_fused_bias_gradcheck_and_parity(op, shape, with_bias):
    def fn(m, x, w, b):
        if m is pyseq:
            return pyseq._core.linear(x, w, b if with_bias else None)
        return m.nn.functional.linear(x, w, b if with_bias else None)
    op.check(fn, [shape, (3, 4), (3,)], grad_inputs=[0, 1, 2] if with_bias else [0, 1])


@pytest.mark.parametrize("rows", [(2, 5), (300,)], ids=str)
def test_linear_reads_a_transposed_weight_in_place(op, rows):
    # GPT-2's Conv1D keeps its weight as (in, out) and passes weight.T: gradients flow back to (in, out)
    def fn(m, x, w_in_out, b):
        if m is pyseq:
            return pyseq._core.linear(x, w_in_out.transpose(0, 1), b)
        return m.nn.functional.linear(x, w_in_out.T, b)
    op.check(fn, [rows + (4,), (4, 3), (3,)], grad_inputs=[0, 1, 2])


def test_linear_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"in_features=4.*\[2, 3\]"):
        pyseq._core.linear(pyseq.ones(2, 3), pyseq.ones(5, 4))
    with pytest.raises(ValueError, match=r"bias of shape \[5\]"):
        pyseq._core.linear(pyseq.ones(2, 4), pyseq.ones(5, 4), pyseq.ones(4))


# --- linear with an activation in the GEMM epilogue (a pyseq addition) ---

# torch's forms, looked up when called (TF is None without torch)
ACTIVATIONS = {"relu": lambda t: TF.relu(t), "gelu": lambda t: TF.gelu(t),
               "gelu_tanh": lambda t: TF.gelu(t, approximate="tanh")}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_linear_with_fused_activation(op, activation):
    def fn(lib, x, w, b):
        if lib is pyseq:
            return F.linear(x, w, b, activation=activation)
        return ACTIVATIONS[activation](TF.linear(x, w, b))

    op.check(fn, [(4, 7, 9), (5, 9), (5,)])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
# the few-rows GEMM paths (3: B read in place; 40: split by columns, each thread packing its own
# slivers), and the blocked one split by rows
@pytest.mark.parametrize("rows", [3, 40, 200])
# the weight as stored (out, in), or as the transposed view of an (in, out) matrix (GPT-2's Conv1D),
# which the few-rows path reads with its K split between the threads
@pytest.mark.parametrize("weight_view", [False, True])
@pytest.mark.skipif(torch is None, reason="needs torch")
def test_linear_epilogue_without_grad_matches_torch(rng, activation, rows, weight_view):
    x = rng.standard_normal((rows, 300), dtype=np.float32)
    w = rng.standard_normal((257, 300), dtype=np.float32) / 17
    b = rng.standard_normal(257, dtype=np.float32)
    w_ours = pyseq.from_numpy(np.ascontiguousarray(w.T)).transpose(0, 1) if weight_view else pyseq.from_numpy(w)
    with pyseq.no_grad():
        ours = F.linear(pyseq.from_numpy(x), w_ours, pyseq.from_numpy(b), activation=activation)
    assert ours.grad_fn is None
    ref = ACTIVATIONS[activation](TF.linear(*map(torch.from_numpy, (x, w, b)))).numpy()
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-4)


def test_linear_unknown_activation():
    with pytest.raises(ValueError, match="activation must be .*got 'tanh'"):
        F.linear(pyseq.ones(2, 3), pyseq.ones(4, 3), activation="tanh")


def test_integer_matmul_wraps_on_overflow_as_numpy():
    """int64 products that overflow wrap (two's complement, as numpy and the elementwise ops) rather
    than being undefined behaviour; batched and broadcast forms too."""
    rng = np.random.default_rng(0)
    for m, k, n in [(3, 4, 5), (1, 7, 1), (17, 33, 9)]:
        a, b = rng.integers(-2**40, 2**40, (m, k)), rng.integers(-2**40, 2**40, (k, n))
        with np.errstate(over="ignore"):
            expected = a @ b
        np.testing.assert_array_equal((pyseq.tensor(a) @ pyseq.tensor(b)).numpy(), expected)
    a, b = rng.integers(-5, 5, (2, 3, 4)), rng.integers(-5, 5, (2, 4, 5))
    np.testing.assert_array_equal((pyseq.tensor(a) @ pyseq.tensor(b)).numpy(), a @ b)
    np.testing.assert_array_equal((pyseq.tensor(a) @ pyseq.tensor(b[0])).numpy(), a @ b[0])
