"""What the models share for Hugging Face folders (config.json + model.safetensors) and token-id input."""

import json
import os

import numpy as np

from .. import _core
from ..io.safetensors import atomic_write, save_file
from ..nn import functional as F


def as_ids(value, what, owner):
    """An int64 numpy array from a Tensor, numpy array or nested lists of ints."""
    if isinstance(value, _core.Tensor):
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{owner}: {what} must hold integer token ids, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def check_ids(ids, limit, what, owner, space="the vocabulary"):
    """Raises IndexError naming the first id of `ids` outside [0, limit) (`space`)."""
    if ids.size and (ids.min() < 0 or ids.max() >= limit):
        bad = ids[(ids < 0) | (ids >= limit)].flat[0]
        raise IndexError(f"{owner}: {what} holds id {bad}, outside {space} [0, {limit})")


def causal_lm_loss(logits, labels, owner):
    """The mean cross entropy of predicting labels[:, t + 1] from logits[:, t] (B, T, V), ignoring -100."""
    B, T, V = logits.shape
    target = as_ids(labels, "labels", owner)
    if target.shape != (B, T):
        raise ValueError(f"{owner}: expected labels of shape {(B, T)}, got {target.shape}")
    if T < 2:
        raise ValueError(f"{owner}: a language-model loss needs at least 2 positions")
    shifted = np.ascontiguousarray(target[:, 1:]).reshape(-1)  # position t predicts token t + 1
    return F.cross_entropy(logits.narrow(1, 0, T - 1).reshape(-1, V), _core.from_numpy(shifted))


def folder_files(path, owner):
    """(config.json, model.safetensors) of a folder, each checked to exist."""
    path = os.fspath(path)
    files = os.path.join(path, "config.json"), os.path.join(path, "model.safetensors")
    for f in files:
        if not os.path.isfile(f):
            raise FileNotFoundError(f"{owner}.from_pretrained: {f} not found (expected a folder with config.json "
                                    "and model.safetensors)")
    return files


def read_json(path):
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except ValueError as e:
        raise ValueError(f"{path}: not a valid JSON config ({e})") from None
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(d).__name__}")
    return d


def check_model_type(d, expected, source):
    model_type = d.get("model_type", expected)
    if model_type != expected:
        raise ValueError(f"{source}: expected a {expected!r} checkpoint (model_type), got model_type {model_type!r}")


def save_folder(path, config_dict, state_dict):
    """Writes config.json and model.safetensors into the folder `path`, each atomically."""
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    text = json.dumps(config_dict, indent=2, sort_keys=True) + "\n"
    atomic_write(os.path.join(path, "config.json"), lambda f: f.write(text.encode("utf-8")))
    save_file(state_dict, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
