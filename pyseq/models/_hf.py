"""What the models share for Hugging Face folders (config.json + model.safetensors) and token-id input."""

import dataclasses
import json
import os
import warnings

import numbers

import numpy as np

from .. import _core
from ..io.safetensors import atomic_write, atomic_write_files, safetensors_writer
from ..nn import functional as F
from ..nn import init
from ..nn.layers import Embedding
from ..nn.module import Parameter


# hidden_act / activation_function of a config.json -> the activation F.linear fuses into its GEMM
FUSED_ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
                     "gelu_fast": "gelu_tanh", "gelu_accurate": "gelu_tanh", "relu": "relu"}
# the other activations of transformers' configs, applied after the GEMM
ACTIVATION_FUNCTIONS = {"silu": F.silu, "swish": F.silu, "quick_gelu": lambda x: x * (x * 1.702).sigmoid(),
                        "mish": F.mish, "tanh": F.tanh, "sigmoid": F.sigmoid, "relu6": F.relu6,
                        "leaky_relu": F.leaky_relu, "linear": lambda x: x}
ACTIVATIONS = sorted([*FUSED_ACTIVATIONS, *ACTIVATION_FUNCTIONS])


def linear_activation(x, weight, bias, activation):
    """activation(x @ weight.T + bias) for a config's activation name, fused into the GEMM where it can be."""
    if activation in FUSED_ACTIVATIONS:
        return F.linear(x, weight, bias, activation=FUSED_ACTIVATIONS[activation])
    return ACTIVATION_FUNCTIONS[activation](F.linear(x, weight, bias))


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


def returned(output, return_dict):
    """A model's output as transformers returns it: the ModelOutput, or with return_dict=False the
    tuple of its fields that are set."""
    return output.to_tuple() if return_dict is False else output


class PretrainedModelMixin:
    """What transformers' PreTrainedModel offers that its users reach for: the input embeddings (get,
    set, resize to a new vocabulary size) and the parameter count. A model names where its word
    embeddings live (_input_embeddings_at: (owner module, attribute)) and which other parameters
    have a row per token (_vocab_rows: (module, attribute, "mean" or "zero") for new rows)."""

    def get_input_embeddings(self):
        owner, name = self._input_embeddings_at()
        return getattr(owner, name)

    def set_input_embeddings(self, embeddings):
        owner, name = self._input_embeddings_at()
        setattr(owner, name, embeddings)

    def num_parameters(self, only_trainable=False, exclude_embeddings=False):
        """The number of (distinct) parameters, as transformers counts them."""
        skip = {id(m.weight) for m in self.modules() if isinstance(m, Embedding)} if exclude_embeddings else set()
        seen = {id(p): p for p in self.parameters() if id(p) not in skip and (p.requires_grad or not only_trainable)}
        return sum(p.numel() for p in seen.values())

    @property
    def device(self):
        return "cpu"

    @property
    def dtype(self):
        return next(iter(self.parameters())).dtype

    def resize_token_embeddings(self, new_num_tokens=None, mean_resizing=True):
        """Grows or shrinks the vocabulary to new_num_tokens rows (e.g. after adding tokens to the
        tokenizer), in the word embeddings and every other per-token parameter (an untied output
        layer, the output bias); config.vocab_size follows. Kept rows keep their values; new rows
        start at the mean of the old ones (transformers' mean_resizing draws them from a normal
        around that mean with a 1e-9-scaled covariance), output biases at 0, or with mean_resizing
        False at N(0, initializer_range). Returns the new embedding module."""
        embeddings = self.get_input_embeddings()
        if new_num_tokens is None:
            return embeddings
        if isinstance(new_num_tokens, bool) or not isinstance(new_num_tokens, numbers.Integral) or new_num_tokens < 1:
            raise ValueError(f"{type(self).__name__}.resize_token_embeddings: new_num_tokens must be a positive int, "
                             f"got {new_num_tokens!r}")
        std = self.config.initializer_range

        def resized(param, fill):  # (V, ...) -> (new_num_tokens, ...)
            old = param.detach().numpy()
            rows = np.zeros((new_num_tokens,) + old.shape[1:], dtype=old.dtype)
            keep = min(len(old), new_num_tokens)
            rows[:keep] = old[:keep]
            if fill == "mean" and mean_resizing:
                rows[keep:] = old.mean(axis=0)
            new = Parameter(_core.from_numpy(rows), requires_grad=param.requires_grad)
            if fill == "mean" and not mean_resizing and new_num_tokens > keep:
                init.normal_(new[keep:], 0.0, std)
            return new

        padding_idx = embeddings.padding_idx if embeddings.padding_idx is not None and \
            embeddings.padding_idx < new_num_tokens else None
        new = Embedding.from_pretrained(resized(embeddings.weight, "mean"), freeze=not embeddings.weight.requires_grad,
                                        padding_idx=padding_idx)
        self.set_input_embeddings(new)
        for module, name, fill in self._vocab_rows():
            setattr(module, name, resized(getattr(module, name), fill))
            if hasattr(module, "out_features"):
                module.out_features = new_num_tokens
        self.config.vocab_size = new_num_tokens
        return new


def to_numpy(value):
    """A numpy array from a pyseq Tensor, a numpy array, a torch tensor or nested lists."""
    return value.numpy() if isinstance(value, _core.Tensor) else np.asarray(value)


def as_ids(value, what, owner):
    """An int64 numpy array from a Tensor, numpy array or nested lists of ints."""
    arr = to_numpy(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{owner}: {what} must hold integer token ids, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def embeddings_tensor(value, dtype, owner):
    """inputs_embeds as a Tensor of the model's dtype: a pyseq Tensor (gradients flow back to it), or
    a numpy array or torch tensor (copied)."""
    if isinstance(value, _core.Tensor):
        return value if value.dtype == dtype else value.to(dtype)
    arr = to_numpy(value.detach() if hasattr(value, "detach") else value)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{owner}: inputs_embeds must hold floating values (a pyseq Tensor, numpy array or torch "
                        f"tensor), got {arr.dtype}")
    return _core.from_numpy(np.ascontiguousarray(arr, dtype=np.float64 if dtype == _core.dtype.float64 else np.float32))


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


def _json_writer(d):
    """write(f) of the dict d as indented JSON (serialised now, so a value JSON cannot hold fails here)."""
    data = (json.dumps(d, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return lambda f: f.write(data)


def write_json(path, d):
    """Writes the dict d as indented JSON, atomically."""
    atomic_write(os.fspath(path), _json_writer(d))


def is_float64_checkpoint(config_dict):
    """Whether a config.json says its weights are float64 (transformers' dtype, or torch_dtype before
    version 5): the model is then loaded in float64, as transformers does. Other dtypes load as
    float32, pyseq's narrowest."""
    return config_dict.get("dtype", config_dict.get("torch_dtype")) == "float64"


def with_dtype(config_dict, model):
    """config_dict with the model's float dtype under both of transformers' names."""
    name = "float64" if model.dtype == _core.dtype.float64 else "float32"
    return {**config_dict, "dtype": name, "torch_dtype": name}


def save_folder(path, config_dict, state_dict):
    """Writes model.safetensors and config.json into the folder `path` as one atomic write: both are
    complete on disk before either replaces the old one, so a failed save leaves the folder as it was."""
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    atomic_write_files([(os.path.join(path, "model.safetensors"), safetensors_writer(state_dict, {"format": "pt"})),
                        (os.path.join(path, "config.json"), _json_writer(config_dict))])
