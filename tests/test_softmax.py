"""softmax and log_softmax: gradcheck, parity, stability."""

import numpy as np
import pytest

import pyseq


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradcheck_and_parity(op, name, dim):
    op.check(lambda m, x: getattr(m, name)(x, dim=dim), [(2, 3, 5)], low=-4, high=4)


def test_softmax_is_stable_for_large_logits():
    x = pyseq.tensor([[1000.0, 1000.0, -1000.0], [-1e30, 0.0, 1e30]])
    p = x.softmax(-1).numpy()
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], atol=1e-7)
    lp = x.log_softmax(-1).numpy()
    np.testing.assert_allclose(lp[0, :2], [np.log(0.5)] * 2, rtol=1e-6)
    assert np.isfinite(lp[0, 2]) and lp[0, 2] < -1999


def test_softmax_with_masked_positions():
    # -inf logits (masked keys) get probability 0; a fully masked row is NaN, as in PyTorch
    x = pyseq.tensor([[0.0, -float("inf"), 0.0], [-float("inf")] * 3])
    p = x.softmax(-1).numpy()
    np.testing.assert_allclose(p[0], [0.5, 0.0, 0.5])
    assert np.isnan(p[1]).all()


def test_softmax_large_matches_torch(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((64, 1000)).astype(np.float32) * 10
    np.testing.assert_allclose(pyseq.from_numpy(a).softmax(1).numpy(), torch.from_numpy(a).softmax(1).numpy(),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(pyseq.from_numpy(a).log_softmax(0).numpy(),
                               torch.from_numpy(a).log_softmax(0).numpy(), rtol=1e-5, atol=1e-5)
