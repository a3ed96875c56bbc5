"""Every loss of pyseq.nn (functional and module forms) against torch: same inputs, same values
and gradients within float32 tolerance, for each option (weights, ignore_index, pos_weight,
beta/delta, log_target, every reduction); float64 gradchecks for the losses composed in Python;
argument errors. (The fused cross_entropy kernel has its own tests in test_nn_functional.py.)"""

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
# Rows of 37 floats go past two 16-float (AVX-512) vectors with a ragged tail at every ISA level;
# two rows keep the float64 gradchecks small.
ROWS, COLS = 2, 37

# torch's KLDivLoss(reduction="mean") warns that 'mean' is not the true KL (pyseq matches it anyway)
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss:UserWarning")


def _convert(lib, arrays, grad, dtype):
    out = []
    for i, a in enumerate(arrays):
        if a is None:
            out.append(None)
        elif a.dtype.kind == "i":
            out.append(pyseq.tensor(a) if lib is pyseq else torch.tensor(a))
        elif lib is pyseq:
            out.append(pyseq.tensor(a, dtype=dtype, requires_grad=i in grad))
        else:
            out.append(torch.tensor(a, dtype=torch.float32, requires_grad=i in grad))
    return out


def check(ours, theirs, arrays, grad=(0,), gradcheck=True, rtol=1e-5, atol=1e-6, rng=None):
    """ours(*pyseq tensors) vs theirs(*torch tensors) on the same numpy arrays: values and the
    gradients of the inputs listed in `grad` (float32); then a float64 gradcheck of ours."""
    rng = rng or np.random.default_rng(0)
    xs, ys = _convert(pyseq, arrays, grad, pyseq.float32), _convert(torch, arrays, grad, None)
    out, ref = ours(*xs), theirs(*ys)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol, err_msg="value")
    upstream = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(pyseq.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for i in grad:
        np.testing.assert_allclose(xs[i].grad.numpy(), ys[i].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {i}")
    if gradcheck:
        xs64 = _convert(pyseq, arrays, grad, pyseq.float64)
        assert pyseq.autograd.gradcheck(ours, xs64)
    return out


def probs(rng, *shape):
    return rng.uniform(0.05, 0.95, size=shape)


# --- nll_loss ---

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", [(4, 3), (2, 3, 2), (3,), (ROWS, COLS)])
@pytest.mark.parametrize("weighted,ignore", [(False, False), (True, False), (True, True), (False, True)])
def test_nll_loss(rng, reduction, layout, weighted, ignore):
    C = layout[0] if len(layout) == 1 else layout[1]
    tshape = () if len(layout) == 1 else (layout[0],) + layout[2:]
    logp = np.log(rng.dirichlet(np.ones(C), size=int(np.prod(tshape or (1,)))))  # rows of log-probabilities
    x = np.moveaxis(logp.reshape(tshape + (C,)), -1, 0 if len(layout) == 1 else 1).copy()
    t = rng.integers(0, C, size=tshape).astype(np.int64)
    ignore_index = 1 if ignore else -100
    if ignore and t.size > 1:  # one target ignored, one not (all ignored: the test below)
        t.flat[-1], t.flat[0] = 1, 0
    w = rng.uniform(0.5, 2.0, size=C) if weighted else None
    check(lambda x, t, w: F.nll_loss(x, t, w, ignore_index=ignore_index, reduction=reduction),
          lambda x, t, w: TF.nll_loss(x, t, w, ignore_index=ignore_index, reduction=reduction),
          [x, t, w])


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_mean_with_every_target_ignored_is_nan_with_a_zero_gradient(rng, weighted):
    x = np.log(rng.dirichlet(np.ones(COLS), size=ROWS))
    w = rng.uniform(0.5, 2.0, size=COLS) if weighted else None
    out = check(lambda x, t, w: F.nll_loss(x, t, w, ignore_index=1), lambda x, t, w: TF.nll_loss(x, t, w, ignore_index=1),
                [x, np.ones(ROWS, dtype=np.int64), w], gradcheck=False)
    assert np.isnan(out.item())


def test_nll_loss_module_and_errors():
    x = pyseq.randn(4, 3).log_softmax(1)
    t = pyseq.tensor([0, 2, 1, 1])
    np.testing.assert_allclose(nn.NLLLoss(reduction="sum")(x, t).item(),
                               TF.nll_loss(torch.tensor(x.numpy()), torch.tensor(t.numpy()), reduction="sum").item(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\).*\(2,\)"):
        F.nll_loss(x, pyseq.tensor([0, 1]))
    with pytest.raises(IndexError, match="3"):
        F.nll_loss(x, pyseq.tensor([0, 1, 3, 0]))


# --- cross-entropy module (the functional form is in test_nn_functional.py) ---

def test_cross_entropy_module(rng):
    w = rng.uniform(0.5, 2, size=3).astype(np.float32)
    ours = nn.CrossEntropyLoss(weight=pyseq.tensor(w), ignore_index=0, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=0, label_smoothing=0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]  # class weights are a buffer
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"
    x, t = rng.standard_normal((5, 3)), rng.integers(0, 3, size=5).astype(np.int64)
    check(ours, theirs, [x, t], gradcheck=False)
    ours.double()
    assert ours.weight.dtype == pyseq.float64
    x64 = pyseq.tensor(x, dtype=pyseq.float64, requires_grad=True)
    assert pyseq.autograd.gradcheck(lambda x: ours(x, pyseq.tensor(t)), (x64,))


# --- binary cross-entropy ---

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (COLS,), (ROWS, COLS)])
def test_binary_cross_entropy(rng, reduction, weight_shape):
    x, t = probs(rng, ROWS, COLS), rng.uniform(0, 1, size=(ROWS, COLS))
    t[0, :3] = [0.0, 1.0, 1.0]
    w = rng.uniform(0.5, 2, size=weight_shape) if weight_shape else None
    check(lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction=reduction),
          lambda x, t, w: TF.binary_cross_entropy(x, t, w, reduction=reduction), [x, t, w])
    module = nn.BCELoss(None if w is None else pyseq.tensor(w, dtype=pyseq.float32), reduction=reduction)
    check(module, torch.nn.BCELoss(None if w is None else torch.tensor(w, dtype=torch.float32), reduction=reduction),
          [x, t], gradcheck=False)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-30], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    ours = F.binary_cross_entropy(pyseq.tensor(x), pyseq.tensor(t), reduction="none")
    ref = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.numpy()[:2], [100.0, 100.0])
    xg = pyseq.tensor(x, requires_grad=True)
    F.binary_cross_entropy(xg, pyseq.tensor(t)).backward()
    assert np.all(np.isfinite(xg.grad.numpy()))  # no inf/nan at the ends of [0, 1]


def test_binary_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"\(3, 1\).*\(3,\)"):
        F.binary_cross_entropy(pyseq.rand(3), pyseq.rand(3, 1))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(pyseq.tensor([0.5, 1.5]), pyseq.tensor([0.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight,weight", [(False, False), (True, False), (True, True), (False, True)])
def test_binary_cross_entropy_with_logits(rng, reduction, pos_weight, weight):
    x = rng.standard_normal((ROWS, COLS)) * 3
    x[0, :3] = [0.0, 40.0, -40.0]  # exactly 0 (gradient sigmoid(0) - t) and saturated logits
    t = rng.uniform(0, 1, size=(ROWS, COLS))
    t[1, :3] = [0.0, 1.0, 1.0]
    pw = rng.uniform(0.5, 3, size=COLS) if pos_weight else None
    w = rng.uniform(0.5, 2, size=(ROWS, COLS)) if weight else None
    check(lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
          lambda x, t, w, pw: TF.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
          [x, t, w, pw], grad=(0, 1))
    mod = nn.BCEWithLogitsLoss(None if w is None else pyseq.tensor(w, dtype=pyseq.float32), reduction,
                               None if pw is None else pyseq.tensor(pw, dtype=pyseq.float32))
    ref = torch.nn.BCEWithLogitsLoss(None if w is None else torch.tensor(w, dtype=torch.float32), reduction=reduction,
                                     pos_weight=None if pw is None else torch.tensor(pw, dtype=torch.float32))
    assert list(mod.state_dict()) == list(ref.state_dict())
    check(mod, ref, [x, t], gradcheck=False)


def test_bce_with_logits_extreme_logits_are_finite():
    x = pyseq.tensor([-1000.0, 1000.0, 0.0], requires_grad=True)
    t = pyseq.tensor([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, 1000.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0, -0.5], rtol=1e-6)


# --- focal losses ---

def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.2x), copied as the reference."""
    p = torch.sigmoid(inputs)
    ce_loss = TF.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1, 2.0), (0.5, 0.0), (0.25, 1.5)])
def test_sigmoid_focal_loss(rng, reduction, alpha, gamma):
    x, t = rng.standard_normal((ROWS, COLS)) * 2, (rng.uniform(size=(ROWS, COLS)) > 0.6).astype(np.float64)
    check(lambda x, t: F.sigmoid_focal_loss(x, t, alpha, gamma, reduction),
          lambda x, t: torchvision_sigmoid_focal_loss(x, t, alpha, gamma, reduction), [x, t])
    check(nn.FocalLoss(alpha, gamma, reduction),
          lambda x, t: torchvision_sigmoid_focal_loss(x, t, alpha, gamma, reduction), [x, t], gradcheck=False)


def torch_softmax_focal(x, t, gamma, alpha, ignore_index, reduction):
    logp = torch.log_softmax(x, 1)
    keep = t != ignore_index
    safe = torch.where(keep, t, 0)
    logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    loss = -((1 - logp_t.exp()) ** gamma) * logp_t
    if alpha is not None:
        loss = loss * (alpha[safe] if isinstance(alpha, torch.Tensor) else alpha)
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "mean":
        return loss.sum() / keep.sum()
    return loss.sum() if reduction == "sum" else loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("gamma,alpha", [(2.0, None), (1.0, 0.5), (2.0, "per-class"), (0.0, "per-class")])
def test_softmax_focal_loss(rng, reduction, gamma, alpha):
    x, t = rng.standard_normal((5, COLS)) * 2, np.array([0, 2, 1, 2, COLS - 1], dtype=np.int64)  # COLS classes
    a = rng.uniform(0.2, 1.0, size=COLS) if alpha == "per-class" else alpha
    ours_alpha = pyseq.tensor(a, dtype=pyseq.float32) if alpha == "per-class" else a
    theirs_alpha = torch.tensor(a, dtype=torch.float32) if alpha == "per-class" else a
    check(lambda x, t: F.softmax_focal_loss(x, t, gamma, ours_alpha, ignore_index=2, reduction=reduction),
          lambda x, t: torch_softmax_focal(x, t, gamma, theirs_alpha, 2, reduction), [x, t], gradcheck=False)
    alpha64 = pyseq.tensor(a, dtype=pyseq.float64) if alpha == "per-class" else a
    x64 = pyseq.tensor(x, dtype=pyseq.float64, requires_grad=True)
    assert pyseq.autograd.gradcheck(
        lambda x: F.softmax_focal_loss(x, pyseq.tensor(t), gamma, alpha64, 2, reduction), (x64,))
    mod = nn.SoftmaxFocalLoss(gamma, ours_alpha, ignore_index=2, reduction=reduction)
    check(mod, lambda x, t: torch_softmax_focal(x, t, gamma, theirs_alpha, 2, reduction), [x, t], gradcheck=False)


def test_softmax_focal_with_gamma_0_is_cross_entropy(rng):
    x, t = rng.standard_normal((2, 4, 3)), rng.integers(0, 4, size=(2, 3)).astype(np.int64)
    check(lambda x, t: F.softmax_focal_loss(x, t, gamma=0.0), lambda x, t: TF.cross_entropy(x, t), [x, t],
          gradcheck=False)


# --- regression losses ---

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {}), ("huber_loss", {"delta": 2.0}),
                                     ("huber_loss", {"delta": 0.3})])
def test_regression_losses(rng, reduction, name, kw):
    x, t = rng.standard_normal((ROWS, COLS)) * 2, rng.standard_normal((ROWS, COLS))
    check(lambda x, t: getattr(F, name)(x, t, reduction=reduction, **kw),
          lambda x, t: getattr(TF, name)(x, t, reduction=reduction, **kw), [x, t], grad=(0, 1))


@pytest.mark.parametrize("cls,kw", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}),
                                    ("HuberLoss", {"delta": 2.0}), ("KLDivLoss", {"log_target": True})])
def test_regression_loss_modules(rng, cls, kw):
    for reduction in ("mean", "sum"):
        ours, theirs = getattr(nn, cls)(reduction=reduction, **kw), getattr(torch.nn, cls)(reduction=reduction, **kw)
        assert repr(ours) == repr(theirs)
        check(ours, theirs, [rng.standard_normal((ROWS, COLS)), rng.standard_normal((ROWS, COLS))], grad=(0, 1),
              gradcheck=False)


def test_regression_size_mismatch_warns_like_torch():
    with pytest.warns(UserWarning, match=r"target size \(3, 1\).*input size \(3,\)"):
        F.mse_loss(pyseq.randn(3), pyseq.randn(3, 1))


def test_reduction_errors():
    x = pyseq.randn(3)
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="reduction must be one of 'none', 'mean', 'sum', got 'avg'"):
            fn(x, x, reduction="avg")
    with pytest.raises(ValueError, match="'batchmean'"):
        F.kl_div(x, x, reduction="avg")


# --- KL divergence ---

@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(rng, reduction, log_target):
    inp = np.log(rng.dirichlet(np.ones(COLS), size=ROWS))
    target = rng.dirichlet(np.ones(COLS), size=ROWS)
    if log_target:
        target = np.log(target)
    check(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
          lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target), [inp, target], grad=(0, 1))


def test_kl_div_zero_targets(rng):
    inp = np.log(rng.dirichlet(np.ones(4), size=3))
    target = rng.dirichlet(np.ones(4), size=3)
    target[:, 0] = 0.0  # 0 * log 0 counts as 0
    check(lambda x, t: F.kl_div(x, t, reduction="batchmean"), lambda x, t: TF.kl_div(x, t, reduction="batchmean"),
          [inp, target], grad=(0,))
    ours = nn.KLDivLoss(reduction="batchmean")
    check(ours, torch.nn.KLDivLoss(reduction="batchmean"), [inp, target], gradcheck=False)


def test_binary_cross_entropy_refuses_nan_probabilities():
    with pytest.raises(ValueError, match="between 0 and 1"):
        pyseq.nn.functional.binary_cross_entropy(pyseq.tensor([float("nan"), 0.5]), pyseq.tensor([1.0, 0.0]))
