"""Sequence to sequence: the attention modules against a float64 numpy reference and finite
differences, the decoders' steps against their teacher-forced forward, greedy and beam search
against each other and against the model's own probabilities, and G2P's behaviour on bad input.
The training test is in test_seq2seq_train.py."""

import math

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.autograd import gradcheck
from pyseq.models import seq2seq as s2s
from pyseq.models.seq2seq import BOS, EOS, PAD

# ------------------------------------------------------------------------------------------------
# attention modules


def _np_softmax(scores, allowed):
    scores = np.where(allowed, scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(-1, keepdims=True)


def _inputs(rng, B=3, Tq=4, Tk=5, Dq=6, Dk=7, Dv=3, lengths=(5, 2, 4)):
    q = rng.standard_normal((B, Tq, Dq))
    k = rng.standard_normal((B, Tk, Dk))
    v = rng.standard_normal((B, Tk, Dv))
    mask = np.arange(Tk)[None, :] < np.array(lengths)[:, None]
    return q, k, v, mask


def _np(t):
    return t.detach().numpy().astype(np.float64)


def _reference(module, q, k, v, mask):
    """float64 numpy: the scores of the module's mode from its own parameters, then softmax."""
    if isinstance(module, nn.AdditiveAttention):
        wq, wk, bk, va = (_np(p) for p in (module.query_proj.weight, module.key_proj.weight, module.key_proj.bias,
                                           module.v.weight))
        hidden = np.tanh((q @ wq.T)[:, :, None, :] + (k @ wk.T + bk)[:, None, :, :])  # (B, Tq, Tk, A)
        scores = hidden @ va[0]
    elif module.mode == "concat":
        w, va = _np(module.weight), _np(module.v)
        Dq = q.shape[-1]
        hidden = np.tanh((q @ w[:, :Dq].T)[:, :, None, :] + (k @ w[:, Dq:].T)[:, None, :, :])
        scores = hidden @ va
    else:
        kk = k @ _np(module.weight).T if module.mode == "general" else k
        scores = np.einsum("bqd,bkd->bqk", q, kk)
        if module.mode == "scaled_dot":
            scores /= math.sqrt(k.shape[-1])
    weights = _np_softmax(scores, mask[:, None, :])
    return weights @ v, weights


def _modules(Dq, Dk):
    return [nn.AdditiveAttention(Dq, Dk, 5), nn.MultiplicativeAttention(Dq, Dk, "general"),
            nn.MultiplicativeAttention(Dq, Dk, "concat", hidden_dim=4), nn.MultiplicativeAttention(Dq, Dq, "dot"),
            nn.MultiplicativeAttention(Dq, Dq, "scaled_dot")]


@pytest.mark.parametrize("index", range(5))
def test_attention_matches_numpy(index):
    pyseq.manual_seed(index)
    rng = np.random.default_rng(index)
    module = _modules(6, 7)[index]
    Dk = module.key_dim
    q, k, v, mask = _inputs(rng, Dk=Dk)
    context, weights = module(pyseq.tensor(q.astype(np.float32)), pyseq.tensor(k.astype(np.float32)),
                              pyseq.tensor(v.astype(np.float32)), pyseq.tensor(mask))
    ref_context, ref_weights = _reference(module, q, k, v, mask)
    assert weights.shape == (3, 4, 5) and context.shape == (3, 4, 3)
    np.testing.assert_allclose(_np(weights), ref_weights, atol=2e-6, rtol=1e-4)
    np.testing.assert_allclose(_np(context), ref_context, atol=2e-6, rtol=1e-4)
    assert np.all(_np(weights)[~np.broadcast_to(mask[:, None, :], (3, 4, 5))] == 0)  # padding gets nothing
    # the keys projected once give the same result
    projected = module.project_keys(pyseq.tensor(k.astype(np.float32)))
    again = module(pyseq.tensor(q.astype(np.float32)), pyseq.tensor(k.astype(np.float32)),
                   pyseq.tensor(v.astype(np.float32)), pyseq.tensor(mask), projected_keys=projected)[1]
    np.testing.assert_array_equal(_np(again), _np(weights))


@pytest.mark.parametrize("index", range(6))
def test_attention_gradcheck(index):
    pyseq.manual_seed(10 + index)
    rng = np.random.default_rng(10 + index)
    if index == 5:
        module = nn.MultiplicativeAttention(4, 4, "general", local_window=2).double()
        q, k, v, mask = _inputs(rng, B=2, Tq=2, Tk=6, Dq=4, Dk=4, Dv=2, lengths=(6, 4))
    else:
        module = _modules(3, 4)[index].double()
        q, k, v, mask = _inputs(rng, B=2, Tq=2, Tk=3, Dq=3, Dk=module.key_dim, Dv=2, lengths=(3, 2))
    q, k, v = (pyseq.tensor(a).requires_grad_(True) for a in (q, k, v))
    mask = pyseq.tensor(mask)
    params = list(module.parameters())
    assert gradcheck(lambda q, k, v, *p: module(q, k, v, mask), [q, k, v] + params)


def test_local_p_attention():
    """Luong's local-p: the centre p = (S - 1) sigmoid(v_p^T tanh(W_p q)) of each query's own
    source, weights only within D of p, times the Gaussian of sigma D / 2 (checked in numpy)."""
    pyseq.manual_seed(3)
    rng = np.random.default_rng(3)
    D = 1
    module = nn.MultiplicativeAttention(4, 4, "dot", local_window=D).double()
    q, k, v, mask = _inputs(rng, B=2, Tq=3, Tk=6, Dq=4, Dk=4, Dv=2, lengths=(6, 3))
    _, weights = module(pyseq.tensor(q), pyseq.tensor(k), pyseq.tensor(v), pyseq.tensor(mask))
    wp, vp = _np(module.position_proj.weight), _np(module.position_v.weight)
    S = mask.sum(1)[:, None, None]
    centre = (S - 1) / (1 + np.exp(-(np.tanh(q @ wp.T) @ vp.T)))  # (B, Tq, 1)
    distance = np.arange(6)[None, None, :] - centre
    allowed = (np.abs(distance) <= D) & mask[:, None, :]
    expected = _np_softmax(np.einsum("bqd,bkd->bqk", q, k), allowed) * np.exp(-distance ** 2 / (2 * (D / 2) ** 2))
    np.testing.assert_allclose(_np(weights), expected, atol=1e-12)
    assert np.all(_np(weights)[1, :, 3:] == 0)  # never beyond the second source's 3 keys
    # a source padded on the left, or with holes in its mask: the real keys weigh as they do alone
    keep = np.array([[False, True, False, True, True, False, True, True]])
    keys, values = rng.standard_normal((1, 8, 4)), rng.standard_normal((1, 8, 2))
    _, alone = module(pyseq.tensor(q[:1]), pyseq.tensor(keys[:, keep[0]]), pyseq.tensor(values[:, keep[0]]))
    _, holes = module(pyseq.tensor(q[:1]), pyseq.tensor(keys), pyseq.tensor(values), keep)  # (a numpy mask)
    np.testing.assert_allclose(_np(holes)[:, :, keep[0]], _np(alone), atol=1e-12)
    assert np.all(_np(holes)[:, :, ~keep[0]] == 0)


def test_attention_bad_input():
    a = nn.AdditiveAttention(4, 6, 8)
    q, k, v = pyseq.randn(2, 3, 4), pyseq.randn(2, 5, 6), pyseq.randn(2, 5, 7)
    with pytest.raises(ValueError, match=r"query \(B, Tq, 4\)"):
        a(pyseq.randn(2, 3, 5), k, v)
    with pytest.raises(ValueError, match="share the batch"):
        a(q, k, pyseq.randn(2, 4, 7))
    with pytest.raises(ValueError, match=r"mask must be a bool tensor of shape \(2, 5\)"):
        a(q, k, v, pyseq.ones(2, 5))
    with pytest.raises(ValueError, match="3 dims"):
        a(pyseq.randn(3, 4), k, v)
    with pytest.raises(ValueError, match="no keys"):
        a(q, pyseq.randn(2, 0, 6), pyseq.randn(2, 0, 7))
    with pytest.raises(ValueError, match="needs query_dim == key_dim"):
        nn.MultiplicativeAttention(4, 6, "dot")
    with pytest.raises(ValueError, match="unknown mode"):
        nn.MultiplicativeAttention(4, 4, "bilinear")
    with pytest.raises(ValueError, match="local_window"):
        nn.MultiplicativeAttention(4, 4, local_window=0)
    with pytest.raises(ValueError, match="hidden_dim must be a positive int, got 0"):
        nn.AdditiveAttention(4, 4, 0)
    with pytest.raises(ValueError, match="hidden_dim must be a positive int, got 0"):
        nn.MultiplicativeAttention(4, 4, "concat", hidden_dim=0)
    with pytest.raises(ValueError, match="query_dim must be a positive int"):
        nn.MultiplicativeAttention(0, 4)
    with pytest.raises(ValueError, match=r"projected_keys of shape \(2, 5, 8\) \(project_keys\(keys\)\), got \(1, 5, 8\)"):
        a(q, k, v, projected_keys=pyseq.randn(1, 5, 8))
    with pytest.raises(ValueError, match=r"projected_keys of shape \(2, 5, 4\)"):
        nn.MultiplicativeAttention(4, 6)(q, k, v, projected_keys=pyseq.randn(2, 5, 6))
    # a query with no key allowed attends uniformly instead of producing NaN
    _, w = a(q, k, v, pyseq.zeros(2, 5, dtype=pyseq.bool))
    np.testing.assert_allclose(_np(w), 0.2, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# models


V_SRC, V_TGT = 9, 8
RNN_CONFIGS = [dict(cell="gru", style="bahdanau"), dict(cell="lstm", style="luong", score="general"),
               dict(cell="lstm", style="luong", score="concat", num_layers=2, bidirectional=False),
               dict(cell="gru", style="luong", score="dot", local_window=2, decoder_hidden_size=8)]


def _rnn(config, seed=0, **kwargs):
    pyseq.manual_seed(seed)
    return s2s.RNNSeq2Seq(V_SRC, V_TGT, embed_dim=5, hidden_size=4, dropout=0.0, **{**config, **kwargs})


def _transformer(seed=0, **kwargs):
    pyseq.manual_seed(seed)
    return s2s.TransformerSeq2Seq(V_SRC, V_TGT, d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                                  dim_feedforward=16, dropout=0.0, **kwargs)


def _ensemble():
    return s2s.Seq2SeqEnsemble([_rnn(RNN_CONFIGS[1], seed=5), _transformer(seed=6)])


def _models():
    """Every kind of model the decoders serve: each RNN configuration, a Transformer, an ensemble."""
    return [_rnn(c, seed=i) for i, c in enumerate(RNN_CONFIGS)] + [_transformer(), _ensemble()]


N_MODELS = len(RNN_CONFIGS) + 2


def _sources(rng, B=4, lengths=(5, 3, 1, 4)):
    ids = [list(rng.integers(4, V_SRC, size=n)) for n in lengths[:B]]
    return s2s.pad_ids(ids)


@pytest.mark.parametrize("index", range(len(RNN_CONFIGS)))
def test_decoder_step_gradcheck(index):
    """One decoder step in float64: the gradients of its logits with respect to the state, the
    memory and every decoder parameter match central differences."""
    rng = np.random.default_rng(index)
    model = _rnn(RNN_CONFIGS[index], seed=index).double()
    src, lengths = _sources(rng, B=2, lengths=(4, 2))
    with pyseq.no_grad():
        memory = model.encode(src, lengths)
        state = model.init_state(memory)
    # separate leaves (with "dot" scores the keys are the values themselves)
    memory = {k: (v.detach().clone().requires_grad_(True) if k in ("values", "keys") else v) for k, v in memory.items()}
    leaves = [memory["values"], memory["keys"]]
    for name in ("h", "c"):
        if name in state:
            state[name] = [(h.detach() + 0.1 * pyseq.tensor(rng.standard_normal(h.shape))).requires_grad_(True)
                           for h in state[name]]
            leaves += state[name]
    if "feed" in state:
        state["feed"] = pyseq.tensor(rng.standard_normal(state["feed"].shape)).requires_grad_(True)
        leaves.append(state["feed"])
    prev = pyseq.tensor([BOS, 5])
    params = list(model.decoder.parameters())

    def step(*_):
        logits, new_state, weights = model.decode_step(prev, state, memory)
        return logits, new_state["h"][-1], weights

    assert gradcheck(step, leaves + params)


@pytest.mark.parametrize("index", range(N_MODELS))
def test_steps_match_teacher_forcing(index):
    """decode_step run by hand gives the logits of the teacher-forced forward, and a source in a
    padded batch gets what it gets alone."""
    rng = np.random.default_rng(index)
    model = _models()[index].eval()
    src, lengths = _sources(rng)
    tgt_in, _ = s2s.pad_ids([list(rng.integers(3, V_TGT, size=5)) for _ in range(4)], bos=True)
    with pyseq.no_grad():
        logits = model(src, lengths, tgt_in).numpy()
        memory = model.encode(src, lengths)
        state = model.init_state(memory)
        for t in range(tgt_in.shape[1]):
            step_logits, state, weights = model.decode_step(tgt_in[:, t], state, memory)
            np.testing.assert_allclose(step_logits.numpy(), logits[:, t], atol=2e-5, rtol=1e-4)
            w = weights.numpy()
            if model.config.get("local_window") is None:
                np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-5)  # (local-p: times a Gaussian)
            assert np.all(w[np.arange(src.shape[1])[None, :] >= lengths[:, None]] == 0)
        for b in range(4):
            alone = model(src[b:b + 1, :lengths[b]], lengths[b:b + 1], tgt_in[b:b + 1]).numpy()
            np.testing.assert_allclose(alone[0], logits[b], atol=2e-5, rtol=1e-4)


def _sequence_log_prob(model, src, length, tokens):
    """log p(tokens + </s> | src) from the teacher-forced forward: an independent check of the
    scores the decoders report."""
    target = list(tokens) + [EOS]
    tgt_in, _ = s2s.pad_ids([target[:-1]], bos=True)
    with pyseq.no_grad():
        log_probs = model(src, [length], tgt_in).log_softmax(-1).numpy()[0]
    return float(sum(log_probs[t, y] for t, y in enumerate(target)))


@pytest.mark.parametrize("index", range(N_MODELS))
def test_beam_search(index):
    rng = np.random.default_rng(20 + index)
    model = _models()[index].eval()
    src, lengths = _sources(rng)
    greedy = model.greedy_decode(src, lengths, max_len=7)
    beam1 = model.beam_search(src, lengths, beam_size=1, max_len=7)
    for g, b in zip(greedy, beam1):
        assert g.tokens == b[0].tokens  # beam width 1 is greedy
        assert g.score == pytest.approx(b[0].score, rel=1e-9)
    nbest = model.beam_search(src, lengths, beam_size=4, max_len=7, n_best=4, length_penalty=0.6)
    for b, hyps in enumerate(nbest):
        assert 1 <= len(hyps) <= 4
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == len(hyps)
        for h in hyps:
            assert all(t not in (PAD, BOS, EOS, s2s.UNK) for t in h.tokens)
            assert h.alignment.shape == (len(h.tokens) + 1 if len(h.tokens) < 7 else 7, lengths[b])
            if len(h.tokens) < 7:  # ended by </s>: its log-probability is the model's
                assert h.log_prob == pytest.approx(_sequence_log_prob(model, src[b:b + 1, :lengths[b]], lengths[b],
                                                                      h.tokens), abs=1e-4)
                assert h.score == pytest.approx(h.log_prob / ((5 + len(h.tokens) + 1) / 6) ** 0.6)
        # the best of a wider beam scores at least as well as greedy (up to float32 rounding: the
        # beams go through the GEMMs as more rows than greedy's, and a few-row product adds its
        # terms in another order than the blocked one)
        assert hyps[0].score >= greedy[b].score - 1e-6 * abs(greedy[b].score) or len(greedy[b].tokens) == 7
    # a batch decodes as its sources one at a time
    for b in range(4):
        alone = model.beam_search(src[b:b + 1, :lengths[b]], lengths[b:b + 1], beam_size=4, max_len=7, n_best=4)
        assert [h.tokens for h in alone[0]] == [h.tokens for h in nbest[b]]


def test_ensemble_averages_the_members_probabilities():
    """Each step of an ensemble gives log of the mean of its members' softmaxes (numpy, float64)
    and the mean of their alignments; an ensemble of one decodes as its member."""
    rng = np.random.default_rng(3)
    ensemble = _ensemble().eval()
    members = [_rnn(RNN_CONFIGS[1], seed=5).eval(), _transformer(seed=6).eval()]
    src, lengths = _sources(rng)
    prev = pyseq.tensor([BOS, 4, 5, 6])
    with pyseq.no_grad():
        log_probs, _, weights = ensemble.decode_step(prev, ensemble.init_state(ensemble.encode(src, lengths)),
                                                     ensemble.encode(src, lengths))
        steps = [m.decode_step(prev, m.init_state(m.encode(src, lengths)), m.encode(src, lengths)) for m in members]
    probs = [np.exp(_np(logits) - _np(logits).max(1, keepdims=True)) for logits, _, _ in steps]
    expected = np.log(np.mean([p / p.sum(1, keepdims=True) for p in probs], 0))
    np.testing.assert_allclose(log_probs.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(weights.numpy(), np.mean([_np(w) for _, _, w in steps], 0), atol=1e-6)
    single = s2s.Seq2SeqEnsemble([members[0]]).eval()
    assert ([h[0].tokens for h in single.beam_search(src, lengths, beam_size=3, max_len=6)]
            == [h[0].tokens for h in members[0].beam_search(src, lengths, beam_size=3, max_len=6)])
    with pytest.raises(ValueError, match="vocabulary sizes differ"):
        s2s.Seq2SeqEnsemble([members[0], s2s.RNNSeq2Seq(V_SRC + 1, V_TGT, hidden_size=4)])
    with pytest.raises(TypeError, match="Seq2Seq models"):
        s2s.Seq2SeqEnsemble([])


def test_beam_search_finds_better_than_greedy():
    """On random models beam 5 finds hypotheses of higher model probability than greedy, and its
    length-penalised best is never worse."""
    rng = np.random.default_rng(7)
    better = 0
    for seed in range(4):
        model = _rnn(RNN_CONFIGS[1], seed=seed).eval()
        src, lengths = _sources(rng)
        greedy = model.greedy_decode(src, lengths, max_len=6, length_penalty=0.0)
        beam = model.beam_search(src, lengths, beam_size=5, max_len=6, length_penalty=0.0)
        for g, b in zip(greedy, beam):
            assert b[0].score >= g.score - 1e-9
            better += b[0].score > g.score + 1e-6
    assert better > 0


def test_teacher_forcing_ratio():
    model = _rnn(RNN_CONFIGS[1])
    rng = np.random.default_rng(0)
    src, lengths = _sources(rng)
    tgt_in, _ = s2s.pad_ids([list(rng.integers(3, V_TGT, size=6)) for _ in range(4)], bos=True)
    with pyseq.no_grad():
        forced = model(src, lengths, tgt_in).numpy()
        own = model(src, lengths, tgt_in, teacher_forcing_ratio=0.0).numpy()
        np.testing.assert_array_equal(own[:, 0], forced[:, 0])
        assert not np.allclose(own, forced)
        # ratio 0: each step reads the previous step's prediction, as if those were the targets
        own_inputs = pyseq.cat([tgt_in[:, :1], pyseq.tensor(own[:, :-1].argmax(-1))], 1)
        model.eval()  # (and the ratio only acts while training)
        np.testing.assert_array_equal(model(src, lengths, tgt_in, teacher_forcing_ratio=0.0).numpy(), forced)
        np.testing.assert_allclose(model(src, lengths, own_inputs).numpy(), own, atol=1e-6)
    with pytest.raises(ValueError, match="teacher_forcing_ratio must be 1"):
        _transformer()(src, lengths, tgt_in, teacher_forcing_ratio=0.5)


def test_shared_embeddings():
    model = _transformer(share_embeddings=False)
    assert model.src_embedding is not model.tgt_embedding
    with pytest.raises(ValueError, match="one vocabulary"):
        _transformer(share_embeddings=True)
    pyseq.manual_seed(0)
    shared = s2s.TransformerSeq2Seq(9, 9, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                    dim_feedforward=16, share_embeddings=True)
    assert shared.src_embedding is shared.tgt_embedding
    names = [n for n, _ in shared.named_parameters()]
    assert "src_embedding.weight" in names and "tgt_embedding.weight" not in names


def test_decoding_bad_input():
    model = _rnn(RNN_CONFIGS[0]).eval()
    src, lengths = s2s.pad_ids([[4, 5], [6]])
    with pytest.raises(ValueError, match="beam_size >= 1"):
        model.beam_search(src, lengths, beam_size=0)
    with pytest.raises(ValueError, match="max_len >= 1"):
        model.greedy_decode(src, lengths, max_len=0)
    with pytest.raises(ValueError, match="n_best"):
        model.beam_search(src, lengths, beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="between 1 and 2 symbols"):
        model.greedy_decode(src, [2, 0])
    with pytest.raises(ValueError, match=r"source ids must be in \[0, 9\)"):
        model.greedy_decode(pyseq.tensor([[4, 12]]), [2])
    with pytest.raises(TypeError, match="int64 tensor"):
        model.greedy_decode(pyseq.randn(2, 2), [2, 2])
    with pytest.raises(ValueError, match="unknown cell"):
        s2s.RNNSeq2Seq(5, 5, cell="rnn")
    # training inputs
    tgt = pyseq.tensor([[1, 4], [1, 5]])
    for bad_tgt, error, match in [(pyseq.tensor([1, 4]), TypeError, r"tgt_in must be an int64 tensor of ids \(batch, "),
                                  (pyseq.zeros(2, 0, dtype=pyseq.int64), ValueError, r"\(2, length >= 1\)"),
                                  (pyseq.tensor([[1, 4]]), ValueError, r"\(2, length >= 1\) like the source"),
                                  (pyseq.tensor([[1, 4], [1, 99]]), ValueError, r"target ids must be in \[0, ")]:
        for m in (model, _transformer()):
            with pytest.raises(error, match=match):
                m(src, lengths, bad_tgt)
    for ratio in (None, "0.5", 1.5):
        with pytest.raises(ValueError, match="teacher_forcing_ratio must be a number in"):
            model(src, lengths, tgt, teacher_forcing_ratio=ratio)
    # construction
    with pytest.raises(ValueError, match="tgt_vocab_size must be an int of at least 5"):
        s2s.RNNSeq2Seq(6, 3)
    with pytest.raises(ValueError, match="src_vocab_size must be an int of at least 5"):
        s2s.TransformerSeq2Seq(4, 9)
    with pytest.raises(ValueError, match="max_len .* must be an int >= 2, got 0"):
        s2s.TransformerSeq2Seq(9, 9, max_len=0)
    with pytest.raises(ValueError, match="score and local_window choose Luong's attention"):
        s2s.RNNSeq2Seq(9, 9, style="bahdanau", score="dot")


# ------------------------------------------------------------------------------------------------
# metrics, vocabularies, G2P


def test_error_rates():
    assert s2s.edit_distance("kitten", "sitting") == 3
    assert s2s.edit_distance([], ["A", "B"]) == 2
    per, wer = s2s.error_rates([["K", "AE", "T"], ["D", "AO", "G"], []],
                               [[("K", "AE", "T")], [("D", "AA", "G"), ("D", "AO", "G")], [("AH",)]])
    assert wer == pytest.approx(1 / 3)
    assert per == pytest.approx(1 / 7)  # one deletion over 3 + 3 + 1 reference phonemes


def test_vocabulary():
    v = s2s.Vocabulary.build(["cab", "ba"])
    assert v.itos == ["<pad>", "<s>", "</s>", "<unk>", "a", "b", "c"]
    assert v.encode("cz") == [6, s2s.UNK]
    assert v.decode([1, 6, 4, 2, 5]) == ["c", "a"]
    with pytest.raises(ValueError, match="reserved"):
        s2s.Vocabulary(["<s>"])
    with pytest.raises(ValueError, match="distinct"):
        s2s.Vocabulary(["a", "a"])


def _tiny_g2p():
    model = _rnn(RNN_CONFIGS[1])
    return s2s.G2P(model, s2s.Vocabulary(list("abcde")), s2s.Vocabulary(["AA", "B", "K", "D"]))


def test_g2p_save_load_and_bad_words(tmp_path):
    g2p = _tiny_g2p()
    words = ["abc", "ed", "b"]
    before = g2p.predict_batch(words, beam_size=3)
    g2p.save(tmp_path / "g2p")
    loaded = s2s.G2P.load(tmp_path / "g2p")
    assert loaded.predict_batch(words, beam_size=3) == before
    assert loaded.predict_batch(words, beam_size=1) == g2p.predict_batch(words, beam_size=1)
    assert g2p.predict("") == [] and g2p.predict_batch(["", "a", ""]) == [[], g2p.predict("a"), []]
    assert isinstance(g2p.predict("ça-1!"), list)  # unknown characters are <unk>, not a crash
    assert g2p.predict("ABC") == g2p.predict("abc")
    assert g2p.predict("ÀBÇ") == g2p.predict("abc")  # accents removed
    with pytest.raises(ValueError, match="beam_size >= 1"):
        g2p.predict("abc", beam_size=0)
    with pytest.raises(ValueError, match="max_len >= 1"):
        g2p.predict("abc", max_len=0)
    with pytest.raises(TypeError, match="must be strings"):
        g2p.predict_batch(["abc", 3])
    with pytest.raises(FileNotFoundError, match="no config.json"):
        s2s.G2P.load(tmp_path)


def test_g2p_ensemble_save_load(tmp_path):
    g2ps = [_tiny_g2p(), s2s.G2P(_transformer(seed=2), s2s.Vocabulary(list("abcde")),
                                 s2s.Vocabulary(["AA", "B", "K", "D"]))]
    ensemble = s2s.G2P.ensemble(g2ps, length_penalty=1.0)
    words = ["abc", "ed", "bad"]
    loaded = s2s.G2P.load(ensemble.save(tmp_path / "ensemble"))
    assert loaded.model.config["kind"] == "ensemble" and loaded.length_penalty == 1.0
    assert loaded.predict_batch(words, beam_size=3) == ensemble.predict_batch(words, beam_size=3)
    with pytest.raises(ValueError, match="vocabularies differ"):
        s2s.G2P.ensemble([g2ps[0], s2s.G2P(_transformer(), s2s.Vocabulary(list("abcdf")), g2ps[0].phonemes)])


def test_split_by_word():
    entries = {f"w{i}": [("A",)] * (1 + i % 2) for i in range(100)}
    train, val, test = s2s.split_by_word(entries, (0.8, 0.1, 0.1), seed=1)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    words = [w for part in (train, val, test) for w, _ in part]
    assert sorted(words) == sorted(entries)
    assert s2s.split_by_word(entries, (0.8, 0.1, 0.1), seed=1) == (train, val, test)
    with pytest.raises(ValueError, match="fractions"):
        s2s.split_by_word(entries, (0.8, 0.3, 0.1))


def test_g2p_half_and_alignment(tmp_path):
    g2p = _tiny_g2p()
    g2p.save(tmp_path / "half", half=True)
    full = g2p.save(tmp_path / "full")
    size = {name: (tmp_path / name / "model.safetensors").stat().st_size for name in ("half", "full")}
    assert size["half"] < 0.7 * size["full"]  # (the header's size is the same)
    half = s2s.G2P.load(tmp_path / "half")
    for (name, a), (_, b) in zip(half.model.state_dict().items(), s2s.G2P.load(full).model.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-4, err_msg=name)
    phonemes, alignment = g2p.align("abca", beam_size=3)
    assert alignment.shape[1] == 4 and alignment.shape[0] in (len(phonemes), len(phonemes) + 1)
    np.testing.assert_allclose(alignment.sum(1), 1.0, atol=1e-5)
    pytest.importorskip("matplotlib")
    path = g2p.save_alignment("abca", tmp_path / "a.png", beam_size=3)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="non-empty word"):
        g2p.align("")


def test_train_g2p_arguments_and_start_from():
    words = [("ab", [("AA", "B")]), ("ba", [("B", "AA")]), ("cab", [("K", "AA", "B")])] * 4
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        s2s.train_g2p(words, words, epochs=0)
    with pytest.raises(ValueError, match="time_limit must be a positive"):
        s2s.train_g2p(words, words, time_limit=0)
    with pytest.raises(ValueError, match="no training words"):
        s2s.train_g2p([], words)
    first = s2s.train_g2p(words, words, epochs=2, batch_size=4, warmup_steps=2, embed_dim=4, hidden_size=4,
                          log=lambda s: None)
    before = {k: v.detach().numpy().copy() for k, v in first.model.state_dict().items()}
    more = s2s.train_g2p(words + [("abz", [("AA", "B", "Z")])], words, epochs=1, batch_size=4, warmup_steps=2,
                         start_from=first, log=lambda s: None)
    assert more.graphemes is first.graphemes and more.phonemes is first.phonemes  # ("z", "Z": unknown to them)
    assert more.model is first.model
    assert any(not np.array_equal(before[k], v.detach().numpy()) for k, v in more.model.state_dict().items())


def _never_ending(g2p):
    """g2p with </s> made (nearly) impossible, so each output runs to the length limit."""
    with pyseq.no_grad():
        g2p.model.decoder.out.bias[EOS] = -1e4
    return g2p


def test_g2p_default_length_limit_fits_long_pronunciations():
    """The default limit scales with the word: 3 * letters + 10 steps, which every pronunciation in
    the CMU dictionary fits (fyi: 15 phonemes, over the 2 * 3 + 5 = 11 of the old limit)."""
    g2p = _never_ending(_tiny_g2p())
    assert len(g2p.predict("abc", beam_size=1)) == 3 * 3 + 10
    assert len(g2p.predict("abc", beam_size=2)) == 3 * 3 + 10
    assert [len(p) for p in g2p.predict_batch(["a", "abcdeabcde"], beam_size=1)] == [13, 40]
    assert len(g2p.predict("abc", beam_size=1, max_len=4)) == 4


def test_decoding_within_the_models_max_length():
    """A Transformer reads at most max_len positions: decoding stops there instead of failing in
    the middle, a longer source is refused up front, and an ensemble takes its members' minimum."""
    model = _transformer(max_len=6).eval()
    assert model.max_length() == 6 and _rnn(RNN_CONFIGS[0]).max_length() is None
    assert s2s.Seq2SeqEnsemble([_rnn(RNN_CONFIGS[0]), model]).max_length() == 6
    with pyseq.no_grad():
        model.out.bias[EOS] = -1e4
    src, lengths = s2s.pad_ids([[4, 5], [6, 7, 8]])
    assert [len(h.tokens) for h in model.greedy_decode(src, lengths, max_len=50)] == [6, 6]
    assert [len(h[0].tokens) for h in model.beam_search(src, lengths, beam_size=2, max_len=50)] == [6, 6]
    g2p = s2s.G2P(model, s2s.Vocabulary(list("abcde")), s2s.Vocabulary(["AA", "B", "K", "D"]))
    assert len(g2p.predict("abc")) == 6  # the default limit, 19, is capped
    with pytest.raises(ValueError, match="at most 6 symbols"):
        g2p.predict("abcdeab")


def test_g2p_words_read_as_predict_reads_them(tmp_path):
    """A word whose letters all vanish (a lone combining accent) has no phonemes, like the empty
    word; align reads the word as predict does (lower-cased, accents removed, NFKD: "ﬁ" is "fi")."""
    g2p = _tiny_g2p()
    assert g2p.predict("\u0301") == [] and g2p.predict_batch(["\u0301", "ab"]) == [[], g2p.predict("ab")]
    for word, letters in (("ÀBÇ", "abc"), ("\ufb01ed", "fied")):
        phonemes, alignment = g2p.align(word, beam_size=3)
        assert phonemes == g2p.predict(word, beam_size=3) == g2p.predict(letters, beam_size=3)
        assert alignment.shape[1] == len(letters)
    with pytest.raises(ValueError, match="non-empty word"):
        g2p.align("\u0301")
    with pytest.raises(TypeError, match="expected a word \\(a str\\), got NoneType"):
        g2p.align(None)
    # surrounding whitespace is not part of the word; whitespace alone is an empty word
    assert g2p.predict("  ab\t") == g2p.predict("ab") and g2p.predict(" \t") == []
    pytest.importorskip("matplotlib")
    g2p.save_alignment("\ufb01ed", tmp_path / "a.png", beam_size=2)  # a label per character read


def test_g2p_and_decoding_arguments():
    g2p = _tiny_g2p()
    with pytest.raises(ValueError, match="vocabularies have 8 graphemes and 8 phonemes"):
        s2s.G2P(g2p.model, s2s.Vocabulary(list("abcd")), g2p.phonemes)
    with pytest.raises(TypeError, match="got a str"):
        g2p.predict_batch("abc")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        g2p.predict_batch(["abc"], batch_size=0)
    assert g2p.predict("abc", beam_size=np.int64(3), max_len=np.int64(5)) == g2p.predict("abc", beam_size=3, max_len=5)
    model = g2p.model
    src, lengths = s2s.pad_ids([[4, 5], [6]])
    with pytest.raises(TypeError, match="lengths must be integers"):
        model.greedy_decode(src, [2.7, 1.0])
    with pytest.raises(ValueError, match="length_penalty"):
        model.beam_search(src, lengths, beam_size=2, length_penalty=float("nan"))
    model.train()
    with pytest.raises(ValueError, match=r"teacher_forcing_ratio must be a number in \[0, 1\]"):
        model(src, lengths, src, teacher_forcing_ratio=1.5)
