"""Training steps of an MLP and a TextCNN: pyseq.nn + pyseq.optim vs torch.nn + torch.optim.

    python bench/train_step.py [--threads N] [--repeat R] [--quick]

Both libraries build the same model from the same initial weights (torch's init, copied into
pyseq through load_state_dict) and train on the same numpy batches, in one process with the same
thread count. A step is zero_grad, forward, cross-entropy loss, backward and an Adam update.
Before timing, one forward + backward of each is compared: the loss and every gradient must
agree (dropout is switched off for that check only, since the two libraries draw different masks).
Prints a markdown table with the ratio pyseq time / torch time, and pyseq's time with its caching
allocator switched off (every tensor then gets fresh memory from the system), to show what the
cache saves on a step.
"""

import argparse
import contextlib
import os
import platform
import sys
import time

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed steps per case (default 20, --quick 5)")
parser.add_argument("--quick", action="store_true", help="fewer repeats (a few seconds)")
args = parser.parse_args()
repeat = args.repeat or (5 if args.quick else 21)
rounds = 1 if args.quick else 3  # the libraries timed in turns (common.time_interleaved)
WARMUP = 3

common.pin_blas_threads(args.threads)  # before numpy is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402
from pyseq import nn as pnn, optim as poptim  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)


# --- the two models, written once per library -----------------------------------------------------

def mlp(nn, d_in=784, hidden=512, classes=10):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


def textcnn(lib, vocab=10_000, dim=128, filters=100, widths=(2, 3, 4), classes=2, dropout=0.5):
    """Kim (2014): embedding, convolutions of widths 2/3/4, max over time, dropout, linear."""
    nn = lib.nn

    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
            self.convs = nn.ModuleList([nn.Conv1d(dim, filters, k) for k in widths])
            self.dropout = nn.Dropout(dropout)
            self.fc = nn.Linear(filters * len(widths), classes)

        def forward(self, tokens):  # (B, T) int64
            x = self.embedding(tokens).transpose(1, 2)  # (B, dim, T)
            h = [lib.relu(conv(x)).max(dim=-1)[0] for conv in self.convs]  # each (B, filters)
            return self.fc(self.dropout(lib.cat(h, 1)))  # (B, classes)

    return TextCNN()


def build_cases(rng):
    """(name, torch model, pyseq model, numpy inputs, numpy targets) per case."""
    cases = []
    torch.manual_seed(0)
    batch, d_in, classes = 256, 784, 10
    x = rng.standard_normal((batch, d_in), dtype=np.float32)
    y = rng.integers(0, classes, size=batch)
    cases.append((f"MLP {batch}x{d_in}-512-512-{classes}, Adam", mlp(torch.nn), mlp(pnn), x, y))
    batch, length, vocab = 64, 50, 10_000
    tokens = rng.integers(1, vocab, size=(batch, length))
    tokens[:, 40:] = 0  # some padding
    y = rng.integers(0, 2, size=batch)
    cases.append((f"TextCNN B={batch} T={length} V={vocab} d=128 100x(2,3,4), Adam", textcnn(torch),
                   textcnn(pyseq), tokens, y))
    return cases


@contextlib.contextmanager
def allocator_caching_off():
    """pyseq's caching allocator switched off (every tensor gets fresh memory) for a while."""
    pyseq._core.set_allocator_caching(False)
    try:
        yield
    finally:
        pyseq._core.set_allocator_caching(True)


def make_step(lib, model, x, y):
    """One training step of `model` on (x, y) with `lib`'s loss and Adam; returns the loss."""
    inputs, target = lib.from_numpy(x), lib.from_numpy(y)
    loss_fn = lib.nn.CrossEntropyLoss()
    opt = (torch.optim if lib is torch else poptim).Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(inputs), target)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def check(ref, ours, x, y):
    """Forward and backward of each with dropout off: the loss and every gradient must agree
    (largest |difference| relative to the largest |value| of each tensor). Parameters after an
    Adam step are not compared: Adam divides by sqrt(grad^2), so gradients that are zero up to
    rounding can step either way."""
    worst = 0.0
    for model in (ref, ours):
        model.eval()
        model.zero_grad()
    loss_ref = torch.nn.CrossEntropyLoss()(ref(torch.from_numpy(x)), torch.from_numpy(y))
    loss_ours = pnn.CrossEntropyLoss()(ours(pyseq.from_numpy(x)), pyseq.from_numpy(y))
    loss_ref.backward()
    loss_ours.backward()
    worst = abs(loss_ours.item() - loss_ref.item()) / max(abs(loss_ref.item()), 1e-30)
    theirs = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        r = theirs[k].grad.numpy()
        worst = max(worst, float(np.abs(p.grad.numpy() - r).max() / max(np.abs(r).max(), 1e-30)))
    for model in (ref, ours):
        model.train()
        model.zero_grad()
    return f"{'ok' if worst < 1e-4 else 'MISMATCH'} (rel err {worst:.0e})"


def main():
    busy = common.cpu_busy_now()
    start = common.cpu_snapshot()
    print(f"# Training step: pyseq vs torch ({'quick' if args.quick else 'full'} run)\n")
    print(f"- CPU: {common.cpu_name()}; {os.cpu_count()} logical cores visible; python {platform.python_version()}; "
          f"torch {torch.__version__}")
    print(f"- threads: pyseq {pyseq.get_num_threads()}, torch {torch.get_num_threads()}")
    print(f"- a step: zero_grad, forward, cross-entropy, backward, Adam update (lr 1e-3), dropout on; "
          f"median of {-(-repeat // rounds) * rounds} steps in {rounds} round(s) that take the variants in turn, "
          f"{WARMUP} warm-up steps before each turn, in milliseconds")
    print("- both start from the same weights (torch's init copied into pyseq) and use the same numpy batch")
    print("- check: forward + backward with dropout off; largest relative difference of the loss and the gradients")
    print(f"- CPU use by other processes before the run: {_percent(busy)}\n")
    rows = []
    for name, ref, ours, x, y in build_cases(np.random.default_rng(0)):
        ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
        status = check(ref, ours, x, y)
        pyseq_step = make_step(pyseq, ours, x, y)
        t = common.time_interleaved({"torch": make_step(torch, ref, x, y), "pyseq": pyseq_step, "uncached": pyseq_step},
                                    repeat, WARMUP, rounds, around={"uncached": allocator_caching_off})
        t_torch, t_pyseq, t_uncached = t["torch"], t["pyseq"], t["uncached"]
        rows.append([name, f"{t_torch * 1e3:.2f}", f"{t_pyseq * 1e3:.2f}", common.ratio_text(t_pyseq, t_torch),
                     f"{t_uncached * 1e3:.2f}", f"{1 - t_pyseq / t_uncached:.0%}", status])
        print(f"  done: {name}", file=sys.stderr, flush=True)
    print(common.markdown_table(["case", "torch ms", "pyseq ms", "pyseq/torch", "pyseq ms, no caching allocator",
                                 "time the cache saves", "check"], rows))
    busy_during = common.other_cpu_use(start)
    warn = " (WARNING: the machine is busy, timings are unreliable)" if busy_during and busy_during > 0.1 else ""
    print(f"\nCPU use by other processes during the run: {_percent(busy_during)}{warn}")


def _percent(value):
    return "unknown" if value is None else f"{value:.0%}"


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
