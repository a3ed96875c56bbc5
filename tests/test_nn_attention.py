"""pyseq.nn's attention modules (nn/attention.py, nn/transformer.py) against torch.nn: a torch
state_dict loaded, then outputs, returned weights and every gradient compared; positional
encodings; the heatmap helper; bad input."""

import math

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.nn import functional as F

torch = pytest.importorskip("torch")
# torch's own advice about its fast paths (nested tensors, mask types), not about pyseq
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")]


def _load(ours, theirs):
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert set(dict(ours.named_parameters())) == set(dict(theirs.named_parameters()))


def _compare(ours, theirs, arrays, kw_ours=None, kw_theirs=None, pick=lambda out: out, rng=None):
    """Same inputs (float64) through both; outputs, input gradients and parameter gradients agree."""
    ours.eval()
    theirs.eval()
    P = [pyseq.tensor(a, requires_grad=True) for a in arrays]
    T = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_p, out_t = ours(*P, **(kw_ours or {})), theirs(*T, **(kw_theirs or {}))
    o_p, o_t = pick(out_p), pick(out_t)
    g = (rng or np.random.default_rng(0)).standard_normal(tuple(o_t.shape))
    o_p.backward(pyseq.tensor(g))
    o_t.backward(torch.tensor(g))
    np.testing.assert_allclose(o_p.detach().numpy(), o_t.detach().numpy(), rtol=1e-9, atol=1e-11)
    for a, b in zip(P, T):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    return out_p, out_t


MHA_CASES = [  # batch_first, kdim, bias, masks, need_weights, average
    (False, None, True, None, True, True), (True, None, True, None, True, True), (True, 6, True, None, True, True),
    (False, None, False, "bool", True, True), (True, None, True, "float", True, True),
    (True, None, True, "bool", False, True), (False, None, True, "bool", True, False),
]


@pytest.mark.parametrize("batch_first,kdim,bias,masks,need_weights,average", MHA_CASES)
def test_multihead_attention_matches_torch(batch_first, kdim, bias, masks, need_weights, average):
    rng = np.random.default_rng(7)
    E, H, L, S, N = 16, 4, 5, 7, 3
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=kdim, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=kdim, batch_first=batch_first).double()
    _load(ours, theirs)
    kd = kdim or E
    shape = (lambda T, d: (N, T, d)) if batch_first else (lambda T, d: (T, N, d))
    arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kd)), rng.standard_normal(shape(S, kd))]
    kw_p, kw_t = dict(need_weights=need_weights, average_attn_weights=average), dict(need_weights=need_weights,
                                                                                  average_attn_weights=average)
    if masks:
        am = rng.random((L, S)) < 0.3 if masks == "bool" else rng.standard_normal((N * H, L, S))
        kpm = rng.random((N, S)) < 0.3
        kpm[:, 0] = False  # no query loses every key (PyTorch gives NaN there, pyseq zeros)
        if masks == "bool":
            am[:, 0] = False
        kw_p.update(attn_mask=pyseq.tensor(am), key_padding_mask=pyseq.tensor(kpm))
        kw_t.update(attn_mask=torch.tensor(am), key_padding_mask=torch.tensor(kpm))
    (_, w_p), (_, w_t) = _compare(ours, theirs, arrays, kw_p, kw_t, pick=lambda out: out[0], rng=rng)
    if need_weights:
        np.testing.assert_allclose(w_p.detach().numpy(), w_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    else:
        assert w_p is None


def test_multihead_attention_unbatched_and_causal():
    rng = np.random.default_rng(8)
    theirs, ours = torch.nn.MultiheadAttention(8, 2).double(), nn.MultiheadAttention(8, 2).double()
    _load(ours, theirs)
    x = rng.standard_normal((6, 8))
    causal = np.triu(np.ones((6, 6), dtype=bool), 1)
    _compare(ours, theirs, [x, x, x], dict(attn_mask=pyseq.tensor(causal)), dict(attn_mask=torch.tensor(causal)),
             pick=lambda out: out[0], rng=rng)
    out_mask = ours(*(pyseq.tensor(x),) * 3, attn_mask=pyseq.tensor(causal))[0]
    out_causal = ours(*(pyseq.tensor(x),) * 3, is_causal=True, need_weights=False)[0]
    np.testing.assert_allclose(out_mask.detach().numpy(), out_causal.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("make,call", [
    (lambda lib: lib.MultiheadAttention(8, 2), lambda m, x, mask: m(x, x, x, attn_mask=mask)[0]),
    (lambda lib: lib.MultiheadAttention(8, 2), lambda m, x, mask: m(x, x, x, attn_mask=mask, need_weights=False)[0]),
    (lambda lib: lib.TransformerEncoderLayer(8, 2, 16, dropout=0.0), lambda m, x, mask: m(x, src_mask=mask)),
    (lambda lib: lib.TransformerDecoderLayer(8, 2, 16, dropout=0.0),
     lambda m, x, mask: m(x, x, tgt_mask=mask, memory_mask=mask)),
], ids=["mha-weights", "mha-fused", "encoder-layer", "decoder-layer"])
def test_a_learned_float_attn_mask_gets_its_gradient_as_torch(make, call):
    # a bias added to the scores that is itself trained (relative positions, ALiBi), on both MHA paths
    rng = np.random.default_rng(12)
    theirs, ours = make(torch.nn).double(), make(nn).double()
    _load(ours, theirs)
    x, bias = rng.standard_normal((5, 3, 8)), rng.standard_normal((5, 5))
    b_p, b_t = pyseq.tensor(bias, requires_grad=True), torch.tensor(bias, requires_grad=True)
    out_p, out_t = call(ours, pyseq.tensor(x), b_p), call(theirs, torch.tensor(x), b_t)
    np.testing.assert_allclose(out_p.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-11)
    out_p.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(b_p.grad.numpy(), b_t.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_multihead_attention_returns_the_weights_after_dropout_in_training():
    # as torch: the returned weights are the dropped ones the output was made of (kept ones scaled by 1 / (1 - p))
    rng = np.random.default_rng(13)
    x = rng.standard_normal((5, 3, 8)).astype(np.float32)
    for lib, module in ((pyseq, nn.MultiheadAttention(8, 2, dropout=0.5)),
                        (torch, torch.nn.MultiheadAttention(8, 2, dropout=0.5))):
        X = lib.tensor(x)
        module.eval()
        exact = module(X, X, X, average_attn_weights=False)[1].detach().numpy()
        module.train()
        dropped = module(X, X, X, average_attn_weights=False)[1].detach().numpy()
        kept = dropped != 0
        assert 0.3 < kept.mean() < 0.7, lib.__name__
        np.testing.assert_allclose(dropped[kept], 2 * exact[kept], rtol=1e-6, err_msg=lib.__name__)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_multihead_self_attention_of_one_tensor(batch_first, unbatched):
    """query, key and value the same tensor (pyseq projects them in one product); an unbatched
    (L, E) input ignores batch_first, as in PyTorch."""
    rng = np.random.default_rng(9)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    _load(ours, theirs)
    x = rng.standard_normal((6, 8) if unbatched else (3, 6, 8) if batch_first else (6, 3, 8))
    x_p, x_t = pyseq.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (out_p, w_p), (out_t, w_t) = ours(x_p, x_p, x_p), theirs(x_t, x_t, x_t)
    g = rng.standard_normal(tuple(out_t.shape))
    out_p.backward(pyseq.tensor(g))
    out_t.backward(torch.tensor(g))
    for a, b in ((out_p, out_t), (w_p, w_t), (x_p.grad, x_t.grad)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-11)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_matches_torch(norm_first, activation):
    rng = np.random.default_rng(9)
    kw = dict(dim_feedforward=32, activation=activation, norm_first=norm_first, batch_first=True)
    theirs, ours = torch.nn.TransformerEncoderLayer(16, 4, **kw).double(), nn.TransformerEncoderLayer(16, 4, **kw).double()
    _load(ours, theirs)
    kpm = rng.random((3, 6)) < 0.3
    kpm[:, 0] = False
    _compare(ours, theirs, [rng.standard_normal((3, 6, 16))], dict(src_key_padding_mask=pyseq.tensor(kpm)),
             dict(src_key_padding_mask=torch.tensor(kpm)), rng=rng)


def test_transformer_encoder_decoder_and_full_model_match_torch():
    rng = np.random.default_rng(10)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(5).double()
    mask_p = nn.Transformer.generate_square_subsequent_mask(5, dtype=pyseq.float64)
    np.testing.assert_array_equal(mask_p.numpy(), mask_t.numpy())
    theirs = torch.nn.TransformerDecoderLayer(16, 4, 32, norm_first=True).double()
    ours = nn.TransformerDecoderLayer(16, 4, 32, norm_first=True).double()
    _load(ours, theirs)
    _compare(ours, theirs, [rng.standard_normal((5, 2, 16)), rng.standard_normal((7, 2, 16))], dict(tgt_mask=mask_p),
             dict(tgt_mask=mask_t), rng=rng)
    enc_t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(16, 4, 32), 2, enable_nested_tensor=False)
    enc_p = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32), 2)
    _load(enc_p.double(), enc_t.double())
    _compare(enc_p, enc_t, [rng.standard_normal((7, 2, 16))], rng=rng)
    theirs, ours = torch.nn.Transformer(16, 4, 2, 2, 32).double(), nn.Transformer(16, 4, 2, 2, 32).double()
    _load(ours, theirs)
    _compare(ours, theirs, [rng.standard_normal((7, 2, 16)), rng.standard_normal((5, 2, 16))], dict(tgt_mask=mask_p),
             dict(tgt_mask=mask_t), rng=rng)


def test_transformer_initialises_every_matrix_by_xavier_uniform_as_torch():
    # torch.nn.Transformer's _reset_parameters: xavier_uniform_ on every parameter of dim > 1 (a layer
    # built alone keeps Linear's default, bound 1 / sqrt(fan_in), in both)
    theirs, ours = torch.nn.Transformer(32, 4, 1, 1, 64), nn.Transformer(32, 4, 1, 1, 64)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if p.dim() > 1:
            bound = math.sqrt(6 / sum(p.shape))
            for w in (p.detach().numpy(), theirs_params[name].detach().numpy()):
                assert 0.97 * bound < np.abs(w).max() <= bound, name
    layer = nn.TransformerEncoderLayer(32, 4, 64)
    assert np.abs(layer.linear2.weight.detach().numpy()).max() <= 1 / math.sqrt(64)
    # a custom encoder or decoder is used even when it is falsy (an empty Sequential: the identity)
    for lib in (nn, torch.nn):
        identity = lib.Sequential()
        assert lib.Transformer(32, 4, 1, 1, 64, custom_encoder=identity).encoder is identity


@pytest.mark.parametrize("make", [
    lambda lib: lib.MultiheadAttention(8, 2, kdim=4, vdim=6, bias=False),
    lambda lib: lib.TransformerEncoderLayer(16, 4, 32, activation=lib.GELU()),
    lambda lib: lib.TransformerDecoderLayer(16, 4, 32, activation=lib.ReLU()),
    lambda lib: lib.Transformer(16, 4, 1, 1, 32),
])
def test_reprs_and_module_order_match_torch(make):
    theirs, ours = make(torch.nn), make(nn)
    assert repr(ours) == repr(theirs)
    assert [name for name, _ in ours.named_modules()] == [name for name, _ in theirs.named_modules()]


@pytest.mark.parametrize("norm_first, batch_first", [(False, True), (True, False)])
def test_decoder_layer_one_position_at_a_time_with_prefix(norm_first, batch_first):
    """Running positions one by one, each reading the earlier inputs as `prefix`, gives the outputs
    of the causal forward over the whole target (float64, both norm placements and layouts)."""
    rng = np.random.default_rng(11)
    layer = nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first, batch_first=batch_first).double()
    tgt, memory = rng.standard_normal((2, 5, 16)), rng.standard_normal((2, 7, 16))
    if not batch_first:
        tgt, memory = tgt.transpose(1, 0, 2), memory.transpose(1, 0, 2)
    tgt, memory = pyseq.tensor(tgt), pyseq.tensor(memory)
    time_dim = 1 if batch_first else 0
    whole = layer(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(5, dtype=pyseq.float64))
    for t in range(5):
        new = tgt.narrow(time_dim, t, 1)
        out = layer(new, memory, prefix=tgt.narrow(time_dim, 0, t))
        np.testing.assert_allclose(out.detach().numpy(), whole.narrow(time_dim, t, 1).detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="tgt_mask"):
        layer(tgt, memory, tgt_is_causal=True, prefix=tgt)


def test_multihead_attention_names_a_float_mask_of_another_dtype():
    mha = nn.MultiheadAttention(8, 2)
    x = pyseq.randn(3, 2, 8)
    with pytest.raises(TypeError, match="float attn_mask is added to the scores and must have the query's dtype"):
        mha(x, x, x, attn_mask=pyseq.zeros(3, 3, dtype=pyseq.float64))


def test_a_layer_takes_any_callable_activation_hashable_or_not():
    import dataclasses

    @dataclasses.dataclass
    class Relu:  # (a dataclass with __eq__ has no __hash__)
        def __call__(self, x):
            return F.relu(x)

    pyseq.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=Relu())
    x = pyseq.randn(3, 2, 8)
    expected = layer(x).detach().numpy()
    layer.activation = F.relu  # the fused path gives the same
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, atol=1e-6)


def test_sinusoidal_encoding_is_the_papers():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=10)
    x = pyseq.zeros(2, 4, 6)
    out = pe(x).numpy()
    pos, i = 3, 2  # dims 2i and 2i + 1 of position 3
    angle = pos / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(out[1, pos, [2 * i, 2 * i + 1]], [math.sin(angle), math.cos(angle)], rtol=1e-6)
    assert "pe" not in pe.state_dict()
    np.testing.assert_array_equal(pe(x[:, :2], offset=2).numpy(), out[:, 2:4])
    with pytest.raises(ValueError, match="max_len"):
        pe(pyseq.zeros(11, 6))
    with pytest.raises(ValueError, match="max_len"):
        pe(x, offset=7)


def test_learned_positional_embedding_adds_rows_from_an_offset():
    emb = nn.LearnedPositionalEmbedding(8, 3)
    x = pyseq.zeros(2, 3)
    np.testing.assert_array_equal(emb(x, offset=4).detach().numpy(), emb.weight[4:6].detach().numpy())
    with pytest.raises(ValueError, match="max_len"):
        emb(x, offset=7)


def test_rotary_rotates_pairs_and_depends_only_on_relative_position():
    rng = np.random.default_rng(11)
    rope = nn.RotaryEmbedding(8, max_len=64)
    q, k = pyseq.tensor(rng.standard_normal((1, 8)).astype(np.float32)), pyseq.tensor(rng.standard_normal((1, 8)).astype(np.float32))
    # rotation keeps norms; q_m . k_n depends on m - n only
    rq, rk = rope(q, k, offset=5)
    np.testing.assert_allclose(np.linalg.norm(rq.numpy()), np.linalg.norm(q.numpy()), rtol=1e-5)
    dots = []
    for m, n in [(5, 2), (20, 17), (40, 37)]:
        qm, _ = rope(q, q, offset=m)
        kn, _ = rope(k, k, offset=n)
        dots.append(float((qm * kn).sum()))
    np.testing.assert_allclose(dots, dots[0], rtol=1e-4)
    # the explicit formula at position 1: pairs (i, i + 4) rotated by angle 10000^(-2i/8)
    r1, _ = rope(q, q, offset=1)
    x = q.numpy()[0]
    theta = 10000.0 ** (-np.arange(4) * 2 / 8)
    expected = np.concatenate([x[:4] * np.cos(theta) - x[4:] * np.sin(theta), x[4:] * np.cos(theta) + x[:4] * np.sin(theta)])
    np.testing.assert_allclose(r1.numpy()[0], expected, rtol=1e-5, atol=1e-6)


def test_attention_heatmap_png(tmp_path):
    pytest.importorskip("matplotlib")
    q = pyseq.randn(4, 8)
    _, w = nn.functional.attention_with_weights(q, q, q, is_causal=True)
    path = nn.save_attention_heatmap(w, tmp_path / "attn.png", list("abcd"), list("abcd"), title="causal")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="3 x_labels"):
        nn.save_attention_heatmap(w, tmp_path / "bad.png", x_labels=list("abc"))


@pytest.mark.parametrize("masks,name", [
    (dict(attn_mask=np.zeros((5, 5), np.float32), key_padding_mask=np.zeros((3, 5), np.int64)), "key_padding_mask"),
    (dict(attn_mask=np.zeros((5, 5), np.int64), key_padding_mask=np.zeros((3, 5), np.float32)), "attn_mask"),
    (dict(key_padding_mask=np.ones((3, 5), np.int64)), "key_padding_mask"),
])
def test_multihead_attention_refuses_integer_masks_as_torch(masks, name):
    # an int 0/1 mask is neither "may not attend" (bool) nor a score to add (float): refused, naming it
    x = np.random.default_rng(15).standard_normal((5, 3, 8)).astype(np.float32)
    with pytest.raises(AssertionError, match=f"only bool and floating types of {name}"):
        torch.nn.MultiheadAttention(8, 2)(*(torch.tensor(x),) * 3, **{k: torch.tensor(m) for k, m in masks.items()})
    with pytest.raises(TypeError, match=f"only bool and floating types of {name} are supported, got pyseq.int64"):
        nn.MultiheadAttention(8, 2)(*(pyseq.tensor(x),) * 3, **{k: pyseq.tensor(m) for k, m in masks.items()})


@pytest.mark.parametrize("key_rows,value_rows", [((6, 2), (4, 3)), ((7, 3), (6, 3))])
@pytest.mark.parametrize("kdim", [None, 6])
def test_multihead_attention_checks_value_against_key_as_torch(key_rows, value_rows, kdim):
    # (4, 3) has (6, 2)'s element count: without the check value would be silently read in key's layout
    rng = np.random.default_rng(16)
    width = kdim or 8
    q, k, v = (rng.standard_normal(s).astype(np.float32)
               for s in ((5, key_rows[1], 8), key_rows + (width,), value_rows + (width,)))
    with pytest.raises(AssertionError, match="do(es)? not match value"):
        torch.nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim)(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    with pytest.raises(ValueError, match=rf"key shape \({key_rows[0]}, {key_rows[1]}, {width}\) does not match value"):
        nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim)(pyseq.tensor(q), pyseq.tensor(k), pyseq.tensor(v))


@pytest.mark.parametrize("make,match", [
    (lambda: nn.MultiheadAttention(10, 3), "multiple of num_heads"),
    (lambda: nn.MultiheadAttention(8, 2)(pyseq.randn(3, 2, 8), pyseq.randn(4, 2, 8), pyseq.randn(4, 2, 8),
                                         key_padding_mask=pyseq.zeros(2, 3, dtype=pyseq.bool)), "key_padding_mask"),
    (lambda: nn.MultiheadAttention(8, 2)(pyseq.randn(3, 2, 8), pyseq.randn(4, 2, 8), pyseq.randn(4, 2, 8),
                                         attn_mask=pyseq.zeros(3, 5, dtype=pyseq.bool)),
     r"2-D attn_mask is \(3, 5\), but should be \(3, 4\)"),
    (lambda: nn.MultiheadAttention(8, 2)(pyseq.randn(3, 2, 8), pyseq.randn(4, 2, 8), pyseq.randn(4, 2, 8),
                                         attn_mask=pyseq.zeros(2, 3, 4)),  # (N, L, S), not (N * H, L, S)
     r"3-D attn_mask is \(2, 3, 4\), but should be \(4, 3, 4\)"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(pyseq.randn(5, 2, 8), pyseq.randn(4, 3, 8)),
     "batch number of src and tgt must be equal"),
    (lambda: nn.RotaryEmbedding(7), "even"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="swish"), "activation"),
    (lambda: nn.RotaryEmbedding(4, max_len=8)(pyseq.randn(2, 4), pyseq.randn(2, 4), offset=-4),
     "offset must be an int >= 0"),
    (lambda: nn.RotaryEmbedding(4, max_len=8)(pyseq.randn(2, 4), pyseq.randn(2, 4), offset=7),
     r"positions 7\.\.8 are beyond"),
    (lambda: nn.SinusoidalPositionalEncoding(4, max_len=10)(pyseq.zeros(3, 1)),
     r"expected x of shape \(\.\.\., T, 4\)"),
    (lambda: nn.SinusoidalPositionalEncoding(4)(pyseq.zeros(3, 4, dtype=pyseq.int64)), "holding floats"),
    (lambda: nn.SinusoidalPositionalEncoding(4)(pyseq.zeros(4)), r"shape \(\.\.\., T, 4\)"),
    (lambda: nn.SinusoidalPositionalEncoding(0), "d_model must be a positive int, got 0"),
    (lambda: nn.LearnedPositionalEmbedding(8, 3)(pyseq.zeros(2, 1)), r"expected x of shape \(\.\.\., T, 3\)"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("add_bias_kv, add_zero_attn, batch_first, masks, need_weights", [
    (True, False, False, False, True), (False, True, True, True, True), (True, True, True, True, False),
    (True, True, False, False, True)])
def test_multihead_attention_extra_keys_match_torch(add_bias_kv, add_zero_attn, batch_first, masks, need_weights):
    """add_bias_kv (learned key and value appended) and add_zero_attn (zeros appended), with padding
    and float masks widened by a column, as torch: outputs, weights and gradients (bias_k's too)."""
    rng = np.random.default_rng(0)
    theirs = torch.nn.MultiheadAttention(8, 2, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn,
                                         batch_first=batch_first)
    ours = nn.MultiheadAttention(8, 2, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, batch_first=batch_first)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x, y = rng.standard_normal((3, 4, 8)).astype(np.float32), rng.standard_normal((3, 5, 8)).astype(np.float32)
    if not batch_first:
        x, y = x.transpose(1, 0, 2).copy(), y.transpose(1, 0, 2).copy()
    padding = rng.random((3, 5)) < 0.3 if masks else None
    bias = rng.standard_normal((4, 5)).astype(np.float32) if masks else None
    results = []
    for lib in (torch, pyseq):
        xs, ys = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        module = theirs if lib is torch else ours
        out, weights = module(xs, ys, ys, need_weights=need_weights,
                              key_padding_mask=None if padding is None else lib.tensor(padding),
                              attn_mask=None if bias is None else lib.tensor(bias))
        out.sum().backward()
        results.append([out, weights, ys.grad] + ([module.bias_k.grad] if add_bias_kv else []))
    for theirs_t, ours_t in zip(*results):
        if theirs_t is None:
            assert ours_t is None
        else:
            np.testing.assert_allclose(ours_t.detach().numpy(), theirs_t.detach().numpy(), atol=1e-5)


def test_grouped_query_attention_matches_torch():
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((2, 2, 7, 4)), rng.standard_normal((2, 2, 7, 3))
    expected = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), enable_gqa=True,
                                                                is_causal=True)
    got = nn.functional.scaled_dot_product_attention(*map(pyseq.tensor, (q, k, v)), enable_gqa=True, is_causal=True)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="multiple"):
        nn.functional.scaled_dot_product_attention(*map(pyseq.tensor, (q, k[:, :1].repeat(4, axis=1), v[:, :1].repeat(4, axis=1))), enable_gqa=True)
    v3 = rng.standard_normal((2, 3, 7, 3))  # keys and values of different head counts, as torch allows
    expected = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v3)), enable_gqa=True)
    got = nn.functional.scaled_dot_product_attention(*map(pyseq.tensor, (q, k, v3)), enable_gqa=True)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-10)


def test_argument_errors_and_attributes_torch_code_reads():
    with pytest.raises(TypeError, match="attn_mask must be a pyseq.Tensor, got ndarray"):
        nn.functional.scaled_dot_product_attention(*(pyseq.randn(1, 3, 4) for _ in range(3)),
                                                   attn_mask=np.ones((3, 3), bool))
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match="query holds a batch of 3, key and value a batch of 4"):
        mha(pyseq.randn(5, 3, 8), pyseq.randn(6, 4, 8), pyseq.randn(6, 4, 8))
    for activation in ("relu", "gelu", nn.functional.relu, nn.functional.gelu, nn.functional.silu, nn.GELU()):
        ours = nn.TransformerEncoderLayer(8, 2, activation=activation).activation_relu_or_gelu
        theirs = torch.nn.TransformerEncoderLayer(8, 2, activation=_torch_twin(activation))
        assert ours == theirs.activation_relu_or_gelu
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 2, mask_check=False)
    assert (encoder.enable_nested_tensor, encoder.use_nested_tensor, encoder.mask_check) == (True, False, False)


def _torch_twin(activation):
    """torch's function of the same name for one of pyseq's (strings stay as they are)."""
    if isinstance(activation, nn.Module):
        return getattr(torch.nn, type(activation).__name__)()
    return activation if isinstance(activation, str) else getattr(torch.nn.functional, activation.__name__)
