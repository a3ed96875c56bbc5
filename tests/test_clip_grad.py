"""pyseq.nn.utils: clip_grad_norm_ / clip_grad_value_ / get_total_norm / clip_grads_with_norm_ and
parameters_to_vector / vector_to_parameters against torch.nn.utils, and the L1/L2 penalties against
hand-computed values and gradients (plus a float64 gradcheck)."""

import math

import numpy as np
import pytest

import pyseq
from pyseq.nn.utils import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm, l1_penalty,
                            l2_penalty, parameters_to_vector, vector_to_parameters)

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def _pairs(rng, scale=1.0, dtypes=None, shapes=SHAPES):
    """Parameters with gradients set, in pyseq and in torch, equal values."""
    dtypes = dtypes or [np.float32] * len(shapes)
    ours, theirs = [], []
    for shape, dt in zip(shapes, dtypes):
        w = rng.standard_normal(shape).astype(dt)
        g = (scale * rng.standard_normal(shape)).astype(dt)
        p = pyseq.tensor(w, requires_grad=True)
        p.grad = pyseq.tensor(g)
        t = torch.tensor(w, requires_grad=True)
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def _assert_grads(ours, theirs, rtol=1e-6):
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(rng, norm_type, max_norm):
    ours, theirs = _pairs(rng, scale=2.0)
    before = [p.grad.numpy().copy() for p in ours]
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, pyseq.Tensor) and total.shape == () and not total.requires_grad
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    _assert_grads(ours, theirs)
    # independent check: the total is the p-norm of all gradients as one vector
    flat = np.concatenate([b.ravel() for b in before]).astype(np.float64)
    expected = np.abs(flat).max() if float(norm_type) == math.inf else (np.abs(flat) ** float(norm_type)).sum() ** (
        1 / float(norm_type))
    np.testing.assert_allclose(total.item(), expected, rtol=1e-5)
    if max_norm > expected:  # under the limit: untouched
        for p, b in zip(ours, before):
            np.testing.assert_array_equal(p.grad.numpy(), b)
    else:  # clipped to max_norm
        after = np.concatenate([p.grad.numpy().ravel() for p in ours]).astype(np.float64)
        got = np.abs(after).max() if float(norm_type) == math.inf else (np.abs(after) ** float(norm_type)).sum() ** (
            1 / float(norm_type))
        assert got == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_float64_and_mixed_dtypes(rng):
    ours, theirs = _pairs(rng, scale=3.0, dtypes=[np.float64, np.float32, np.float64])
    total = clip_grad_norm_(ours, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == pyseq.float64 and ref.dtype == torch.float64
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-7)
    _assert_grads(ours, theirs)
    assert [p.grad.dtype for p in ours] == [pyseq.float64, pyseq.float32, pyseq.float64]


def test_clip_grad_norm_skips_missing_grads_and_takes_one_tensor(rng):
    ours, theirs = _pairs(rng, scale=5.0)
    ours[1].grad, theirs[1].grad = None, None
    np.testing.assert_allclose(clip_grad_norm_(iter(ours), 2.0).item(),
                               torch.nn.utils.clip_grad_norm_(iter(theirs), 2.0).item(), rtol=1e-6)
    _assert_grads([ours[0], ours[2]], [theirs[0], theirs[2]])
    assert ours[1].grad is None
    # a single tensor
    total = clip_grad_norm_(ours[0], 0.1)
    ref = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    _assert_grads([ours[0]], [theirs[0]])
    # nothing to clip
    assert clip_grad_norm_([], 1.0).item() == 0.0
    assert clip_grad_norm_([pyseq.zeros(3, requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite(rng):
    ours, theirs = _pairs(rng)
    g = ours[0].grad.numpy().copy()
    g[0, 0] = np.inf
    ours[0].grad, theirs[0].grad = pyseq.tensor(g), torch.tensor(g)
    before = ours[1].grad.numpy().copy()
    with pytest.raises(RuntimeError, match="non-finite|inf"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[1].grad.numpy(), before)  # nothing was scaled
    # without the check: scaled by 1 / inf like torch (inf -> nan, the rest -> 0)
    total = clip_grad_norm_(ours, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isinf(total.item()) and math.isinf(ref.item())
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())

    nan = pyseq.zeros(2, requires_grad=True)
    nan.grad = pyseq.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_([nan], 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_errors():
    p = pyseq.zeros(3, requires_grad=True)
    p.grad = pyseq.ones(3)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([p], 1.0, norm_type=0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_([p], 1.0, norm_type=-2)
    with pytest.raises(TypeError, match="item 1"):
        clip_grad_norm_([p, np.ones(3)], 1.0)
    with pytest.raises(TypeError, match="iterable"):
        clip_grad_norm_(3.0, 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.ones(3))


@pytest.mark.parametrize("clip_value", [0.0, 0.3, 1.0, 10.0])
def test_clip_grad_value_matches_torch(rng, clip_value):
    ours, theirs = _pairs(rng, scale=2.0)
    ours[2].grad, theirs[2].grad = None, None
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads(ours[:2], theirs[:2], rtol=0)
    assert ours[2].grad is None
    assert max(np.abs(p.grad.numpy()).max() for p in ours[:2]) <= clip_value
    assert clip_value > 1 or any(np.abs(p.grad.numpy()).max() == np.float32(clip_value) for p in ours[:2])


def test_clip_grad_value_one_tensor_and_errors():
    p = pyseq.zeros(4, requires_grad=True)
    p.grad = pyseq.tensor([-3.0, -0.5, 0.5, 3.0])
    clip_grad_value_(p, 1)
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0, -0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(p, -1.0)
    with pytest.raises(TypeError, match="clip_value"):
        clip_grad_value_(p, "big")


def test_penalties_values_and_gradients(rng):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    params = [pyseq.tensor(a, requires_grad=True) for a in arrays]
    l1 = l1_penalty(params)
    l2 = l2_penalty(iter(params))
    assert l1.shape == () and l2.shape == () and l1.requires_grad and l2.requires_grad
    np.testing.assert_allclose(l1.item(), sum(np.abs(a.astype(np.float64)).sum() for a in arrays), rtol=1e-6)
    np.testing.assert_allclose(l2.item(), sum((a.astype(np.float64) ** 2).sum() for a in arrays), rtol=1e-6)
    (0.5 * l1 + 3.0 * l2).backward()
    for p, a in zip(params, arrays):
        np.testing.assert_allclose(p.grad.numpy(), 0.5 * np.sign(a) + 6.0 * a, rtol=1e-6, atol=1e-6)


def test_penalties_added_to_a_loss_match_torch(rng):
    x = rng.standard_normal((6, 3)).astype(np.float32)
    w0 = rng.standard_normal((2, 3)).astype(np.float32)
    b0 = rng.standard_normal(2).astype(np.float32)

    def run(lib, w, b, xs):
        out = (xs @ w.transpose(0, 1) + b).tanh()  # (6, 2)
        if lib is pyseq:
            penalty = 1e-2 * l1_penalty([w, b]) + 1e-3 * l2_penalty([w, b])
        else:
            penalty = 1e-2 * (w.abs().sum() + b.abs().sum()) + 1e-3 * ((w * w).sum() + (b * b).sum())
        loss = (out * out).mean() + penalty
        loss.backward()
        return loss

    w, b = pyseq.tensor(w0, requires_grad=True), pyseq.tensor(b0, requires_grad=True)
    tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    np.testing.assert_allclose(run(pyseq, w, b, pyseq.tensor(x)).item(), run(torch, tw, tb, torch.tensor(x)).item(),
                               rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_penalties_gradcheck(rng):
    # values kept away from 0, where |x| has no derivative
    arrays = [rng.uniform(0.2, 1.0, s) * rng.choice([-1, 1], s) for s in [(2, 3), (4,)]]
    params = [pyseq.tensor(a, dtype=pyseq.float64, requires_grad=True) for a in arrays]
    assert pyseq.autograd.gradcheck(lambda *ps: l1_penalty(ps), params)
    assert pyseq.autograd.gradcheck(lambda *ps: l2_penalty(ps), params)


def test_penalties_edge_cases():
    assert l1_penalty([]).item() == 0.0 and l2_penalty([]).item() == 0.0
    p = pyseq.tensor([0.0, -2.0], requires_grad=True)
    l1_penalty(p).backward()  # a single tensor; |x| has gradient 0 at 0, as in torch
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, -1.0])
    with pytest.raises(TypeError, match="item 0"):
        l2_penalty([[1.0, 2.0]])


# --- one C++ call over all gradients ---

MANY_SHAPES = [(0,), (1,), (3, 4), (64,), (64, 64), (2, 0, 3), (5,), (256, 64), (70000,), (1, 1)] * 3


def _many(rng, dtypes=None):
    """Parameters of MANY_SHAPES (empty and 1-element ones among them), gradients set: pyseq, torch."""
    dtypes = dtypes or [np.float32] * len(MANY_SHAPES)
    return _pairs(rng, scale=0.05, dtypes=dtypes, shapes=MANY_SHAPES)


def _reference_clip(grads, max_norm, norm_type):
    """What clip_grad_norm_ computed before it was one C++ call, tensor op by tensor op."""
    wide = any(g.dtype == pyseq.float64 for g in grads)
    dtype = pyseq.float64 if wide else grads[0].dtype
    total = pyseq.stack([g.norm(norm_type).to(dtype) for g in grads]).norm(norm_type)  # ()
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)  # ()
    return total, [(g * coef).numpy() for g in grads]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("mixed", [False, True])
def test_clip_grad_norm_many_grads_exact(rng, norm_type, mixed):
    dtypes = [np.float64 if mixed and i % 4 == 0 else np.float32 for i in range(len(MANY_SHAPES))]
    ours, theirs = _many(rng, dtypes)
    grads = [p.grad for p in ours]
    ref_total, ref_grads = _reference_clip(grads, 1.0, norm_type)
    total = clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    assert total.dtype == ref_total.dtype and total.item() == ref_total.item()  # bit for bit
    for p, expected in zip(ours, ref_grads):
        np.testing.assert_array_equal(p.grad.numpy(), expected)
    # torch refuses the inf-norm of an empty tensor (we take it as 0, which changes nothing here)
    torch_total = torch.nn.utils.clip_grad_norm_([t for t in theirs if t.numel() or norm_type != math.inf], 1.0,
                                                 norm_type=norm_type)
    np.testing.assert_allclose(total.item(), torch_total.item(), rtol=1e-5)
    _assert_grads(ours, theirs, rtol=1e-5)


def test_clip_grad_norm_strided_and_repeated_grads(rng):
    ours, theirs = _pairs(rng, scale=4.0, shapes=[(3, 4), (4, 3), (5,)])
    g = rng.standard_normal((4, 3)).astype(np.float32)
    ours[0].grad, theirs[0].grad = pyseq.tensor(g).transpose(0, 1), torch.tensor(g).transpose(0, 1)
    assert not ours[0].grad.is_contiguous()
    ours.append(ours[2])  # the same gradient twice: counted and scaled twice, as in torch
    theirs.append(theirs[2])
    total = clip_grad_norm_(ours, 0.5)
    np.testing.assert_allclose(total.item(), torch.nn.utils.clip_grad_norm_(theirs, 0.5).item(), rtol=1e-6)
    _assert_grads(ours, theirs)
    assert not ours[0].grad.is_contiguous()


def test_clip_grad_value_many_and_strided(rng):
    ours, theirs = _many(rng)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    ours[2].grad, theirs[2].grad = pyseq.tensor(g).transpose(0, 1), torch.tensor(g).transpose(0, 1)
    nan = np.array([np.nan, 5.0], dtype=np.float32)
    ours[1].grad, theirs[1].grad = pyseq.tensor(nan[:1]), torch.tensor(nan[:1])
    clip_grad_value_(ours, 0.03)
    torch.nn.utils.clip_grad_value_(theirs, 0.03)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_calls_errors():
    good, ints = pyseq.ones(3), pyseq.ones(2, dtype=pyseq.int64)
    with pytest.raises(TypeError, match="gradient 1 has dtype int64"):
        pyseq._core.clip_grad_norm_([good, ints], 1.0)
    with pytest.raises(TypeError, match="gradient 1 has dtype int64"):
        pyseq._core.clip_grad_value_([good, ints], 1.0)
    with pytest.raises(TypeError, match="item 1 is a NoneType"):
        pyseq._core.clip_grad_norm_([good, None], 1.0)
    with pytest.raises(ValueError, match="norm_type"):
        pyseq._core.total_norm([good], 0.0)
    with pytest.raises(ValueError, match="clip_value"):
        pyseq._core.clip_grad_value_([good], -1.0)
    frozen = np.ones(2, dtype=np.float32)
    frozen.flags.writeable = False
    with pytest.raises(RuntimeError, match="gradient 1 is read-only"):
        pyseq._core.clip_grad_norm_([good, pyseq.from_numpy(frozen)], 0.1)
    np.testing.assert_array_equal(good.numpy(), np.ones(3))  # checked before anything was scaled
    assert pyseq._core.total_norm([good, pyseq.ones(2, dtype=pyseq.float64)], 1.0).item() == 5.0
    pyseq._core.scale_([good], 0.5)
    np.testing.assert_array_equal(good.numpy(), [0.5] * 3)


# --- get_total_norm + clip_grads_with_norm_ (clip_grad_norm_ in two), parameters as a vector ---

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("dtypes", [None, [np.float64, np.float32, np.float64]], ids=["float32", "mixed"])
def test_get_total_norm_matches_torch(rng, norm_type, dtypes):
    ours, theirs = _pairs(rng, scale=2.0, dtypes=dtypes)
    total = get_total_norm([p.grad for p in ours], norm_type)
    ref = torch.nn.utils.get_total_norm([t.grad for t in theirs], norm_type)
    assert isinstance(total, pyseq.Tensor) and total.shape == ()
    assert str(total.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6 if dtypes is None else 1e-7)
    # the same total as clip_grad_norm_ returns
    np.testing.assert_allclose(total.item(), clip_grad_norm_(ours, 1e9, norm_type).item(), rtol=1e-6)
    one = get_total_norm(ours[0].grad, norm_type)  # a single tensor
    np.testing.assert_allclose(one.item(), torch.nn.utils.get_total_norm(theirs[0].grad, norm_type).item(), rtol=1e-6)
    assert get_total_norm([]).item() == 0.0 == torch.nn.utils.get_total_norm([]).item()


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grads_with_norm_matches_torch_and_clip_grad_norm_(rng, max_norm):
    ours, theirs = _pairs(rng, scale=2.0)
    ours[1].grad, theirs[1].grad = None, None
    again = [pyseq.zeros(p.shape, requires_grad=True) for p in ours]  # the same gradients, for clip_grad_norm_
    for a, p in zip(again, ours):
        a.grad = None if p.grad is None else p.grad.clone()
    total = get_total_norm([p.grad for p in ours if p.grad is not None])
    ref_total = torch.nn.utils.get_total_norm([t.grad for t in theirs if t.grad is not None])
    assert clip_grads_with_norm_(ours, max_norm, total) is None
    torch.nn.utils.clip_grads_with_norm_(theirs, max_norm, ref_total)
    _assert_grads([ours[0], ours[2]], [theirs[0], theirs[2]])
    assert ours[1].grad is None
    clip_grad_norm_(again, max_norm)
    _assert_grads([again[0], again[2]], [theirs[0], theirs[2]])
    # total_norm may be a plain number; one tensor for parameters; scaling never increases a gradient
    p = pyseq.zeros(3, requires_grad=True)
    p.grad = pyseq.tensor([3.0, 4.0, 0.0])
    clip_grads_with_norm_(p, 1.0, 5.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([3, 4, 0]) / (5 + 1e-6), rtol=1e-6)
    clip_grads_with_norm_([p], 10.0, 1.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([3, 4, 0]) / (5 + 1e-6), rtol=1e-6)


def test_total_norm_nonfinite_and_errors(rng):
    g = pyseq.tensor([1.0, float("inf")])
    assert math.isinf(get_total_norm([g]).item())
    with pytest.raises(RuntimeError, match="non-finite"):
        get_total_norm([g, pyseq.ones(2)], error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        get_total_norm([pyseq.tensor([float("nan")])], error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        get_total_norm([g], norm_type=0)
    with pytest.raises(TypeError, match="tensors must be Tensors, but item 1"):
        get_total_norm([g, [1.0]])
    with pytest.raises(TypeError, match="total_norm must be numbers"):
        clip_grads_with_norm_([pyseq.zeros(2, requires_grad=True)], 1.0, "big")


def test_parameters_to_vector_and_back_match_torch(rng):
    ours, theirs = _pairs(rng)
    vec = parameters_to_vector(ours)
    ref = torch.nn.utils.parameters_to_vector(theirs)
    assert vec.shape == (sum(p.numel() for p in ours),)
    np.testing.assert_array_equal(vec.detach().numpy(), ref.detach().numpy())
    for p in ours:
        p.grad = None
    (vec * pyseq.arange(vec.numel()).to(vec.dtype)).sum().backward()  # gradients flow back to each parameter
    expected = np.split(np.arange(vec.numel(), dtype=np.float32), np.cumsum([p.numel() for p in ours])[:-1])
    for p, e in zip(ours, expected):
        np.testing.assert_array_equal(p.grad.numpy(), e.reshape(p.shape))

    new = rng.standard_normal(vec.numel()).astype(np.float32)
    ptrs = [p.data_ptr() for p in ours]
    assert vector_to_parameters(pyseq.tensor(new), ours) is None
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.detach().numpy(), t.detach().numpy())
        assert p.requires_grad and p.is_leaf
    assert [p.data_ptr() for p in ours] == ptrs  # copied in place: the parameters are the same tensors
    np.testing.assert_array_equal(parameters_to_vector(ours).detach().numpy(), new)


def test_parameters_to_vector_errors():
    p = pyseq.zeros(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match="expected vec to be a pyseq.Tensor"):
        vector_to_parameters(np.zeros(6), [p])
    with pytest.raises(ValueError, match="1-d vec of 6 elements.*\\(7,\\)"):
        vector_to_parameters(pyseq.zeros(7), [p])
    with pytest.raises(ValueError, match="1-d vec of 6 elements.*\\(2, 3\\)"):
        vector_to_parameters(pyseq.zeros(2, 3), [p])
    with pytest.raises(ValueError, match="no parameters"):
        parameters_to_vector([])
    with pytest.raises(TypeError, match="item 0"):
        parameters_to_vector([np.zeros(3)])

