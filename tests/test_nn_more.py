"""More of torch.nn made of core ops: activations (relu6 ... prelu), rms_norm / group_norm,
pairwise_distance, the ranking / margin / Poisson / Gaussian losses, CTC, pad's reflect / replicate
/ circular modes, embedding_bag, dropout1d, gumbel_softmax, and their modules (reprs, parameters),
each against torch (float64 gradcheck where there is a gradient, float32 values and gradients)."""

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _functional(lib):
    return TF if lib is torch else F


# name -> call(F, x): one (3, 4, 6) input in [-5, 5]
ACTIVATIONS = {
    "relu6": lambda f, x: f.relu6(x * 2),
    "selu": lambda f, x: f.selu(x),
    "celu": lambda f, x: f.celu(x, 1.5),
    "mish": lambda f, x: f.mish(x),
    "softsign": lambda f, x: f.softsign(x),
    "hardsigmoid": lambda f, x: f.hardsigmoid(x),
    "hardswish": lambda f, x: f.hardswish(x),
    "tanhshrink": lambda f, x: f.tanhshrink(x),
    "threshold": lambda f, x: f.threshold(x, 0.5, -2.0),
    "hardshrink": lambda f, x: f.hardshrink(x, 1.0),
    "softshrink": lambda f, x: f.softshrink(x, 1.0),
    "logsigmoid": lambda f, x: f.logsigmoid(x * 20),
    "softmin": lambda f, x: f.softmin(x, 1),
    "glu": lambda f, x: f.glu(x, -1),
    "glu dim 1": lambda f, x: f.glu(x, 1),
    "rrelu in eval": lambda f, x: f.rrelu(x, training=False),
    "rms_norm": lambda f, x: f.rms_norm(x, (6,), eps=1e-5),
    "rms_norm two dims": lambda f, x: f.rms_norm(x, (4, 6)),
    "group_norm": lambda f, x: f.group_norm(x, 2),
    "pairwise_distance": lambda f, x: f.pairwise_distance(x, x.flip(0)),
    "pairwise_distance p=1 keepdim": lambda f, x: f.pairwise_distance(x, x.flip(1), 1.0, keepdim=True),
    "pad reflect": lambda f, x: f.pad(x, (2, 3), mode="reflect"),
    "pad replicate 2 dims": lambda f, x: f.pad(x, (1, 4, 2, 0), mode="replicate"),
    "pad circular": lambda f, x: f.pad(x, (6, 1), mode="circular"),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_and_norms_match_torch(op, name):
    call = ACTIVATIONS[name]
    # torch's hardsigmoid scales its gradient by a float32 1/6 even in float64: compare at float32 precision
    op.check(lambda m, x: call(_functional(m), x), [(3, 4, 6)], low=-5, high=5, rtol=1e-5, atol=1e-6)


def test_prelu_gradient_at_zero_is_the_weight_as_torch():
    x = pyseq.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    F.prelu(x, pyseq.tensor(np.array([0.25]))).sum().backward()
    t = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.prelu(t, torch.tensor([0.25], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())  # [0.25, 0.25, 1]


def test_prelu_and_weighted_norms_match_torch(op):
    op.check(lambda m, x, w: _functional(m).prelu(x, w), [(3, 4, 6), (4,)])
    op.check(lambda m, x, w: _functional(m).prelu(x, w), [(3, 4, 6), (1,)])
    op.check(lambda m, x, w: _functional(m).rms_norm(x, (6,), w), [(3, 4, 6), (6,)])
    op.check(lambda m, x, w, b: _functional(m).group_norm(x, 2, w, b), [(3, 4, 6), (4,), (4,)])


# name -> (how many (12, 6) inputs, call(F, lib, *inputs)); targets made from fixed arrays
SIGNS = np.where(np.random.default_rng(3).random(12) < 0.5, -1.0, 1.0)
LABELS = np.random.default_rng(4).integers(0, 6, 12)
BITS = (np.random.default_rng(5).random((12, 6)) < 0.5) * 1.0
WEIGHTS = np.linspace(0.5, 1.5, 6)
LOSSES = {
    "margin_ranking": (2, lambda f, m, a, b: f.margin_ranking_loss(a[:, 0], b[:, 0], m.tensor(SIGNS, dtype=a.dtype),
                                                                   0.3)),
    "hinge_embedding": (1, lambda f, m, a: f.hinge_embedding_loss(a[:, 0], m.tensor(SIGNS, dtype=a.dtype), 0.5,
                                                                  reduction="sum")),
    "soft_margin": (1, lambda f, m, a: f.soft_margin_loss(a[:, 0], m.tensor(SIGNS, dtype=a.dtype))),
    "multilabel_soft_margin": (1, lambda f, m, a: f.multilabel_soft_margin_loss(
        a, m.tensor(BITS, dtype=a.dtype), weight=m.tensor(WEIGHTS, dtype=a.dtype))),
    "multi_margin": (1, lambda f, m, a: f.multi_margin_loss(a, m.tensor(LABELS), margin=0.7)),
    "multi_margin p=2 weighted": (1, lambda f, m, a: f.multi_margin_loss(
        a, m.tensor(LABELS), p=2, weight=m.tensor(WEIGHTS, dtype=a.dtype), reduction="none")),
    "cosine_embedding": (2, lambda f, m, a, b: f.cosine_embedding_loss(a, b, m.tensor(SIGNS, dtype=a.dtype), 0.2)),
    "triplet_margin": (3, lambda f, m, a, b, c: f.triplet_margin_loss(a, b, c, 0.5)),
    "triplet_margin swap p=1": (3, lambda f, m, a, b, c: f.triplet_margin_loss(a, b, c, 2.0, p=1, swap=True,
                                                                               reduction="none")),
    "poisson_nll": (2, lambda f, m, a, b: f.poisson_nll_loss(a / 3, b.abs() * 2)),
    "poisson_nll full, not log": (2, lambda f, m, a, b: f.poisson_nll_loss(a.abs() + 0.1, b.abs() * 2,
                                                                           log_input=False, full=True)),
    "gaussian_nll": (3, lambda f, m, a, b, c: f.gaussian_nll_loss(a, b, c.abs() + 0.1)),
    "gaussian_nll one var a sample, clamped": (3, lambda f, m, a, b, c: f.gaussian_nll_loss(
        a, b, c[:, 0].abs() * 1e-3, full=True, reduction="sum")),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_match_torch(op, name):
    n, call = LOSSES[name]
    op.check(lambda m, *xs: call(_functional(m), m, *xs), [(12, 6)] * n, low=-2, high=2)


@pytest.mark.parametrize("T,N,C,max_target,reduction,zero_infinity", [
    (12, 3, 5, 4, "mean", False), (8, 2, 4, 3, "none", False), (5, 3, 3, 4, "sum", True), (6, 2, 4, 0, "mean", False),
    (10, 4, 6, 3, "mean", False)])
def test_ctc_loss_matches_torch(T, N, C, max_target, reduction, zero_infinity):
    """Values and gradients (w.r.t. the logits, through log_softmax) of CTC against torch: repeated
    labels, ragged input and target lengths, empty targets, impossible alignments (inf, or 0 with
    zero_infinity), padded and concatenated targets."""
    rng = np.random.default_rng(T * N)
    logits = rng.standard_normal((T, N, C))
    target_lengths = rng.integers(0, max_target + 1, N)
    target_lengths[0] = max_target
    input_lengths = rng.integers(max(1, T - 3), T + 1, N)
    input_lengths[0] = T
    targets = rng.integers(1, C, (N, max(max_target, 1)))
    targets[0, :2] = 2  # a repeat needs a blank between
    results = []
    for lib in (torch, pyseq):
        x = lib.tensor(logits, requires_grad=True)
        if lib is pyseq and T == 10:  # the 1-d form: the targets concatenated
            flat = np.concatenate([targets[b, :target_lengths[b]] for b in range(N)])
            loss = F.ctc_loss(F.log_softmax(x, 2), pyseq.tensor(flat), input_lengths.tolist(),
                              target_lengths.tolist(), reduction=reduction, zero_infinity=zero_infinity)
        else:
            loss = _functional(lib).ctc_loss(_functional(lib).log_softmax(x, 2), lib.tensor(targets),
                                             lib.tensor(input_lengths), lib.tensor(target_lengths),
                                             reduction=reduction, zero_infinity=zero_infinity)
        loss.sum().backward()
        results.append((loss.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-9)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-7, atol=1e-9)


def test_ctc_loss_of_an_impossible_alignment_is_inf():
    lp = pyseq.tensor(np.log(np.full((2, 1, 3), 1 / 3)))
    assert F.ctc_loss(lp, pyseq.tensor([[1, 1]]), [2], [2], reduction="none").item() == float("inf")
    assert F.ctc_loss(lp, pyseq.tensor([[1, 1]]), [2], [2], reduction="none", zero_infinity=True).item() == 0.0
    with pytest.raises(ValueError, match="other than blank"):
        F.ctc_loss(lp, pyseq.tensor([[0, 1]]), [2], [2])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(mode):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((10, 4))
    flat = rng.integers(0, 10, 11)
    offsets = np.array([0, 3, 3, 7])  # the second bag is empty
    rows = rng.integers(0, 10, (3, 5))
    sample_weights = rng.random(11)
    for kwargs in ({}, {"padding_idx": int(flat[1])}):
        results = []
        for lib in (torch, pyseq):
            w = lib.tensor(weight, requires_grad=True)
            out1 = _functional(lib).embedding_bag(lib.tensor(flat), w, lib.tensor(offsets), mode=mode, **kwargs)
            out2 = _functional(lib).embedding_bag(lib.tensor(rows), w, mode=mode, **kwargs)
            outs = [out1, out2]
            if mode == "sum":
                outs.append(_functional(lib).embedding_bag(lib.tensor(flat), w, lib.tensor(offsets), mode="sum",
                                                           per_sample_weights=lib.tensor(sample_weights), **kwargs))
            sum(o.sum() * (i + 1) for i, o in enumerate(outs)).backward()
            results.append([o.detach().numpy() for o in outs] + [w.grad.numpy()])
        for ours, theirs in zip(results[1], results[0]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_modules_match_torch_reprs_and_parameters():
    pairs = [(nn.ReLU6(), torch.nn.ReLU6()), (nn.SELU(), torch.nn.SELU()), (nn.CELU(0.5), torch.nn.CELU(0.5)),
             (nn.Mish(), torch.nn.Mish()), (nn.Softsign(), torch.nn.Softsign()), (nn.GLU(1), torch.nn.GLU(1)),
             (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.Hardswish(), torch.nn.Hardswish()),
             (nn.LogSigmoid(), torch.nn.LogSigmoid()), (nn.Softmin(1), torch.nn.Softmin(1)),
             (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20)), (nn.Hardshrink(0.3), torch.nn.Hardshrink(0.3)),
             (nn.Softshrink(), torch.nn.Softshrink()), (nn.Tanhshrink(), torch.nn.Tanhshrink()),
             (nn.PReLU(4), torch.nn.PReLU(4)), (nn.RMSNorm(6), torch.nn.RMSNorm(6)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)), (nn.Unflatten(2, (2, 3)), torch.nn.Unflatten(2, (2, 3))),
             (nn.ReflectionPad1d(2), torch.nn.ReflectionPad1d(2)), (nn.ConstantPad1d((1, 2), 3.5),
                                                                    torch.nn.ConstantPad1d((1, 2), 3.5)),
             (nn.ZeroPad1d(1), torch.nn.ZeroPad1d(1)), (nn.ReplicationPad1d((0, 2)), torch.nn.ReplicationPad1d((0, 2))),
             (nn.CircularPad1d(1), torch.nn.CircularPad1d(1)), (nn.EmbeddingBag(10, 3, mode="max"),
                                                                torch.nn.EmbeddingBag(10, 3, mode="max")),
             (nn.Dropout1d(0.2), torch.nn.Dropout1d(0.2)), (nn.PairwiseDistance(), torch.nn.PairwiseDistance())]
    x = np.random.default_rng(0).uniform(-3, 3, (2, 4, 6)).astype(np.float32)
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
        ours.eval(), theirs.eval()
        if isinstance(ours, nn.EmbeddingBag):
            args = [np.array([[1, 2], [3, 9]])]
        elif isinstance(ours, nn.PairwiseDistance):
            args = [x, x[::-1].copy()]
        else:
            args = [x]
        expected = theirs(*map(torch.tensor, args))
        np.testing.assert_allclose(ours(*map(pyseq.tensor, args)).detach().numpy(), expected.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    for ours, theirs in [(nn.CTCLoss(), torch.nn.CTCLoss()), (nn.TripletMarginLoss(), torch.nn.TripletMarginLoss()),
                         (nn.MultiMarginLoss(), torch.nn.MultiMarginLoss()), (nn.GaussianNLLLoss(),
                                                                             torch.nn.GaussianNLLLoss())]:
        assert repr(ours) == repr(theirs)


def test_parameter_containers_register_their_parameters():
    model = nn.Module()
    model.scales = nn.ParameterList([pyseq.ones(2), nn.Parameter(pyseq.zeros(3))])
    model.scales.append(pyseq.ones(1))
    model.table = nn.ParameterDict({"a": pyseq.ones(2, 2)})
    assert list(model.state_dict()) == ["scales.0", "scales.1", "scales.2", "table.a"]
    assert all(p.requires_grad for p in model.parameters()) and len(list(model.parameters())) == 4
    assert model.scales[-1].shape == (1,) and "a" in model.table and len(model.table) == 1


def test_dropout1d_and_rrelu_and_gumbel_softmax_draws():
    pyseq.manual_seed(0)
    x = pyseq.ones(200, 8, 5)
    y = F.dropout1d(x, 0.25)
    per_channel = y.numpy()
    assert ((per_channel == 0).all(-1) | (per_channel == 1 / 0.75).all(-1)).all()  # whole channels
    assert abs((per_channel[..., 0] == 0).mean() - 0.25) < 0.03
    assert F.dropout1d(x, 0.25, training=False) is x
    slopes = (F.rrelu(-pyseq.ones(10000), 0.1, 0.3, training=True) / -1).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    logits = pyseq.tensor([[0.0, np.log(3.0)]], requires_grad=True)
    hard = F.gumbel_softmax(logits.expand(4000, 2), tau=0.5, hard=True)
    assert set(np.unique(hard.detach().numpy())) == {0.0, 1.0} and abs(hard[:, 1].mean().item() - 0.75) < 0.03
    hard.sum().backward()  # straight-through: the soft sample's gradient
    assert logits.grad is not None


def test_bad_input_is_refused_clearly():
    x = pyseq.randn(2, 3, 5)
    with pytest.raises(ValueError, match="even size"):
        F.glu(x, 1)
    with pytest.raises(ValueError, match="divisible"):
        F.group_norm(x, 2)
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad(x, (5, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="offsets"):
        F.embedding_bag(pyseq.tensor([1, 2]), pyseq.randn(4, 2))
    with pytest.raises(ValueError, match="per_sample_weights"):
        F.embedding_bag(pyseq.tensor([[1, 2]]), pyseq.randn(4, 2), mode="max", per_sample_weights=pyseq.ones(1, 2))
    with pytest.raises(ValueError, match="one value or one per channel"):
        F.prelu(x, pyseq.ones(2))


X11 = np.random.default_rng(0).standard_normal((2, 3, 11))


def _same_in_both(call, grad=True):
    """call(lib, F, x) on X11 (float64) with torch and pyseq: outputs and x's gradient equal."""
    results = []
    for lib in (torch, pyseq):
        x = lib.tensor(X11, requires_grad=True)
        out = call(lib, _functional(lib), x)
        outs = out if isinstance(out, tuple) else (out,)
        if grad:
            outs[0].sum().backward()
        results.append([o.detach().numpy() for o in outs] + ([x.grad.numpy()] if grad else []))
    assert len(results[0]) == len(results[1])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k,s,p,d", [(3, 2, 1, 1), (3, 2, 0, 1), (4, 3, 2, 1), (2, 2, 0, 2), (3, 1, 1, 2), (5, 4, 2, 1)])
def test_max_pool1d_ceil_mode_and_indices_match_torch(k, s, p, d):
    _same_in_both(lambda m, f, x: f.max_pool1d(x, k, s, p, d, ceil_mode=True))
    _same_in_both(lambda m, f, x: f.max_pool1d(x, k, s, p, d, return_indices=True))
    _same_in_both(lambda m, f, x: f.max_pool1d(x, k, s, p, d, ceil_mode=True, return_indices=True))
    module = nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=True)
    assert repr(module) == repr(torch.nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=True))


@pytest.mark.parametrize("kwargs", [
    dict(size=17, mode="nearest"), dict(scale_factor=2, mode="nearest"), dict(scale_factor=0.5, mode="nearest"),
    dict(size=5, mode="nearest-exact"), dict(scale_factor=3, mode="nearest-exact"), dict(size=17, mode="linear"),
    dict(size=17, mode="linear", align_corners=True), dict(scale_factor=1.7, mode="linear"),
    dict(scale_factor=1.7, mode="linear", recompute_scale_factor=True), dict(size=4, mode="linear")], ids=str)
def test_interpolate_matches_torch(kwargs):
    _same_in_both(lambda m, f, x: f.interpolate(x, **kwargs))


def test_softmax_in_a_given_dtype_matches_torch():
    _same_in_both(lambda m, f, x: f.softmax(x.float(), -1, dtype=m.float64))
    _same_in_both(lambda m, f, x: f.log_softmax(x.float(), dim=1, dtype=m.float64))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, "same"])
def test_conv1d_padding_modes_match_torch(mode, padding):
    torch.manual_seed(0)
    dilation = 2 if padding == "same" else 1
    theirs = torch.nn.Conv1d(3, 4, 3, padding=padding, padding_mode=mode, dilation=dilation, dtype=torch.float64)
    ours = nn.Conv1d(3, 4, 3, padding=padding, padding_mode=mode, dilation=dilation, dtype=pyseq.float64)
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    _same_in_both(lambda m, f, x: (theirs if m is torch else ours)(x))


def test_embedding_max_norm_renormalises_the_rows_it_reads_as_torch():
    weight = np.random.default_rng(2).standard_normal((10, 4)) * 3
    results = []
    for lib in (torch, pyseq):
        w = lib.tensor(weight, requires_grad=True)
        out = _functional(lib).embedding(lib.tensor([[1, 2, 2], [7, 1, 0]]), w, max_norm=1.5)
        (out * out).sum().backward()
        results.append((out.detach().numpy(), w.detach().numpy(), w.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert repr(nn.Embedding(10, 3, padding_idx=2, max_norm=1.0)) == repr(torch.nn.Embedding(10, 3, padding_idx=2,
                                                                                             max_norm=1.0))
