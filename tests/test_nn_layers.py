"""Every layer of pyseq.nn against its torch.nn counterpart: same initial weights (the torch
module's state dict loaded through numpy), same inputs, then outputs and the gradients of inputs
and parameters must match within float32 tolerance. Also: BatchNorm running statistics over
several steps, Dropout / GaussianNoise statistics, shape errors."""

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")

# torch's own note that padding='same' with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _randomize(theirs, rng):
    """Random values in every floating parameter of the torch module (so affine params that
    start as ones/zeros are really tested)."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(-1, 1, size=tuple(p.shape)), dtype=p.dtype))


def check_parity(ours, theirs, inputs, rng, rtol=1e-5, atol=1e-5, load=True, grad_inputs=True):
    """Loads theirs' weights into ours, runs both on `inputs` (numpy arrays), compares outputs,
    then backpropagates the same random upstream gradient and compares input and parameter grads."""
    if load:
        result = ours.load_state_dict(_numpy_state(theirs))
        assert result.missing_keys == [] and result.unexpected_keys == []
    xs_ours, xs_theirs = [], []
    for a in inputs:
        floating = a.dtype.kind == "f"
        rg = grad_inputs and floating
        xs_ours.append(pyseq.tensor(a, requires_grad=rg))
        xs_theirs.append(torch.tensor(a, requires_grad=rg))
    out, ref = ours(*xs_ours), theirs(*xs_theirs)
    assert out.shape == tuple(ref.shape), f"shape {out.shape} vs torch {tuple(ref.shape)}"
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol, err_msg="output")
    if not ref.requires_grad:
        return out, ref
    upstream = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(pyseq.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(xs_ours, xs_theirs)):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
    ours_params = dict(ours.named_parameters())
    theirs_params = dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, p in theirs_params.items():
        q = ours_params[name]
        if p.grad is None:
            assert q.grad is None, name
            continue
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient of {name}")
    return out, ref


def f32(rng, *shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


# --- Linear, Identity, Flatten, Embedding ---

@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(rng, shape, bias):
    check_parity(nn.Linear(3, 2, bias=bias), torch.nn.Linear(3, 2, bias=bias), [f32(rng, *shape)], rng)


def test_linear_wrong_input_names_both_shapes():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"[\[(]4, 5,?[\])].*[\[(]2, 3,?[\])]"):
        lin(pyseq.randn(4, 5))


def test_linear_float64():
    lin = nn.Linear(3, 2, dtype=pyseq.float64)
    assert lin.weight.dtype == pyseq.float64 and lin.bias.dtype == pyseq.float64
    x = pyseq.randn(4, 3, dtype=pyseq.float64, requires_grad=True)
    assert pyseq.autograd.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, lin.weight, lin.bias))


def test_identity_and_flatten(rng):
    x = f32(rng, 2, 3, 4)
    check_parity(nn.Identity(54, unused=True), torch.nn.Identity(54, unused=True), [x], rng)
    check_parity(nn.Flatten(), torch.nn.Flatten(), [x], rng)
    check_parity(nn.Flatten(0, 1), torch.nn.Flatten(0, 1), [x], rng)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding(rng, padding_idx):
    ours = nn.Embedding(6, 4, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(6, 4, padding_idx=padding_idx)
    assert ours.padding_idx == theirs.padding_idx
    if padding_idx is not None:  # the padding row starts at zero
        assert np.all(ours.weight.detach().numpy()[padding_idx] == 0)
    idx = np.array([[0, 5, 2], [5, 5, 1]], dtype=np.int64)
    check_parity(ours, theirs, [idx], rng)
    if padding_idx is not None:
        assert np.all(ours.weight.grad.numpy()[padding_idx] == 0)


def test_embedding_from_pretrained():
    w = pyseq.randn(5, 3)
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(pyseq.tensor([4, 0])).numpy(), w.numpy()[[4, 0]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)


# --- normalisation ---

@pytest.mark.parametrize("normalized_shape,shape", [((4,), (3, 4)), ((4,), (2, 3, 4)), ((3, 4), (2, 3, 4))])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_layer_norm(rng, normalized_shape, shape, affine, bias):
    ours = nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine, bias=bias)
    theirs = torch.nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine, bias=bias)
    _randomize(theirs, rng)
    check_parity(ours, theirs, [f32(rng, *shape)], rng, rtol=1e-4, atol=1e-5)


def test_layer_norm_wrong_shape():
    with pytest.raises(ValueError, match=r"[\[(]4,?[\])].*[\[(]2, 5,?[\])]"):
        nn.LayerNorm(4)(pyseq.randn(2, 5))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_stats_and_eval(rng, shape, momentum):
    ours, theirs = nn.BatchNorm1d(3, momentum=momentum), torch.nn.BatchNorm1d(3, momentum=momentum)
    _randomize(theirs, rng)
    ours.load_state_dict(_numpy_state(theirs))
    for step in range(4):  # training steps: batch statistics, running stats updated
        x = f32(rng, *shape) * (step + 1) + step
        check_parity(ours, theirs, [x], rng, rtol=1e-4, atol=1e-5, load=False)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=name)
        assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == step + 1
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.grad, q.grad = None, None
    ours.eval()
    theirs.eval()
    x = f32(rng, *shape)
    before = ours.running_mean.numpy().copy()
    check_parity(ours, theirs, [x], rng, rtol=1e-4, atol=1e-5, load=False)
    np.testing.assert_array_equal(ours.running_mean.numpy(), before)  # eval leaves them alone
    assert ours.num_batches_tracked.item() == 4
    # eval really uses the running statistics
    rm, rv = ours.running_mean.numpy(), ours.running_var.numpy()
    w, b = ours.weight.detach().numpy(), ours.bias.detach().numpy()
    view = (1, 3) if len(shape) == 2 else (1, 3, 1)
    expected = (x - rm.reshape(view)) / np.sqrt(rv.reshape(view) + 1e-5) * w.reshape(view) + b.reshape(view)
    np.testing.assert_allclose(ours(pyseq.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("affine,track,bias", [(False, True, True), (True, False, True), (False, False, True),
                                              (True, True, False)])
def test_batch_norm_options(rng, affine, track, bias):
    ours = nn.BatchNorm1d(3, affine=affine, track_running_stats=track, bias=bias)
    theirs = torch.nn.BatchNorm1d(3, affine=affine, track_running_stats=track, bias=bias)
    _randomize(theirs, rng)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        check_parity(ours, theirs, [f32(rng, 5, 3, 2)], rng, rtol=1e-4, atol=1e-5)


def test_batch_norm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        bn(pyseq.randn(1, 3))
    assert bn.num_batches_tracked.item() == 0
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        bn(pyseq.randn(2, 4))
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 5\)"):
        bn(pyseq.randn(2, 3, 4, 5))
    bn.eval()
    assert bn(pyseq.randn(1, 3)).shape == (1, 3)  # one sample is fine in eval


def test_batch_norm_gradcheck(rng):
    x = pyseq.tensor(rng.standard_normal((4, 2, 3)), dtype=pyseq.float64, requires_grad=True)
    w = pyseq.tensor(rng.standard_normal(2), dtype=pyseq.float64, requires_grad=True)
    b = pyseq.tensor(rng.standard_normal(2), dtype=pyseq.float64, requires_grad=True)
    assert pyseq.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))


# --- activations ---

@pytest.mark.parametrize("make", [
    lambda nn: nn.ReLU(), lambda nn: nn.LeakyReLU(), lambda nn: nn.LeakyReLU(0.2), lambda nn: nn.ELU(),
    lambda nn: nn.ELU(alpha=0.5), lambda nn: nn.GELU(), lambda nn: nn.GELU(approximate="tanh"),
    lambda nn: nn.Tanh(), lambda nn: nn.Sigmoid(), lambda nn: nn.Softmax(dim=1), lambda nn: nn.Softmax(dim=-1),
    lambda nn: nn.LogSoftmax(dim=1), lambda nn: nn.LogSoftmax(dim=0), lambda nn: nn.SiLU(), lambda nn: nn.Softplus(),
    lambda nn: nn.Softplus(beta=2, threshold=1), lambda nn: nn.Hardtanh(), lambda nn: nn.Hardtanh(-0.5, 0.5),
])
def test_activation(rng, make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 3, 4, 2, low=-3, high=3)], rng)


def test_softmax_implicit_dim_warns(rng):
    x = f32(rng, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(pyseq.tensor(x))
    np.testing.assert_allclose(out.numpy(), torch.softmax(torch.tensor(x), 1).numpy(), rtol=1e-6)


# --- Conv1d and pooling ---

@pytest.mark.parametrize("kw", [
    dict(), dict(stride=2), dict(padding=2), dict(dilation=2), dict(groups=2), dict(bias=False),
    dict(stride=3, padding=1, dilation=2), dict(groups=4, padding=1), dict(padding="valid"),
    dict(padding="same"), dict(padding="same", dilation=2),
])
@pytest.mark.parametrize("kernel_size", [2, 3])
def test_conv1d(rng, kw, kernel_size):
    ours = nn.Conv1d(4, 8, kernel_size, **kw)
    theirs = torch.nn.Conv1d(4, 8, kernel_size, **kw)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 3, 4, 11)], rng, rtol=1e-4, atol=1e-5)


def test_conv1d_unbatched(rng):
    check_parity(nn.Conv1d(2, 3, 3, padding=1), torch.nn.Conv1d(2, 3, 3, padding=1), [f32(rng, 2, 7)], rng,
                 rtol=1e-4, atol=1e-5)


def test_conv1d_errors():
    conv = nn.Conv1d(4, 8, 3)
    with pytest.raises(ValueError, match=r"[\[(]8, 4, 3,?[\])].*[\[(]2, 3, 10,?[\])]"):
        conv(pyseq.randn(2, 3, 10))
    with pytest.raises(ValueError, match=r"[\[(]2, 4, 2,?[\])].*output length"):
        conv(pyseq.randn(2, 4, 2))
    with pytest.raises(ValueError, match=r"[\[(]2, 4,?[\])]"):
        conv(pyseq.randn(2, 4))  # unbatched with 2 channels... too short and wrong channels
    with pytest.raises(ValueError, match="3D"):
        conv(pyseq.randn(1, 2, 4, 10))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv1d(4, 6, 3, stride=2, padding="same")


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=2), dict(kernel_size=4, stride=3, padding=2, dilation=1)])
def test_max_pool1d(rng, kw):
    ours, theirs = nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 2, 3, 10)], rng)
    check_parity(ours, theirs, [f32(rng, 3, 9)], rng)


@pytest.mark.parametrize("output_size,L", [(1, 7), (3, 9), (3, 7), (4, 5)])
def test_adaptive_max_pool1d(rng, output_size, L):
    ours, theirs = nn.AdaptiveMaxPool1d(output_size), torch.nn.AdaptiveMaxPool1d(output_size)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 2, 3, L)], rng)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=4, stride=1, padding=2, count_include_pad=False)])
def test_avg_pool1d(rng, kw):
    ours, theirs = nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 2, 3, 10)], rng)
    check_parity(ours, theirs, [f32(rng, 3, 9)], rng)


@pytest.mark.parametrize("output_size,L", [(1, 7), (3, 9), (3, 7)])
def test_adaptive_avg_pool1d(rng, output_size, L):
    ours, theirs = nn.AdaptiveAvgPool1d(output_size), torch.nn.AdaptiveAvgPool1d(output_size)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 2, 3, L)], rng)


def test_cosine_similarity_module(rng):
    ours, theirs = nn.CosineSimilarity(dim=-1), torch.nn.CosineSimilarity(dim=-1)
    assert repr(ours) == repr(theirs)
    check_parity(ours, theirs, [f32(rng, 4, 5), f32(rng, 4, 5)], rng)


class _TorchGlobalMax(torch.nn.Module):
    def forward(self, x):
        return x.amax(dim=-1)


class _TorchKMax(torch.nn.Module):
    """Reference k-max pooling: torch.topk, then the chosen positions sorted back into order."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        idx = x.topk(self.k, dim=-1).indices.sort(dim=-1).values
        return x.gather(-1, idx)


def test_global_max_pool1d(rng):
    check_parity(nn.GlobalMaxPool1d(), _TorchGlobalMax(), [f32(rng, 2, 3, 6)], rng)
    assert nn.GlobalMaxPool1d()(pyseq.randn(2, 3, 6)).shape == (2, 3)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_kmax_pool1d(rng, k):
    x = f32(rng, 2, 3, 6)
    out, _ = check_parity(nn.KMaxPool1d(k), _TorchKMax(k), [x], rng)
    assert out.shape == (2, 3, k)
    # hand-checked: order of appearance is kept, not sorted by value
    y = nn.KMaxPool1d(3)(pyseq.tensor([[[1.0, 9.0, 3.0, 7.0, 8.0, 2.0]]]))
    np.testing.assert_array_equal(y.numpy(), [[[9.0, 7.0, 8.0]]])
    with pytest.raises(ValueError, match="k=7"):
        nn.KMaxPool1d(7)(pyseq.tensor(x))


# --- Dropout and GaussianNoise ---

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    pyseq.manual_seed(0)
    drop = nn.Dropout(p)
    x = pyseq.ones(200, 500)
    y = drop(x).numpy()
    zeroed = np.mean(y == 0)
    assert abs(zeroed - p) < 0.01  # 100k draws: the standard error is < 0.002
    np.testing.assert_allclose(y[y != 0], 1.0 / (1.0 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_modes_and_gradient():
    x = pyseq.randn(50, 40, requires_grad=True)
    drop = nn.Dropout(0.3)
    assert repr(drop) == repr(torch.nn.Dropout(0.3))
    pyseq.manual_seed(7)
    a = drop(x)
    pyseq.manual_seed(7)
    b = drop(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())  # reproducible under manual_seed
    c = drop(x)
    assert not np.array_equal(a.detach().numpy(), c.detach().numpy())  # a fresh mask otherwise
    a.sum().backward()
    mask = a.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.7, rtol=1e-6)  # grad = mask / (1 - p)
    drop.eval()
    np.testing.assert_array_equal(drop(x).detach().numpy(), x.detach().numpy())
    assert np.array_equal(nn.Dropout(0.0)(x).detach().numpy(), x.detach().numpy())
    assert np.all(nn.Dropout(1.0)(x).detach().numpy() == 0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)


def test_gaussian_noise():
    noise = nn.GaussianNoise(0.5)
    assert repr(noise) == "GaussianNoise(std=0.5)"
    x = pyseq.full((200, 500), 2.0, requires_grad=True)
    pyseq.manual_seed(3)
    y = noise(x)
    d = y.detach().numpy() - 2.0
    assert abs(d.mean()) < 0.01 and abs(d.std() - 0.5) < 0.01
    pyseq.manual_seed(3)
    np.testing.assert_array_equal(noise(x).detach().numpy(), y.detach().numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((200, 500)))  # noise is additive
    noise.eval()
    assert noise(x) is x
    with pytest.raises(ValueError, match="std"):
        nn.GaussianNoise(-1.0)


def test_gaussian_weight_noise():
    """Weight noise: the noise module applied to a weight inside forward; gradients reach the weight."""

    class NoisyLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.noise = nn.GaussianNoise(0.1)

        def forward(self, x):
            return F.linear(x, self.noise(self.lin.weight), self.lin.bias)

    m = NoisyLinear()
    x = pyseq.randn(4, 3)
    assert not np.allclose(m(x).detach().numpy(), m.lin(x).detach().numpy())
    m(x).sum().backward()
    np.testing.assert_allclose(m.lin.weight.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)), rtol=1e-5)
    m.eval()
    np.testing.assert_array_equal(m(x).detach().numpy(), m.lin(x).detach().numpy())


# --- a small model end to end ---

def test_textcnn_like_model_parity(rng):
    """Embedding -> Conv1d (two widths) -> global max pool -> Linear, against the same torch model."""

    def build(lib, pool):
        class Net(lib.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.Embedding(20, 6, padding_idx=0)
                self.convs = lib.ModuleList([lib.Conv1d(6, 4, k) for k in (2, 3)])
                self.fc = lib.Linear(8, 3)

            def forward(self, idx):
                h = self.emb(idx).transpose(1, 2)  # (N, L, D) -> (N, D, L)
                return self.fc(lib_cat([pool(conv(h).relu()) for conv in self.convs]))

        lib_cat = (lambda ts: pyseq.cat(ts, 1)) if lib is nn else (lambda ts: torch.cat(ts, 1))
        return Net()

    ours = build(nn, lambda t: t.max(dim=-1).values)
    theirs = build(torch.nn, lambda t: t.amax(dim=-1))
    idx = rng.integers(0, 20, size=(5, 9)).astype(np.int64)
    check_parity(ours, theirs, [idx], rng, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", [lambda: nn.Conv1d(2, 2, 3, stride=0), lambda: nn.Conv1d(2, 2, 3, padding=-1),
                                  lambda: nn.Conv1d(2, 2, 3, dilation=0), lambda: nn.Conv1d(2, 2, 0),
                                  lambda: nn.MaxPool1d(2, stride=0), lambda: nn.MaxPool1d(0)])
def test_windowed_layers_refuse_bad_geometry_at_construction(make):
    with pytest.raises(ValueError, match="must be positive and padding non-negative"):
        make()
