"""The caching allocator: freed blocks are reused, values are never stale, the cache can be emptied."""

import numpy as np

import pyseq


def test_freed_blocks_are_reused_and_fresh_tensors_hold_their_own_values():
    pyseq._core.empty_cache()
    before = pyseq._core.memory_stats()
    for i in range(5):
        x = pyseq.full((1000, 100), float(i))   # same size each time: served from the cache after the first
        assert x.sum().item() == 100000.0 * i
        z = pyseq.zeros(1000, 100)
        assert z.sum().item() == 0.0            # a reused block is really zeroed
        del x, z
    after = pyseq._core.memory_stats()
    assert after["caching"]
    assert after["hits"] - before["hits"] >= 8
    assert after["cached_bytes"] > 0
    pyseq._core.empty_cache()
    assert pyseq._core.memory_stats()["cached_bytes"] == 0


def test_caching_can_be_switched_off():
    pyseq._core.set_allocator_caching(False)
    try:
        hits = pyseq._core.memory_stats()["hits"]
        for _ in range(3):
            y = pyseq.ones(4096) * 2
            np.testing.assert_array_equal(y.numpy(), 2.0)
            del y
        stats = pyseq._core.memory_stats()
        assert stats["hits"] == hits and stats["cached_bytes"] == 0 and not stats["caching"]
    finally:
        pyseq._core.set_allocator_caching(True)
