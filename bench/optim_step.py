"""Optimizer steps and gradient clipping over many parameters: pyseq.optim vs torch.optim.

    python bench/optim_step.py [--threads N] [--repeat R] [--quick]

Each case builds the same parameters and gradients (numpy, float32) in both libraries, in one
process with the same thread count, and times `optimizer.step()` (the gradients stay fixed, so
every timed step does the same work) or `clip_grad_norm_` (max_norm large enough that the
gradients keep their values from call to call). Cases: a parameter group of 200 small tensors
shaped like the layers of a small BERT ((64,), (64, 64), (256, 64), (64, 256)), and a group of 4
large ones ((1024, 1024)), and 200 tiny ones ((64,): the cost of a step is then all in the calls
around the arithmetic). torch runs with its default implementation on CPU (foreach=None:
one tensor at a time) and with foreach=True (its multi-tensor path).

The column "pyseq, one call per parameter" runs the per-parameter fused kernels
(`pyseq._core.adam_step` / `sgd_step`) from a Python loop, as pyseq's optimizers did before their
step became one C++ call per parameter group; it is a lower bound of that old step's time (the old
step also looked up each parameter's state in Python).
Prints a markdown table of medians (milliseconds) and the ratio pyseq / torch (default).
"""

import argparse
import os
import platform
import sys
import time

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed calls per case (default 60, --quick 10)")
parser.add_argument("--quick", action="store_true", help="fewer repeats (a few seconds)")
args = parser.parse_args()
repeat = args.repeat or (10 if args.quick else 60)
rounds = 1 if args.quick else 3
WARMUP = 3

common.pin_blas_threads(args.threads)  # before numpy is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402
from pyseq import _core, optim as poptim  # noqa: E402
from pyseq.nn.utils import clip_grad_norm_  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)

SMALL_SHAPES = [(64,), (64, 64), (256, 64), (64, 256)]  # a small BERT's biases / norms, attention, MLP


def small_shapes(count=200):
    return [SMALL_SHAPES[i % len(SMALL_SHAPES)] for i in range(count)]


def make_params(shapes, seed=0):
    """(pyseq params, torch params), equal values, each with a gradient set."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in shapes:
        w = rng.standard_normal(shape).astype(np.float32)
        g = (0.01 * rng.standard_normal(shape)).astype(np.float32)
        p = pyseq.tensor(w, requires_grad=True)
        p.grad = pyseq.tensor(g)
        t = torch.tensor(w, requires_grad=True)
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


OPTIMIZERS = {
    "Adam": (dict(lr=1e-3), "adam"),
    "AdamW": (dict(lr=1e-3, weight_decay=0.01), "adam"),
    "SGD-momentum": (dict(lr=1e-2, momentum=0.9), "sgd"),
}


def per_parameter_loop(kind, opt):
    """The old step: one fused C++ call per parameter from Python (the state already exists)."""
    group = opt.param_groups[0]
    params = [p for p in group["params"] if p.grad is not None]
    states = [opt.state[p] for p in params]

    def run():
        for p, s in zip(params, states):
            s["step"] += 1
            if kind == "adam":
                beta1, beta2 = group["betas"]
                _core.adam_step(p, p.grad, s["exp_avg"], s["exp_avg_sq"], None, s["step"], group["lr"], beta1,
                                beta2, group["eps"], group["weight_decay"], False,
                                group.get("decoupled_weight_decay", False), False)
            else:
                _core.sgd_step(p, p.grad, s["momentum_buffer"], s["step"], group["lr"], group["momentum"],
                               group["dampening"], group["weight_decay"], group["nesterov"], False)
    return run


def optimizer_case(name, shapes):
    options, kind = OPTIMIZERS[name]
    ours, theirs = make_params(shapes)
    cls = "SGD" if kind == "sgd" else name
    opt = getattr(poptim, cls)(ours, **options)
    ref = getattr(torch.optim, cls)(theirs, **options)
    ref_foreach = getattr(torch.optim, cls)(make_params(shapes)[1], **options, foreach=True)
    opt.step()  # creates the state, so that the per-parameter loop finds it
    fns = {"torch": ref.step, "torch foreach": ref_foreach.step, "pyseq": opt.step,
           "pyseq loop": per_parameter_loop(kind, opt)}
    return common.time_interleaved(fns, repeat, warmup=WARMUP, rounds=rounds)


def clip_case(shapes):
    ours, theirs = make_params(shapes)
    _, theirs_foreach = make_params(shapes)
    fns = {"torch": lambda: torch.nn.utils.clip_grad_norm_(theirs, 1e9),
           "torch foreach": lambda: torch.nn.utils.clip_grad_norm_(theirs_foreach, 1e9, foreach=True),
           "pyseq": lambda: clip_grad_norm_(ours, 1e9)}
    return common.time_interleaved(fns, repeat, warmup=WARMUP, rounds=rounds)


def main():
    t0 = time.perf_counter()
    busy = common.cpu_busy_now()
    print(f"# Optimizer step and clip_grad_norm_: pyseq vs torch ({'quick' if args.quick else 'full'} run)\n")
    print(f"- CPU: {common.cpu_name()}; {os.cpu_count()} logical cores visible; python {platform.python_version()}; "
          f"torch {torch.__version__}")
    print(f"- threads: pyseq {pyseq.get_num_threads()}, torch {torch.get_num_threads()}; medians of {repeat} calls "
          f"in {rounds} interleaved rounds")
    print(f"- CPU use by other processes before the run: {100 * busy:.0f}%\n" if busy is not None else "")
    small, large = small_shapes(), [(1024, 1024)] * 4
    cases = [(f"{name}, 200 small params", lambda n=name: optimizer_case(n, small)) for name in OPTIMIZERS]
    cases += [(f"{name}, 200 x (64,)", lambda n=name: optimizer_case(n, [(64,)] * 200)) for name in OPTIMIZERS]
    cases += [(f"{name}, 4 x (1024, 1024)", lambda n=name: optimizer_case(n, large)) for name in OPTIMIZERS]
    cases += [("clip_grad_norm_, 200 small grads", lambda: clip_case(small)),
              ("clip_grad_norm_, 4 x (1024, 1024)", lambda: clip_case(large))]
    start = common.cpu_snapshot()
    rows = []
    for label, run in cases:
        t = run()
        loop = t.get("pyseq loop")
        rows.append([label, f"{1e3 * t['torch']:.3f}", f"{1e3 * t['torch foreach']:.3f}",
                     "-" if loop is None else f"{1e3 * loop:.3f}", f"{1e3 * t['pyseq']:.3f}",
                     common.ratio_text(t["pyseq"], t["torch"])])
        print(f"  done: {label}", file=sys.stderr, flush=True)
    print(common.markdown_table(["case", "torch ms", "torch foreach ms", "pyseq, one call per parameter ms",
                                 "pyseq ms", "pyseq/torch"], rows))
    busy_during = common.other_cpu_use(start)
    if busy_during is not None:
        print(f"\nCPU use by other processes during the run: {100 * busy_during:.0f}%")
    print(f"\n(total {time.perf_counter() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
