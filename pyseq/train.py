"""A small training loop: `fit`, early stopping, metrics and a loss-curve plot.

    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=10,
                  val_loader=val_loader, metrics={"accuracy": accuracy},
                  early_stopping=EarlyStopping(patience=3), plot_path="loss.png")
    history["val_accuracy"][-1]

Each batch from a loader is `(inputs, target)`: the model is called as `model(inputs)`,
`model(*inputs)` when inputs is a tuple or list (e.g. a PaddedBatch), or `model(**inputs)` when
it is a dict. The loop itself is plain Python around calls into the C++ core.
"""

import math
import time

from . import _core
from .autograd import no_grad

__all__ = ["EarlyStopping", "fit", "accuracy", "plot_history"]

PLOT_INSTALL_HINT = 'pip install "pyseq[plot]"'


def accuracy(output, target):
    """The fraction of rows whose largest logit is at the target class: output (N, C), target (N,)."""
    return (_core.argmax(output, -1) == target).float().mean()


class EarlyStopping:
    """Stops training when a monitored value stops improving, and keeps the best weights.

    patience: epochs without improvement before stopping. min_delta: the smallest change that
    counts as an improvement. mode: 'min' (losses) or 'max' (accuracies). restore_best_weights:
    keep a copy of the best state_dict and load it back into the model at the end of `fit` (or
    by calling `restore(model)`). monitor: the history key to watch ('val_loss' when `fit` has a
    val_loader, else 'train_loss').

    Call `step(value, model)` once per epoch; it returns True when training should stop.
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min", restore_best_weights=True, monitor=None):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.monitor = monitor
        self.reset()

    def reset(self):
        self.best = None          # the best value seen
        self.best_epoch = None    # its epoch (0-based count of step() calls)
        self.best_state = None    # a copy of the model's state_dict at that epoch
        self.num_bad_epochs = 0   # epochs since the last improvement
        self.epoch = -1
        self.should_stop = False

    def is_improvement(self, value):
        if value is None or math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value, model=None):
        """Records this epoch's `value`; returns True when training should stop."""
        value = float(value)
        self.epoch += 1
        if self.is_improvement(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, self.epoch, 0
            if self.restore_best_weights and model is not None:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.should_stop = False
        else:
            self.num_bad_epochs += 1
            self.should_stop = self.num_bad_epochs >= self.patience
        return self.should_stop

    __call__ = step

    def restore(self, model):
        """Loads the best weights seen back into `model`; returns False when there are none."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, mode={self.mode!r}, "
                f"best={self.best}, best_epoch={self.best_epoch})")


def _batch_size(target):
    if isinstance(target, _core.Tensor):
        return target.shape[0] if target.dim() else 1
    try:
        return len(target)
    except TypeError:
        return 1


def _forward(model, inputs):
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def _split_batch(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("fit: each batch must be a pair (inputs, target); got "
                         f"{type(batch).__name__}" + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    return batch


def _metric_fns(metrics):
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    if callable(metrics):
        metrics = [metrics]
    return {getattr(fn, "__name__", f"metric{i}"): fn for i, fn in enumerate(metrics)}


class _Averages:
    """Running sample-weighted means of the loss and the metrics over one pass."""

    def __init__(self, names):
        self.sums = {n: 0.0 for n in names}
        self.count = 0

    def add(self, n, values):
        self.count += n
        for k, v in values.items():
            self.sums[k] += float(v) * n

    def means(self):
        return {k: (s / self.count if self.count else float("nan")) for k, s in self.sums.items()}


def _run_epoch(model, loader, loss_fn, metric_fns, optimizer=None, scheduler=None, bar=None):
    """One pass over `loader`: trains when an optimizer is given, else evaluates under no_grad."""
    avg = _Averages(["loss", *metric_fns])
    for batch in loader:
        inputs, target = _split_batch(batch)
        if optimizer is not None:
            output = _forward(model, inputs)
            loss = loss_fn(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        else:
            with no_grad():
                output = _forward(model, inputs)
                loss = loss_fn(output, target)
        with no_grad():
            values = {"loss": loss.detach().item()}
            values.update({name: fn(output.detach(), target) for name, fn in metric_fns.items()})
        avg.add(_batch_size(target), values)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"loss {avg.sums['loss'] / avg.count:.4f}", refresh=False)
    return avg.means()


def _is_plateau_scheduler(scheduler):
    """Schedulers such as ReduceLROnPlateau take the monitored value in step()."""
    return type(scheduler).__name__ == "ReduceLROnPlateau" or getattr(scheduler, "needs_metric", False)


def _require_matplotlib(purpose="plotting the loss curve"):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"{purpose} needs matplotlib, an optional dependency of pyseq: "
                          f"{PLOT_INSTALL_HINT} (or pip install matplotlib)") from e
    return Figure


def fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=None, metrics=None, scheduler=None,
        early_stopping=None, progress=True, plot_path=None, scheduler_interval="epoch"):
    """Trains `model` for up to `epochs` epochs and returns the per-epoch history.

    loss_fn(output, target) -> scalar tensor. metrics: a dict name -> fn(output, target) (or a
    list of functions, named by __name__), averaged over each epoch's samples on the training
    and the validation data. val_loader: evaluated after each epoch with model.eval() under
    no_grad. scheduler: stepped once per epoch (scheduler_interval="epoch") or after every
    optimizer step ("step"); a ReduceLROnPlateau-style scheduler gets the monitored value.
    early_stopping: an EarlyStopping; when it fires training ends, and with
    restore_best_weights the best weights are loaded back at the end. progress: a tqdm bar
    per epoch. plot_path: save the loss (and metric) curves as a PNG (needs matplotlib).

    Returns a dict of lists, one value per epoch run: "train_loss", "train_<metric>", and with
    a val_loader "val_loss", "val_<metric>"; "lr" holds the first parameter group's learning
    rate at the end of each epoch, "time" the seconds each epoch took.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    if plot_path is not None:
        _require_matplotlib()  # fail before training, not after
    from tqdm.auto import tqdm

    metric_fns = _metric_fns(metrics)
    history = {"train_loss": []}
    for name in metric_fns:
        history[f"train_{name}"] = []
    if val_loader is not None:
        history["val_loss"] = []
        for name in metric_fns:
            history[f"val_{name}"] = []
    history["lr"], history["time"] = [], []
    monitor = None
    if early_stopping is not None:
        monitor = early_stopping.monitor or ("val_loss" if val_loader is not None else "train_loss")
        if monitor not in history:
            raise ValueError(f"fit: EarlyStopping monitors {monitor!r}, which is not in the history "
                             f"(available: {', '.join(k for k in history if k not in ('lr', 'time'))})")
    plateau = scheduler is not None and _is_plateau_scheduler(scheduler)
    if plateau and scheduler_interval == "step":
        raise ValueError("fit: a ReduceLROnPlateau-style scheduler needs scheduler_interval='epoch'")
    step_scheduler = scheduler if scheduler_interval == "step" else None

    for epoch in range(epochs):
        start = time.perf_counter()
        try:
            total = len(train_loader)
        except TypeError:
            total = None
        bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress,
                   leave=True, dynamic_ncols=True)
        try:
            model.train()
            train = _run_epoch(model, train_loader, loss_fn, metric_fns, optimizer, step_scheduler, bar)
            for k, v in train.items():
                history[f"train_{k}"].append(v)
            if val_loader is not None:
                model.eval()
                val = _run_epoch(model, val_loader, loss_fn, metric_fns)
                model.train()
                for k, v in val.items():
                    history[f"val_{k}"].append(v)
            groups = getattr(optimizer, "param_groups", None)
            history["lr"].append(groups[0]["lr"] if groups else None)
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(history[monitor or ("val_loss" if val_loader is not None else "train_loss")][-1])
                else:
                    scheduler.step()
            history["time"].append(time.perf_counter() - start)
            summary = {k: f"{v[-1]:.4g}" for k, v in history.items() if k not in ("lr", "time")}
            bar.set_postfix(summary, refresh=True)
        finally:
            bar.close()
        if early_stopping is not None and early_stopping.step(history[monitor][-1], model):
            break
    if early_stopping is not None and early_stopping.restore_best_weights:
        early_stopping.restore(model)
    if plot_path is not None:
        plot_history(history, plot_path)
    return history


def plot_history(history, path, title=None):
    """Saves the curves of a `fit` history as a PNG: the losses, and the metrics beside them."""
    Figure = _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    metric_names = sorted({k.split("_", 1)[1] for k in history
                           if k.startswith(("train_", "val_")) and not k.endswith("_loss")})
    fig = Figure(figsize=(6 + 5 * bool(metric_names), 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 1 + bool(metric_names), squeeze=False)[0]
    epochs = range(1, len(history.get("train_loss", [])) + 1)
    for split in ("train", "val"):
        if f"{split}_loss" in history:
            axes[0].plot(epochs, history[f"{split}_loss"], marker="o", label=f"{split} loss")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    for name in metric_names:
        for split in ("train", "val"):
            if f"{split}_{name}" in history:
                axes[1].plot(epochs, history[f"{split}_{name}"], marker="o", label=f"{split} {name}")
    if metric_names:
        axes[1].set_xlabel("epoch")
        axes[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path
