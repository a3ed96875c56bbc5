"""softmax.cpp: softmax and log_softmax: gradcheck, parity, stability."""

import numpy as np
import pytest

import pyseq


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradcheck_and_parity(op, name, dim):
    # rows of 37 (dim -1): past two 16-float (AVX-512) vectors with a ragged tail at every ISA level
    op.check(lambda m, x: getattr(m, name)(x, dim=dim), [(2, 3, 37)], low=-4, high=4)


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


SOFTMAX_SCRIPT = r"""
import json
import numpy as np
import pyseq
rng = np.random.default_rng(0)
worst = {"softmax": 0.0, "log_softmax": 0.0}
nan_rows_ok = True
# Row lengths around the kernel's vector width, its 16-vector blocks and their tails.
for n in [1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 127, 128, 129, 255, 256, 257, 1000, 4099]:
    x = (rng.standard_normal((3, n)) * 20).astype(np.float32)
    x[2, n // 2] = -np.inf  # a masked position
    d = x.astype(np.float64)
    e = np.exp(d - d.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    lp = (d - d.max(1, keepdims=True)) - np.log(e.sum(1, keepdims=True))
    ours = pyseq.from_numpy(x).softmax(-1).numpy()
    worst["softmax"] = max(worst["softmax"], float(np.abs(ours - p).max()))
    ours = pyseq.from_numpy(x).log_softmax(-1).numpy()
    finite = np.isfinite(lp)
    rel = np.abs(ours - lp)[finite] / (1 + np.abs(lp[finite]))
    worst["log_softmax"] = max(worst["log_softmax"], float(rel.max()))
    assert np.array_equal(np.isfinite(ours), finite)
    x[1, 0] = np.nan  # a NaN spreads through its row only
    for fn in ("softmax", "log_softmax"):
        out = getattr(pyseq.from_numpy(x), fn)(-1).numpy()
        nan_rows_ok &= bool(np.isnan(out[1]).all() and not np.isnan(out[0]).any())
# An output over 16 MB is written with streaming stores (rows of 1023 floats: aligned or not).
x = (rng.standard_normal((4200, 1023)) * 5).astype(np.float32)
d = x.astype(np.float64)
shifted = d - d.max(1, keepdims=True)
p = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
lp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
worst["softmax"] = max(worst["softmax"], float(np.abs(pyseq.from_numpy(x).softmax(-1).numpy() - p).max()))
rel = np.abs(pyseq.from_numpy(x).log_softmax(-1).numpy() - lp) / (1 + np.abs(lp))
worst["log_softmax"] = max(worst["log_softmax"], float(rel.max()))
print(json.dumps({"level": pyseq._core.cpu_level(), "worst": worst, "nan_rows_ok": nan_rows_ok}))
"""


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512"])
def test_fused_softmax_rows_on_every_level(at_cpu_level, level):
    result = at_cpu_level(level, SOFTMAX_SCRIPT)
    # probabilities to 3e-7 absolute, log-probabilities to 3e-7 relative, against float64
    assert result["worst"]["softmax"] <= 3e-7, result
    assert result["worst"]["log_softmax"] <= 3e-7, result
    assert result["nan_rows_ok"]
