"""attention.cpp: the fused scaled_dot_product_attention (forward and backward) against PyTorch,
the plain-ops path (attention_with_weights), gradchecks, masks, causal, dropout and bad input."""

import numpy as np
import pytest

import pyseq
from pyseq.nn import functional as F

# (batch shape, Tq, Tk, d, dv, mask kind, causal): sizes cross the query blocks (128 rows when causal,
# else 256) and the key blocks (256)
CASES = [
    ((2, 3), 5, 7, 4, 6, None, False),
    ((1, 2), 130, 70, 16, 8, None, False),
    ((1, 2), 100, 100, 16, 8, None, True),
    ((1, 1), 140, 300, 16, 8, None, False),
    ((1, 1), 270, 40, 8, 8, None, False),
    ((1, 1), 290, 290, 8, 8, None, True),
    ((2, 1), 70, 150, 8, 8, "bool", False),
    ((2, 1), 70, 270, 8, 8, "float", False),
    ((2, 2), 65, 65, 8, 8, "padding", False),
    ((2, 1), 260, 140, 8, 8, "padding", False),
    ((3,), 66, 129, 8, 5, "bool", True),
    ((1, 2), 300, 130, 8, 4, "padding", True),
    ((3, 2), 40, 300, 8, 8, "lengths", False),
    ((3, 1), 140, 280, 8, 8, "lengths", True),
    ((2,), 30, 270, 8, 8, "float lengths", False),
    ((), 9, 9, 3, 3, None, True),
]


def _mask(kind, batch, Tq, Tk, rng):
    if kind == "bool":
        return rng.random(batch[:1] + (1,) * (len(batch) - 1) + (Tq, Tk)) > 0.3
    if kind == "float":
        return rng.standard_normal((Tq, Tk))
    if kind == "padding":  # (B, 1, 1, Tk): a key padding mask broadcast over heads and queries
        return rng.random((batch[0], 1, 1, Tk)) > 0.5
    if kind in ("lengths", "float lengths"):  # sequences of lengths 1 .. Tk padded at the end (keys cut off)
        keep = np.arange(Tk) < np.array([1, Tk // 3, Tk, 200][:batch[0]]).reshape((-1,) + (1,) * (len(batch) + 1))
        return keep if kind == "lengths" else np.where(keep, rng.standard_normal(keep.shape), -np.inf)
    return None


@pytest.mark.parametrize("batch,Tq,Tk,d,dv,kind,causal", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch_forward_and_backward(batch, Tq, Tk, d, dv, kind, causal, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(Tq * Tk + d)
    arrays = [rng.standard_normal(batch + s).astype(dtype) for s in ((Tq, d), (Tk, d), (Tk, dv))]
    mask = _mask(kind, batch, Tq, Tk, rng)
    if mask is not None and mask.dtype != bool:
        mask = mask.astype(dtype)
    ours = [pyseq.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else pyseq.tensor(mask), is_causal=causal)
    if causal and mask is not None:  # torch refuses both at once: give it their conjunction
        ref = torch.nn.functional.scaled_dot_product_attention(
            *theirs, attn_mask=torch.tensor(mask) & torch.ones(Tq, Tk, dtype=torch.bool).tril())
    else:
        ref = torch.nn.functional.scaled_dot_product_attention(
            *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    upstream = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pyseq.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    tol = dict(rtol=1e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    for name, a, b in zip("qkv", ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg=f"d{name}", **tol)
    plain, weights = F.attention_with_weights(*[pyseq.tensor(a) for a in arrays],
                                              attn_mask=None if mask is None else pyseq.tensor(mask), is_causal=causal)
    np.testing.assert_allclose(plain.numpy(), ref.detach().numpy(), **tol)
    assert weights.shape == batch + (Tq, Tk)


LEVEL_SCRIPT = r"""
import json
import numpy as np
import pyseq
from pyseq.nn import functional as F

rng = np.random.default_rng(7)
worst = 0.0
for Tq, Tk, d, causal in [(70, 300, 19, False), (133, 133, 8, True), (5, 17, 33, False)]:
    arrays = [rng.standard_normal((2, 2, T, d)) for T in (Tq, Tk, Tk)]
    keep = np.arange(Tk) < np.array([Tk - 3, 9]).reshape(2, 1, 1, 1)  # two lengths: keys cut off
    upstream = rng.standard_normal((2, 2, Tq, d))
    results = []
    for dtype in (np.float32, np.float64):  # the float path's vector kernels against float64's scalar ones
        q, k, v = (pyseq.tensor(a.astype(dtype), requires_grad=True) for a in arrays)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=pyseq.tensor(keep), is_causal=causal)
        out.backward(pyseq.tensor(upstream.astype(dtype)))
        results.append([t.detach().numpy().astype(np.float64) for t in (out, q.grad, k.grad, v.grad)])
    for ours, ref in zip(*results):  # error relative to the tensor's largest value (float32 rounding: ~1e-6)
        worst = max(worst, float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref))))
print(json.dumps({"level": pyseq.cpu_level(), "worst": worst}))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_float_kernels_on_every_cpu_level(at_cpu_level, level):
    assert at_cpu_level(level, LEVEL_SCRIPT)["worst"] < 1e-5


def test_gradcheck_with_mask_causal_broadcast_batch_and_scale():
    rng = np.random.default_rng(3)
    q = pyseq.tensor(rng.standard_normal((2, 1, 5, 3)), requires_grad=True)  # batch dims broadcast over k, v
    k = pyseq.tensor(rng.standard_normal((2, 3, 6, 3)), requires_grad=True)
    v = pyseq.tensor(rng.standard_normal((1, 3, 6, 2)), requires_grad=True)
    mask = pyseq.tensor(rng.random((5, 6)) > 0.2)
    assert pyseq.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=True, scale=0.7), [q, k, v])


def test_fully_masked_rows_give_zeros_and_finite_gradients():
    rng = np.random.default_rng(4)
    q, k, v = (pyseq.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (5, 4), (5, 2)))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False  # query 1 may attend nothing
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=pyseq.tensor(mask))
    assert out[1].tolist() == [0.0, 0.0] and np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))
    assert q.grad[1].tolist() == [0.0] * 4
    _, weights = F.attention_with_weights(q, k, v, attn_mask=pyseq.tensor(mask))
    assert weights[1].tolist() == [0.0] * 5


def test_a_learned_float_mask_with_a_fully_masked_row_gets_zero_gradients_as_torch():
    # the plain path (a float mask that requires grad, or need_weights) used to give NaN gradients there
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in ((1, 3, 4), (1, 5, 4), (1, 5, 4), (3, 5))]
    arrays[3][1] = -np.inf  # query 1 may attend nothing
    ours = [pyseq.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    F.scaled_dot_product_attention(*ours[:3], attn_mask=ours[3]).sum().backward()
    torch.nn.functional.scaled_dot_product_attention(*theirs[:3], attn_mask=theirs[3]).sum().backward()
    for name, a, b in zip(["q", "k", "v", "mask"], ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"d{name}")
    assert ours[0].grad.numpy()[0, 1].tolist() == [0.0] * 4
    out, weights = F.attention_with_weights(*ours[:3], attn_mask=ours[3])  # the weights too: zeros, no NaN
    (out.sum() + weights.sum()).backward()
    assert weights.detach().numpy()[0, 1].tolist() == [0.0] * 5
    assert all(np.isfinite(a.grad.numpy()).all() for a in ours)


def test_dropout_is_reproducible_from_the_rng_state_and_its_gradient_is_exact():
    rng = np.random.default_rng(5)
    q, k, v = (pyseq.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 70, 4), (2, 80, 4), (2, 80, 3)))
    state = pyseq.get_rng_state()

    def attend(q, k, v):
        pyseq.set_rng_state(state)  # every call draws the same dropout mask
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    a, b = attend(q, k, v), attend(q, k, v)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.allclose(a.detach().numpy(), F.scaled_dot_product_attention(q, k, v).detach().numpy())
    small = [pyseq.tensor(rng.standard_normal(s), requires_grad=True) for s in ((1, 4, 3), (1, 6, 3), (1, 6, 2))]
    assert pyseq.autograd.gradcheck(attend, small)


def test_dropout_keeps_the_expected_output():
    # E[out] over dropout masks equals the output without dropout: the average of many draws is close.
    rng = np.random.default_rng(6)
    q, k, v = (pyseq.tensor(rng.standard_normal(s)) for s in ((1, 8, 4), (1, 40, 4), (1, 40, 3)))
    exact = F.scaled_dot_product_attention(q, k, v).numpy()
    mean = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy() for _ in range(2000)], axis=0)
    np.testing.assert_allclose(mean, exact, atol=0.05)


@pytest.mark.parametrize("call,error,match", [
    (lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :3], v), ValueError, "same last dim"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v[:, :5]), ValueError, "number of positions"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k.double(), v), TypeError, "one dtype"),
    (lambda q, k, v: F.scaled_dot_product_attention(q[0, 0], k, v), ValueError, r"\(\.\.\., T, d\)"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=pyseq.ones(3, 3)), ValueError, "broadcast"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=pyseq.ones(7, 6, dtype=pyseq.int64)),
     TypeError, "attn_mask"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=1.5), ValueError, "dropout_p"),
])
def test_bad_input_raises(call, error, match):
    q, k, v = pyseq.randn(2, 7, 4), pyseq.randn(2, 6, 4), pyseq.randn(2, 6, 3)
    with pytest.raises(error, match=match):
        call(q, k, v)


@pytest.mark.parametrize("d,Tq,Tk,causal,kind", [(16, 65, 70, True, "padding"), (128, 6, 67, False, "float"),
                                                 (32, 66, 66, True, None)])
def test_gradcheck_head_dims_and_lengths_across_the_blocks(d, Tq, Tk, causal, kind):
    rng = np.random.default_rng(d + Tq)
    q = pyseq.tensor(rng.standard_normal((1, Tq, d)) * 0.5, requires_grad=True)
    k = pyseq.tensor(rng.standard_normal((1, Tk, d)) * 0.5, requires_grad=True)
    v = pyseq.tensor(rng.standard_normal((1, Tk, 1)), requires_grad=True)
    mask = None
    if kind == "padding":
        keep = rng.random((1, 1, Tk)) > 0.3
        keep[..., 0] = True
        mask = pyseq.tensor(keep)
    elif kind == "float":
        mask = pyseq.tensor(rng.standard_normal((Tq, Tk)))
    assert pyseq.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal), [q, k, v])


def test_fused_matches_the_plain_path_on_random_sizes():
    rng = np.random.default_rng(12)
    for _ in range(12):
        B, H = rng.integers(1, 3), rng.integers(1, 4)
        Tq, Tk = (int(x) for x in rng.integers(1, 150, 2))
        d, dv = (int(x) for x in rng.integers(1, 70, 2))
        causal = bool(rng.integers(0, 2))
        q, k, v = (pyseq.tensor(rng.standard_normal((B, H) + s)) for s in ((Tq, d), (Tk, d), (Tk, dv)))
        mask = pyseq.tensor(rng.random((B, 1, Tq, Tk)) > 0.2) if rng.integers(0, 2) else None
        fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        plain, _ = F.attention_with_weights(q, k, v, attn_mask=mask, is_causal=causal)
        np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"B={B} H={H} Tq={Tq} Tk={Tk} d={d} dv={dv} causal={causal}")


@pytest.mark.parametrize("mask_shape", [(5, 7), (3, 5, 7), (2, 1, 1, 7)])
@pytest.mark.parametrize("causal", [False, True])
def test_a_float_mask_that_requires_grad_gets_its_gradient_as_torch(mask_shape, causal):
    # a learned bias (relative positions, ALiBi): the fused kernel would drop its gradient, the plain path keeps it
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(mask_shape) + 3 * causal)
    arrays = [rng.standard_normal((2, 3) + s) for s in ((5, 4), (7, 4), (7, 6))] + [rng.standard_normal(mask_shape)]
    ours = [pyseq.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ours[:3], attn_mask=ours[3], is_causal=causal)
    mask = theirs[3].masked_fill(~torch.ones(5, 7, dtype=torch.bool).tril(), float("-inf")) if causal else theirs[3]
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs[:3], attn_mask=mask)
    g = rng.standard_normal(tuple(ref.shape))
    out.backward(pyseq.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, a, b in zip(["q", "k", "v", "mask"], ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"d{name}")
    # with dropout: the weights are dropped (the output changes) and the mask still gets its gradient
    ours[3].grad = None
    dropped = F.scaled_dot_product_attention(*ours[:3], attn_mask=ours[3], dropout_p=0.5, is_causal=causal)
    assert not np.allclose(dropped.detach().numpy(), out.detach().numpy())
    dropped.sum().backward()
    assert ours[3].grad.shape == mask_shape


@pytest.mark.parametrize("Tq,Tk", [(1, 37), (5, 70), (3, 3)])
def test_without_grad_a_kv_cache_prefix_is_read_in_place_and_matches_torch(Tq, Tk):
    # a preallocated (B, H, T_max, d) cache; attention reads its first Tk rows through a view
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(Tk)
    B, H, T_max, d, dv = 2, 3, 80, 8, 6
    k_cache = rng.standard_normal((B, H, T_max, d)).astype(np.float32)
    v_cache = rng.standard_normal((B, H, T_max, dv)).astype(np.float32)
    q = rng.standard_normal((B, H, Tq, d)).astype(np.float32)
    keep = rng.random((B, 1, 1, Tk)) > 0.3
    keep[..., -1] = True  # every query row sees at least one key
    k, v = pyseq.from_numpy(k_cache), pyseq.from_numpy(v_cache)
    with pyseq.no_grad():
        ours = F.scaled_dot_product_attention(pyseq.from_numpy(q), k[:, :, :Tk], v[:, :, :Tk],
                                              attn_mask=pyseq.from_numpy(keep))
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.from_numpy(q), torch.from_numpy(k_cache[:, :, :Tk]), torch.from_numpy(v_cache[:, :, :Tk]),
        attn_mask=torch.from_numpy(keep))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seq_first", [False, True])
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_heads_taken_from_the_columns_are_read_in_place_and_the_output_mirrors_them(seq_first, grad, causal):
    # q, k, v as (B, heads, T, d) views of (B, T, heads x d) projections (BERT's layout; seq_first:
    # of (T, B, heads x d), MultiheadAttention's); k is one head broadcast over all (stride 0).
    # Without grad the kernel reads them in place; either way the output is laid out in the
    # query's dim order (as torch's flash kernel does), so that putting its heads back into the rows
    # is a view.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(int(grad) + 2 * int(causal) + 4 * int(seq_first))
    B, T, H, d, dv = 2, 70, 3, 8, 5
    lead = (T, B) if seq_first else (B, T)
    rows = [rng.standard_normal((*lead, w)).astype(np.float32) for w in (H * d, d, H * dv)]
    keep = rng.random((B, 1, 1, T)) > 0.3
    keep[..., 0] = True
    to_heads, back = ((1, 2, 0, 3), (2, 0, 1, 3)) if seq_first else ((0, 2, 1, 3), (0, 2, 1, 3))

    def attend(F_, tensors, mask):
        q, k, v = (t.reshape(*lead, h, w).permute(*to_heads) for t, h, w in zip(tensors, (H, 1, H), (d, d, dv)))
        return F_.scaled_dot_product_attention(q, k.expand(B, H, T, d), v, attn_mask=None if causal else mask,
                                               is_causal=causal)

    ts = [torch.tensor(a, requires_grad=grad) for a in rows]
    ps = [pyseq.tensor(a, requires_grad=grad) for a in rows]
    ref = attend(torch.nn.functional, ts, torch.from_numpy(keep))
    mask = pyseq.from_numpy(keep)
    before = pyseq._core.memory_stats()
    with (pyseq.enable_grad() if grad else pyseq.no_grad()):
        ours = attend(F, ps, mask)
    after = pyseq._core.memory_stats()
    if not grad:  # the output and the log-sum-exp, no copies of q, k, v
        assert after["hits"] + after["misses"] - before["hits"] - before["misses"] == 2
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert ours.permute(*back).is_contiguous()  # (*lead, heads, dv)
    if grad:
        g = rng.standard_normal(ref.shape).astype(np.float32)
        ref.backward(torch.from_numpy(g))
        ours.backward(pyseq.from_numpy(g))
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
