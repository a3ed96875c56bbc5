"""nn.cpp: the fused functional ops layer_norm, cross_entropy, dropout, conv1d, max_pool1d and kmax_pool1d
(through pyseq.nn.functional): float64 gradchecks, float32 parity with torch.nn.functional, fused nodes."""

import numpy as np
import pytest

import pyseq
from helpers import _lib
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# --- layer_norm ---

# ((3, 37), (37,)): rows past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
@pytest.mark.parametrize("shape,normalized_shape", [((3, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)),
                                                    ((3, 37), (37,))])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(op, shape, normalized_shape, affine):
    shapes = [shape] + {"both": [normalized_shape] * 2, "weight": [normalized_shape], "none": []}[affine]

    def fn(lib, x, *wb):
        w = wb[0] if wb else None
        b = wb[1] if len(wb) > 1 else None
        return _lib(lib).layer_norm(x, normalized_shape, w, b, 1e-5)

    op.check(fn, shapes, rtol=1e-4, atol=1e-5)


def test_layer_norm_is_one_fused_node():
    x = pyseq.randn(2, 3, requires_grad=True)
    w, b = pyseq.ones(3, requires_grad=True), pyseq.zeros(3, requires_grad=True)
    assert "LayerNorm" in repr(F.layer_norm(x, (3,), w, b).grad_fn)


LAYER_NORM_SCRIPT = r"""
import json
import numpy as np
import pyseq
from pyseq.nn import functional as F
rng = np.random.default_rng(0)
worst = 0.0
# Row lengths around the vector width and the 16-vector blocks of the float row kernels; a large
# mean (two-pass variance); with and without weight and bias. (D <= 2 is left out: there the
# input gradient is mostly cancellation, and float32 errors, torch's alike, reach 1e-4.)
for D in [3, 8, 9, 16, 17, 127, 128, 129, 257, 1000]:
    for affine in (True, False):
        # float32 values, so both paths see the same inputs
        x = (rng.standard_normal((6, D)) * 3 + 100).astype(np.float32)
        g = rng.standard_normal((6, D)).astype(np.float32)
        w, b = rng.standard_normal(D).astype(np.float32), rng.standard_normal(D).astype(np.float32)
        outs = {}
        for dtype in (np.float32, np.float64):
            t = [pyseq.from_numpy(a.astype(dtype)).requires_grad_() for a in (x, w, b)]
            y = F.layer_norm(t[0], (D,), t[1] if affine else None, t[2] if affine else None, 1e-5)
            y.backward(pyseq.from_numpy(g.astype(dtype)))
            outs[dtype] = [y.detach().numpy()] + [v.grad.numpy() for v in (t if affine else t[:1])]
        for o32, o64 in zip(outs[np.float32], outs[np.float64]):
            worst = max(worst, float(np.abs(o32 - o64).max() / (1 + np.abs(o64).max())))
print(json.dumps({"level": pyseq._core.cpu_level(), "worst": worst}))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_layer_norm_float_rows_on_every_level(at_cpu_level, level):
    # the vectorised float32 row kernels against the float64 path (forward and all gradients)
    assert at_cpu_level(level, LAYER_NORM_SCRIPT)["worst"] <= 1e-5


# --- cross_entropy (index targets go through the fused kernel) ---

CE_OPTIONS = [
    dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1), dict(label_smoothing=0.1),
    dict(weight=True), dict(weight=True, ignore_index=2, label_smoothing=0.2),
    dict(weight=True, reduction="none", label_smoothing=0.3), dict(weight=True, reduction="sum", ignore_index=0),
]


def _ce_args(rng, kw, C):
    kw = dict(kw)
    weight = rng.uniform(0.2, 2.0, size=C) if kw.pop("weight", False) else None
    return kw, weight


@pytest.mark.parametrize("kw", CE_OPTIONS)
@pytest.mark.parametrize("layout", [(5, 4), (2, 4, 3), (4,), (3, 37)])  # 37 classes: rows past the vector widths
def test_cross_entropy_parity(rng, kw, layout):
    C = layout[0] if len(layout) == 1 else layout[1]
    tshape = () if len(layout) == 1 else (layout[0],) + layout[2:]
    kw, weight = _ce_args(rng, kw, C)
    x = rng.standard_normal(layout).astype(np.float32) * 2
    t = rng.integers(0, C, size=tshape).astype(np.int64)
    if t.size > 1 and "ignore_index" in kw:
        t.flat[0] = kw["ignore_index"]  # at least one ignored target
    ours_x, theirs_x = pyseq.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w_ours = pyseq.tensor(weight, dtype=pyseq.float32) if weight is not None else None
    w_theirs = torch.tensor(weight, dtype=torch.float32) if weight is not None else None
    out = F.cross_entropy(ours_x, pyseq.tensor(t), weight=w_ours, **kw)
    ref = TF.cross_entropy(theirs_x, torch.tensor(t), weight=w_theirs, **kw)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    upstream = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(pyseq.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(weight=True, ignore_index=1, label_smoothing=0.2),
                                dict(reduction="none", label_smoothing=0.1), dict(reduction="sum", weight=True)])
def test_cross_entropy_gradcheck(rng, kw):
    kw, weight = _ce_args(rng, kw, 37)  # 37 classes: rows past the vector widths of every ISA level
    x = pyseq.tensor(rng.standard_normal((4, 37)), dtype=pyseq.float64, requires_grad=True)
    t = pyseq.tensor([0, 1, 36, 1])
    w = pyseq.tensor(weight, dtype=pyseq.float64) if weight is not None else None
    assert pyseq.autograd.gradcheck(lambda x: F.cross_entropy(x, t, weight=w, **kw), (x,))


def test_cross_entropy_probability_targets(rng):
    x = rng.standard_normal((4, 3, 2))
    p = rng.dirichlet(np.ones(3), size=(4, 2)).transpose(0, 2, 1).copy()  # (N, C, d) probabilities
    w = rng.uniform(0.5, 2, size=3)
    for kw in (dict(), dict(label_smoothing=0.2), dict(reduction="none"), dict(reduction="sum")):
        for weight in (None, w):
            ours = F.cross_entropy(pyseq.tensor(x), pyseq.tensor(p),
                                   weight=None if weight is None else pyseq.tensor(weight), **kw)
            ref = TF.cross_entropy(torch.tensor(x), torch.tensor(p),
                                   weight=None if weight is None else torch.tensor(weight), **kw)
            np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10)
    xs = pyseq.tensor(x[:, :, 0], requires_grad=True)
    ps = pyseq.tensor(p[:, :, 0], requires_grad=True)
    assert pyseq.autograd.gradcheck(lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1), (xs, ps))


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = pyseq.randn(2, 3)
    out = F.cross_entropy(x, pyseq.tensor([-100, -100]))
    assert np.isnan(out.item())
    assert np.isnan(TF.cross_entropy(torch.randn(2, 3), torch.tensor([-100, -100])).item())


def test_cross_entropy_is_one_fused_node():
    x = pyseq.randn(2, 3, requires_grad=True)
    assert "CrossEntropy" in repr(F.cross_entropy(x, pyseq.tensor([0, 2]), weight=pyseq.ones(3)).grad_fn)


# --- dropout ---

def test_dropout_gradcheck_and_torch_semantics(rng):
    x = pyseq.tensor(rng.standard_normal((3, 37)), dtype=pyseq.float64, requires_grad=True)

    def fn(x):  # the same mask on every call
        pyseq.manual_seed(11)
        return F.dropout(x, 0.4, training=True)

    assert pyseq.autograd.gradcheck(fn, (x,))
    y = fn(x).detach().numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], x.detach().numpy()[kept] / 0.6, rtol=1e-12)
    assert "Dropout" in repr(fn(x).grad_fn)
    np.testing.assert_array_equal(F.dropout(x, 0.4, training=False).detach().numpy(), x.detach().numpy())
    with pytest.raises(ValueError, match="between 0 and 1, but got 2"):
        F.dropout(x, 2)


# --- conv1d ---

CONV_CASES = [
    dict(), dict(stride=2), dict(padding=1), dict(dilation=2), dict(groups=2), dict(stride=2, padding=2, dilation=2),
    dict(padding="same"), dict(padding="valid"),
]


@pytest.mark.parametrize("kw", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv1d(op, kw, bias):
    shapes = [(2, 4, 7), (6, 4 // kw.get("groups", 1), 3)] + ([(6,)] if bias else [])

    def fn(lib, x, w, *b):
        return _lib(lib).conv1d(x, w, b[0] if b else None, **kw)

    op.check(fn, shapes, rtol=1e-4, atol=1e-5)


def test_conv1d_and_pooling_are_fused_nodes():
    x = pyseq.randn(1, 2, 6, requires_grad=True)
    assert "Conv1d" in repr(F.conv1d(x, pyseq.randn(3, 2, 2)).grad_fn)
    assert "MaxPool1d" in repr(F.max_pool1d(x, 2).grad_fn)


def test_conv1d_same_with_even_kernel(op):
    # total padding dilation * (K - 1) = 3 is odd: one more zero on the right, as in PyTorch
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        op.check(lambda lib, x, w: _lib(lib).conv1d(x, w, padding="same", dilation=3), [(1, 2, 6), (3, 2, 2)],
                 rtol=1e-4, atol=1e-5)


# --- pooling ---

@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=3), dict(kernel_size=1)])
def test_max_pool1d(op, kw):
    op.check(lambda lib, x: _lib(lib).max_pool1d(x, **kw), [(2, 3, 8)])
    op.check(lambda lib, x: _lib(lib).max_pool1d(x, **kw), [(3, 8)])


def test_max_pool1d_padding_is_minus_infinity():
    x = pyseq.tensor([[[-5.0, -3.0, -4.0]]])
    np.testing.assert_array_equal(F.max_pool1d(x, 2, stride=2, padding=1).numpy(), [[[-5.0, -3.0]]])


def _torch_kmax(x, k):
    idx = x.topk(k, dim=-1).indices.sort(dim=-1).values
    return x.gather(-1, idx)


@pytest.mark.parametrize("shape,k", [((2, 3, 7), 3), ((4, 5), 1), ((6,), 6), ((2, 2, 2, 5), 2)])
def test_kmax_pool1d(op, shape, k):
    op.check(lambda lib, x: F.kmax_pool1d(x, k) if lib is pyseq else _torch_kmax(x, k), [shape])


def test_kmax_pool1d_keeps_order_and_checks_k():
    x = pyseq.tensor([[3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0]])
    np.testing.assert_array_equal(F.kmax_pool1d(x, 3).numpy(), [[5.0, 9.0, 6.0]])
    np.testing.assert_array_equal(F.kmax_pool1d(x, 4).numpy(), [[4.0, 5.0, 9.0, 6.0]])
    for k in (0, 9):
        with pytest.raises(ValueError, match=f"k={k}"):
            F.kmax_pool1d(x, k)


@pytest.mark.parametrize("n,c_in,c_out,length,k,stride,padding,dilation,groups", [
    (2, 4, 6, 9, 3, 1, 0, 1, 1), (3, 4, 8, 17, 5, 2, 2, 2, 2), (1, 6, 6, 7, 1, 1, 0, 1, 6), (70, 3, 5, 40, 4, 3, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_kernel_matches_its_reference(n, c_in, c_out, length, k, stride, padding, dilation, groups, dtype):
    rng = np.random.default_rng(5)
    x = pyseq.from_numpy(rng.standard_normal((n, c_in, length)).astype(dtype))
    w = pyseq.from_numpy(rng.standard_normal((c_out, c_in // groups, k)).astype(dtype))
    fast, ref = (pyseq._core._testing.conv1d(x, w, stride, padding, dilation, groups, reference)
                 for reference in (False, True))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fast.numpy(), ref.numpy(), rtol=tol, atol=tol)


def test_conv1d_with_an_empty_output_does_not_loop_over_its_groups():
    # 10^12 empty groups used to hang (a loop per group, nothing bounded groups)
    x = pyseq.zeros(1, 0, 5, requires_grad=True)
    y = F.conv1d(x, pyseq.zeros(0, 0, 1, requires_grad=True), groups=10**12)
    assert y.shape == (1, 0, 5)
    y.sum().backward()
    assert x.grad.shape == (1, 0, 5)
    assert pyseq.nn.Conv1d(0, 0, 1, groups=10**12).weight.shape == (0, 0, 1)


def test_conv1d_refuses_a_kernel_of_size_zero():
    with pytest.raises(ValueError, match="kernel size should be greater than zero"):
        F.conv1d(pyseq.zeros(1, 2, 5), pyseq.zeros(2, 2, 0))
