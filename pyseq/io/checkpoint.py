"""Model and training checkpoints stored as single safetensors files.

`save_model` / `load_model` store a model's state_dict under its own keys, so the file loads
directly into the same PyTorch model (`safetensors.torch.load_file`, then `load_state_dict`).

`save_checkpoint` / `load_checkpoint` store everything needed to resume training in one file:

    tensors    "model.<key>"                    the model's state_dict
               "optimizer.state.<id>.<name>"    the optimizer's per-parameter state tensors
               "extra.<name>"                   tensors passed as extra keyword arguments
    metadata   "pyseq.checkpoint"  "1" (the format version)
               "step"              JSON: the step passed to save_checkpoint (or null)
               "optimizer"         JSON: {"param_groups": [...], "state": {id: {name: scalar}}},
                                   the optimizer state_dict (torch's layout) without its tensors
               "extra"             JSON: the other extra keyword arguments

Every write is atomic (see `pyseq.io.safetensors.save_file`).
"""

import json
import os

from .._core import Tensor
from .safetensors import SafetensorsError, _load, save_file

__all__ = ["save_model", "load_model", "save_checkpoint", "load_checkpoint"]

FORMAT_VERSION = "1"


def _check_against(path, expected, tensors, strict, what="model"):
    """Raises RuntimeError naming the file and the keys when `tensors` (name -> Tensor) does not
    fit `expected` (the model's state_dict): missing or unexpected keys (when strict), and any
    shape mismatch."""
    problems = []
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    if strict and missing:
        problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
    if strict and unexpected:
        problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
    for k, target in expected.items():  # in the model's order
        if k in tensors and tuple(tensors[k].shape) != tuple(target.shape):
            problems.append(f"shape mismatch for {k!r}: the file has {tuple(tensors[k].shape)}, "
                            f"the {what} has {tuple(target.shape)}")
    if problems:
        raise RuntimeError(f"{os.fspath(path)}: cannot load into the {what}:\n  " + "\n  ".join(problems))


def save_model(model, path, metadata=None):
    """Saves `model.state_dict()` to a safetensors file (atomically), keys unchanged."""
    save_file(dict(model.state_dict()), path, metadata=metadata)


def load_model(model, path, strict=True):
    """Loads a safetensors file written by `save_model` (or by PyTorch's safetensors) into
    `model`. With strict, the keys must match exactly; shapes must always match. Returns the
    (missing, unexpected) key lists."""
    tensors, _ = _load(path)
    expected = model.state_dict()
    _check_against(path, expected, tensors, strict)
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    model.load_state_dict({k: v for k, v in tensors.items() if k in expected}, strict=strict)
    return missing, unexpected


def _json(path, what, value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save_checkpoint({os.fspath(path)!r}): {what} is not JSON-serializable: {e}") from None


def _split_optimizer_state(path, state_dict):
    """Torch-layout optimizer state_dict -> (tensors by name, JSON-able rest)."""
    if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
        raise TypeError("save_checkpoint: optimizer.state_dict() must return {'state': ..., 'param_groups': ...}")
    tensors, scalars = {}, {}
    for pid, entries in state_dict["state"].items():
        scalars[str(pid)] = {}
        for name, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.state.{pid}.{name}"] = value
            else:
                scalars[str(pid)][name] = value
    rest = {"param_groups": state_dict["param_groups"], "state": scalars}
    return tensors, _json(path, "the optimizer's scalar state / param_groups", rest)


def _join_optimizer_state(path, text, tensors):
    """The inverse of _split_optimizer_state: a torch-layout optimizer state_dict."""
    try:
        rest = json.loads(text)
        groups, scalars = rest["param_groups"], rest["state"]
    except (ValueError, KeyError, TypeError) as e:
        raise SafetensorsError(f"{path}: corrupt checkpoint: bad 'optimizer' metadata ({e})") from None
    state = {}
    for pid, entries in scalars.items():
        state[int(pid)] = dict(entries)
    prefix = "optimizer.state."
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, _, name = key[len(prefix):].partition(".")
            try:
                state.setdefault(int(pid), {})[name] = value
            except ValueError:
                raise SafetensorsError(f"{path}: corrupt checkpoint: bad optimizer tensor key {key!r}") from None
    # JSON has no tuples; optimizers keep pairs such as Adam's betas as tuples.
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in groups]
    return {"state": state, "param_groups": groups}


def save_checkpoint(path, model, optimizer=None, step=None, **extra):
    """Saves the model, the optimizer's state and the step to one safetensors file, atomically.

    extra: more values to keep (epoch, best score, ...): tensors are stored as tensors, the rest
    must be JSON-serializable. `load_checkpoint` returns them.
    """
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    metadata = {"pyseq.checkpoint": FORMAT_VERSION, "step": _json(path, "step", step)}
    if optimizer is not None:
        opt_tensors, metadata["optimizer"] = _split_optimizer_state(path, optimizer.state_dict())
        tensors.update(opt_tensors)
    plain = {}
    for name, value in extra.items():
        if isinstance(value, Tensor):
            tensors[f"extra.{name}"] = value
        else:
            plain[name] = value
    metadata["extra"] = _json(path, "an extra value", plain)
    save_file(tensors, path, metadata=metadata)


def load_checkpoint(path, model, optimizer=None, strict=True):
    """Restores a checkpoint written by `save_checkpoint` into `model` (and `optimizer`).

    Checks the file's keys and shapes against the model first and raises RuntimeError naming
    the file and every offending key; nothing is loaded then. Returns a dict with "step" and
    the extra values given to save_checkpoint.
    """
    path = os.fspath(path)
    tensors, metadata = _load(path)
    if not metadata or metadata.get("pyseq.checkpoint") is None:
        raise SafetensorsError(f"{path}: not a pyseq checkpoint (no 'pyseq.checkpoint' metadata); "
                               "use pyseq.io.load_model or load_file for plain state dicts")
    model_tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    _check_against(path, model.state_dict(), model_tensors, strict)
    opt_state = None
    if optimizer is not None:
        if "optimizer" not in metadata:
            raise RuntimeError(f"{path}: the checkpoint holds no optimizer state (saved without optimizer=)")
        opt_state = _join_optimizer_state(path, metadata["optimizer"], tensors)
        n_saved, n_now = len(opt_state["param_groups"]), len(optimizer.param_groups)
        if n_saved != n_now:
            raise RuntimeError(f"{path}: the checkpoint's optimizer has {n_saved} parameter groups, "
                               f"this optimizer has {n_now}")
    try:
        info = {"step": json.loads(metadata.get("step", "null"))}
        info.update(json.loads(metadata.get("extra", "{}")))
    except ValueError as e:
        raise SafetensorsError(f"{path}: corrupt checkpoint metadata ({e})") from None
    info.update({k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")})
    # Everything is checked before anything changes: the optimizer's load is all-or-nothing and
    # comes first, the model's was checked above (_check_against).
    if opt_state is not None:
        optimizer.load_state_dict(opt_state)
    model.load_state_dict(model_tensors, strict=strict)
    return info
