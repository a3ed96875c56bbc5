"""Scaled dot-product attention: pyseq's fused kernel vs torch.nn.functional's, and peak memory.

    python bench/attention.py [--threads N] [--repeat R] [--quick]

Times forward and forward + backward of scaled_dot_product_attention (float32) in pyseq (the fused
kernel) and torch, in one process on the same numpy data and thread count, interleaved: causal
B1 H8 T2048 d64, a padding mask at B32 H12 T128 d32 (MiniLM's shape), B2 H8 T1024 d64; and a
TransformerEncoderLayer (d 256, 4 heads, ffn 1024) on B16 T128 with torch's weights loaded.
Prints medians and ratios. Then the peak extra memory of one causal forward + backward (batch 1,
1 head, d 64) at T = 1024, 4096, 16384: each measured in a fresh process as the growth of its
peak resident set (VmHWM) from just before the forward (the inputs exist) to after the backward, for the fused and the plain
path (the plain path stores the (T, T) weights: 1 GB at T = 16384 in float32).
"""

import argparse
import os
import subprocess
import sys
import textwrap

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed calls per case (default 9, --quick 3)")
parser.add_argument("--quick", action="store_true", help="fewer repeats, memory up to T = 4096")
args = parser.parse_args()
repeat = args.repeat or (3 if args.quick else 9)
common.pin_blas_threads(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pyseq  # noqa: E402
from pyseq import nn as pnn  # noqa: E402
from pyseq.nn import functional as F  # noqa: E402

torch.set_num_threads(args.threads)
pyseq.set_num_threads(args.threads)


def _fwd_bwd(fn, inputs, g):
    def run():
        out = fn(*inputs)
        out.backward(g)
        for t in inputs:
            t.grad = None
    return run


def attention_rows():
    # (name, B, H, T, d, causal, padding mask): the cases; B32 H12 T128 d32 is MiniLM's shape
    cases = [("causal B1 H8 T2048 d64", 1, 8, 2048, 64, True, False),
             ("padding mask B32 H12 T128 d32", 32, 12, 128, 32, False, True),
             ("B2 H8 T1024 d64", 2, 8, 1024, 64, False, False)]
    rows = []
    for name, B, H, T, d, causal, padded in cases:
        rng = np.random.default_rng(T)
        arrays = [rng.standard_normal((B, H, T, d)).astype(np.float32) for _ in range(3)]
        upstream = rng.standard_normal((B, H, T, d)).astype(np.float32)
        keep = np.ones((B, 1, 1, T), dtype=bool)
        if padded:  # each sequence keeps a random length of at least T / 4
            for b, length in enumerate(rng.integers(T // 4, T + 1, B)):
                keep[b, ..., length:] = False
        ours = [pyseq.from_numpy(a).detach().requires_grad_() for a in arrays]
        theirs = [torch.from_numpy(a).requires_grad_() for a in arrays]
        mask_p, mask_t = (pyseq.from_numpy(keep), torch.from_numpy(keep)) if padded else (None, None)
        ours_fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask_p, is_causal=causal)  # noqa
        torch_fn = lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(  # noqa: E731
            q, k, v, attn_mask=mask_t, is_causal=causal)
        with pyseq.no_grad(), torch.no_grad():
            forward = common.time_interleaved({"torch": lambda: torch_fn(*theirs), "pyseq": lambda: ours_fn(*ours)},
                                              repeat)
        both = common.time_interleaved({"torch": _fwd_bwd(torch_fn, theirs, torch.from_numpy(upstream)),
                                        "pyseq": _fwd_bwd(ours_fn, ours, pyseq.from_numpy(upstream))}, repeat)
        for what, t in (("forward", forward), ("forward + backward", both)):
            rows.append([f"attention {name}, {what}", f"{1e3 * t['torch']:.1f}", f"{1e3 * t['pyseq']:.1f}",
                         f"{t['pyseq'] / t['torch']:.2f}"])
    return rows


def encoder_layer_rows():
    # TransformerEncoderLayer d256 h4 (ffn 1024) on B16 T128, forward + backward, torch's weights loaded
    rng = np.random.default_rng(0)
    theirs = torch.nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
    ours = pnn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
    ours.load_state_dict({k: pyseq.from_numpy(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((16, 128, 256)).astype(np.float32)
    g = rng.standard_normal((16, 128, 256)).astype(np.float32)
    xp, xt = pyseq.from_numpy(x).detach().requires_grad_(), torch.from_numpy(x).requires_grad_()
    t = common.time_interleaved({"torch": _fwd_bwd(theirs, [xt], torch.from_numpy(g)),
                                 "pyseq": _fwd_bwd(ours, [xp], pyseq.from_numpy(g))}, repeat)
    return [["TransformerEncoderLayer d256 h4 B16 T128, forward + backward", f"{1e3 * t['torch']:.1f}",
             f"{1e3 * t['pyseq']:.1f}", f"{t['pyseq'] / t['torch']:.2f}"]]


MEMORY_CHILD = textwrap.dedent("""
    import sys
    import numpy as np

    def peak_mb():  # this process's peak resident set (VmHWM; ru_maxrss would carry the parent's over exec)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

    path, T = sys.argv[1], int(sys.argv[2])
    import pyseq
    from pyseq.nn import functional as F
    pyseq._core.set_allocator_caching(False)
    rng = np.random.default_rng(0)
    q, k, v, g = (pyseq.from_numpy(rng.standard_normal((1, 1, T, 64)).astype(np.float32)) for _ in range(4))
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
    before = peak_mb()
    if path == "fused":
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:
        out = F.attention_with_weights(q, k, v, is_causal=True)[0]
    out.backward(g)
    print(f"{peak_mb() - before:.1f}")
""")


def memory_rows():
    rows = []
    for T in ([1024, 4096] if args.quick else [1024, 4096, 16384]):
        cells = [f"T={T}", f"{4 * T * 64 * 7 / 2**20:.1f}"]  # q, k, v, out, and their three gradients
        for path in ("fused", "plain"):
            r = subprocess.run([sys.executable, "-c", MEMORY_CHILD, path, str(T)], capture_output=True, text=True,
                               env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)))
            cells.append(r.stdout.strip() if r.returncode == 0 else f"failed ({r.stderr.strip()[-60:]})")
        cells.append(f"{4 * T * T / 2**20:.0f}")
        rows.append(cells)
    return rows


def main():
    print(f"# scaled_dot_product_attention: pyseq vs torch ({'quick' if args.quick else 'full'} run)\n")
    print(f"- CPU: {common.cpu_name()}; threads {args.threads}; float32; medians of {repeat} calls, interleaved; "
          f"ratio = pyseq / torch\n")
    print(common.markdown_table(["case", "torch ms", "pyseq ms", "pyseq/torch"],
                                attention_rows() + encoder_layer_rows()))
    print("\n## Peak extra memory of one causal forward + backward (MB; batch 1, 1 head, d 64, float32)\n")
    print(common.markdown_table(["T", "inputs, output, gradients", "fused", "plain (weights stored)",
                                 "one (T, T) float32 matrix"], memory_rows()))


main()
