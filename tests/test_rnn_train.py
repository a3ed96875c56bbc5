"""Recurrent models trained on real text, the King James Bible (the corpus of test_textcnn.py).

1. A character-level LSTM language model on the first ~1M characters of the KJV (Genesis 1:1 to
   Judges 19:18, one verse a line), trained by truncated backpropagation through time: the batch
   is B parallel streams of the text, each step a chunk of SEQ_LEN characters, the LSTM state
   (h, c) carried from chunk to chunk and detached in between. Validation is the ~30,000
   characters that follow (to 1 Samuel 1:21). Baselines on that text: the training text's
   character frequencies (unigram, 4.34 bits/char) and its character bigrams (3.27 bits/char);
   the LSTM reaches 2.03 bits/char and must beat both by a wide margin, and it must be using the
   state it carries (restarting from a zero state every SEQ_LEN characters costs it ~0.1 bit/char).
2. A bidirectional GRU classifying verses as Old or New Testament (the data and split of
   test_textcnn.py: balanced classes, majority baseline 50%; it reaches ~88%), fed a
   PackedSequence so that padding never reaches the state (checked: a verse in a padded batch
   gets the logits it gets alone); the final forward and backward states of h_n go to a linear
   layer.

Seeded; on one core about 15 s for the first test and 11 s for the second.
"""

import math
import time

import numpy as np
import pytest

import pyseq
from pyseq import nn, optim
from pyseq.data import DataLoader, pad_collate
from pyseq.nn.utils.rnn import pack_padded_sequence
from test_textcnn import PAD, _dataset, _kjv_verses, one_thread  # noqa: F401  (one_thread: a fixture)

pytestmark = pytest.mark.usefixtures("one_thread")  # pyseq.set_num_threads(1), restored afterwards

# ------------------------------------------------------------------------------------------------
# 1. character-level LSTM language model

TRAIN_CHARS, VAL_CHARS = 1_000_000, 30_000
BATCH, SEQ_LEN, STEPS = 32, 64, 600  # 600 chunks of 32 x 64 characters: ~1.2 passes over the text


def _kjv_text_split():
    """The first verses of the KJV, one a line, up to TRAIN_CHARS characters; then the next verses
    up to VAL_CHARS characters (held out)."""
    lines = [v["text"] + "\n" for v in _kjv_verses()]
    ends = np.cumsum([len(line) for line in lines])
    n_train = int(np.searchsorted(ends, TRAIN_CHARS))
    n_val = int(np.searchsorted(ends, ends[n_train - 1] + VAL_CHARS)) - n_train
    return "".join(lines[:n_train]), "".join(lines[n_train:n_train + n_val])


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear over the characters; forward carries the state (h, c)."""

    def __init__(self, vocab_size, dim=32, hidden=128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, chars, state=None):  # chars (B, T) int64; state (h, c), each (1, B, hidden)
        out, state = self.lstm(self.embedding(chars), state)  # out (B, T, hidden)
        return self.fc(out), state  # logits (B, T, vocab)


def _bits_per_char(model, ids, reset_every=None):
    """Cross entropy of predicting ids[1:] from what precedes, in bits per character: one pass
    over the whole text with the state carried throughout, or (reset_every=k) k characters at a
    time, each piece from a zero state (len(ids) - 1 must be a multiple of k)."""
    model.eval()
    with pyseq.no_grad():
        inputs = ids[:-1].reshape(1, -1) if reset_every is None else ids[:-1].reshape(-1, reset_every)  # (rows, k)
        logits, _ = model(pyseq.tensor(inputs))  # (rows, k, vocab)
        nats = nn.functional.cross_entropy(logits.reshape([-1, logits.shape[-1]]), pyseq.tensor(ids[1:])).item()
    model.train()
    return nats / math.log(2)


def test_char_lstm_language_model_beats_the_unigram_and_bigram_baselines():
    train_text, val_text = _kjv_text_split()
    chars = sorted(set(train_text))
    vocab = {c: i for i, c in enumerate(chars)}
    unk = len(chars)  # characters the training text lacks (none in this split) share the last id
    V = len(chars) + 1
    train = np.array([vocab[c] for c in train_text], dtype=np.int64)
    val = np.array([vocab.get(c, unk) for c in val_text], dtype=np.int64)
    val = val[:1 + (len(val) - 1) // SEQ_LEN * SEQ_LEN]  # SEQ_LEN-character pieces to predict, for the reset check
    assert len(train) >= 0.99 * TRAIN_CHARS and len(val) >= 0.99 * VAL_CHARS

    # Baselines fitted on the training text (add-one smoothing over the same V characters),
    # scored like the model: on val[1:].
    counts = np.bincount(train, minlength=V) + 1.0  # (V,)
    unigram_bpc = -np.mean(np.log2(counts / counts.sum())[val[1:]])
    pairs = np.ones((V, V))  # pairs[a, b]: how often b follows a, plus one
    np.add.at(pairs, (train[:-1], train[1:]), 1)
    bigram_bpc = -np.mean(np.log2(pairs / pairs.sum(1, keepdims=True))[val[:-1], val[1:]])

    # B streams: stream b is the b-th of B equal contiguous pieces of the text.
    length = (len(train) - 1) // BATCH
    inputs = train[:BATCH * length].reshape(BATCH, length)  # (B, L)
    targets = train[1:BATCH * length + 1].reshape(BATCH, length)  # (B, L): the next characters

    pyseq.manual_seed(0)
    model = CharLSTM(V)
    opt = optim.Adam(model.parameters(), lr=6e-3)
    loss_fn = nn.CrossEntropyLoss()
    start, state, losses = 0, None, []
    began = time.perf_counter()
    for step in range(STEPS):
        if start + SEQ_LEN > length:  # the streams are used up: start again with a fresh state
            start, state = 0, None
        x = pyseq.tensor(inputs[:, start:start + SEQ_LEN])  # (B, T)
        y = pyseq.tensor(targets[:, start:start + SEQ_LEN])  # (B, T)
        start += SEQ_LEN
        if state is not None:  # carry the state over, but not the graph of the previous chunk
            state = tuple(s.detach() for s in state)
        logits, state = model(x, state)  # (B, T, V)
        loss = loss_fn(logits.reshape([-1, V]), y.reshape([-1]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    trained = time.perf_counter() - began
    val_bpc = _bits_per_char(model, val)
    # what the carried state is worth: the same text cut into SEQ_LEN-character pieces, each
    # started from a zero state, as the training chunks would be without carrying it
    reset_bpc = _bits_per_char(model, val, reset_every=SEQ_LEN)

    train_bpc = np.mean(losses[-50:]) / math.log(2)
    print(f"char LSTM: validation {val_bpc:.3f} bits/char (train {train_bpc:.3f}, state reset every {SEQ_LEN} "
          f"characters {reset_bpc:.3f}); unigram {unigram_bpc:.3f}, bigram {bigram_bpc:.3f}; {STEPS} steps in "
          f"{trained:.1f} s")
    assert 4.0 < unigram_bpc < 4.6 and 3.0 < bigram_bpc < 3.6  # English characters; the smoothing is mild
    assert np.mean(losses[-50:]) < 0.5 * np.mean(losses[:10])
    assert val_bpc < unigram_bpc - 1.8, (val_bpc, unigram_bpc)
    assert val_bpc < bigram_bpc - 0.8, (val_bpc, bigram_bpc)
    assert val_bpc < reset_bpc - 0.05, (val_bpc, reset_bpc)  # the state carries context across chunks


# ------------------------------------------------------------------------------------------------
# 2. bidirectional GRU verse classifier on packed sequences


class BiGRUClassifier(nn.Module):
    """Embedding -> bidirectional GRU over the packed real tokens -> [h_forward; h_backward] -> Linear."""

    def __init__(self, vocab_size, classes, dim=64, hidden=64, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens, lengths):  # tokens (B, T) int64, lengths (B,) int64 in any order
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)  # (2, B, hidden): the forward state after each verse's last real token,
        # the backward state after its first; rows in the batch's order
        return self.fc(self.dropout(pyseq.cat([h_n[0], h_n[1]], 1)))  # (B, classes)


def _real_lengths(tokens):
    """The tokens before the padding (pad_collate's lengths also count the PADs _dataset appends to
    verses shorter than TextCNN's widest kernel)."""
    return pyseq.tensor(np.maximum((tokens.numpy() != PAD).sum(1), 1))  # (B,)


def test_bidirectional_gru_on_packed_verses_beats_the_majority_baseline():
    data, vocab_size = _dataset(np.random.default_rng(0))
    test_labels = np.array([label for _, label in data["test"]])
    assert np.mean(test_labels) == 0.5  # balanced: the majority baseline is 50%

    pyseq.manual_seed(0)
    model = BiGRUClassifier(vocab_size, classes=2)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    began = time.perf_counter()
    for epoch in range(3):
        for (tokens, _, _), labels in DataLoader(data["train"], batch_size=64, shuffle=True, seed=epoch,
                                                  collate_fn=pad_collate):
            loss = loss_fn(model(tokens, _real_lengths(tokens)), labels)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
    trained = time.perf_counter() - began

    model.eval()
    hits = []
    with pyseq.no_grad():
        for (tokens, _, _), labels in DataLoader(data["test"], batch_size=500, collate_fn=pad_collate):
            hits.append(pyseq.argmax(model(tokens, _real_lengths(tokens)), -1).numpy() == labels.numpy())
        accuracy = float(np.mean(np.concatenate(hits)))

        # Padding never touches the state: a verse scored inside a padded batch gets the logits it
        # gets alone.
        (tokens, _, _), _ = pad_collate(data["test"][:16])  # (16, T)
        lengths = _real_lengths(tokens)
        batched = model(tokens, lengths).numpy()  # (16, 2)
        alone = [model(tokens[i:i + 1, :int(lengths[i].item())], lengths[i:i + 1]).numpy()[0] for i in range(16)]
    assert np.ptp(lengths.numpy()) > 10  # the batch really is padded
    np.testing.assert_allclose(batched, np.stack(alone), rtol=1e-4, atol=1e-5)

    print(f"BiGRU held-out accuracy {accuracy:.3f} (majority baseline 0.50); loss {np.mean(losses[:20]):.3f} -> "
          f"{np.mean(losses[-20:]):.3f}; {len(losses)} steps in {trained:.1f} s")
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    assert accuracy >= 0.8, accuracy
