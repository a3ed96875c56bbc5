"""Helpers that several test files share (conftest.py puts this folder on sys.path, so a test file
imports them with `from helpers import ...`).

Random non-contiguous inputs with an "index map" (test_views.py, test_copy.py, test_index.py,
test_reduce.py): the same chain of view ops applied to np.arange(base.numel()).reshape(base.shape)
gives, for each element of the view, the flat position of the base element it aliases. Values are
then checked as base_values[map], and a write through the view must land exactly at
base.numpy().ravel()[map]. Every randomized case is drawn from a seeded numpy Generator, so a
failure reproduces; the inputs are deliberately non-contiguous (transposed, permuted, sliced with
steps, expanded) and include size-0 and size-1 dims and 0-d tensors.
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import pyseq
from pyseq.nn import functional as F

N_CASES = 40


def ones(*shape, dtype=None):
    return pyseq.ones(*shape, dtype=dtype)


def _lib(lib):
    """pyseq.nn.functional for pyseq, torch.nn.functional for torch: one call that works on both."""
    return F if lib is pyseq else lib.nn.functional


# --------------------------------------------------------------------------------------------
# random non-contiguous inputs and their index maps
# --------------------------------------------------------------------------------------------

def random_shape(rng, ndim, sizes=(1, 1, 2, 2, 3, 3, 4, 4), p_zero=0.05):
    """`ndim` sizes from `sizes`, each 0 with probability p_zero."""
    return tuple(0 if rng.random() < p_zero else int(rng.choice(sizes)) for _ in range(ndim))


def make_base(rng, shape):
    """A contiguous float32 pyseq tensor with distinct values, and a numpy copy of them."""
    n = int(np.prod(shape, dtype=np.int64))
    values = (rng.permutation(n).astype(np.float32) + 1.0).reshape(shape)
    base = pyseq.tensor(values)
    assert base.dtype == pyseq.float32 and base.shape == shape
    return base, values


def np_expand(a, sizes):
    """numpy equivalent of Tensor.expand(*sizes) that stays a (writable) view of `a`."""
    lead = len(sizes) - a.ndim
    target = tuple(a.shape[d - lead] if (d >= lead and s == -1) else s for d, s in enumerate(sizes))
    b = np.broadcast_to(a, target)
    return as_strided(a, shape=b.shape, strides=b.strides)


def _prefix(dim, item):
    return (slice(None),) * dim + (item, Ellipsis)


# A pre-transform is a list of steps making the input of an op non-contiguous.
def random_noncontiguous_steps(rng, base_shape):
    """1-3 random steps (slice with steps, transpose, permute, expand) to apply to a base of base_shape."""
    shape = base_shape
    steps = []
    for _ in range(int(rng.integers(1, 4))):
        n_before = len(steps)
        kind = rng.choice(["slice", "slice", "transpose", "permute", "expand", "none"])
        if kind == "slice" and shape:
            key = []
            for s in shape:
                if rng.random() < 0.05:  # an empty slice
                    start = stop = int(rng.integers(0, s + 1))
                else:
                    start = int(rng.integers(0, s // 2 + 1))
                    stop = int(rng.integers(min(start + 1, s), s + 2))
                key.append(slice(start, stop, int(rng.integers(1, 4))))
            steps.append(("slice", tuple(key)))
        elif kind == "transpose" and len(shape) >= 2:
            d0, d1 = rng.choice(len(shape), size=2, replace=False)
            steps.append(("transpose", int(d0), int(d1)))
        elif kind == "permute" and len(shape) >= 2:
            steps.append(("permute", tuple(int(d) for d in rng.permutation(len(shape)))))
        elif kind == "expand":
            sizes = tuple(int(rng.integers(0, 4)) if s == 1 else s for s in shape)
            if rng.random() < 0.3:
                sizes = (int(rng.integers(1, 3)),) + sizes
            steps.append(("expand", sizes))
        if len(steps) > n_before:
            shape = apply_steps_np(np.empty(shape, dtype=np.int8), steps[-1:]).shape
    return steps


def apply_steps_ps(x, steps):
    for step in steps:
        if step[0] == "slice":
            x = x[step[1]]
        elif step[0] == "transpose":
            x = x.transpose(step[1], step[2])
        elif step[0] == "permute":
            x = x.permute(*step[1])
        elif step[0] == "expand":
            x = x.expand(*step[1])
    return x


def apply_steps_np(a, steps):
    for step in steps:
        if step[0] == "slice":
            a = a[step[1]]
        elif step[0] == "transpose":
            a = np.swapaxes(a, step[1], step[2])
        elif step[0] == "permute":
            a = np.transpose(a, step[1])
        elif step[0] == "expand":
            a = np_expand(a, step[1])
    return a


def random_input(rng, max_ndim=4):
    """(base tensor, base values, steps, non-contiguous tensor, its index map)."""
    ndim = int(rng.integers(1, max_ndim + 1)) if rng.random() < 0.92 else 0
    base_shape = random_shape(rng, ndim)
    base, values = make_base(rng, base_shape)
    steps = random_noncontiguous_steps(rng, base_shape)
    x = apply_steps_ps(base, steps)
    imap = apply_steps_np(np.arange(values.size).reshape(base_shape), steps)
    return base, values, steps, x, imap


def effective_strides(t, strides=None):
    """Strides that matter: those of dims with more than one element (None for the others, and for
    every dim of an empty tensor, whose strides are arbitrary)."""
    shape = tuple(t) if strides is not None else tuple(t.shape)
    strides = tuple(strides) if strides is not None else tuple(t.stride())
    if 0 in shape:
        return (None,) * len(shape)
    return tuple(st if sz > 1 else None for sz, st in zip(shape, strides))


def check_values(t, values, imap):
    imap = np.asarray(imap)
    assert t.shape == imap.shape
    np.testing.assert_array_equal(t.numpy(), values.ravel()[imap])


# --------------------------------------------------------------------------------------------
# operands of broadcasting ops
# --------------------------------------------------------------------------------------------

def random_operand(rng, shape, kind="normal", dtype=np.float32):
    """(pyseq tensor, numpy values) of `shape`, built non-contiguous in one of several ways."""
    shape = tuple(shape)
    if kind == "normal":
        vals = rng.standard_normal(shape).astype(dtype)
    elif kind == "positive":
        vals = rng.uniform(0.5, 2.0, shape).astype(dtype)
    elif kind == "nonzero":
        vals = (rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)
    elif kind == "exponent":
        vals = rng.uniform(-2.0, 2.0, shape).astype(dtype)
    else:  # "small_int": many ties for comparisons
        vals = rng.integers(-2, 3, shape).astype(dtype)
    how = rng.choice(["contiguous", "permuted", "strided", "expanded"])
    if how == "permuted" and len(shape) >= 2:
        perm = rng.permutation(len(shape))
        inv = np.argsort(perm)
        stored = np.ascontiguousarray(np.transpose(vals, perm))
        t = pyseq.tensor(stored).permute(*[int(i) for i in inv])
    elif how == "strided" and len(shape) >= 1:
        big = np.zeros(tuple(2 * s + 1 for s in shape), dtype=dtype)
        big[tuple(slice(1, None, 2) for _ in shape)] = vals
        t = pyseq.tensor(big)[tuple(slice(1, None, 2) for _ in shape)]
    elif how == "expanded" and len(shape) >= 1:
        # a dim of size > 1 made by expanding a size-1 dim: the values repeat along it
        d = int(rng.integers(0, len(shape)))
        small = vals[_prefix(d, slice(0, 1))].copy()
        vals = np.broadcast_to(small, shape).copy()
        t = pyseq.tensor(small).expand(*shape)
    else:
        t = pyseq.tensor(vals)
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), vals)
    return t, vals


def random_broadcast_shapes(rng, n=2):
    out = random_shape(rng, int(rng.integers(0, 5)), sizes=(0, 1, 2, 3, 4, 4))
    shapes = []
    for _ in range(n):
        s = list(out[int(rng.integers(0, len(out) + 1)):])
        s = [1 if rng.random() < 0.35 else d for d in s]
        if rng.random() < 0.2:  # extra leading 1s
            s = [1] * int(rng.integers(1, 3)) + s
        shapes.append(tuple(s))
    return shapes


def run_in_subprocess(code, cwd, timeout=120):
    """Runs `code` in a fresh interpreter (where a crash cannot take the test run down) from `cwd`
    (a temporary directory, so that it imports the installed pyseq, not the source folder) and
    checks that it exited cleanly, printing 'ok'."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert r.returncode == 0 and r.stdout.strip() == "ok", f"exit code {r.returncode}\n{r.stderr[-2000:]}"


def package_dir(name):
    """The folder of an installed asset package (../shared/ASSETS.md), found without importing it;
    skips the test when it is missing."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"asset package {name!r} is not installed")
    return spec.submodule_search_locations[0]
