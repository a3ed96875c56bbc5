"""The counter-based random generator (cpp/include/pyseq/random.h, cpp/src/tensor/random.cpp):
Philox-4x32-10, seeding and state, thread-count independence, and the distributions it serves."""

import numpy as np
import pytest

import pyseq
from pyseq import nn


def test_philox_known_answers():
    # Known-answer vectors of Random123's philox4x32_10 (kat_vectors: ctr, key -> output)
    philox = pyseq._core._testing.philox
    assert [hex(w) for w in philox(0, 0, 0)] == ["0x6627e8d5", "0xe169c58d", "0xbc57ac4c", "0x9b00dbd8"]
    ctr = [0xFFFFFFFF] * 4
    key = (0xFFFFFFFF << 32) | 0xFFFFFFFF
    assert [hex(w) for w in philox(key, (ctr[1] << 32) | ctr[0], (ctr[3] << 32) | ctr[2])] == [
        "0x408f276d", "0x41c83b0e", "0xa20bc7c6", "0x6d5451fd"]
    ctr = [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344]
    key = (0x299F31D0 << 32) | 0xA4093822
    assert [hex(w) for w in philox(key, (ctr[1] << 32) | ctr[0], (ctr[3] << 32) | ctr[2])] == [
        "0xd16cfe09", "0x94fdcceb", "0x5001e420", "0x24126ea1"]


def _draws():
    """One of each random op, in a fixed order."""
    out = [pyseq.rand(1000), pyseq.randn(999, dtype=pyseq.float64), pyseq.randint(-5, 17, (333,)),
           pyseq.nn.functional.dropout(pyseq.ones(100003), 0.3, training=True)]
    w = pyseq.empty(64, 33)
    nn.init.xavier_uniform_(w)
    out.append(w)
    out.append(pyseq.empty(7, 9).normal_(1.0, 2.0))
    return [t.numpy().copy() for t in out]


def test_same_seed_same_values_whatever_the_thread_count():
    before = pyseq.get_num_threads()
    try:
        runs = []
        for threads in (1, 2, 1, 2):
            pyseq.set_num_threads(threads)
            pyseq.manual_seed(1234)
            runs.append(_draws())
        for run in runs[1:]:
            for a, b in zip(runs[0], run):
                np.testing.assert_array_equal(a, b)
    finally:
        pyseq.set_num_threads(before)


def test_large_fills_split_across_threads_match_one_thread():
    before = pyseq.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            pyseq.set_num_threads(threads)
            pyseq.manual_seed(7)
            results.append([pyseq.randn(1 << 20).numpy().copy(), pyseq.rand(300001, dtype=pyseq.float64).numpy().copy()])
        for a, b in zip(*results):
            np.testing.assert_array_equal(a, b)
    finally:
        pyseq.set_num_threads(before)


def test_rng_state_round_trip_and_seed():
    pyseq.manual_seed(99)
    assert pyseq.initial_seed() == 99
    pyseq.rand(10)
    state = pyseq.get_rng_state()
    assert state.dtype == pyseq.int64 and state.shape == (2,)
    a = pyseq.randn(50).numpy().copy()
    b = pyseq.randn(50).numpy().copy()
    pyseq.set_rng_state(state)
    np.testing.assert_array_equal(pyseq.randn(50).numpy(), a)
    np.testing.assert_array_equal(pyseq.randn(50).numpy(), b)
    assert not np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"shape \[2\]"):
        pyseq.set_rng_state(pyseq.zeros(3, dtype=pyseq.int64))


def test_consecutive_draws_do_not_overlap():
    pyseq.manual_seed(3)
    a, b = pyseq.rand(5).numpy(), pyseq.rand(5).numpy()  # 5 floats use two blocks: b starts after them
    assert len(set(a.tolist()) | set(b.tolist())) == 10


def test_distributions():
    pyseq.manual_seed(0)
    n = 400_000
    u = pyseq.rand(n).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 3e-3 and abs(u.var() - 1 / 12) < 2e-3
    for dtype in (pyseq.float32, pyseq.float64):
        z = pyseq.randn(n, dtype=dtype).numpy().astype(np.float64)
        assert abs(z.mean()) < 1e-2 and abs(z.std() - 1) < 1e-2
        assert abs(np.mean(z ** 3)) < 2e-2 and abs(np.mean(z ** 4) - 3) < 5e-2  # skew 0, kurtosis 3
        assert abs(np.mean(z[:-1] * z[1:])) < 1e-2  # neighbours (a Box-Muller pair) uncorrelated
    k = pyseq.randint(-3, 4, (n,)).numpy()
    assert k.min() == -3 and k.max() == 3
    np.testing.assert_allclose(np.bincount(k + 3) / n, np.full(7, 1 / 7), atol=3e-3)
    kept = pyseq.nn.functional.dropout(pyseq.ones(n), 0.25, training=True).numpy()
    assert set(np.unique(kept).tolist()) <= {0.0, np.float32(1 / 0.75)}
    assert abs((kept == 0).mean() - 0.25) < 3e-3
