"""pyseq.train: the fit loop (checked against the same loop in PyTorch and against closed-form
gradient descent), early stopping that restores the best weights, metrics history, schedulers,
the progress bar and the loss-curve PNG."""

import sys

import numpy as np
import pytest

import pyseq
from pyseq import nn, optim
from pyseq.data import DataLoader, TensorDataset
from pyseq.train import EarlyStopping, accuracy, fit, plot_history


def _regression_data(rng, n=32, slope=2.0):
    x = rng.standard_normal((n, 1)).astype(np.float32)
    return x, (slope * x).astype(np.float32)


def _loader(x, y, batch_size=None, **kw):
    return DataLoader(TensorDataset(pyseq.tensor(x), pyseq.tensor(y)), batch_size=batch_size or len(x), **kw)


def _line(w0):
    model = nn.Linear(1, 1, bias=False)
    with pyseq.no_grad():
        model.weight.fill_(w0)
    return model


class _Recorder(nn.Module):
    """A linear model that records, at each call, whether it was in training mode and grad mode was on."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, pyseq.is_grad_enabled()))
        return self.fc(x)


# --- the loop ------------------------------------------------------------------------------------

def test_fit_matches_the_same_training_loop_in_torch(rng):
    """Mini-batch SGD with momentum over 3 epochs, in order: same weights as PyTorch's loop, and
    the history's losses are the sample-weighted means of the batch losses."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.standard_normal((20, 2)).astype(np.float32)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    history = fit(model, _loader(x, y, batch_size=8), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  epochs=3, progress=False)

    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(3):
        total = 0.0
        for start in range(0, 20, 8):
            xb, yb = torch.tensor(x[start:start + 8]), torch.tensor(y[start:start + 8])
            loss = torch.nn.functional.mse_loss(ref(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / 20)
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-5)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert list(history) == ["train_loss", "lr", "time"]
    assert history["lr"] == [0.1] * 3 and len(history["time"]) == 3


def test_validation_runs_in_eval_mode_without_grad_and_reports_the_final_weights(rng):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.standard_normal((12, 2)).astype(np.float32)
    xv = rng.standard_normal((7, 3)).astype(np.float32)
    yv = rng.standard_normal((7, 2)).astype(np.float32)
    model = _Recorder()

    def mae(out, target):
        return (out - target).abs().mean()

    history = fit(model, _loader(x, y, batch_size=4), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05),
                  epochs=2, val_loader=_loader(xv, yv, batch_size=3), metrics={"mae": mae}, progress=False)
    # per epoch: 3 training calls (train mode, grad on), then 3 validation calls (eval mode, no grad)
    assert model.calls == ([(True, True)] * 3 + [(False, False)] * 3) * 2
    assert model.training and pyseq.is_grad_enabled()  # back to training mode afterwards
    assert list(history) == ["train_loss", "train_mae", "val_loss", "val_mae", "lr", "time"]
    w = model.fc.weight.detach().numpy()
    b = model.fc.bias.detach().numpy()
    pred = xv @ w.T + b
    np.testing.assert_allclose(history["val_loss"][-1], np.mean((pred - yv) ** 2), rtol=1e-5)
    np.testing.assert_allclose(history["val_mae"][-1], np.mean(np.abs(pred - yv)), rtol=1e-5)


def test_batch_inputs_can_be_tuples_or_dicts():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, a, b):
            return self.fc(a) + b

    a, b, y = pyseq.randn(6, 2), pyseq.randn(6, 1), pyseq.randn(6, 1)
    model = Two()
    for batches in ([((a, b), y)], [({"a": a, "b": b}, y)]):
        history = fit(model, batches, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), epochs=1, progress=False)
        expected = ((model(a, b) - y) ** 2).mean().item()
        np.testing.assert_allclose(history["train_loss"], [expected], rtol=1e-6)
    with pytest.raises(ValueError, match="pair \\(inputs, target\\)"):
        fit(model, [(a, b, y)], nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)


def test_accuracy_metric():
    logits = pyseq.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.2, 0.1], [0.3, 0.2, 0.1]])
    assert accuracy(logits, pyseq.tensor([1, 0, 2, 0])).item() == pytest.approx(0.75)


# --- early stopping --------------------------------------------------------------------------------

class _Holder:
    """A stand-in model whose single weight we set by hand."""

    def __init__(self):
        self.w = pyseq.zeros(1)

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, sd):
        self.w.copy_(sd["w"])


def test_early_stopping_counts_patience_and_restores_the_best_copy():
    holder = _Holder()
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    stops = []
    for epoch, value in enumerate([5.0, 4.0, 3.0, 2.95, 3.5, 2.5, 2.45, 2.5]):
        holder.w.fill_(epoch)
        stops.append(stopper.step(value, holder))
    # 2.95 is not better than 3.0 by min_delta; 2.5 is; 2.45 and 2.5 are not
    assert stops == [False, False, False, False, True, False, False, True]
    assert stopper.best == 2.5 and stopper.best_epoch == 5
    assert stopper.restore(holder) and holder.w.tolist() == [5.0]  # a copy, not a live view

    up = EarlyStopping(patience=1, mode="max")
    assert [up.step(v) for v in [0.5, 0.7, 0.7, float("nan")]] == [False, False, True, True]
    assert up.best == 0.7 and up.best_state is None and not up.restore(holder)
    assert EarlyStopping(patience=0).step(1.0) is False
    for bad in ({"patience": -1}, {"mode": "up"}, {"min_delta": -0.1}):
        with pytest.raises(ValueError):
            EarlyStopping(**bad)


def test_fit_stops_early_and_restores_the_best_weights(rng):
    """Full-batch gradient descent on y = 2x from w = -6, validated on y = -2x: the validation
    loss falls until w passes -2, then rises. The epochs run, the best epoch and the restored
    weight must match the same descent computed in closed form."""
    x, y = _regression_data(rng, slope=2.0)
    xv, yv = _regression_data(rng, slope=-2.0)
    lr, patience = 0.05, 3
    model = _line(-6.0)
    stopper = EarlyStopping(patience=patience)
    history = fit(model, _loader(x, y), nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), epochs=30,
                  val_loader=_loader(xv, yv), early_stopping=stopper, progress=False)

    m, mv = float(np.mean(x.astype(np.float64) ** 2)), float(np.mean(xv.astype(np.float64) ** 2))
    w, weights, val = -6.0, [], []
    for _ in range(30):
        w -= lr * 2 * (w - 2.0) * m  # d/dw mean((w x - 2x)^2)
        weights.append(w)
        val.append((w + 2.0) ** 2 * mv)
    best = int(np.argmin(val))
    assert 2 < best < 25  # the scenario is what the test means it to be
    assert stopper.best_epoch == best
    assert len(history["val_loss"]) == best + patience + 1  # stopped `patience` epochs after the best
    np.testing.assert_allclose(history["val_loss"], val[:best + patience + 1], rtol=1e-4)
    assert model.weight.item() == pytest.approx(weights[best], rel=1e-5)  # restored
    assert history["val_loss"][best] == min(history["val_loss"])

    # without restoring, the last weights stay
    model = _line(-6.0)
    fit(model, _loader(x, y), nn.MSELoss(), optim.SGD(model.parameters(), lr=lr), epochs=30,
        val_loader=_loader(xv, yv), early_stopping=EarlyStopping(patience=patience, restore_best_weights=False),
        progress=False)
    assert model.weight.item() == pytest.approx(weights[best + patience], rel=1e-5)


def test_early_stopping_monitor_must_be_in_the_history(rng):
    model = _line(0.0)
    with pytest.raises(ValueError, match="monitors 'val_loss'.*available: train_loss"):
        fit(model, _loader(*_regression_data(rng)), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1,
            early_stopping=EarlyStopping(monitor="val_loss"), progress=False)


# --- schedulers, progress bar, plots ---------------------------------------------------------------

def test_schedulers_step_per_epoch_per_step_or_on_plateau(rng):
    data = _loader(*_regression_data(rng), batch_size=8)  # 4 batches per epoch
    model = _line(0.0)
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, data, nn.MSELoss(), opt, epochs=3,
                  scheduler=optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5), progress=False)
    assert history["lr"] == [1.0, 0.5, 0.25]

    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, data, nn.MSELoss(), opt, epochs=2, scheduler=optim.lr_scheduler.ExponentialLR(opt, 0.5),
                  scheduler_interval="step", progress=False)
    assert history["lr"] == [0.5 ** 4, 0.5 ** 8]

    model = _line(0.0)
    opt = optim.SGD(model.parameters(), lr=0.0)  # the loss never improves
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    with pytest.raises(ValueError, match="scheduler_interval='epoch'"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, scheduler=plateau, scheduler_interval="step", progress=False)
    opt.param_groups[0]["lr"] = 1e-30
    fit(model, data, nn.MSELoss(), opt, epochs=3, scheduler=plateau, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-30 * 0.25)


def test_progress_bar_shows_epochs_and_can_be_disabled(rng, capsys):
    data = _loader(*_regression_data(rng), batch_size=8)
    model = _line(0.0)
    fit(model, data, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "4/4" in err and "train_loss" in err
    fit(model, data, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_loss_curve_png(rng, tmp_path):
    pytest.importorskip("matplotlib")
    data = _loader(*_regression_data(rng), batch_size=8)
    model = _line(0.0)
    path = tmp_path / "curve.png"
    history = fit(model, data, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=3, val_loader=data,
                  metrics=[lambda out, t: (out - t).abs().mean()], plot_path=path, progress=False)
    assert "train_<lambda>" in history
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 5000
    assert plot_history({"train_loss": [3.0, 2.0]}, tmp_path / "one.png") == tmp_path / "one.png"
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_matplotlib_is_reported_before_training(rng, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    model = _line(1.0)
    with pytest.raises(ImportError, match='pip install "pyseq\\[plot\\]"'):
        fit(model, _loader(*_regression_data(rng)), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2,
            plot_path=tmp_path / "x.png", progress=False)
    assert model.weight.item() == 1.0  # nothing was trained
    assert not (tmp_path / "x.png").exists()


def test_fit_argument_errors(rng):
    model = _line(0.0)
    args = (model, _loader(*_regression_data(rng)), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="epochs must be a non-negative int"):
        fit(*args, epochs=-1)
    with pytest.raises(ValueError, match="scheduler_interval"):
        fit(*args, epochs=1, scheduler_interval="batch")
    assert fit(*args, epochs=0)["train_loss"] == []


def test_fit_resumed_from_a_checkpoint_with_a_seeded_loader_continues_exactly(tmp_path, rng):
    from pyseq.io import load_checkpoint, save_checkpoint
    x = pyseq.tensor(rng.standard_normal((40, 5)).astype(np.float32))
    y = pyseq.tensor(rng.integers(0, 3, 40))

    def make(seed):  # dropout, a shuffling loader with its own seed, a scheduler
        pyseq.manual_seed(seed)
        model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.3), nn.Tanh(), nn.Linear(8, 3))
        opt = optim.AdamW(model.parameters(), lr=0.05)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        return model, opt, sched, DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=1)

    def run(parts, epochs):
        fit(parts[0], parts[3], nn.CrossEntropyLoss(), parts[1], epochs, scheduler=parts[2], progress=False)

    straight = make(0)
    run(straight, 4)
    first = make(0)
    run(first, 2)
    save_checkpoint(tmp_path / "c.safetensors", first[0], first[1], step=2, scheduler=first[2].state_dict(),
                    loader=first[3].state_dict(), rng=pyseq.get_rng_state())
    resumed = make(7)
    info = load_checkpoint(tmp_path / "c.safetensors", resumed[0], resumed[1])
    resumed[2].load_state_dict(info["scheduler"])
    resumed[3].load_state_dict(info["loader"])
    pyseq.set_rng_state(info["rng"])
    run(resumed, 2)
    for (k, a), (_, b) in zip(straight[0].state_dict().items(), resumed[0].state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
