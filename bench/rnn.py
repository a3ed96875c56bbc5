"""Recurrent layers: pyseq's nn.LSTM / nn.GRU against torch.nn's, same weights, data and threads.

    python bench/rnn.py [--threads N] [--repeat R] [--only pyseq|torch] [--case TEXT]

Cases (float32, time-major input): LSTM and GRU with 2 layers, input 256, hidden 512, batch 32,
64 steps, forward under no_grad and forward + backward (the gradient of output.sum()); and the
latency case, LSTM 1 layer, input 128, hidden 128, batch 1, 64 steps. Both libraries run in one
process, timed in turns (common.time_interleaved), and the table gives medians and the ratio
(the batch-1 cases over 50 times as many calls).
--only times one library alone (one process per library, to confirm a ratio without the other's
worker threads around).
"""

import argparse

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=9, help="timed calls per case (default 9)")
parser.add_argument("--only", choices=["pyseq", "torch"], help="time one library alone")
parser.add_argument("--case", default="", help="run only the cases whose name contains this text")
args = parser.parse_args()
common.pin_blas_threads(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402
from pyseq import nn as pnn  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)

# (name, kind, layers, input, hidden, batch, steps, with backward)
CASES = [(f"{kind} 2 layers, I256 H512 B32 T64, {what}", kind, 2, 256, 512, 32, 64, what == "fwd+bwd")
         for kind in ("LSTM", "GRU") for what in ("fwd", "fwd+bwd")]
CASES += [(f"LSTM 1 layer, I128 H128 B1 T64, {what}", "LSTM", 1, 128, 128, 1, 64, what == "fwd+bwd")
          for what in ("fwd", "fwd+bwd")]


def runner(module, x, backward, lib):
    grad_off = torch.no_grad if lib == "torch" else pyseq.no_grad

    def forward():
        with grad_off():
            module(x)

    def forward_backward():
        out = module(x)[0]
        out.sum().backward()
        for p in module.parameters():
            p.grad = None
    return forward_backward if backward else forward


def main():
    rows = []
    for name, kind, layers, I, H, B, T, backward in CASES:
        if args.case not in name:
            continue
        torch.manual_seed(0)
        theirs = getattr(torch.nn, kind)(I, H, num_layers=layers)
        ours = getattr(pnn, kind)(I, H, num_layers=layers)
        ours.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
        x = np.random.default_rng(T).standard_normal((T, B, I)).astype(np.float32)
        fns = {"torch": runner(theirs, torch.from_numpy(x), backward, "torch"),
               "pyseq": runner(ours, pyseq.tensor(x), backward, "pyseq")}
        if args.only:
            fns = {args.only: fns[args.only]}
        # a case under a millisecond gets 50 times the calls: a few calls right after the settling
        # pause would time a cold cache and a CPU still clocking up
        times = common.time_interleaved(fns, args.repeat * (50 if B == 1 else 1))
        ms = {lib: f"{t * 1e3:.2f}" for lib, t in times.items()}
        ratio = common.ratio_text(times["pyseq"], times["torch"]) if len(times) == 2 else "-"
        rows.append([name, ms.get("torch", "-"), ms.get("pyseq", "-"), ratio])
    print(f"- CPU: {common.cpu_name()}; pyseq level {pyseq.cpu_level()}; threads {args.threads}; float32; "
          f"medians of {args.repeat} calls, interleaved; torch {torch.__version__}")
    print(common.markdown_table(["case", "torch ms", "pyseq ms", "pyseq/torch"], rows))


if __name__ == "__main__":
    main()
