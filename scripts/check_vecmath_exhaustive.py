"""Checks a vectorised float32 function on every one of the 2^32 float bit patterns.

    PYSEQ_CPU_LEVEL=avx2 python scripts/check_vecmath_exhaustive.py tanh     (a few minutes)

Names: exp, log, tanh, sigmoid, gelu_tanh, gelu_erf (its reference needs scipy).

Prints the largest relative error against float64 numpy where the result is a normal float, and
how many other inputs (inf, NaN, zero, subnormal results) differ from the float64 result rounded
to float32 by more than one subnormal unit. tests/test_vecmath.py samples the same properties.
"""

import sys

import numpy as np

import pyseq


def gelu_erf(d):  # x Phi(x) = x erfc(-x / sqrt 2) / 2 (scipy's erfc: no cancellation for x < 0)
    from scipy.special import erfc
    return d * erfc(-d / np.sqrt(2)) / 2


REFERENCES = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": lambda d: 1 / (1 + np.exp(-d)),
              "gelu_tanh": lambda d: d / (1 + np.exp(-2 * 0.7978845608028654 * (d + 0.044715 * d**3))),
              "gelu_erf": gelu_erf}

name = sys.argv[1] if len(sys.argv) > 1 else "tanh"
reference = REFERENCES[name]
worst, worst_x, special_mismatches = 0.0, None, 0
chunk = 1 << 24
with np.errstate(all="ignore"):
    for c in range((1 << 32) // chunk):
        x = np.arange(c * chunk, (c + 1) * chunk, dtype=np.uint64).astype(np.uint32).view(np.float32)
        y = pyseq._core._testing.vecmath(name, pyseq.from_numpy(x)).numpy()
        r = reference(x.astype(np.float64))
        r32 = r.astype(np.float32)
        normal = np.isfinite(r32) & (np.abs(r32) >= np.finfo(np.float32).tiny)
        rel = np.abs(y[normal] - r[normal]) / np.abs(r[normal])
        if rel.size and rel.max() > worst:
            worst, worst_x = float(rel.max()), float(x[normal][rel.argmax()])
        rest = ~normal
        ys, rs = y[rest], r32[rest]
        same = (ys == rs) | (np.isnan(ys) & np.isnan(rs)) | (np.abs(ys - rs) <= 1.5e-45)
        special_mismatches += int((~same).sum())
print(f"{pyseq._core.cpu_level()} {name}: max relative error {worst:.3e} (at x = {worst_x!r}), "
      f"special-value mismatches {special_mismatches}")
