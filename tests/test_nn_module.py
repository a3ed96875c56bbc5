"""nn.Module, nn.Parameter and the containers: registration, iteration, modes, gradients,
state_dict keys and loading (from torch and back), dtype conversion, apply and repr, all checked
against the same model built with torch.nn."""

import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import pyseq
from pyseq import nn

torch = pytest.importorskip("torch")


def build(lib):
    """The same nested model in pyseq.nn or torch.nn (every kind of container and stateful layer)."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.Embedding(10, 4, padding_idx=0)
            self.conv = lib.Conv1d(4, 6, 3, padding=1)
            self.blocks = lib.ModuleList([lib.Sequential(lib.Linear(6, 6), lib.BatchNorm1d(6), lib.ReLU())
                                          for _ in range(2)])
            self.heads = lib.ModuleDict({"cls": lib.Linear(6, 3), "reg": lib.Linear(6, 1, bias=False)})
            self.norm = lib.LayerNorm(6)
            self.drop = lib.Dropout(0.1)

        def forward(self, idx):  # (N, L) -> (N, 3), (N, 1)
            h = self.conv(self.emb(idx).transpose(1, 2)).max(dim=-1)  # (N, 6, L) -> max over time
            h = h.values if hasattr(h, "values") else h[0]
            for block in self.blocks:
                h = block(h)
            h = self.drop(self.norm(h))
            return self.heads["cls"](h), self.heads["reg"](h)

    return Net()


def torch_state_as_numpy(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


@pytest.fixture
def pair():
    torch.manual_seed(0)
    return build(nn), build(torch.nn)


# --- Parameter ---

def test_parameter():
    data = pyseq.randn(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, pyseq.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and not data.requires_grad  # a new leaf of its own
    assert p.data_ptr() == data.data_ptr()  # sharing memory
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor([[") and repr(p).endswith("requires_grad=True)")
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError, match="list"):
        nn.Parameter([1.0, 2.0])
    with pyseq.no_grad():
        assert p.mul_(2) is p  # in-place ops keep the Parameter object


# --- registration and iteration ---

def test_named_parameters_buffers_modules_match_torch(pair):
    ours, theirs = pair

    def summary(items):
        return [(k, tuple(v.shape)) for k, v in items]

    assert summary(ours.named_parameters()) == summary(theirs.named_parameters())
    assert summary(ours.named_buffers()) == summary(theirs.named_buffers())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert [k for k, _ in ours.named_parameters(prefix="model", recurse=True)][0] == "model.emb.weight"
    assert [k for k, _ in ours.blocks[0].named_parameters(recurse=False)] == []
    assert [k for k, _ in ours.heads["cls"].named_parameters(recurse=False)] == ["weight", "bias"]
    assert list(ours.children())[0] is ours.emb
    assert ours.get_submodule("blocks.1.0") is ours.blocks[1][0]
    with pytest.raises(AttributeError, match="nope"):
        ours.get_submodule("blocks.nope")


def test_shared_parameters_are_listed_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight  # tied weights
            self.again = self.emb  # the same module twice

    m = Tied()
    assert [k for k, _ in m.named_parameters()] == ["emb.weight"]
    assert [k for k, _ in m.named_modules()] == ["", "emb", "out"]
    assert list(m.state_dict()) == ["emb.weight", "out.weight", "again.weight"]  # as torch: every path
    assert len(list(m.named_parameters(remove_duplicate=False))) == 3
    m.load_state_dict(m.state_dict())


def test_setattr_rules():
    m = nn.Module()
    m.w = nn.Parameter(pyseq.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("stat", pyseq.ones(2))
    m.register_buffer("tmp", pyseq.ones(1), persistent=False)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["stat", "tmp"]
    assert list(m.state_dict()) == ["w", "stat", "sub.weight", "sub.bias"]  # non-persistent buffers left out
    assert [k for k, _ in m.named_buffers()] == ["stat", "tmp"]
    with pytest.raises(TypeError, match="cannot assign 'pyseq._core.Tensor' as parameter 'w'"):
        m.w = pyseq.zeros(2)
    m.w = None  # a parameter may be None
    assert m.w is None and [k for k, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    m.stat = pyseq.zeros(2)  # buffers take plain tensors
    assert m._buffers["stat"].numpy().sum() == 0
    with pytest.raises(TypeError, match="buffer 'stat'"):
        m.stat = 1.0
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 5
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        m.missing
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", pyseq.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)

    class Forgot(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgot()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


# --- modes and gradients ---

def test_train_eval_propagate(pair):
    ours, _ = pair
    assert all(m.training for m in ours.modules())
    assert ours.eval() is ours
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())
    ours.blocks.train(False)
    assert ours.training and not ours.blocks[1][1].training


def test_zero_grad_and_requires_grad(pair):
    ours, _ = pair
    a, b = ours(pyseq.tensor([[1, 2, 3, 4], [5, 6, 0, 0]]))
    (a.sum() + b.sum()).backward()
    assert all(p.grad is not None for p in ours.parameters())
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ours.parameters())
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())
    ours.emb.requires_grad_(False)
    assert not ours.emb.weight.requires_grad and ours.conv.weight.requires_grad


# --- state dicts ---

def test_state_dict_keys_and_values_match_torch(pair):
    ours, theirs = pair
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert list(sd_ours) == list(sd_theirs)  # "blocks.0.1.running_mean", "heads.cls.weight", ...
    for k in sd_theirs:
        assert tuple(sd_ours[k].shape) == tuple(sd_theirs[k].shape), k
        assert not sd_ours[k].requires_grad
    assert sd_ours["blocks.0.1.num_batches_tracked"].dtype == pyseq.int64
    assert isinstance(ours.state_dict(keep_vars=True)["emb.weight"], nn.Parameter)
    # values share memory with the module, as in torch
    with pyseq.no_grad():
        ours.norm.bias.fill_(3.0)
    assert np.all(sd_ours["norm.bias"].numpy() == 3.0)


def test_load_torch_state_dict_then_outputs_match(pair, rng):
    ours, theirs = pair
    for m in (ours, theirs):
        m.eval()
    with torch.no_grad():  # non-trivial running statistics
        for name, buf in theirs.named_buffers():
            if "running" in name:
                buf.copy_(torch.rand(buf.shape) + 0.5)
    result = ours.load_state_dict(torch_state_as_numpy(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    idx = rng.integers(0, 10, size=(3, 7)).astype(np.int64)
    for a, b in zip(ours(pyseq.tensor(idx)), theirs(torch.tensor(idx))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    # and back: pyseq's state dict loads into a fresh torch model with the same outputs
    fresh = build(torch.nn).eval()
    fresh.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    for a, b in zip(ours(pyseq.tensor(idx)), fresh(torch.tensor(idx))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_state_dict_round_trip(pair):
    ours, _ = pair
    other = build(nn)
    other.load_state_dict(ours.state_dict())
    for (k, a), (_, b) in zip(ours.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
        assert a.data_ptr() != b.data_ptr()  # copied, not aliased


def test_load_state_dict_reports_every_problem():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.BatchNorm1d(2))
    sd = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    del sd["0.bias"]
    sd["0.weight"] = np.zeros((3, 2), np.float32)
    sd["5.weight"] = np.zeros(1, np.float32)
    sd["2.extra"] = np.zeros(1, np.float32)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(sd)
    msg = str(err.value)
    assert "Error(s) in loading state_dict for Sequential" in msg
    assert 'Missing key(s) in state_dict: "0.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "5.weight", "2.extra"' in msg
    assert "size mismatch for 0.weight: copying a param with shape (3, 2) from checkpoint, the shape in current " \
           "model is (2, 3)" in msg
    # strict=False: missing/unexpected are returned, but a shape mismatch still raises
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        m.load_state_dict(sd, strict=False)
    sd["0.weight"] = np.ones((2, 3), np.float32)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["0.bias"] and unexpected == ["5.weight", "2.extra"]
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="'0.weight' must be a pyseq.Tensor or a numpy array, got list"):
        m.load_state_dict({**sd, "0.weight": [[1.0] * 3] * 2}, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_load_state_dict_casts_dtype_and_accepts_torch_tensors():
    m = nn.Linear(2, 2)
    t = torch.nn.Linear(2, 2).double()
    m.load_state_dict(t.state_dict())  # torch tensors go through .numpy(); float64 is cast to float32
    assert m.weight.dtype == pyseq.float32
    np.testing.assert_allclose(m.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-6)


# --- dtype conversion, apply, repr ---

def test_to_double_and_float(pair, rng):
    ours, _ = pair
    params_before = list(ours.parameters())
    assert ours.double() is ours
    assert all(p.dtype == pyseq.float64 and isinstance(p, nn.Parameter) and p.requires_grad
               for p in ours.parameters())
    assert ours.blocks[0][1].running_mean.dtype == pyseq.float64
    assert ours.blocks[0][1].num_batches_tracked.dtype == pyseq.int64  # integer buffers stay
    assert len(params_before) == len(list(ours.parameters()))
    ours.eval()
    idx = pyseq.tensor(rng.integers(0, 10, size=(2, 5)).astype(np.int64))
    assert ours(idx)[0].dtype == pyseq.float64
    ours.to(pyseq.float32)
    assert all(p.dtype == pyseq.float32 for p in ours.parameters())
    assert ours.to("cpu") is ours
    with pytest.raises(ValueError, match="cuda"):
        ours.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        ours.to(pyseq.int64)


def test_gradcheck_through_a_double_module(rng):
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = pyseq.tensor(rng.standard_normal((2, 3)), dtype=pyseq.float64, requires_grad=True)
    w = m[0].weight
    assert pyseq.autograd.gradcheck(lambda x, w: m(x), (x, w))


def test_apply_visits_children_first():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init_zero(mod):
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)

    m.apply(init_zero)
    assert not m[0].weight.detach().numpy().any() and not m[1][1].weight.detach().numpy().any()


def test_repr_matches_torch(pair):
    ours, theirs = pair
    assert repr(ours) == repr(theirs)
    for make in (lambda nn: nn.BatchNorm1d(4, momentum=None, affine=False), lambda nn: nn.BatchNorm1d(4, bias=False),
                 lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
                 lambda nn: nn.Conv1d(2, 4, 3, padding="same"), lambda nn: nn.LayerNorm((2, 3), eps=1e-12),
                 lambda nn: nn.LayerNorm(3, elementwise_affine=False), lambda nn: nn.LayerNorm(3, bias=False),
                 lambda nn: nn.Embedding(5, 2), lambda nn: nn.Flatten(), lambda nn: nn.Identity(),
                 lambda nn: nn.MaxPool1d(3), lambda nn: nn.ReLU(inplace=True), lambda nn: nn.Sequential(),
                 lambda nn: nn.ModuleList([nn.Linear(1, 1)])):
        assert repr(make(nn)) == repr(make(torch.nn))


# --- containers ---

def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    x = pyseq.randn(4, 2)
    np.testing.assert_allclose(seq(x).detach().numpy(), c(b(a(x))).detach().numpy())
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]._modules) == ["1", "2"]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is a
    seq.append(nn.Tanh())
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "ReLU", "Linear", "Tanh"]
    del seq[0]
    assert list(seq._modules) == ["0", "1", "2", "3"] and seq[0] is a  # renumbered, as torch does
    seq[3] = nn.Sigmoid()
    assert isinstance(seq[3], nn.Sigmoid)
    with pytest.raises(IndexError, match="index 9 is out of range for Sequential of length 4"):
        seq[9]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Sequential(1)


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers += [nn.Sigmoid()]
    layers.insert(1, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Linear", "Identity", "Linear", "Linear", "ReLU", "Tanh", "Sigmoid"]
    del layers[1]
    assert isinstance(layers[1], nn.Linear) and list(layers._modules) == [str(i) for i in range(6)]
    assert isinstance(layers[-2:], nn.ModuleList) and len(layers[-2:]) == 2
    with pytest.raises(IndexError, match="out of range for ModuleList of length 6"):
        layers[6]
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(pyseq.randn(1))
    with pytest.raises(TypeError, match="iterable of modules"):
        layers.extend(nn.Linear(1, 1))


def test_container_pop_and_add_as_torch():
    for lib in (torch.nn, nn):
        seq = lib.Sequential(lib.ReLU(), lib.Tanh())
        assert isinstance(seq.pop(0), lib.ReLU) and list(seq._modules) == ["0"]
        seq += lib.Sequential(lib.Sigmoid())
        both = seq + lib.Sequential(lib.ReLU())
        assert isinstance(both, lib.Sequential) and [type(m).__name__ for m in both] == ["Tanh", "Sigmoid", "ReLU"]
        layers = lib.ModuleList([lib.ReLU(), lib.Tanh()]) + lib.ModuleList([lib.Sigmoid()])
        assert isinstance(layers.pop(-1), lib.Sigmoid) and list(layers._modules) == ["0", "1"]
        params_a = lib.Parameter(_same_in(lib)(np.ones((2, 3), np.float32)))
        params = lib.ParameterDict({"a": params_a})
        assert "(a): Parameter containing: [" in repr(params) and "of size 2x3]" in repr(params)
        if lib is nn:
            assert "[pyseq.float32 of size 2x3]" in repr(params) and "[pyseq.float32 " in repr(nn.ParameterList([params_a]))
        assert tuple(params.pop("a").shape) == (2, 3) and len(params) == 0


def test_module_dict():
    d = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    d["c"] = nn.Linear(2, 1)
    d.update([("e", nn.Tanh())])
    assert list(d.keys()) == ["a", "b", "c", "e"] and "b" in d and len(d) == 4
    assert list(d.state_dict()) == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert isinstance(d.pop("b"), nn.ReLU) and "b" not in d
    assert [k for k, _ in d.items()] == ["a", "c", "e"] and list(d) == ["a", "c", "e"]
    with pytest.raises(KeyError, match="'z'"):
        d["z"]
    d.clear()
    assert len(d) == 0


class _Tied(nn.Module):  # module level, so pickle can find it
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight


def test_deepcopy_and_pickle_keep_parameters_and_ties():
    m = _Tied()
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(clone.a.weight, nn.Parameter) and clone.a.weight.requires_grad
        assert clone.b.weight is clone.a.weight  # still tied
        assert clone.a.weight.data_ptr() != m.a.weight.data_ptr()
        np.testing.assert_array_equal(clone.a.bias.detach().numpy(), m.a.bias.detach().numpy())


def _same_in(lib):
    """torch or pyseq tensors from numpy, for the tests below that run the same code on both."""
    return torch.from_numpy if lib is torch.nn else pyseq.from_numpy


def _hook_log(lib):
    """What forward pre-hooks and hooks see and change, on the same model in torch.nn or pyseq.nn."""
    t = _same_in(lib)
    model = lib.Sequential(lib.Linear(3, 2), lib.Tanh())  # weights set below, the same in both
    model[0].load_state_dict({"weight": t(np.array([[0.1, 0.2, -0.3], [0.5, -0.4, 0.2]], np.float32)),
                              "bias": t(np.array([0.05, -0.1], np.float32))})
    log = []
    handles = [
        model[0].register_forward_pre_hook(lambda m, args: log.append(("pre", type(m).__name__, len(args)))),
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,)),             # replaces the input
        model[0].register_forward_hook(lambda m, args, out: log.append(("post", out.detach().numpy().round(4).tolist()))),
        model[0].register_forward_hook(lambda m, args, out: out + 1, prepend=True),      # runs first
        model[1].register_forward_pre_hook(lambda m, args: args[0] - 0.5),               # a non-tuple is wrapped
        model.register_forward_hook(lambda m, args, kwargs, out: log.append(("kw", kwargs)), with_kwargs=True),
    ]
    x = t(np.array([[0.1, -0.2, 0.3]], np.float32))
    log.append(("y", model(x).detach().numpy().round(4).tolist()))
    for h in handles:
        h.remove()
    with model.register_forward_hook(lambda m, args, out: out * 0):
        log.append(("ctx", model(x).detach().numpy().tolist()))
    log.append(("removed", model(x).detach().numpy().round(4).tolist()))

    class Scale(lib.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    s = Scale()
    s.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True)
    log.append(("kwargs", s(t(np.ones(2, np.float32))).tolist()))
    s.register_forward_pre_hook(lambda m, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="tuple of \\(new_args, new_kwargs\\)"):
        s(t(np.ones(2, np.float32)))
    return log


def test_forward_hooks_as_torch():
    assert _hook_log(nn) == _hook_log(torch.nn)


def test_get_parameter_buffer_and_set_submodule_as_torch():
    for lib in (torch.nn, nn):
        model = lib.Sequential(lib.Linear(2, 3), lib.BatchNorm1d(3))
        assert model.get_parameter("0.weight") is model[0].weight
        assert model.get_buffer("1.running_mean") is model[1].running_mean
        with pytest.raises(AttributeError, match="`weight` is not a buffer"):
            model.get_buffer("0.weight")
        with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
            model.get_parameter("1.running_mean")
        with pytest.raises(AttributeError, match="has no attribute `nope`"):
            model.get_parameter("0.nope")
        model.set_submodule("1", lib.Tanh())
        assert isinstance(model[1], lib.Tanh) and list(model.state_dict()) == ["0.weight", "0.bias"]


def test_load_state_dict_assign_and_unexpected_keys_as_torch():
    for lib in (torch.nn, nn):
        t = _same_in(lib)
        m = lib.Linear(2, 2, bias=False)
        w = lib.Parameter(t(np.ones((2, 2), np.float32)), requires_grad=False)
        assert not m.load_state_dict({"weight": w}, assign=True).missing_keys
        assert m.weight is w and m.weight.requires_grad  # the module's requires_grad is kept
        v = t(np.full((2, 2), 2.0, np.float32))
        m.load_state_dict({"weight": v}, assign=True)
        assert isinstance(m.weight, lib.Parameter) and m.weight.requires_grad and float(m.weight.detach().sum()) == 8.0
        v += 1  # assign shares the tensor's memory
        assert float(m.weight.detach().sum()) == 12.0
        # a key for a parameter that is None is unexpected; one under a child that is None is not
        m.register_module("child", None)
        result = m.load_state_dict({"weight": v, "bias": v[0], "child.weight": v}, strict=False)
        assert result.missing_keys == [] and result.unexpected_keys == ["bias"]


def test_full_backward_hooks_as_torch():
    """register_full_backward_pre_hook sees grad_output, register_full_backward_hook grad_input
    and grad_output and may replace grad_input; with no input needing a gradient it fires with
    (None,) when grad_output is known. Same log and input gradient as torch."""
    torch = pytest.importorskip("torch")
    W = np.random.default_rng(0).standard_normal((3, 4))
    X = np.random.default_rng(1).standard_normal((2, 4))

    def run(lib):
        lin = lib.nn.Linear(4, 3)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(W, dtype=lib.float32))
            lin.bias.zero_()
        log = []

        def full(module, grad_input, grad_output):
            log.append(("full", None if grad_input[0] is None else round(grad_input[0].sum().item(), 4),
                        round(grad_output[0].sum().item(), 4)))
            return None if grad_input[0] is None else (grad_input[0] * 2,)
        lin.register_full_backward_pre_hook(lambda m, go: log.append(("pre", round(go[0].sum().item(), 4))))
        handle = lin.register_full_backward_hook(full)
        x = lib.tensor(X, dtype=lib.float32, requires_grad=True)
        (lin(x) ** 2).sum().backward()
        (lin(lib.tensor(X, dtype=lib.float32)) ** 2).sum().backward()
        handle.remove()
        x2 = lib.tensor(X, dtype=lib.float32, requires_grad=True)
        (lin(x2) ** 2).sum().backward()
        return log, x.grad.numpy(), x2.grad.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note that the hook fires without input gradients
        theirs = run(torch)
    ours = run(pyseq)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)
