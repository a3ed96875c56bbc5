"""A small Transformer encoder trained on real text: King James Bible verses, Old Testament vs New
Testament (the data and split of test_textcnn.py: balanced classes, so the majority baseline is
50%). Embeddings + sinusoidal positions, 2 encoder layers with a key padding mask, mean pooling
over the real tokens, a linear classifier. Seeded; well under a minute on one core."""

import numpy as np
import pytest

import pyseq
from pyseq import nn, optim
from pyseq.data import DataLoader, pad_collate
from test_textcnn import PAD, _dataset


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size, classes, d_model=64, nhead=4, layers=2, dropout=0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.positions = nn.SinusoidalPositionalEncoding(d_model, max_len=512, dropout=dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2 * d_model, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.fc = nn.Linear(d_model, classes)

    def forward(self, tokens, mask):  # tokens (B, T) int64, mask (B, T) True at real tokens
        h = self.encoder(self.positions(self.embedding(tokens)), src_key_padding_mask=~mask)  # (B, T, d)
        weights = mask.float().unsqueeze(-1)  # (B, T, 1)
        pooled = (h * weights).sum(1) / weights.sum(1)  # mean over the real tokens: (B, d)
        return self.fc(pooled)


def test_transformer_encoder_beats_the_majority_baseline_on_held_out_verses():
    before = pyseq.get_num_threads()
    pyseq.set_num_threads(1)
    try:
        data, vocab_size = _dataset(np.random.default_rng(0))
        pyseq.manual_seed(0)
        model = TransformerClassifier(vocab_size, classes=2)
        opt = optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
        loss_fn = nn.CrossEntropyLoss()
        losses = []
        for epoch in range(2):
            for (tokens, _, mask), labels in DataLoader(data["train"], batch_size=64, shuffle=True, seed=epoch,
                                                         collate_fn=pad_collate):
                loss = loss_fn(model(tokens, mask), labels)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                losses.append(loss.item())
        model.eval()
        hits = []
        with pyseq.no_grad():
            for (tokens, _, mask), labels in DataLoader(data["test"], batch_size=500, collate_fn=pad_collate):
                hits.append(pyseq.argmax(model(tokens, mask), -1).numpy() == labels.numpy())
        accuracy = float(np.mean(np.concatenate(hits)))
    finally:
        pyseq.set_num_threads(before)
    print(f"Transformer held-out accuracy {accuracy:.3f} (majority baseline 0.50)")
    assert np.mean(losses[-20:]) < 0.7 * np.mean(losses[:20])
    assert accuracy >= 0.8, accuracy
