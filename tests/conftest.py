"""Shared test helpers: parity with PyTorch and float64 gradchecks for any op."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pyseq

# Test files import the plain helpers they share from helpers.py (`from helpers import ...`);
# with --import-mode=importlib pytest does not put this folder on sys.path itself.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _to_numpy(t):
    return t.detach().numpy() if isinstance(t, pyseq.Tensor) else t.detach().cpu().numpy()


class OpChecker:
    """Runs one op `fn(lib, *inputs)` (lib is pyseq or torch: the same call works on both) on
    random inputs and checks (1) float64 gradients against finite differences, (2) float32 forward
    values and gradients against PyTorch."""

    def __init__(self, rng):
        self.rng = rng

    def inputs(self, shapes, low=-2.0, high=2.0):
        return [self.rng.uniform(low, high, size=s) for s in shapes]

    def gradcheck(self, fn, arrays, grad_inputs=None):
        grad_inputs = range(len(arrays)) if grad_inputs is None else grad_inputs
        xs = [pyseq.tensor(a, dtype=pyseq.float64, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
        assert pyseq.autograd.gradcheck(lambda *t: fn(pyseq, *t), xs)

    def parity(self, fn, arrays, grad_inputs=None, rtol=1e-5, atol=1e-5):
        torch = pytest.importorskip("torch")
        grad_inputs = range(len(arrays)) if grad_inputs is None else grad_inputs
        ours = [pyseq.tensor(a, dtype=pyseq.float32, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
        theirs = [torch.tensor(a, dtype=torch.float32, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
        out, ref = fn(pyseq, *ours), fn(torch, *theirs)
        np.testing.assert_allclose(_to_numpy(out), _to_numpy(ref), rtol=rtol, atol=atol)
        assert out.shape == tuple(ref.shape)
        if not ref.requires_grad:
            return out
        upstream = self.rng.standard_normal(tuple(ref.shape))
        out.backward(pyseq.tensor(upstream, dtype=pyseq.float32))
        ref.backward(torch.tensor(upstream, dtype=torch.float32))
        for i in grad_inputs:
            np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
        return out

    def check(self, fn, shapes, low=-2.0, high=2.0, grad_inputs=None, rtol=1e-5, atol=1e-5, gradcheck=True):
        arrays = self.inputs(shapes, low, high)
        if gradcheck:
            self.gradcheck(fn, arrays, grad_inputs)
        return self.parity(fn, arrays, grad_inputs, rtol, atol)


@pytest.fixture
def op(rng):
    return OpChecker(rng)


CPU_LEVELS = ["generic", "avx2", "avx512"]


@pytest.fixture
def at_cpu_level(tmp_path):
    """run(level, script, *args): runs `script` in a fresh interpreter with PYSEQ_CPU_LEVEL=level
    (skipping levels this CPU lacks) and returns the JSON it prints. A subprocess, because the
    level is read once per process."""
    def run(level, script, *args, timeout=300):
        here = pyseq._core.cpu_level()
        if CPU_LEVELS.index(level) > CPU_LEVELS.index(here):
            pytest.skip(f"this CPU has no {level} (it runs {here})")
        done = subprocess.run([sys.executable, "-c", script, *args], env=dict(os.environ, PYSEQ_CPU_LEVEL=level),
                              cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result.pop("level") == level
        return result
    return run


# A reference package or asset that is missing skips its tests on a developer's machine; in CI
# (.ci/run sets PYSEQ_REQUIRE_REFERENCES=1) that skip is a failure, so a broken install step
# cannot quietly turn tests into skips. Skips for other reasons (a CPU level this machine lacks)
# stay skips. Every skip is listed at the end of the run (-rs in .ci/run).
_MISSING = ("could not import", "is not installed", "needs the KJV corpus", "the generator needs unicodedataplus")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PYSEQ_REQUIRE_REFERENCES") == "1" and report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        if any(text in reason for text in _MISSING):
            report.outcome = "failed"
            report.longrepr = f"a reference or asset the tests need is missing ({reason}); .ci/run installs them all"
