"""The GEMM kernel on every instruction-set path this CPU has (forced by PYSEQ_CPU_LEVEL),
against the naive reference kernel kept beside it and against numpy."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pyseq

# Each case: (M, N, K, trans_a, trans_b, alpha, beta); odd sizes, tile edges, zero-size dims,
# a K larger than one cache block, and the few-rows path (M <= 4).
CASES = [
    (1, 1, 1, False, False, 1.0, 0.0), (7, 13, 5, False, False, 1.0, 0.0), (6, 16, 9, True, False, 2.0, 0.5),
    (13, 33, 300, False, True, 1.0, 1.0), (65, 129, 257, True, True, -1.5, 0.25), (3, 70, 40, False, False, 1.0, 0.0),
    (4, 100, 33, False, True, 0.5, 2.0), (2, 39, 70, False, True, 1.0, 0.5), (2, 3, 0, False, False, 1.0, 0.5),
    (0, 5, 3, False, False, 1.0, 0.0),
    (200, 3, 17, False, False, 1.0, 0.0), (97, 250, 600, False, False, 1.0, 0.0),
    # Threaded: C split by columns over two blocks of N and three of K; split by rows, transposed A.
    (20, 2100, 600, False, False, 1.0, 0.5), (20, 2100, 300, True, True, 1.0, 0.0),
    (300, 40, 520, True, False, 1.0, 1.0),
    # Operands read in place (few rows of C, or few columns) with ragged edges, and packed ones.
    (16, 64, 64, False, False, 1.0, 0.0), (17, 70, 33, True, False, 1.0, 0.0), (50, 37, 129, False, True, 1.0, 1.0),
    (64, 48, 300, False, False, 1.0, 0.0), (31, 1000, 100, True, False, 1.0, 0.0),
    # A few rows times a row-major B on two threads: K split between them, partial rows summed.
    (3, 300, 1000, False, False, 0.5, 2.0), (1, 1536, 384, False, False, 1.0, 0.0),
    # Up to 16 rows times a B stored (N, K): tiles of rows of A by four rows of B, with ragged
    # edges (rows, columns, and a K shorter than one vector or with a tail).
    (16, 70, 100, False, True, 1.0, 0.5), (7, 5, 3, False, True, 1.0, 0.0), (11, 130, 520, False, True, -1.0, 1.0),
]

SCRIPT = r"""
import json, sys
import numpy as np
import pyseq
rng = np.random.default_rng(0)
out = {"level": pyseq._core.cpu_level(), "errors": []}
for dtype in (np.float32, np.float64):
    for (M, N, K, ta, tb, alpha, beta) in json.loads(sys.argv[1]):
        # Every operand is a slice of a wider array: its rows are further apart than its width.
        a = rng.standard_normal((K, M + 3) if ta else (M, K + 3)).astype(dtype)[:, :-3]
        b = rng.standard_normal((N, K + 5) if tb else (K, N + 5)).astype(dtype)[:, :-5]
        c0 = rng.standard_normal((M, N + 1)).astype(dtype)
        fast, ref = pyseq.from_numpy(c0.copy())[:, :N], pyseq.from_numpy(c0.copy())[:, :N]
        c0 = c0[:, :N]
        a_t = pyseq.from_numpy(a.base)[:, : a.shape[1]]
        b_t = pyseq.from_numpy(b.base)[:, : b.shape[1]]
        pyseq._core._testing.gemm(ta, tb, alpha, a_t, b_t, beta, fast, False)
        pyseq._core._testing.gemm(ta, tb, alpha, a_t, b_t, beta, ref, True)
        expect = alpha * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b)) + beta * c0
        scale = 1 + np.abs(expect).max(initial=0)
        out["errors"].append([float(np.abs(fast.numpy() - ref.numpy()).max(initial=0) / scale),
                              float(np.abs(fast.numpy() - expect).max(initial=0) / scale)])
print(json.dumps(out))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_gemm_path_matches_reference(at_cpu_level, level):
    result = at_cpu_level(level, SCRIPT, json.dumps(CASES))
    for case, (vs_reference, vs_float64) in zip(CASES * 2, result["errors"]):
        assert vs_reference < 1e-5 and vs_float64 < 1e-5, (case, vs_reference, vs_float64)


def test_gemm_int64_is_exact():
    rng = np.random.default_rng(1)
    a, b = rng.integers(-9, 9, (37, 23)), rng.integers(-9, 9, (23, 41))
    c = pyseq.zeros(37, 41, dtype=pyseq.int64)
    pyseq._core._testing.gemm(False, False, 1.0, pyseq.tensor(a), pyseq.tensor(b), 0.0, c)
    np.testing.assert_array_equal(c.numpy(), a @ b)


def test_beta_zero_ignores_nan_in_the_output():
    c = pyseq.full((5, 7), float("nan"))
    pyseq._core._testing.gemm(False, False, 1.0, pyseq.ones(5, 3), pyseq.ones(3, 7), 0.0, c)
    assert c.tolist() == [[3.0] * 7] * 5


def test_unknown_level_names_are_ignored(tmp_path):
    env = dict(os.environ, PYSEQ_CPU_LEVEL="sse9")
    run = subprocess.run([sys.executable, "-c", "import pyseq; print(pyseq._core.cpu_level())"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == pyseq._core.cpu_level()
