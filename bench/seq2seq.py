"""Sequence to sequence on the G2P task: training steps/s of pyseq's attention RNN against the same
model in torch (same weights, batch and threads), of pyseq's Transformer, and decoding words/s
(greedy and beam 5, batched) of trained G2P models.

    python bench/seq2seq.py [--threads N] [--repeat R] [--batch B] [--only pyseq|torch] [--model FOLDER ...]

Training step: one batch of B CMUdict training words (random, padded to the longest; the
targets their first pronunciation + </s>), loss (cross entropy with label smoothing 0.1), backward,
gradient clipping to norm 1 and an Adam step, for the models of examples/train_g2p.py. Both
libraries run in one process, timed in turns (common.time_interleaved); --only times one alone.
Decoding: G2P.predict_batch on the first 1,000 test words (batches of 256), with the shipped
model (G2P.pretrained()) and each --model folder (written by examples/train_g2p.py).
"""

import argparse
import os
import sys
import time

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=15, help="timed training steps per model (default 15)")
parser.add_argument("--batch", type=int, default=128, help="words per training batch (default 128)")
parser.add_argument("--only", choices=["pyseq", "torch"], help="time one library alone")
parser.add_argument("--model", nargs="*", default=[], help="more trained G2P folders to time decoding with")
args = parser.parse_args()
common.pin_blas_threads(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402
from pyseq.models import seq2seq as s2s  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from train_g2p import MODELS  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)


class TorchRNNSeq2Seq(torch.nn.Module):
    """pyseq's RNNSeq2Seq for cell="lstm", style="luong", score="general", one layer, in torch, with
    the same parameter names (so one state_dict serves both)."""

    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_size, decoder_hidden_size, dropout, **_):
        super().__init__()
        M = 2 * hidden_size
        self.encoder = torch.nn.Module()
        self.encoder.embedding = torch.nn.Embedding(src_vocab, embed_dim, padding_idx=s2s.PAD)
        self.encoder.rnn = torch.nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.decoder = torch.nn.Module()
        self.decoder.embedding = torch.nn.Embedding(tgt_vocab, embed_dim, padding_idx=s2s.PAD)
        self.decoder.attention = torch.nn.Module()
        self.decoder.attention.weight = torch.nn.Parameter(torch.empty(decoder_hidden_size, M))
        self.decoder.combine = torch.nn.Linear(M + decoder_hidden_size, decoder_hidden_size, bias=False)
        self.decoder.cells = torch.nn.ModuleList([torch.nn.LSTMCell(embed_dim + decoder_hidden_size,
                                                                    decoder_hidden_size)])
        self.decoder.out = torch.nn.Linear(decoder_hidden_size, tgt_vocab)
        self.bridge_h = torch.nn.Linear(M, decoder_hidden_size)
        self.bridge_c = torch.nn.Linear(M, decoder_hidden_size)
        self.drop = torch.nn.Dropout(dropout)

    def loss(self, src, lengths, tgt):
        B, S = src.shape
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.drop(self.encoder.embedding(src)), lengths,
                                                         batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = self.encoder.rnn(packed)
        values = self.drop(torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=S)[0])
        mask = torch.arange(S)[None, :] < torch.as_tensor(lengths)[:, None]
        keys = values @ self.decoder.attention.weight.T  # (B, S, H)
        h = torch.tanh(self.bridge_h(h_n.permute(1, 0, 2).reshape(B, -1)))
        c = torch.tanh(self.bridge_c(c_n.permute(1, 0, 2).reshape(B, -1)))
        feed = torch.zeros_like(h)
        tgt_in = torch.cat([torch.full((B, 1), s2s.BOS), tgt[:, :-1]], 1)
        logits = []
        for t in range(tgt.shape[1]):
            e = self.drop(self.decoder.embedding(tgt_in[:, t]))
            h, c = self.decoder.cells[0](torch.cat([e, feed], -1), (h, c))
            scores = (keys @ h.unsqueeze(-1)).squeeze(-1).masked_fill(~mask, -3.0e38)
            context = (scores.softmax(-1).unsqueeze(1) @ values).squeeze(1)
            feed = torch.tanh(self.decoder.combine(torch.cat([context, h], -1)))
            logits.append(self.decoder.out(self.drop(feed)))
        logits = torch.stack(logits, 1)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                                 ignore_index=s2s.PAD, label_smoothing=0.1)


def train_step(model, optimizer, loss_args, lib):
    clip = torch.nn.utils.clip_grad_norm_ if lib == "torch" else pyseq.nn.utils.clip_grad_norm_

    def step():
        loss = model.loss(*loss_args)
        optimizer.zero_grad()
        loss.backward()
        clip(model.parameters(), 1.0)
        optimizer.step()
    return step


def main():
    train, val, test = s2s.split_by_word(s2s.load_cmudict())
    graphemes = s2s.Vocabulary.build(w for w, _ in train)
    phonemes = s2s.Vocabulary.build(pron for _, prons in train for pron in prons)
    rng = np.random.default_rng(0)
    batch = [train[i] for i in rng.choice(len(train), args.batch, replace=False)]
    src, lengths = s2s.pad_ids([graphemes.encode(w) for w, _ in batch])
    tgt, _ = s2s.pad_ids([phonemes.encode(prons[0]) for _, prons in batch], eos=True)
    tokens = int((tgt.numpy() != s2s.PAD).sum())

    rows = []
    pyseq.manual_seed(0)
    ours = s2s.RNNSeq2Seq(len(graphemes), len(phonemes), **MODELS["rnn"])
    theirs = TorchRNNSeq2Seq(len(graphemes), len(phonemes), **MODELS["rnn"])
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.state_dict().items()})
    with pyseq.no_grad(), torch.no_grad():  # the same model: the same loss
        ours.eval(), theirs.eval()
        ours_loss = ours.loss(src, lengths, tgt, 0.1).item()
        theirs_loss = theirs.loss(torch.from_numpy(src.numpy()), lengths, torch.from_numpy(tgt.numpy())).item()
        assert abs(ours_loss - theirs_loss) < 1e-4 * abs(theirs_loss), (ours_loss, theirs_loss)
        ours.train(), theirs.train()
    fns = {"torch": train_step(theirs, torch.optim.Adam(theirs.parameters(), 1e-3),
                               (torch.from_numpy(src.numpy()), lengths, torch.from_numpy(tgt.numpy())), "torch"),
           "pyseq": train_step(ours, pyseq.optim.Adam(ours.parameters(), 1e-3), (src, lengths, tgt, 0.1), "pyseq")}
    if args.only:
        fns = {args.only: fns[args.only]}
    times = common.time_interleaved(fns, args.repeat)
    ratio = common.ratio_text(times["pyseq"], times["torch"]) if len(times) == 2 else "-"
    rows.append([f"train step, attention RNN, B{args.batch}"] + [
        f"{1 / times[lib]:.2f}" if lib in times else "-" for lib in ("torch", "pyseq")] + [ratio])
    if args.only != "torch":
        pyseq.manual_seed(0)
        transformer = s2s.TransformerSeq2Seq(len(graphemes), len(phonemes), **MODELS["transformer"])
        t = common.time_median(train_step(transformer, pyseq.optim.Adam(transformer.parameters(), 1e-3),
                                          (src, lengths, tgt, 0.1), "pyseq"), args.repeat)
        rows.append([f"train step, Transformer, B{args.batch}", "-", f"{1 / t:.2f}", "-"])
    print(f"- CPU: {common.cpu_name()}; pyseq level {pyseq.cpu_level()}; threads {args.threads}; float32; "
          f"{tokens} target tokens per batch; medians of {args.repeat} steps, interleaved; torch {torch.__version__}")
    print(common.markdown_table(["training", "torch steps/s", "pyseq steps/s", "pyseq/torch time"], rows))

    if args.only == "torch":
        return
    words = [w for w, _ in test[:1000]]
    rows = []
    folders = [("shipped", None)] + [(os.path.basename(os.path.normpath(f)), f) for f in args.model]
    for name, folder in folders:
        g2p = s2s.G2P.pretrained() if folder is None else s2s.G2P.load(folder)
        cells = []
        for beam in (1, 5):
            g2p.predict_batch(words, beam_size=beam)  # warm-up: the allocator's cache meets every batch shape once
            start = time.perf_counter()
            g2p.predict_batch(words, beam_size=beam)
            cells.append(f"{len(words) / (time.perf_counter() - start):.0f}")
        rows.append([f"{name} ({g2p.model.config['kind']})"] + cells)
    print()
    print(common.markdown_table(["decoding 1,000 test words", "greedy words/s", "beam 5 words/s"], rows))


if __name__ == "__main__":
    main()
