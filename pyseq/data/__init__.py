"""Datasets, batching and collation, after torch.utils.data.

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    for xb, yb in loader: ...

    # variable-length token sequences with labels:
    loader = DataLoader(list(zip(sequences, labels)), batch_size=32, collate_fn=pad_collate)
    for (tokens, lengths, mask), labels in loader: ...   # (B, T), (B,), (B, T), (B,)

Shuffling is reproducible: with `seed=` the loader owns a generator seeded once, so the n-th
epoch's order is the same on every run; without it each epoch's order is drawn from pyseq's
global generator, so `pyseq.manual_seed` fixes it.
"""

import bisect
import builtins
import collections
import itertools
import math
import numbers

import numpy as np

from .._core import Tensor, cat, dtype, from_numpy, full, index_select, randint, stack
from .._tensor import tensor

__all__ = ["Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split", "DataLoader",
           "default_collate", "pad_sequence", "pad_collate", "PaddedBatch"]


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(i)` and `__len__()`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors: `(t0[i], t1[i], ...)`."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} must be a pyseq.Tensor, got {type(t).__name__}")
            if t.dim() == 0:
                raise ValueError(f"TensorDataset: argument {i} is 0-d; every tensor needs a first (sample) dim")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all tensors must have the same first dim, got sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """The samples of several datasets, one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of length {n}")
        index = index + n if index < 0 else index
        i = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[i][index - (self.cumulative_sizes[i - 1] if i else 0)]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.dataset[i] for i in self.indices[index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def _numpy_rng(seed, fn="DataLoader"):
    """A numpy Generator: from `seed`, or seeded from pyseq's global generator when it is None."""
    if seed is not None and (isinstance(seed, builtins.bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise TypeError(f"{fn}: seed must be a non-negative int or None, got {seed!r}")
    if seed is None:
        seed = int(randint(0, 2**62, (1,)).item())
    return np.random.default_rng(seed)


def random_split(dataset, lengths, seed=None):
    """Splits `dataset` into non-overlapping random Subsets of the given lengths.

    lengths: sample counts summing to len(dataset), or fractions summing to 1 (remainders go
    round-robin to the first splits, as in PyTorch). seed: fixes the split (else pyseq's generator).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) and 0 <= x <= 1 for x in lengths) and math.isclose(builtins.sum(lengths), 1):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - builtins.sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths) or builtins.sum(lengths) != n:
        raise ValueError(f"random_split: lengths must be non-negative ints summing to the dataset's "
                         f"length {n} (or fractions summing to 1), got {lengths}")
    perm = _numpy_rng(seed, "random_split").permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k].tolist()))
        start += k
    return out


# --------------------------------------------------------------------------------------------
# collation

_NUMPY_TO_PYSEQ = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}


def _array_to_tensor(arr):
    """A tensor from a numpy array: float64 stays float64, other floats become float32, integers int64."""
    if arr.dtype.kind not in _NUMPY_TO_PYSEQ:
        raise TypeError(f"default_collate: cannot batch numpy arrays of dtype {arr.dtype}")
    target = np.float64 if arr.dtype == np.float64 else _NUMPY_TO_PYSEQ[arr.dtype.kind]
    return from_numpy(np.asarray(arr, dtype=target, order="C"))


def default_collate(batch):
    """Merges a list of samples into a batch, as torch's default_collate does.

    Tensors and numpy arrays are stacked along a new first dim (they must have equal shapes);
    Python ints give an int64 tensor (float32 when later samples are floats, as in torch), floats a
    float64 tensor, bools a bool tensor; strings stay
    a list; tuples, lists and dicts are collated field by field, keeping their structure.
    """
    if not batch:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    kinds = {type(b).__name__ for b in batch if isinstance(b, (Tensor, np.ndarray))}
    if len(kinds) > 1:
        raise TypeError(f"default_collate: a batch mixes {' and '.join(sorted(kinds))}; make its samples all "
                        f"Tensors or all numpy arrays")
    if isinstance(elem, Tensor):
        shapes = {tuple(b.shape) for b in batch if isinstance(b, Tensor)}
        if len(shapes) != 1 or not all(isinstance(b, Tensor) for b in batch):
            raise ValueError(f"default_collate: tensors in a batch must all have the same shape, got "
                             f"{sorted(shapes)}; for variable-length sequences use collate_fn=pad_collate")
        return stack(list(batch), 0)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        shapes = {np.shape(b) for b in batch}
        if len(shapes) != 1:
            raise ValueError(f"default_collate: arrays in a batch must all have the same shape, got "
                             f"{sorted(shapes)}; for variable-length sequences use collate_fn=pad_collate")
        return _array_to_tensor(np.stack(batch))
    if isinstance(elem, numbers.Integral):  # bools and ints: the dtype the whole batch needs, as torch.tensor
        return tensor(list(batch))
    if isinstance(elem, numbers.Real):
        return tensor(list(batch), dtype=dtype.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        missing = [i for i, b in enumerate(batch) if not isinstance(b, collections.abc.Mapping) or b.keys() != elem.keys()]
        if missing:
            raise ValueError(f"default_collate: sample {missing[0]} does not have the keys {list(elem)} of sample 0")
        fields = {k: default_collate([b[k] for b in batch]) for k in elem}
        return fields if type(elem) is dict else type(elem)(fields)
    if isinstance(elem, (tuple, list)):
        sizes = {len(b) for b in batch}
        if len(sizes) != 1:
            raise ValueError(f"default_collate: every sample must have the same number of fields, got {sorted(sizes)}")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; expected tensors, "
                    "numpy arrays, numbers, strings, or tuples / lists / dicts of these")


def _as_sequence_array(seq, i):
    if isinstance(seq, Tensor):
        return seq.detach().numpy()
    arr = np.asarray(seq)
    if arr.dtype.kind not in "fiub" or arr.ndim == 0:
        raise TypeError(f"pad_sequence: sequence {i} must be a 1-D (or (L, *)) list, array or tensor of "
                        f"numbers, got {type(seq).__name__} of shape {arr.shape} and dtype {arr.dtype}")
    if not isinstance(seq, np.ndarray) and arr.dtype.kind == "f":
        arr = arr.astype(np.float32)  # Python floats give float32, as in pyseq.tensor
    return arr


def pad_sequence(sequences, batch_first=False, padding_value=0, padding_side="right"):
    """Pads a list of (L_i, *) sequences to the longest one, as torch.nn.utils.rnn.pad_sequence.

    Returns (T, B, *) or, with batch_first, (B, T, *), where T = max L_i. Sequences may be
    tensors, numpy arrays or lists of numbers; their trailing dims must agree. Tensors that
    require grad are padded with differentiable ops (gradients flow back to each sequence).
    """
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: got no sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    if any(isinstance(s, Tensor) and s.requires_grad for s in sequences):
        return _pad_with_ops(sequences, batch_first, padding_value, padding_side)
    arrays = [_as_sequence_array(s, i) for i, s in enumerate(sequences)]
    trailing = {a.shape[1:] for a in arrays}
    if len(trailing) != 1:
        raise ValueError(f"pad_sequence: all sequences must have the same trailing dims, got {sorted(trailing)}")
    if all(isinstance(s, Tensor) for s in sequences):
        dtypes = {s.dtype for s in sequences}
        if len(dtypes) != 1:
            raise TypeError(f"pad_sequence: all tensors must have the same dtype, got {sorted(map(str, dtypes))}")
        out_dtype = arrays[0].dtype
    else:
        out_dtype = np.result_type(*arrays)
        out_dtype = np.float64 if out_dtype == np.float64 else _NUMPY_TO_PYSEQ[out_dtype.kind]
    T = builtins.max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), T) + arrays[0].shape[1:], padding_value, dtype=out_dtype)  # (B, T, *)
    for i, a in enumerate(arrays):
        if padding_side == "right":
            out[i, :a.shape[0]] = a
        elif a.shape[0]:
            out[i, -a.shape[0]:] = a
    if not batch_first:
        out = np.ascontiguousarray(np.swapaxes(out, 0, 1))  # (T, B, *)
    return from_numpy(out)


def _pad_with_ops(sequences, batch_first, padding_value, padding_side):
    """pad_sequence for tensors that require grad: pad each (L_i, *) with cat, then stack."""
    T = builtins.max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] == T:
            padded.append(s)
            continue
        pad = full((T - s.shape[0],) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)  # (T - L_i, *)
        padded.append(cat([s, pad] if padding_side == "right" else [pad, s], 0))  # (T, *)
    return stack(padded, 0 if batch_first else 1)


PaddedBatch = collections.namedtuple("PaddedBatch", ["data", "lengths", "mask"])
PaddedBatch.__doc__ = """A padded batch of sequences: data (B, T, *), lengths (B,) int64, and mask
(B, T) bool that is True at real positions and False at padding (an attention mask)."""


def pad_collate(batch, padding_value=0, batch_first=True, padding_side="right"):
    """A collate_fn for variable-length sequences.

    Samples that are sequences give a PaddedBatch(data, lengths, mask). Samples that are tuples
    `(sequence, *rest)` give `(PaddedBatch(...), *default_collate(rest))`, e.g. for
    `(tokens, label)` samples: `((tokens (B, T), lengths (B,), mask (B, T)), labels (B,))`.
    """
    if not batch:
        raise ValueError("pad_collate: got an empty batch")
    if isinstance(batch[0], tuple) and not hasattr(batch[0], "_fields"):
        sizes = {len(b) for b in batch}
        if len(sizes) != 1:
            raise ValueError(f"pad_collate: every sample must have the same number of fields, got {sorted(sizes)}")
        first = pad_collate([b[0] for b in batch], padding_value, batch_first, padding_side)
        return (first, *(default_collate(list(f)) for f in list(zip(*batch))[1:]))
    data = pad_sequence(batch, batch_first=batch_first, padding_value=padding_value, padding_side=padding_side)
    lengths = np.array([len(s) if not isinstance(s, Tensor) else s.shape[0] for s in batch], dtype=np.int64)
    T = int(lengths.max())
    positions = np.arange(T)  # (T,)
    if padding_side == "right":
        mask = positions[None, :] < lengths[:, None]  # (B, T)
    else:
        mask = positions[None, :] >= (T - lengths)[:, None]  # (B, T)
    return PaddedBatch(data, from_numpy(lengths), from_numpy(np.ascontiguousarray(mask)))


# --------------------------------------------------------------------------------------------
# the loader


class DataLoader:
    """Iterates over `dataset` in batches.

    batch_size: samples per batch. shuffle: a new random order every epoch (each `iter()`).
    seed: seeds the loader's own generator, making the sequence of epoch orders reproducible;
    without it the order comes from pyseq's global generator (`pyseq.manual_seed`).
    drop_last: skip the last batch when it is smaller than batch_size.
    collate_fn: merges a list of samples into a batch (default: default_collate).
    sampler: an iterable of sample indices drawn anew each epoch (e.g. torch's samplers), instead
    of shuffle. batch_sampler: an iterable of lists of indices, one list per batch (e.g. batches
    of similar lengths), instead of batch_size, shuffle, sampler and drop_last.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, seed=None,
                 sampler=None, batch_sampler=None):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, builtins.bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        try:
            len(dataset)
        except TypeError:
            raise TypeError(f"DataLoader: the dataset must define __len__ and __getitem__, "
                            f"got {type(dataset).__name__}") from None
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = builtins.bool(shuffle)
        self.drop_last = builtins.bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.seed = seed
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._rng = _numpy_rng(seed) if seed is not None else None

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.array([int(i) for i in self.sampler], dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else _numpy_rng(None)
        return rng.permutation(n)

    def state_dict(self):
        """The seeded loader's generator state, i.e. the shuffling orders of the epochs to come:
        store it in a checkpoint between epochs and give it to load_state_dict to resume exactly
        (an unseeded loader draws from pyseq's generator: save pyseq.get_rng_state() instead)."""
        return {"rng": self._rng.bit_generator.state} if self._rng is not None else {}

    def load_state_dict(self, state_dict):
        if "rng" in state_dict:
            if self._rng is None:
                raise ValueError("DataLoader.load_state_dict: the state holds a seeded generator's state, "
                                 "but this loader has no seed")
            self._rng.bit_generator.state = state_dict["rng"]

    def _batches(self):
        """Each batch's sample indices, as an int64 array."""
        if self.batch_sampler is not None:
            for idx in self.batch_sampler:
                yield np.array([int(i) for i in idx], dtype=np.int64)
            return
        order = self._order()  # drawn when iteration starts, as in PyTorch
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __iter__(self):
        # A TensorDataset with the default collate is batched with one index_select per tensor.
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for idx in self._batches():
            if fast:
                index = from_numpy(np.ascontiguousarray(idx, dtype=np.int64))
                yield tuple(index_select(t, 0, index) for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])
