"""Batches of sequences of different lengths, as torch.nn.utils.rnn: pad_sequence, unpad_sequence,
pack_padded_sequence, pad_packed_sequence, pack_sequence, unpack_sequence, invert_permutation and
the PackedSequence they pass around.

A PackedSequence holds the real steps of a batch without padding, time step after time step: at
step t the rows of the batch_sizes[t] sequences still running, longest first. sorted_indices[i] is
the batch row of the i-th longest sequence (None when the batch came sorted); unsorted_indices is
its inverse. The layout is PyTorch's, so `packed.data` is the same matrix in both, except that
sequences of equal length may come in another order when more than 16 are unsorted: pyseq sorts
stably, torch's sort is not stable there (padding them back gives the same tensors).

Packing and unpacking are row gathers (index_select), so gradients flow through them.
"""

import numbers
from collections import namedtuple

import numpy as np

from ... import _core
from ..._core import Tensor
from ..._tensor import tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """data (sum of lengths, *), batch_sizes int64 (T,), sorted_indices and unsorted_indices int64
    (B,) or None. Made by pack_padded_sequence / pack_sequence, taken by the recurrent layers."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = tensor(np.argsort(sorted_indices.numpy(), kind="stable"))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, dtype=None, device=None):
        """A PackedSequence with data converted to dtype and the index tensors kept, as PyTorch; self
        when nothing changes. pyseq.float64, "cpu" (the only device, a no-op), both, or a Tensor
        (its dtype)."""
        for a in args:
            if isinstance(a, str):
                device = a
            elif isinstance(a, _core.Tensor):
                dtype = a.dtype
            else:
                dtype = a
        if device is not None and str(device) != "cpu":
            raise ValueError(f"PackedSequence.to(): only the 'cpu' device is supported, got '{device}'")
        if dtype is None or dtype == self.data.dtype:
            return self
        return self._replace(data=self.data.to(dtype))

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(_core.dtype.float32)

    def double(self):
        return self.to(_core.dtype.float64)

    @property
    def is_cuda(self):
        return self.data.device.startswith("cuda")

    def is_pinned(self):
        """False: pyseq has no page-locked memory."""
        return False

    def lengths(self):
        """The length of each sequence, in the batch's original order (int64 numpy array)."""
        sizes = self.batch_sizes.numpy()
        in_sorted_order = (sizes[None, :] > np.arange(int(sizes[0]))[:, None]).sum(axis=1)
        if self.sorted_indices is None:
            return in_sorted_order
        lengths = np.empty_like(in_sorted_order)
        lengths[self.sorted_indices.numpy()] = in_sorted_order
        return lengths

    def _rows(self):
        """For each row of data, its place t * B + b in the padded (T, B) grid (b: the original row).
        A hand-made PackedSequence is checked here: batch_sizes positive and non-increasing, summing
        to data's rows, sorted_indices a permutation of the batch."""
        sizes = self.batch_sizes.numpy()
        if sizes.ndim != 1 or sizes.size == 0 or sizes.min() < 1 or np.any(sizes[1:] > sizes[:-1]):
            raise ValueError(f"PackedSequence: batch_sizes must be a non-empty, non-increasing list of positive "
                             f"counts, got {sizes.tolist()}")
        if self.data is not None and int(sizes.sum()) != self.data.shape[0]:
            raise ValueError(f"PackedSequence: batch_sizes sum to {int(sizes.sum())} steps, but data holds "
                             f"{self.data.shape[0]} rows")
        B = int(sizes[0])
        order = np.arange(B) if self.sorted_indices is None else self.sorted_indices.numpy()
        if self.sorted_indices is not None and (order.shape != (B,) or not np.array_equal(np.sort(order), np.arange(B))):
            raise ValueError(f"PackedSequence: sorted_indices must be a permutation of the {B} sequences, got "
                             f"{order.tolist()}")
        return np.concatenate([t * B + order[:n] for t, n in enumerate(sizes)])


def invert_permutation(permutation):
    """The inverse of a permutation (a 1-d int64 tensor): out[permutation[i]] = i, i.e. its argsort;
    None for None. It turns a PackedSequence's sorted_indices into its unsorted_indices."""
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor) or permutation.dtype != _core.dtype.int64 or permutation.ndim != 1:
        raise TypeError("invert_permutation: expected a 1-d int64 tensor or None, got "
                        + (f"{permutation.dtype} of shape {tuple(permutation.shape)}" if isinstance(permutation, Tensor)
                           else type(permutation).__name__))
    return permutation.argsort()


def _lengths_array(lengths, batch, fn):
    if isinstance(lengths, Tensor):
        if lengths.dtype != _core.dtype.int64 or lengths.ndim != 1:
            raise TypeError(f"{fn}: lengths must be a 1-d int64 tensor or a list of ints, got {lengths.dtype} "
                            f"of shape {tuple(lengths.shape)}")
        values = lengths.numpy()
    else:
        try:
            values = np.asarray(lengths)
        except (TypeError, ValueError):
            values = None
        if values is None or values.ndim != 1 or not (values.size == 0 or np.issubdtype(values.dtype, np.integer)):
            raise TypeError(f"{fn}: lengths must be a 1-d int64 tensor or a list of ints, got {lengths!r}")
    values = values.astype(np.int64)
    if values.size != batch:
        raise ValueError(f"{fn}: expected {batch} lengths (one per sequence of the batch), got {values.size}")
    return values


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch input (T, B, *) (or (B, T, *) with batch_first) whose sequence b has
    lengths[b] real steps (1 <= lengths[b] <= T). enforce_sorted: the lengths must come in
    decreasing order; otherwise the batch is sorted here and the order remembered."""
    fn = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{fn}: expected input of shape (T, B, *) or (B, T, *) with batch_first, got "
                         f"{tuple(input.shape)}")
    if batch_first:
        input = input.transpose(0, 1)
    T, B = input.shape[0], input.shape[1]
    values = _lengths_array(lengths, B, fn)
    if B == 0:
        raise ValueError(f"{fn}: cannot pack an empty batch")
    if values.min() <= 0 or values.max() > T:
        raise ValueError(f"{fn}: every length must be in [1, {T}] (the padded input has {T} steps), got "
                         f"{values.tolist()}")
    if enforce_sorted:
        if np.any(values[1:] > values[:-1]):
            raise ValueError(f"{fn}: lengths must be in decreasing order when enforce_sorted=True, got "
                             f"{values.tolist()}; pass enforce_sorted=False to pack an unsorted batch")
        sorted_indices = None
    else:
        sorted_indices = tensor(np.argsort(-values, kind="stable"))
    sorted_lengths = values if sorted_indices is None else values[sorted_indices.numpy()]
    batch_sizes = (sorted_lengths[None, :] > np.arange(int(sorted_lengths[0]))[:, None]).sum(axis=1)
    packed = PackedSequence(None, tensor(batch_sizes.astype(np.int64)), sorted_indices)
    data = input.reshape([T * B] + list(input.shape[2:])).index_select(0, tensor(packed._rows()))
    return packed._replace(data=data)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64 (B,)), the
    batch in its original order and padded positions set to padding_value. T is the longest length,
    or total_length when given (at least the longest)."""
    fn = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: expected a PackedSequence, got {type(sequence).__name__}")
    data, sizes = sequence.data, sequence.batch_sizes.numpy()
    T, B = len(sizes), int(sizes[0])
    if total_length is not None:
        if isinstance(total_length, Tensor) and total_length.numel() == 1 and total_length.dtype == _core.dtype.int64:
            total_length = total_length.item()  # (a 0-d tensor, as torch takes)
        if isinstance(total_length, bool) or not isinstance(total_length, numbers.Integral):
            raise TypeError(f"{fn}: total_length must be an int, got {total_length!r}")
        if total_length < T:
            raise ValueError(f"{fn}: total_length ({total_length}) must be at least the longest sequence's "
                             f"length ({T})")
        T = total_length
    feature_shape = list(data.shape[1:])
    # Every cell of the (T, B) grid gathers its row of data, or the padding row appended at the end.
    source = np.full(T * B, data.shape[0], dtype=np.int64)
    source[sequence._rows()] = np.arange(data.shape[0])
    padding_row = _core.full([1] + feature_shape, padding_value, dtype=data.dtype)
    rows = _core.cat([data, padding_row], 0).index_select(0, tensor(source))
    padded = rows.reshape([T, B] + feature_shape)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, tensor(sequence.lengths())


_PROMOTION_ORDER = [_core.dtype.bool, _core.dtype.int64, _core.dtype.float32, _core.dtype.float64]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks tensors of shape (L_i, *) into (T, B, *) (or (B, T, *) with batch_first), T = max L_i,
    filling the rest with padding_value on the right (or the left). Sequences of different dtypes
    give the widest of them, as torch promotes (bool < int64 < float32 < float64)."""
    fn = "pad_sequence"
    if isinstance(sequences, Tensor):
        sequences = list(sequences.split(1, 0))
        sequences = [s.squeeze(0) for s in sequences]
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"{fn}: expected at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"{fn}: padding_side must be 'right' or 'left', got {padding_side!r}")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"{fn}: sequences must be Tensors, but item {i} is a {type(s).__name__}")
        if s.ndim < 1 or list(s.shape[1:]) != list(sequences[0].shape[1:]):
            raise ValueError(f"{fn}: every sequence must be (L, *) with the same *; item 0 is "
                             f"{tuple(sequences[0].shape)}, item {i} {tuple(s.shape)}")
    dtype = max((s.dtype for s in sequences), key=_PROMOTION_ORDER.index)
    sequences = [s if s.dtype == dtype else s.to(dtype) for s in sequences]
    T = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] < T:
            fill = _core.full([T - s.shape[0]] + list(s.shape[1:]), padding_value, dtype=s.dtype)
            s = _core.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return _core.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of pad_sequence: the list of the B sequences (L_b, *) of a padded batch (T, B, *)
    (or (B, T, *) with batch_first), sequence b its first lengths[b] steps (a copy; gradients flow
    back). Unlike PyTorch's, the input is not transposed in place."""
    fn = "unpad_sequence"
    if not isinstance(padded_sequences, Tensor):
        raise TypeError(f"{fn}: padded_sequences must be a Tensor, got {type(padded_sequences).__name__}")
    if padded_sequences.ndim < 2:
        raise ValueError(f"{fn}: expected padded_sequences of shape (T, B, *) or (B, T, *) with batch_first, got "
                         f"{tuple(padded_sequences.shape)}")
    batch_dim = 0 if batch_first else 1
    T = padded_sequences.shape[1 - batch_dim]
    values = _lengths_array(lengths, padded_sequences.shape[batch_dim], fn)
    if values.size and (values.min() < 0 or values.max() > T):
        raise ValueError(f"{fn}: every length must be in [0, {T}] (the padded batch has {T} steps), got "
                         f"{values.tolist()}")
    return [padded_sequences.select(batch_dim, b).narrow(0, 0, int(n)).clone() for b, n in enumerate(values)]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of tensors (L_i, *): pack_padded_sequence(pad_sequence(sequences), lengths)."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The inverse of pack_sequence: the list of the sequences (L_b, *) of a PackedSequence, in the
    batch's original order."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(f"unpack_sequence: expected a PackedSequence, got {type(packed_sequences).__name__}")
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
