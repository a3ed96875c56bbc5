"""What the models share for Hugging Face folders (config.json + model.safetensors) and token-id input."""

import dataclasses
import json
import os
import warnings

import numpy as np

from .. import _core
from ..io.safetensors import atomic_write, save_file
from ..nn import functional as F


# hidden_act / activation_function of a config.json -> the activation F.linear fuses into its GEMM
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
               "relu": "relu"}


class ModelOutput:
    """The base of the models' output dataclasses, read as transformers' ModelOutput: by attribute,
    by name (out["logits"]) or by position among the fields that are set (out[0] is the loss when
    labels were given, else the logits), and to_tuple() of those."""

    def keys(self):
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def values(self):
        return [getattr(self, k) for k in self.keys()]

    def items(self):
        return list(zip(self.keys(), self.values()))

    def to_tuple(self):
        return tuple(self.values())

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(f"{type(self).__name__} has no field {key!r} set (set: {self.keys()})")
            return getattr(self, key)
        return self.to_tuple()[key]

    def __contains__(self, key):
        return key in self.keys()

    def __iter__(self):  # as a dict: the names
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())


def to_numpy(value):
    """A numpy array from a pyseq Tensor, a numpy array, a torch tensor or nested lists."""
    return value.numpy() if isinstance(value, _core.Tensor) else np.asarray(value)


def as_ids(value, what, owner):
    """An int64 numpy array from a Tensor, numpy array or nested lists of ints."""
    arr = to_numpy(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{owner}: {what} must hold integer token ids, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def as_mask(value, what, owner):
    """A bool numpy array (True: a real token) from an attention mask of ints, bools or floats; as
    transformers' mask.bool(), any nonzero value counts as real."""
    arr = to_numpy(value)
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{owner}: {what} must hold 0 / 1 (int, bool or float), got {arr.dtype}")
    return arr != 0


def batch_ids(value, what, owner, B, T):
    """ids (B, T) int64 from ids of shape (B, T), or (1, T) or (T,) shared by the whole batch (a
    broadcast view, as transformers broadcasts them)."""
    arr = as_ids(value, what, owner)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape == (1, T):
        arr = np.broadcast_to(arr, (B, T))
    if arr.shape != (B, T):
        raise ValueError(f"{owner}: expected {what} of shape {(B, T)} like input_ids (or (1, {T})), got {arr.shape}")
    return arr


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


def warn_unused(owner, path, keys):
    """Warns, as transformers' load report does, about the weights of a checkpoint that the model
    does not use (another head's, or layers the config does not have)."""
    if keys:
        warnings.warn(f"{owner}.from_pretrained: the model does not use these weights of {path}: "
                      + ", ".join(keys), stacklevel=3)


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


def write_json(path, d):
    """Writes the dict d as indented JSON, atomically."""
    text = json.dumps(d, indent=2, sort_keys=True) + "\n"
    atomic_write(os.fspath(path), lambda f: f.write(text.encode("utf-8")))


def save_folder(path, config_dict, state_dict):
    """Writes config.json and model.safetensors into the folder `path`, each atomically."""
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    write_json(os.path.join(path, "config.json"), config_dict)
    save_file(state_dict, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
