"""pyseq.nn's attention modules (nn/attention.py, nn/transformer.py) against torch.nn: a torch
state_dict loaded, then outputs, returned weights and every gradient compared; positional
encodings; the heatmap helper; bad input."""

import math

import numpy as np
import pytest

import pyseq
from pyseq import nn

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


@pytest.mark.parametrize("make,match", [
    (lambda: nn.MultiheadAttention(10, 3), "multiple of num_heads"),
    (lambda: nn.MultiheadAttention(8, 2)(pyseq.randn(3, 2, 8), pyseq.randn(4, 2, 8), pyseq.randn(4, 2, 8),
                                         key_padding_mask=pyseq.zeros(2, 3, dtype=pyseq.bool)), "key_padding_mask"),
    (lambda: nn.MultiheadAttention(8, 2)(pyseq.randn(3, 2, 8), pyseq.randn(4, 2, 8), pyseq.randn(4, 2, 8),
                                         attn_mask=pyseq.zeros(3, 5, dtype=pyseq.bool)), "broadcast"),
    (lambda: nn.RotaryEmbedding(7), "even"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="swish"), "activation"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
