"""pyseq.io: the safetensors format (round trips, interop with the safetensors package and PyTorch,
clear errors on bad files), atomic writes (a killed writer leaves the previous file intact) and
model / optimizer checkpoints."""

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import pytest

import pyseq
from pyseq.io import (SafetensorsError, load_checkpoint, load_file, load_metadata, load_model,
                      save_checkpoint, save_file, save_model)


def _sample_tensors(rng):
    return {
        "weight": pyseq.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "transposed": pyseq.tensor(rng.standard_normal((4, 5)).astype(np.float32)).T,  # not contiguous
        "double": pyseq.tensor(rng.standard_normal(6), dtype=pyseq.float64),
        "ids": pyseq.tensor(rng.integers(-2**40, 2**40, size=(2, 3))),
        "flags": pyseq.tensor([True, False, True]),
        "scalar": pyseq.tensor(2.5),
        "empty": pyseq.zeros(0, 3),
    }


def _assert_same(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert tuple(a[k].shape) == tuple(b[k].shape), k
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


# --- round trips and interop -------------------------------------------------------------------

def test_round_trip_keeps_dtypes_shapes_values_order_and_metadata(tmp_path, rng):
    tensors = _sample_tensors(rng)
    path = tmp_path / "t.safetensors"
    save_file(tensors, path, metadata={"format": "pt", "note": "héllo"})
    loaded = load_file(path)
    _assert_same(tensors, loaded)
    assert load_metadata(path) == {"format": "pt", "note": "héllo"}
    # loaded tensors own writable memory
    loaded["weight"].add_(pyseq.ones(3, 4))
    np.testing.assert_allclose(loaded["weight"].numpy(), tensors["weight"].numpy() + 1)


def test_layout_follows_the_format(tmp_path):
    """8-byte little-endian header size, a JSON header padded to 8 bytes, raw little-endian data
    whose offsets tile the data section; 8-byte dtypes come first so every tensor is aligned."""
    path = tmp_path / "t.safetensors"
    save_file({"a": pyseq.tensor([1.0, 2.0]), "b": pyseq.tensor([3, 4]), "c": pyseq.tensor([True])}, path,
              metadata={"k": "v"})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"k": "v"}
    assert header["a"] == {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}
    assert header["b"] == {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}
    assert header["c"] == {"dtype": "BOOL", "shape": [1], "data_offsets": [24, 25]}
    data = raw[8 + n:]
    assert len(data) == 25
    assert np.frombuffer(data[0:16], "<i8").tolist() == [3, 4]
    assert np.frombuffer(data[16:24], "<f4").tolist() == [1.0, 2.0]
    assert data[24:] == b"\x01"


def test_safetensors_package_and_torch_read_our_files(tmp_path, rng):
    st_numpy = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open
    tensors = _sample_tensors(rng)
    path = tmp_path / "t.safetensors"
    save_file(tensors, path, metadata={"format": "np"})
    arrays = st_numpy.load_file(str(path))
    assert set(arrays) == set(tensors)
    for k, t in tensors.items():
        assert arrays[k].shape == tuple(t.shape), k
        np.testing.assert_array_equal(arrays[k], t.numpy(), err_msg=k)
    with safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"format": "np"}

    pytest.importorskip("torch")
    import torch
    from safetensors.torch import load_file as torch_load_file
    theirs = torch_load_file(str(path))
    expected_dtype = {"weight": torch.float32, "double": torch.float64, "ids": torch.int64, "flags": torch.bool}
    for k, t in tensors.items():
        assert tuple(theirs[k].shape) == tuple(t.shape), k
        np.testing.assert_array_equal(theirs[k].numpy(), t.numpy(), err_msg=k)
        if k in expected_dtype:
            assert theirs[k].dtype == expected_dtype[k]


def test_we_read_files_written_by_torch_and_widen_narrow_dtypes(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as torch_save_file
    g = torch.Generator().manual_seed(0)
    theirs = {
        "w": torch.randn(3, 5, generator=g),
        "d": torch.randn(4, generator=g, dtype=torch.float64),
        "i": torch.arange(-3, 3),
        "b": torch.tensor([True, False]),
        "h": torch.randn(7, generator=g).half(),
        "bf": torch.randn(7, generator=g).bfloat16(),
        "i32": torch.arange(-4, 4, dtype=torch.int32),
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "s": torch.tensor(1.5),
    }
    path = tmp_path / "torch.safetensors"
    torch_save_file(theirs, str(path), metadata={"from": "torch"})
    ours = load_file(path)
    assert set(ours) == set(theirs)
    wanted = {"w": pyseq.float32, "d": pyseq.float64, "i": pyseq.int64, "b": pyseq.bool, "h": pyseq.float32,
              "bf": pyseq.float32, "i32": pyseq.int64, "u8": pyseq.int64, "s": pyseq.float32}
    for k, t in theirs.items():
        assert ours[k].dtype == wanted[k], k
        assert tuple(ours[k].shape) == tuple(t.shape), k
        ref = t.float().numpy() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy()
        np.testing.assert_array_equal(ours[k].numpy(), ref, err_msg=k)
    assert load_metadata(path) == {"from": "torch"}


# --- errors on writing ---------------------------------------------------------------------------

def test_save_rejects_bad_values_with_the_key_named(tmp_path):
    path = tmp_path / "t.safetensors"
    with pytest.raises(TypeError, match="'w'.*list"):
        save_file({"w": [1.0, 2.0]}, path)
    with pytest.raises(TypeError, match="names must be str"):
        save_file({1: pyseq.zeros(2)}, path)
    with pytest.raises(ValueError, match="__metadata__"):
        save_file({"__metadata__": pyseq.zeros(2)}, path)
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_file({"w": pyseq.zeros(2)}, path, metadata={"step": 3})
    with pytest.raises(TypeError, match="dict of name"):
        save_file([pyseq.zeros(2)], path)
    assert not os.listdir(tmp_path)  # nothing written, no temp file left


# --- errors on reading ---------------------------------------------------------------------------

def _write_raw(path, header, data=b"", pad=True):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    if pad:
        text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def test_truncated_files_give_clear_errors(tmp_path, rng):
    path = tmp_path / "t.safetensors"
    save_file({"first": pyseq.zeros(10, dtype=pyseq.int64), "second": pyseq.ones(16)}, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    cut = tmp_path / "cut.safetensors"
    for size, pattern in [(0, "truncated.*header size"), (5, "truncated.*header size"),
                          (8 + n // 2, "truncated or corrupt: the header size"),
                          (len(raw) - 1, "truncated.*'second'"),
                          (8 + n + 40, "truncated.*'first'")]:
        cut.write_bytes(raw[:size])
        with pytest.raises(SafetensorsError, match=pattern) as info:
            load_file(cut)
        assert str(cut) in str(info.value)


def test_corrupt_headers_give_clear_errors(tmp_path):
    path = tmp_path / "bad.safetensors"
    f32 = np.arange(4, dtype="<f4").tobytes()
    cases = [
        (b"{not json", f32, "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", b"", "not valid UTF-8 JSON"),
        ([1, 2], b"", "expected a JSON object"),
        ({"w": {"dtype": "F32", "shape": [4]}}, f32, "'w'.*data_offsets"),
        ({"w": {"dtype": "F8_E5M2", "shape": [4], "data_offsets": [0, 4]}}, f32[:4], "'w'.*dtype 'F8_E5M2'"),
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, f32, "'w' needs bytes \\[0, 64\\)"),
        ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, f32, "'w'.*needs 12 bytes"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 16]}}, f32, "'w'.*invalid shape"),
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 4]}}, f32, "'w'.*invalid data_offsets"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, f32, "'w'.*gap"),
        ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, f32, "'b'.*overlaps"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, f32, "extra bytes"),
        ({"w": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x07", "BOOL tensor 'w'"),
        ({"__metadata__": {"k": 1}}, b"", "__metadata__"),
        (b"[" * 100_000 + b"]" * 100_000, b"", "nested too deeply"),  # was a bare RecursionError
        ({"w": {"dtype": ["F32"], "shape": [4], "data_offsets": [0, 16]}}, f32, "'w' has dtype \\['F32'\\]"),
        ({"w": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}}, f32, "'w'.*needs \\d+ bytes"),
    ]
    for header, data, pattern in cases:
        _write_raw(path, header, data)
        with pytest.raises(SafetensorsError, match=pattern) as info:
            load_file(path)
        assert str(path) in str(info.value), pattern
    # a huge header size, as in a file of random bytes
    path.write_bytes((2**60).to_bytes(8, "little") + b"{}")
    with pytest.raises(SafetensorsError, match="header size"):
        load_file(path)
    # SafetensorsError is a ValueError
    assert issubclass(SafetensorsError, ValueError)


# --- atomic writes -------------------------------------------------------------------------------

def test_failed_save_leaves_previous_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "t.safetensors"
    save_file({"w": pyseq.ones(3)}, path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("pyseq.io.safetensors.os.replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        save_file({"w": pyseq.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["t.safetensors"]


def test_a_model_folder_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """save_folder writes the weights and the config before it renames either: a failure in any
    write leaves the old folder loadable, its files as they were, and no temporary file."""
    from pyseq.models import GPT, GPTConfig
    from pyseq.io import safetensors
    small, big = (GPT(GPTConfig(vocab_size=20, n_positions=8, n_embd=8 * k, n_layer=1, n_head=2)) for k in (1, 2))
    small.save_pretrained(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def full_disk(f):
        f.write(b"partial")
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(safetensors, "_serialize", lambda tensors, metadata: (b"", [full_disk]))
    monkeypatch.setattr(safetensors, "safetensors_writer", lambda tensors, metadata=None: full_disk)
    monkeypatch.setattr("pyseq.models._hf.safetensors_writer", lambda tensors, metadata=None: full_disk)
    with pytest.raises(OSError, match="simulated"):
        big.save_pretrained(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before
    monkeypatch.undo()
    assert GPT.from_pretrained(tmp_path).config.n_embd == 8
    # and a config value JSON cannot hold fails before anything is written
    big.config.n_embd = object()
    with pytest.raises(TypeError, match="JSON serializable"):
        big.save_pretrained(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_saved_files_get_normal_permissions_or_keep_the_replaced_files(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"w": pyseq.ones(3)}, path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0o600
    os.chmod(path, 0o640)
    save_file({"w": pyseq.zeros(3)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640


_WRITER = r"""
import sys
import numpy as np
import pyseq
from pyseq.io import save_file

path = sys.argv[1]
big = np.empty(8_000_000, dtype=np.float32)  # 32 MB: each save takes a while
step = 0
while True:
    big.fill(step)
    save_file({"big": pyseq.from_numpy(big), "step": pyseq.tensor([step])}, path, metadata={"step": str(step)})
    print(step, flush=True)
    step += 1
"""


def test_killed_writer_leaves_previous_checkpoint_intact(tmp_path):
    """SIGKILL a process while it rewrites a 32 MB file: the file must still hold one complete,
    consistent earlier version (never a mix or a truncated file)."""
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL (POSIX)")
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    target = tmp_path / "ckpt.safetensors"
    killed_mid_write = 0
    for attempt in range(3):
        # cwd=tmp_path: the child imports the installed pyseq, not the source tree
        proc = subprocess.Popen([sys.executable, str(script), str(target)], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip().isdigit(), proc.stderr.read()  # one save completed
            # wait until the next save is under way (its temp file exists and is being filled), then kill
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                temps = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
                try:
                    if temps and os.path.getsize(tmp_path / temps[0]) > 0:
                        break
                except FileNotFoundError:  # renamed in between
                    pass
                time.sleep(0.001)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
        killed_mid_write += bool(leftovers)
        for p in leftovers:  # only temp files named after the target (and the dead writer's pid) are left
            assert p.startswith(f".ckpt.safetensors.{proc.pid}.")

        loaded = load_file(target)  # complete and valid
        step = int(load_metadata(target)["step"])
        assert loaded["step"].tolist() == [step]
        big = loaded["big"].numpy()
        assert big.shape == (8_000_000,)
        assert big.min() == big.max() == step  # one version, not a mix
    assert killed_mid_write >= 1, "the writer was never caught mid-write"
    save_file({"step": pyseq.tensor([0])}, target)  # the next write of the path clears the dead writers' temp files
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


# --- models and checkpoints (stand-ins with the torch-style state_dict interface) -----------------

class _TinyModel:
    """The state_dict interface of nn.Module, without depending on pyseq.nn."""

    def __init__(self, n=4, seed=0):
        r = np.random.default_rng(seed)
        self.params = OrderedDict(weight=pyseq.tensor(r.standard_normal((n, 3)).astype(np.float32)),
                                  bias=pyseq.tensor(r.standard_normal(n).astype(np.float32)),
                                  count=pyseq.tensor(seed))

    def state_dict(self):
        return OrderedDict((k, v.detach()) for k, v in self.params.items())

    def load_state_dict(self, sd, strict=True):
        for k, v in sd.items():
            self.params[k].copy_(v)


class _TinyOptimizer:
    """An optimizer state_dict in torch's layout: per-parameter tensors and scalars, groups."""

    def __init__(self, seed=0):
        r = np.random.default_rng(seed + 100)
        self.param_groups = [{"lr": 0.01 * (seed + 1), "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]},
                             {"lr": 0.5, "weight_decay": None, "params": [2]}]
        self.state = {0: {"step": float(seed + 3), "exp_avg": pyseq.tensor(r.standard_normal(4).astype(np.float32))},
                      2: {"step": pyseq.tensor(float(seed)), "momentum_buffer": pyseq.tensor([seed, seed])}}

    def state_dict(self):
        return {"state": self.state, "param_groups": self.param_groups}

    def load_state_dict(self, sd):
        self.state, self.param_groups = sd["state"], sd["param_groups"]


def test_checkpoint_round_trip_with_stand_ins(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model, opt = _TinyModel(seed=1), _TinyOptimizer(seed=1)
    save_checkpoint(path, model, opt, step=123, epoch=4, best={"acc": 0.9}, ema=pyseq.tensor([1.0, 2.0]))
    model2, opt2 = _TinyModel(seed=2), _TinyOptimizer(seed=2)
    info = load_checkpoint(path, model2, opt2)
    assert info["step"] == 123 and info["epoch"] == 4 and info["best"] == {"acc": 0.9}
    assert info["ema"].tolist() == [1.0, 2.0]
    _assert_same(model.state_dict(), model2.state_dict())
    assert opt2.param_groups == opt.param_groups  # tuples (betas) come back as tuples, None stays None
    assert set(opt2.state) == {0, 2}
    assert opt2.state[0]["step"] == 4.0
    np.testing.assert_array_equal(opt2.state[0]["exp_avg"].numpy(), opt.state[0]["exp_avg"].numpy())
    assert opt2.state[2]["step"].item() == 1.0 and opt2.state[2]["momentum_buffer"].tolist() == [1, 1]
    # the file is plain safetensors: the model's tensors sit under "model."
    assert {"model.weight", "model.bias", "model.count"} <= set(load_file(path))


def test_checkpoint_mismatch_names_file_and_keys_and_loads_nothing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, _TinyModel(n=4), step=1)
    other = _TinyModel(n=5, seed=7)
    before = {k: v.numpy().copy() for k, v in other.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"ckpt\.safetensors.*\n.*shape mismatch for 'weight': the file has "
                                           r"\(4, 3\), the model has \(5, 3\)"):
        load_checkpoint(path, other)
    for k, v in other.state_dict().items():  # nothing was loaded
        np.testing.assert_array_equal(v.numpy(), before[k])
    fewer = _TinyModel()
    del fewer.params["bias"]
    with pytest.raises(RuntimeError, match="unexpected keys: 'bias'"):
        load_checkpoint(path, fewer)
    more = _TinyModel()
    more.params["extra"] = pyseq.zeros(2)
    with pytest.raises(RuntimeError, match="missing keys: 'extra'"):
        load_checkpoint(path, more)
    load_checkpoint(path, more, strict=False)  # non-strict: missing keys are fine
    with pytest.raises(RuntimeError, match="no optimizer state"):
        load_checkpoint(path, _TinyModel(), _TinyOptimizer())
    # a plain state-dict file is not a checkpoint
    save_file({"weight": pyseq.zeros(4, 3)}, tmp_path / "plain.safetensors")
    with pytest.raises(SafetensorsError, match="not a pyseq checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors", _TinyModel())


def test_checkpoint_rejects_values_json_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="extra value is not JSON-serializable"):
        save_checkpoint(tmp_path / "c.safetensors", _TinyModel(), step=1, thing=object())
    assert not os.listdir(tmp_path)


# --- with real pyseq.nn / pyseq.optim ----------------------------------------------------------

def _mlp(seed):
    nn = pytest.importorskip("pyseq.nn")
    pyseq.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _train_steps(model, opt, x, y, steps):
    import pyseq.nn.functional as F
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


def test_resuming_from_a_checkpoint_continues_training_exactly(tmp_path, rng):
    optim = pytest.importorskip("pyseq.optim")
    x = pyseq.tensor(rng.standard_normal((16, 5)).astype(np.float32))
    y = pyseq.tensor(rng.integers(0, 3, 16))
    model = _mlp(0)
    opt = optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.99), amsgrad=True)
    _train_steps(model, opt, x, y, 3)
    save_checkpoint(tmp_path / "c.safetensors", model, opt, step=3)
    _train_steps(model, opt, x, y, 4)

    resumed = _mlp(1)  # different initial weights, fresh optimizer state
    opt2 = optim.Adam(resumed.parameters(), lr=0.05, betas=(0.8, 0.99), amsgrad=True)
    assert load_checkpoint(tmp_path / "c.safetensors", resumed, opt2)["step"] == 3
    _train_steps(resumed, opt2, x, y, 4)
    for (k, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_torch_loads_a_saved_model_and_we_load_torchs(tmp_path, rng):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as torch_load_file, save_file as torch_save_file
    model = _mlp(3)
    save_model(model, tmp_path / "m.safetensors")
    ref = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    ref.load_state_dict(torch_load_file(str(tmp_path / "m.safetensors")))
    x = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(model(pyseq.tensor(x)).detach().numpy(),
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

    torch.manual_seed(5)
    ref2 = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    torch_save_file(ref2.state_dict(), str(tmp_path / "t.safetensors"))
    assert load_model(model, tmp_path / "t.safetensors") == ([], [])
    np.testing.assert_allclose(model(pyseq.tensor(x)).detach().numpy(),
                               ref2(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    small = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    torch_save_file(small.state_dict(), str(tmp_path / "small.safetensors"))
    with pytest.raises(RuntimeError, match=r"small\.safetensors: cannot load into the model:\n"
                                           r"  shape mismatch for '2.weight': the file has \(2, 8\), the model has \(3, 8\)\n"
                                           r"  shape mismatch for '2.bias'"):
        load_model(model, tmp_path / "small.safetensors")


def test_checkpoint_with_a_mismatched_optimizer_changes_nothing(tmp_path):
    # the optimizer's state is checked (and loaded, all or nothing) before the model's weights change
    model = pyseq.nn.Linear(3, 2)
    adam = pyseq.optim.Adam(model.parameters(), lr=0.1)
    model(pyseq.randn(4, 3)).sum().backward()
    adam.step()
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, optimizer=adam, step=3)
    other = pyseq.nn.Linear(3, 2)
    before = {k: v.detach().numpy().copy() for k, v in other.state_dict().items()}
    weight_only = pyseq.optim.Adam([other.weight], lr=0.1)  # one group, as saved, but one parameter of two
    with pytest.raises(ValueError, match="has 2 parameters, the optimizer's group 0 has 1"):
        load_checkpoint(path, other, weight_only)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.detach().numpy(), before[k])
    info = load_checkpoint(path, other, pyseq.optim.Adam(other.parameters(), lr=0.1))
    assert info["step"] == 3


def test_writing_into_a_missing_folder_names_the_file_and_the_folder(tmp_path):
    target = tmp_path / "missing" / "weights.safetensors"
    with pytest.raises(FileNotFoundError, match="the folder .*missing does not exist") as e:
        save_file({"w": pyseq.ones(2)}, target)
    assert e.value.filename == str(target)
    assert not (tmp_path / "missing").exists()


def test_header_size_limit_is_the_safetensors_packages(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "big.safetensors"
    for size, readable in ((100_000_000, True), (100_000_008, False)):  # the package's limit is 10^8 bytes
        with open(path, "wb") as f:
            f.write(size.to_bytes(8, "little") + b"{}" + b" " * (size - 2))
        if readable:
            assert load_file(path) == {} and st.load_file(str(path)) == {}
        else:
            with pytest.raises(SafetensorsError, match="exceeds the 100000000-byte limit"):
                load_file(path)
            with pytest.raises(Exception, match="header too large"):
                st.load_file(str(path))
    path.unlink()
    with pytest.raises(SafetensorsError, match="over the 100000000-byte limit"):  # nothing unreadable is written
        save_file({}, path, metadata={"x": "a" * 100_000_000})
    assert not path.exists()


def test_save_and_load_any_object_holding_tensors(tmp_path):
    """pyseq.save / pyseq.load as torch.save / torch.load: a state_dict in a checkpoint dict comes
    back equal; the write is atomic; a weights-only load refuses to run code, and a damaged file
    is a clear ValueError."""
    model = pyseq.nn.Linear(3, 2)
    obj = {"model": model.state_dict(), "step": 5, "history": [1.0, 2.0], "order": collections.OrderedDict(a=1),
           "array": np.arange(3)}
    path = tmp_path / "checkpoint.pt"
    pyseq.save(obj, path)
    back = pyseq.load(path)
    assert back["step"] == 5 and back["history"] == [1.0, 2.0] and back["order"] == obj["order"]
    np.testing.assert_array_equal(back["model"]["weight"].numpy(), model.weight.detach().numpy())
    np.testing.assert_array_equal(back["array"], np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]

    class RunsCode:
        def __reduce__(self):
            return (os.system, ("echo never",))
    pyseq.save({"x": RunsCode()}, tmp_path / "unsafe.pt")
    with pytest.raises(ValueError, match="refuses to rebuild"):
        pyseq.load(tmp_path / "unsafe.pt")
    (tmp_path / "broken.pt").write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="cut short"):
        pyseq.load(tmp_path / "broken.pt")
