"""creation.cpp: zeros, ones, full, arange, eye, empty, zeros_like and the seeded rand, randn, randint."""

import numpy as np

import pyseq


def test_factories_match_numpy():
    assert pyseq.zeros(2, 3).tolist() == np.zeros((2, 3)).tolist()
    assert pyseq.ones((2,), dtype=pyseq.int64).tolist() == [1, 1]
    assert pyseq.full((2, 2), 7).dtype == pyseq.int64
    assert pyseq.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert pyseq.full((1,), True).dtype == pyseq.bool
    assert pyseq.arange(5).tolist() == [0, 1, 2, 3, 4] and pyseq.arange(5).dtype == pyseq.int64
    np.testing.assert_allclose(pyseq.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert pyseq.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert pyseq.eye(2, 3).tolist() == np.eye(2, 3).tolist()
    assert pyseq.zeros(0, 4).shape == (0, 4) and pyseq.zeros(0, 4).numel() == 0
    assert pyseq.empty(3, dtype=pyseq.float64).dtype == pyseq.float64
    assert pyseq.zeros_like(pyseq.ones(2, 2, dtype=pyseq.float64)).dtype == pyseq.float64


def test_random_factories_are_seeded_and_in_range():
    pyseq.manual_seed(7)
    a = pyseq.rand(1000)
    pyseq.manual_seed(7)
    b = pyseq.rand(1000)
    assert a.tolist() == b.tolist()
    assert 0 <= a.min().item() and a.max().item() < 1
    n = pyseq.randn(20000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    r = pyseq.randint(3, 6, (1000,))
    assert r.dtype == pyseq.int64 and set(r.tolist()) == {3, 4, 5}
    assert pyseq.randint(4, (10,)).max().item() < 4


def test_full_of_a_value_int64_cannot_hold_raises():
    import pytest
    for value in (float("nan"), float("inf"), 1e300):
        with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
            pyseq.full((2,), value, dtype=pyseq.int64)
    assert pyseq.full((2,), 2.7, dtype=pyseq.int64).tolist() == [2, 2]  # truncated, as PyTorch


def test_eye_rejects_negative_sizes():
    import pytest
    with pytest.raises(ValueError, match="m=-5"):
        pyseq.eye(3, -5)
    assert pyseq.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_arange_counts_int64_ranges_exactly_and_refuses_a_zero_step():
    import pytest
    assert pyseq.arange(2**63 - 3, 2**63 - 1).tolist() == [2**63 - 3, 2**63 - 2]
    assert pyseq.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    with pytest.raises(ValueError, match="truncates to 0"):
        pyseq.arange(0, 5, 0.5, dtype=pyseq.int64)


def test_empty_bool_tensors_hold_only_false():
    # reading a byte other than 0 or 1 as bool is undefined: bool memory starts zeroed
    for _ in range(3):
        junk = pyseq.full([4096], 7.5)  # leaves non-zero bytes in the allocator's cache
        del junk
        assert not pyseq.empty(16384, dtype=pyseq.bool).any().item()
