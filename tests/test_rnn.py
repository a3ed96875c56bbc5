"""Recurrent layers (nn.RNN / LSTM / GRU, the cells, nn.utils.rnn) against PyTorch, float64 finite
differences, and the kernel's own plain reference; on every CPU level and with one thread."""

import itertools
import json

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.autograd import gradcheck
from pyseq.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

KINDS = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None), ("GRU", None)]
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
LENGTHS = [5, 2, 7, 5]  # ragged, unsorted, with a tie: T = 7, B = 4


def _kwargs(kind, nonlinearity):
    return {"nonlinearity": nonlinearity} if kind == "RNN" else {}


def _pair(kind, nonlinearity, input_size, hidden, dtype=torch.float32, **kw):
    """A torch module and a pyseq module of one kind with the torch module's weights."""
    torch_module = getattr(torch.nn, kind)(input_size, hidden, **_kwargs(kind, nonlinearity), **kw).to(dtype)
    ps_dtype = pyseq.float64 if dtype == torch.float64 else pyseq.float32
    ours = getattr(nn, kind)(input_size, hidden, **_kwargs(kind, nonlinearity), **kw, dtype=ps_dtype)
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})
    return torch_module, ours


def _np(t):
    return t.detach().numpy()


def _close(ours, theirs, what, atol=2e-5, rtol=2e-4):
    np.testing.assert_allclose(_np(ours), _np(theirs), atol=atol, rtol=rtol, err_msg=what)


# --- PyTorch parity over the grid -----------------------------------------------------------

# the LSTM with proj_size=3 ("proj") as a fifth kind
GRID = list(itertools.product(KINDS + [("LSTM", "proj")], [1, 2], [False, True], [False, True], [False, True],
                              [False, True]))


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("kind_nl,layers,bidirectional,batch_first,ragged,given_state", GRID,
                         ids=["-".join(map(str, (k[0], k[1] or "", l, "bi" if b else "uni", "bf" if f else "tm",
                                                 "ragged" if r else "equal", "h0" if h else "zero")))
                              for k, l, b, f, r, h in GRID])
def test_matches_torch(kind_nl, layers, bidirectional, batch_first, ragged, given_state):
    kind, nonlinearity = kind_nl
    proj = {"proj_size": 3} if nonlinearity == "proj" else {}
    rng = np.random.default_rng(len(GRID))
    T, B, I, H = 7, 4, 5, 6
    torch.manual_seed(0)
    theirs, ours = _pair(kind, nonlinearity, I, H, num_layers=layers, bidirectional=bidirectional,
                         batch_first=batch_first, **proj)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(np.float32)
    tx, px = torch.tensor(x, requires_grad=True), pyseq.tensor(x).requires_grad_(True)
    D = 2 if bidirectional else 1
    sizes = [proj.get("proj_size", H), H][:2 if kind == "LSTM" else 1]  # h0 (projected), c0
    states = [rng.standard_normal((layers * D, B, size)).astype(np.float32) for size in sizes]
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    p_states = [pyseq.tensor(s).requires_grad_(True) for s in states]
    t_hx = p_hx = None
    if given_state:
        t_hx = tuple(t_states) if kind == "LSTM" else t_states[0]
        p_hx = tuple(p_states) if kind == "LSTM" else p_states[0]
    t_in, p_in = tx, px
    if ragged:
        t_in = torch.nn.utils.rnn.pack_padded_sequence(tx, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        p_in = rnn_utils.pack_padded_sequence(px, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        _close(p_in.data, t_in.data, "packed input")
    t_out, t_h = theirs(t_in, t_hx)
    p_out, p_h = ours(p_in, p_hx)
    if ragged:
        t_out = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=batch_first)[0]
        p_out = rnn_utils.pad_packed_sequence(p_out, batch_first=batch_first)[0]
    t_last, p_last = (t_h if kind == "LSTM" else (t_h,)), (p_h if kind == "LSTM" else (p_h,))
    _close(p_out, t_out, "output")
    for name, p, t in zip(["h_n", "c_n"], p_last, t_last):
        _close(p, t, name)

    # one loss that weighs every output differently, so each gradient path is checked
    weights = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in (t_out, *t_last)]
    sum(((t * torch.tensor(w)).sum() for t, w in zip((t_out, *t_last), weights))).backward()
    sum(((p * pyseq.tensor(w)).sum() for p, w in zip((p_out, *p_last), weights))).backward()
    _close(px.grad, tx.grad, "input grad")
    if given_state:
        for p, t in zip(p_states, t_states):
            _close(p.grad, t.grad, "initial state grad")
    ours_params = dict(ours.named_parameters())
    for name, t in theirs.named_parameters():
        _close(ours_params[name].grad, t.grad, f"grad of {name}")


@pytest.mark.parametrize("kind,nonlinearity", KINDS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("given_state", [False, True])
def test_cells_match_torch(kind, nonlinearity, batched, given_state):
    rng = np.random.default_rng(1)
    I, H, B = 5, 6, 3
    torch.manual_seed(1)
    theirs = getattr(torch.nn, kind + "Cell")(I, H, **_kwargs(kind, nonlinearity))
    ours = getattr(nn, kind + "Cell")(I, H, **_kwargs(kind, nonlinearity))
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    shape = (B, I) if batched else (I,)
    state_shape = (B, H) if batched else (H,)
    x = rng.standard_normal(shape).astype(np.float32)
    tx, px = torch.tensor(x, requires_grad=True), pyseq.tensor(x).requires_grad_(True)
    states = [rng.standard_normal(state_shape).astype(np.float32) for _ in range(2 if kind == "LSTM" else 1)]
    t_hx = p_hx = None
    if given_state:
        t_hx = tuple(torch.tensor(s) for s in states) if kind == "LSTM" else torch.tensor(states[0])
        p_hx = tuple(pyseq.tensor(s) for s in states) if kind == "LSTM" else pyseq.tensor(states[0])
    t_out, p_out = theirs(tx, t_hx), ours(px, p_hx)
    t_out = t_out if kind == "LSTM" else (t_out,)
    p_out = p_out if kind == "LSTM" else (p_out,)
    for p, t in zip(p_out, t_out):
        _close(p, t, "cell output")
    sum((t * (k + 1)).sum() for k, t in enumerate(t_out)).backward()
    sum((p * (k + 1)).sum() for k, p in enumerate(p_out)).backward()
    _close(px.grad, tx.grad, "input grad")
    for name, t in theirs.named_parameters():
        _close(dict(ours.named_parameters())[name].grad, t.grad, name)


def test_unbatched_input_matches_torch():
    torch.manual_seed(2)
    theirs, ours = _pair("LSTM", None, 3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    h0 = np.ones((4, 4), np.float32) * 0.3
    t_out, (t_h, t_c) = theirs(torch.tensor(x), (torch.tensor(h0), torch.tensor(-h0)))
    p_out, (p_h, p_c) = ours(pyseq.tensor(x), (pyseq.tensor(h0), pyseq.tensor(-h0)))
    assert p_out.shape == (5, 8) and p_h.shape == (4, 4)
    for p, t in [(p_out, t_out), (p_h, t_h), (p_c, t_c)]:
        _close(p, t, "unbatched")


def test_state_dicts_carry_over_both_ways():
    torch.manual_seed(3)
    for kind, nonlinearity in KINDS + [("LSTM", "proj")]:
        kw = dict(num_layers=2, bidirectional=True, **_kwargs(kind, nonlinearity),
                  **({"proj_size": 2} if nonlinearity == "proj" else {}))
        ours, theirs = getattr(nn, kind)(3, 4, **kw), getattr(torch.nn, kind)(3, 4, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for (name, p), (tname, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert tuple(p.shape) == tuple(t.shape), name
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})  # ours -> torch
        x = np.random.default_rng(3).standard_normal((4, 2, 3)).astype(np.float32)
        _close(ours(pyseq.tensor(x))[0], theirs(torch.tensor(x))[0], kind)


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    pyseq.manual_seed(0)
    lstm = nn.LSTM(64, 100, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert tuple(lstm.weight_ih_l1.shape) == (400, 200)
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(100)
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.01 * bound  # the uniform's std
    assert abs(values.mean()) < 0.01 * bound


# --- float64 finite differences --------------------------------------------------------------------

@pytest.mark.parametrize("kind,nonlinearity", KINDS + [("LSTM", "proj")])
def test_layer_gradcheck(kind, nonlinearity):
    pyseq.manual_seed(4)
    rng = np.random.default_rng(4)
    proj = {"proj_size": 2} if nonlinearity == "proj" else {}
    module = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, **_kwargs(kind, nonlinearity), **proj,
                               dtype=pyseq.float64)
    params = list(module.parameters())
    x = pyseq.tensor(rng.standard_normal((5, 3, 3))).requires_grad_(True)
    h0 = pyseq.tensor(rng.standard_normal((4, 3, proj.get("proj_size", 4))) * 0.5).requires_grad_(True)
    c0 = pyseq.tensor(rng.standard_normal((4, 3, 4)) * 0.5).requires_grad_(True)
    lengths = [5, 2, 4]

    def run():
        packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, h = module(packed, (h0, c0) if kind == "LSTM" else h0)
        out = rnn_utils.pad_packed_sequence(out)[0]
        h = h if kind == "LSTM" else (h,)
        return (out * out).sum() + sum((s * s.sin()).sum() for s in h)

    # central differences of a loss through the module (packing included), each input perturbed in
    # place through a numpy view of its storage, against the module's own backward
    inputs = [x, h0] + ([c0] if kind == "LSTM" else []) + params
    run().backward()
    analytic = [t.grad.numpy().copy() for t in inputs]
    eps = 1e-6
    for t, g in zip(inputs, analytic):
        flat = t.detach().numpy().reshape(-1)  # a view of t's storage
        for i in rng.choice(flat.size, size=min(flat.size, 6), replace=False):
            keep = flat[i]
            flat[i] = keep + eps
            up = run().item()
            flat[i] = keep - eps
            down = run().item()
            flat[i] = keep
            numeric = (up - down) / (2 * eps)
            assert abs(numeric - g.reshape(-1)[i]) <= 1e-6 + 1e-5 * abs(numeric), (kind, i)


@pytest.mark.parametrize("kind,nonlinearity", KINDS)
def test_cell_gradcheck(kind, nonlinearity):
    pyseq.manual_seed(5)
    rng = np.random.default_rng(5)
    cell = getattr(nn, kind + "Cell")(3, 4, **_kwargs(kind, nonlinearity), dtype=pyseq.float64)
    x = pyseq.tensor(rng.standard_normal((2, 3))).requires_grad_(True)
    h = pyseq.tensor(rng.standard_normal((2, 4))).requires_grad_(True)
    c = pyseq.tensor(rng.standard_normal((2, 4))).requires_grad_(True)
    w = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]

    def step(x, h, c, w_ih, w_hh, b_ih, b_hh):
        mode = cell.mode
        out = pyseq._core.rnn_layer(mode, x.unsqueeze(0), h, c if mode == "LSTM" else None, w_ih, w_hh, b_ih, b_hh)
        return (out[1], out[2]) if mode == "LSTM" else out[1]

    inputs = [x, h, c] + w if kind == "LSTM" else [x, h]
    if kind == "LSTM":
        assert gradcheck(step, inputs)
    else:
        assert gradcheck(lambda x, h, *w: step(x, h, None, *w), [x, h] + w)


# --- the fused kernel against its plain reference --------------------------------------------------

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


def _layer_case(rng, mode, dtype, T=6, B=5, I=7, H=9, bias=True, given_state=True, P=0):
    """rnn_layer's arguments in its order (and w_hr, an LSTM's projection to P features, when P > 0)
    and the gradients of its outputs."""
    G = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]
    S = P or H  # the state's size
    t = lambda a: pyseq.tensor(a.astype(dtype))  # noqa: E731
    args = {
        "x": t(rng.standard_normal((T, B, I))),
        "h0": t(rng.standard_normal((B, S))) if given_state else None,
        "c0": t(rng.standard_normal((B, H))) if given_state and mode == "LSTM" else None,
        "w_ih": t(rng.standard_normal((G * H, I)) * 0.3),
        "w_hh": t(rng.standard_normal((G * H, S)) * 0.3),
        "b_ih": t(rng.standard_normal(G * H) * 0.1) if bias else None,
        "b_hh": t(rng.standard_normal(G * H) * 0.1) if bias else None,
    }
    if P:
        args["w_hr"] = t(rng.standard_normal((P, H)) * 0.3)
    grads = {"d_out": t(rng.standard_normal((T, B, S))), "d_hn": t(rng.standard_normal((B, S))),
             "d_cn": t(rng.standard_normal((B, H))) if mode == "LSTM" else None}
    return args, grads


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernel_matches_reference(mode, reverse, ragged, dtype):
    rng = np.random.default_rng(6)
    for bias, given_state in [(True, True), (False, False)]:
        args, grads = _layer_case(rng, mode, dtype, bias=bias, given_state=given_state)
        lengths = pyseq.tensor(np.array([6, 1, 3, 6, 4])) if ragged else None
        ref = pyseq._core._testing.rnn_reference(mode, *args.values(), lengths, reverse, *grads.values())
        leaves = {k: (v.requires_grad_(True) if v is not None else None) for k, v in args.items()}
        out, h_n, c_n = pyseq._core.rnn_layer(mode, *leaves.values(), lengths, reverse)
        loss = (out * grads["d_out"]).sum() + (h_n * grads["d_hn"]).sum()
        if mode == "LSTM":
            loss = loss + (c_n * grads["d_cn"]).sum()
        loss.backward()
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(_np(out), ref[0].numpy(), **tol)
        np.testing.assert_allclose(_np(h_n), ref[1].numpy(), **tol)
        if mode == "LSTM":
            np.testing.assert_allclose(_np(c_n), ref[2].numpy(), **tol)
        names = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]
        for name, r in zip(names, ref[3:]):
            if leaves[name] is not None:
                np.testing.assert_allclose(leaves[name].grad.numpy(), r.numpy(), **tol, err_msg=name)
        if ragged:  # padded steps: zero output, zero input gradient
            padded = np.arange(6)[:, None] >= np.array([6, 1, 3, 6, 4])[None, :]
            assert np.all(_np(out)[padded] == 0)
            assert np.all(leaves["x"].grad.numpy()[padded] == 0)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("B,H,P", [(5, 9, 4), (33, 100, 50), (2, 300, 60)])
def test_fused_projection_matches_reference(reverse, ragged, threads, B, H, P):
    # float64, so the two agree to rounding; the larger cases take the packed GEMM (batch 33) and
    # teams of threads that split both the units and the projection's outputs
    rng = np.random.default_rng(P)
    args, grads = _layer_case(rng, "LSTM", np.float64, T=5, B=B, I=11, H=H, P=P)
    lengths = pyseq.tensor(rng.integers(1, 6, B)) if ragged else None
    w_hr = args.pop("w_hr")
    ref = pyseq._core._testing.rnn_reference("LSTM", *args.values(), lengths, reverse, *grads.values(), w_hr=w_hr)
    leaves = [v.requires_grad_(True) for v in [*args.values(), w_hr]]
    old = pyseq.get_num_threads()
    pyseq.set_num_threads(threads)
    try:
        out, h_n, c_n = pyseq._core.rnn_layer("LSTM", *leaves[:-1], lengths, reverse, leaves[-1])
        ((out * grads["d_out"]).sum() + (h_n * grads["d_hn"]).sum() + (c_n * grads["d_cn"]).sum()).backward()
    finally:
        pyseq.set_num_threads(old)
    names = ["output", "h_n", "c_n", "x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr"]
    ours = [out, h_n, c_n] + [leaf.grad for leaf in leaves]
    for name, a, b in zip(names, ours, ref):
        np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-10, atol=1e-11, err_msg=name)
    if ragged:  # padded steps: zero output
        padded = np.arange(5)[:, None] >= lengths.numpy()[None, :]
        assert np.all(_np(out)[padded] == 0)


@pytest.mark.parametrize("batch", [1, 4, 5, 33])
def test_fused_kernel_matches_reference_across_gemm_paths(batch):
    # batch 1..4 takes the GEMM's unpacked few-rows path, larger batches the prepacked weight; the larger
    # steps run on a team of threads (LSTM at every batch size here)
    rng = np.random.default_rng(7)
    for mode in MODES:
        args, grads = _layer_case(rng, mode, np.float32, T=4, B=batch, I=40, H=100)
        ref = pyseq._core._testing.rnn_reference(mode, *args.values(), None, False, *grads.values())
        out, h_n, _ = pyseq._core.rnn_layer(mode, *args.values())
        np.testing.assert_allclose(_np(out), ref[0].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(h_n), ref[1].numpy(), rtol=1e-4, atol=1e-5)


LEVEL_SCRIPT = """
import json, sys
import numpy as np
import pyseq
pyseq.set_num_threads(int(sys.argv[1]))
rng = np.random.default_rng(8)
worst = 0.0
for mode, G, P in [("RNN_TANH", 1, 0), ("RNN_RELU", 1, 0), ("LSTM", 4, 0), ("GRU", 3, 0), ("LSTM", 4, 24)]:
    for B in (2, 24):
        T, I, H = 5, 33, 40
        S = P or H  # the state's size (P: the LSTM's projection)
        t = lambda a: pyseq.tensor(a.astype(np.float32))
        x, h0 = t(rng.standard_normal((T, B, I))), t(rng.standard_normal((B, S)))
        c0 = t(rng.standard_normal((B, H))) if mode == "LSTM" else None
        w = [t(rng.standard_normal(s) * 0.3) for s in [(G * H, I), (G * H, S), (G * H,), (G * H,)]]
        w_hr = t(rng.standard_normal((P, H)) * 0.3) if P else None
        lengths = pyseq.tensor(np.arange(B) % T + 1)
        d_out, d_hn = t(rng.standard_normal((T, B, S))), t(rng.standard_normal((B, S)))
        d_cn = t(rng.standard_normal((B, H))) if mode == "LSTM" else None
        ref = pyseq._core._testing.rnn_reference(mode, x, h0, c0, *w, lengths, True, d_out, d_hn, d_cn, w_hr)
        leaves = [a.requires_grad_(True) if a is not None else None for a in [x, h0, c0, *w, w_hr]]
        out, h_n, c_n = pyseq._core.rnn_layer(mode, *leaves[:-1], lengths, True, leaves[-1])
        loss = (out * d_out).sum() + (h_n * d_hn).sum() + ((c_n * d_cn).sum() if c_n is not None else 0)
        loss.backward()
        pairs = [(out, ref[0]), (h_n, ref[1])] + [(a.grad, r) for a, r in zip(leaves, ref[3:]) if a is not None]
        for ours, theirs in pairs:
            a, b = ours.detach().numpy(), theirs.numpy()
            worst = max(worst, float(np.max(np.abs(a - b) / (1e-3 + np.abs(b)))))
print(json.dumps({"level": pyseq.cpu_level(), "worst": worst}))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize("threads", [1, 2])
def test_every_cpu_level_and_thread_count(at_cpu_level, level, threads):
    assert at_cpu_level(level, LEVEL_SCRIPT, str(threads))["worst"] < 1e-3


# --- behaviour ------------------------------------------------------------------------------------

def test_padded_steps_never_touch_the_state():
    # a sequence's results do not depend on what its padding holds or how long the batch is
    pyseq.manual_seed(9)
    gru = nn.GRU(3, 5, bidirectional=True)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    alone_out, alone_h = gru(pyseq.tensor(x[:, None, :]))
    padded = rng.standard_normal((9, 2, 3)).astype(np.float32) * 100
    padded[:4, 1] = x
    packed = rnn_utils.pack_padded_sequence(pyseq.tensor(padded), [9, 4], enforce_sorted=True)
    out, h = gru(packed)
    out, lengths = rnn_utils.pad_packed_sequence(out)
    assert lengths.tolist() == [9, 4]
    np.testing.assert_allclose(_np(out)[:4, 1], _np(alone_out)[:, 0], atol=1e-6)
    assert np.all(_np(out)[4:, 1] == 0)
    np.testing.assert_allclose(_np(h)[:, 1], _np(alone_h)[:, 0], atol=1e-6)  # both directions


def test_dropout_between_layers_only_in_training():
    pyseq.manual_seed(10)
    lstm = nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    x = pyseq.randn(6, 2, 4)
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    np.testing.assert_array_equal(_np(a), _np(b))
    lstm.dropout = 0.0
    np.testing.assert_array_equal(_np(lstm(x)[0]), _np(a))  # eval: as if there were no dropout
    lstm.dropout = 0.5
    lstm.train()
    pyseq.manual_seed(11)
    c = lstm(x)[0]
    pyseq.manual_seed(11)
    d = lstm(x)[0]
    np.testing.assert_array_equal(_np(c), _np(d))  # seeded: reproducible
    assert not np.allclose(_np(c), _np(a))
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(4, 8, dropout=0.2)


def test_truncated_bptt_carries_detached_state():
    pyseq.manual_seed(12)
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = pyseq.randn(2, 10, 3)
    whole, (h_whole, _) = lstm(x)
    first, state = lstm(x[:, :6])
    second, (h_split, _) = lstm(x[:, 6:], tuple(s.detach() for s in state))
    np.testing.assert_allclose(_np(pyseq.cat([first, second], 1)), _np(whole), atol=1e-6)
    np.testing.assert_allclose(_np(h_split), _np(h_whole), atol=1e-6)
    second.sum().backward()
    assert lstm.weight_ih_l0.grad is not None


@pytest.mark.parametrize("make", [
    lambda lib: lib.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True),
    lambda lib: lib.LSTM(10, 20, num_layers=2, proj_size=5, dropout=0.1),
    lambda lib: lib.RNN(3, 4, nonlinearity="relu", bias=False),  # torch's RNN repr leaves the nonlinearity out
    lambda lib: lib.GRU(3, 4, num_layers=2, dropout=0.5),
    lambda lib: lib.RNNCell(3, 4, bias=False, nonlinearity="relu"),  # ... and its RNNCell's has it unquoted
    lambda lib: lib.GRUCell(3, 4),
])
def test_repr_names_the_arguments_as_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


# --- nn.utils.rnn against torch ------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_and_pad_match_torch(batch_first, enforce_sorted):
    lengths = [6, 4, 4, 1] if enforce_sorted else [4, 6, 1, 4]
    x = np.random.default_rng(13).standard_normal((4, 7, 3) if batch_first else (7, 4, 3)).astype(np.float32)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce_sorted)
    pp = rnn_utils.pack_padded_sequence(pyseq.tensor(x), lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(_np(pp.data), tp.data.numpy())
    assert pp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for ours, theirs in [(pp.sorted_indices, tp.sorted_indices), (pp.unsorted_indices, tp.unsorted_indices)]:
        assert (ours is None and theirs is None) or ours.tolist() == theirs.tolist()
    for total_length in (None, 9):
        tpad, tl = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, -1.0, total_length)
        ppad, pl = rnn_utils.pad_packed_sequence(pp, batch_first, -1.0, total_length)
        np.testing.assert_array_equal(_np(ppad), tpad.numpy())
        assert pl.tolist() == tl.tolist()


def test_pad_sequence_and_pack_sequence_match_torch():
    rng = np.random.default_rng(14)
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 5, 1)]
    for batch_first, side in itertools.product([False, True], ["right", "left"]):
        theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 7.0, side)
        ours = rnn_utils.pad_sequence([pyseq.tensor(s) for s in seqs], batch_first, 7.0, side)
        np.testing.assert_array_equal(_np(ours), theirs.numpy())
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    pp = rnn_utils.pack_sequence([pyseq.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(_np(pp.data), tp.data.numpy())
    # mixed dtypes: the widest, as torch promotes
    mixed = [seqs[0].astype(np.float64), seqs[1], np.ones((2, 2), dtype=np.int64)]
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in mixed])
    ours = rnn_utils.pad_sequence([pyseq.tensor(s) for s in mixed])
    assert ours.dtype == pyseq.float64 and theirs.dtype == torch.float64
    np.testing.assert_array_equal(_np(ours), theirs.numpy())
    # total_length as a 0-d tensor, as torch takes it
    padded, _ = rnn_utils.pad_packed_sequence(pp, total_length=pyseq.tensor(7))
    assert padded.shape == tuple(torch.nn.utils.rnn.pad_packed_sequence(tp, total_length=torch.tensor(7))[0].shape)


def test_packed_sequence_converts_its_data_as_torch():
    x = np.random.default_rng(15).standard_normal((4, 3, 2)).astype(np.float32)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [2, 4, 3], enforce_sorted=False)
    pp = rnn_utils.pack_padded_sequence(pyseq.tensor(x), [2, 4, 3], enforce_sorted=False)
    for convert in (lambda s, lib: s.double(), lambda s, lib: s.to(lib.float64),
                    lambda s, lib: s.to("cpu", lib.float64), lambda s, lib: s.to(dtype=lib.float64).float(),
                    lambda s, lib: s.to(lib.zeros(1, dtype=lib.float64))):  # (a tensor: its dtype)
        ours, theirs = convert(pp, pyseq), convert(tp, torch)
        assert isinstance(ours, rnn_utils.PackedSequence) and _np(ours.data).dtype == theirs.data.numpy().dtype
        np.testing.assert_array_equal(_np(ours.data), theirs.data.numpy())
        assert ours.batch_sizes is pp.batch_sizes and ours.sorted_indices is pp.sorted_indices
        assert ours.unsorted_indices is pp.unsorted_indices
    for convert in (lambda s: s.cpu(), lambda s: s.float(), lambda s: s.to("cpu")):  # nothing to do: the same object
        assert convert(pp) is pp and convert(tp) is tp
    assert pp.is_cuda is tp.is_cuda is False and pp.is_pinned() is tp.is_pinned() is False
    with pytest.raises(ValueError, match="only the 'cpu' device"):
        pp.to("cuda")


def test_packing_passes_gradients():
    x = pyseq.randn(5, 3, 2).requires_grad_(True)
    packed = rnn_utils.pack_padded_sequence(x, [2, 5, 3], enforce_sorted=False)
    (packed.data * 2).sum().backward()
    expected = (np.arange(5)[:, None] < np.array([2, 5, 3])[None, :]) * 2.0
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(expected[:, :, None], 2, axis=2))


# --- bad input ----------------------------------------------------------------------------------

def test_bad_input_raises_clear_errors():
    lstm = nn.LSTM(4, 3, num_layers=2)
    x = pyseq.randn(5, 2, 4)
    with pytest.raises(ValueError, match="2 dims .* or 3 dims .* got 4 dims"):
        lstm(pyseq.randn(5, 2, 4, 1))
    with pytest.raises(ValueError, match="4 features .* got 6"):
        lstm(pyseq.randn(5, 2, 6))
    with pytest.raises(TypeError, match="floating input .*int64"):
        lstm(pyseq.tensor(np.ones((5, 2, 4), np.int64)))
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 3\), got \(1, 2, 3\)"):
        lstm(x, (pyseq.zeros(1, 2, 3), pyseq.zeros(2, 2, 3)))
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 2, 3\), got \(2, 2, 4\)"):
        lstm(x, (pyseq.zeros(2, 2, 3), pyseq.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(x, pyseq.zeros(2, 2, 3))
    with pytest.raises(TypeError, match="h_0 of the input's dtype"):
        nn.GRU(4, 3)(x, pyseq.zeros(1, 2, 3, dtype=pyseq.float64))
    with pytest.raises(TypeError, match="parameters are pyseq.float32"):
        nn.GRU(4, 3)(x.double())
    with pytest.raises(ValueError, match="hidden_size must be at least 1, got 0"):
        nn.LSTM(4, 0)
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        nn.GRU(4, 2.5)
    with pytest.raises(ValueError, match="num_layers must be at least 1"):
        nn.RNN(4, 3, num_layers=0)
    with pytest.raises(ValueError, match="nonlinearity 'sigmoid'"):
        nn.RNN(4, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout must be a number in"):
        nn.LSTM(4, 3, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="at least one step"):
        lstm(pyseq.randn(0, 2, 4))
    with pytest.raises(ValueError, match="expected input with 4 features"):
        nn.LSTMCell(4, 3)(pyseq.randn(2, 5))
    with pytest.raises(ValueError, match=r"h of shape \(2, 3\), got \(3,\)"):
        nn.GRUCell(4, 3)(pyseq.randn(2, 4), pyseq.randn(3))


def test_bad_projection_raises_clear_errors():
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size, got proj_size=3"):
        nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(ValueError, match="proj_size must be at least 0, got -1"):
        nn.LSTM(4, 3, proj_size=-1)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(4, 3, proj_size=2)  # accepted as an argument, refused as torch does
    with pytest.raises(ValueError, match="input_size must be at least 1, got 0"):
        nn.LSTM(0, 3)  # torch's layers refuse it too (its cells take it)
    lstm = nn.LSTM(4, 3, num_layers=2, proj_size=2)
    x = pyseq.randn(5, 2, 4)
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 2\), got \(2, 2, 3\)"):
        lstm(x, (pyseq.zeros(2, 2, 3), pyseq.zeros(2, 2, 3)))
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 2, 3\), got \(2, 2, 2\)"):
        lstm(x, (pyseq.zeros(2, 2, 2), pyseq.zeros(2, 2, 2)))
    w = [pyseq.randn(12, 4), pyseq.randn(12, 2), None, None]
    with pytest.raises(ValueError, match=r"weight_hh of shape \(4 \* hidden_size, proj_size\) = \(12, 2\)"):
        pyseq._core.rnn_layer("LSTM", x, None, None, w[0], pyseq.randn(12, 3), None, None, None, False,
                              pyseq.randn(2, 3))
    with pytest.raises(ValueError, match="only LSTM takes a projection"):
        pyseq._core.rnn_layer("GRU", x, None, None, pyseq.randn(9, 4), pyseq.randn(9, 2), None, None, None, False,
                              pyseq.randn(2, 3))
    out, h_n, c_n = pyseq._core.rnn_layer("LSTM", x, None, None, *w, None, False, pyseq.randn(2, 3))
    assert out.shape == (5, 2, 2) and h_n.shape == (2, 2) and c_n.shape == (2, 3)


def test_bad_lengths_raise_clear_errors():
    x = pyseq.randn(5, 3, 2)
    with pytest.raises(ValueError, match=r"every length must be in \[1, 5\].*\[3, 0, 2\]"):
        rnn_utils.pack_padded_sequence(x, [3, 0, 2], enforce_sorted=False)
    with pytest.raises(ValueError, match=r"in \[1, 5\].*\[6, 2, 1\]"):
        rnn_utils.pack_padded_sequence(x, [6, 2, 1])
    with pytest.raises(ValueError, match="expected 3 lengths .* got 2"):
        rnn_utils.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="decreasing order .* enforce_sorted=False"):
        rnn_utils.pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(TypeError, match="lengths must be"):
        rnn_utils.pack_padded_sequence(x, [2.5, 2, 1])
    with pytest.raises(ValueError, match="total_length .* at least"):
        rnn_utils.pad_packed_sequence(rnn_utils.pack_padded_sequence(x, [3, 2, 1]), total_length=2)
    with pytest.raises(TypeError, match="total_length must be an int, got 7.0"):
        rnn_utils.pad_packed_sequence(rnn_utils.pack_padded_sequence(x, [3, 2, 1]), total_length=7.0)
    # the op's own checks, for C++ callers and anyone calling it directly
    w_ih, w_hh = pyseq.randn(9, 2), pyseq.randn(9, 3)  # GRU, hidden size 3
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\].*got 0 for sequence 1"):
        pyseq._core.rnn_layer("GRU", x, None, None, w_ih, w_hh, None, None, pyseq.tensor([5, 0, 1]))
    with pytest.raises(ValueError, match="lengths of dtype int64 and shape"):
        pyseq._core.rnn_layer("GRU", x, None, None, w_ih, w_hh, None, None, pyseq.tensor([5, 1]))
    with pytest.raises(ValueError, match=r"weight_hh of shape \(4 \* hidden_size, hidden_size\), got \[9, 3\]"):
        pyseq._core.rnn_layer("LSTM", x, None, None, w_ih, w_hh, None, None)
    with pytest.raises(ValueError, match="only LSTM has a cell state"):
        pyseq._core.rnn_layer("GRU", x, None, pyseq.zeros(3, 3), w_ih, w_hh, None, None)
    with pytest.raises(ValueError, match="mode must be"):
        pyseq._core.rnn_layer("lstm", x, None, None, w_ih, w_hh, None, None)


# --- unpad_sequence, unpack_sequence, invert_permutation against torch ---------------------------

@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_matches_torch(batch_first):
    rng = np.random.default_rng(16)
    seqs = [rng.standard_normal((n, 2, 3)).astype(np.float32) for n in (3, 6, 1, 0, 6)]
    padded = rnn_utils.pad_sequence([pyseq.tensor(s) for s in seqs], batch_first, -1.0)
    lengths = [len(s) for s in seqs]
    before = _np(padded).copy()
    ours = rnn_utils.unpad_sequence(padded, pyseq.tensor(lengths), batch_first)
    theirs = torch.nn.utils.rnn.unpad_sequence(torch.tensor(before), torch.tensor(lengths), batch_first)
    assert len(ours) == len(theirs) == len(seqs)
    for o, t, s in zip(ours, theirs, seqs):
        assert tuple(o.shape) == tuple(t.shape) == s.shape
        np.testing.assert_array_equal(_np(o), t.numpy())
        np.testing.assert_array_equal(_np(o), s)
    assert tuple(padded.shape) == before.shape  # unlike torch's, the input is not transposed in place
    np.testing.assert_array_equal(rnn_utils.unpad_sequence(padded, lengths, batch_first)[1].numpy(), seqs[1])


@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_unpack_sequence_matches_torch(enforce_sorted):
    rng = np.random.default_rng(17)
    lengths = (5, 4, 4, 2, 1) if enforce_sorted else (2, 5, 1, 4, 3)
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    ours = rnn_utils.unpack_sequence(rnn_utils.pack_sequence([pyseq.tensor(s) for s in seqs], enforce_sorted))
    theirs = torch.nn.utils.rnn.unpack_sequence(
        torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted))
    for o, t, s in zip(ours, theirs, seqs):
        np.testing.assert_array_equal(_np(o), t.numpy())
        np.testing.assert_array_equal(_np(o), s)


def test_unpack_and_unpad_pass_gradients():
    x = pyseq.randn(4, 3, 2).requires_grad_(True)
    parts = rnn_utils.unpack_sequence(rnn_utils.pack_padded_sequence(x, [4, 1, 3], enforce_sorted=False))
    sum((p * (i + 1)).sum() for i, p in enumerate(parts)).backward()
    expected = (np.arange(4)[:, None] < np.array([4, 1, 3])[None, :]) * np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(expected[:, :, None], 2, axis=2))


def test_invert_permutation_matches_torch():
    perm = np.random.default_rng(18).permutation(9)
    ours = rnn_utils.invert_permutation(pyseq.tensor(perm))
    theirs = torch.nn.utils.rnn.invert_permutation(torch.tensor(perm))
    assert ours.dtype == pyseq.int64 and ours.tolist() == theirs.tolist()
    assert ours.numpy()[perm].tolist() == list(range(9))
    assert rnn_utils.invert_permutation(None) is None
    packed = rnn_utils.pack_sequence([pyseq.ones(n) for n in (2, 5, 3)], enforce_sorted=False)
    assert rnn_utils.invert_permutation(packed.sorted_indices).tolist() == packed.unsorted_indices.tolist()


def test_a_malformed_packed_sequence_is_refused():
    # torch raises on a sorted_indices that is not a permutation; batch_sizes must also add up
    bad = [rnn_utils.PackedSequence(pyseq.ones(5, 2), pyseq.tensor(np.array([3, 2])), pyseq.tensor(np.array([0, 0, 1]))),
           rnn_utils.PackedSequence(pyseq.ones(4, 2), pyseq.tensor(np.array([1, 3]))),
           rnn_utils.PackedSequence(pyseq.ones(6, 2), pyseq.tensor(np.array([3, 2])))]
    for packed, message in zip(bad, ["permutation of the 3 sequences", "non-increasing", "sum to 5 steps, but data "
                                                                                         "holds 6 rows"]):
        with pytest.raises(ValueError, match=message):
            rnn_utils.pad_packed_sequence(packed)
        with pytest.raises(ValueError, match=message):
            nn.LSTM(2, 3)(packed)


def test_unpad_and_invert_errors():
    x = pyseq.randn(5, 3, 2)
    with pytest.raises(ValueError, match=r"every length must be in \[0, 5\].*\[6, 2, 1\]"):
        rnn_utils.unpad_sequence(x, [6, 2, 1])
    with pytest.raises(ValueError, match="expected 3 lengths .* got 2"):
        rnn_utils.unpad_sequence(x, pyseq.tensor([3, 2]))
    with pytest.raises(ValueError, match=r"\(T, B, \*\)"):
        rnn_utils.unpad_sequence(pyseq.randn(5), [5])
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        rnn_utils.unpack_sequence(x)
    with pytest.raises(TypeError, match="1-d int64 tensor or None, got pyseq.float32"):
        rnn_utils.invert_permutation(pyseq.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="got list"):
        rnn_utils.invert_permutation([1, 0])
