"""Python-side conveniences of Tensor: construction from Python data, repr, conversions."""

import numpy as np

from ._core import Tensor, dtype, from_numpy

_INT64 = dtype.int64  # module-level name: tensor()'s `dtype` argument shadows the class
_NUMPY_OF = {dtype.bool: np.bool_, dtype.int64: np.int64, dtype.float32: np.float32, dtype.float64: np.float64}


def _check_int_range(data, arr):
    """Raise for a Python int outside int64 anywhere in `data`: numpy silently turns such lists into
    float64, uint64 or object arrays. Only walks the data when the array's values could hold one."""
    if arr.dtype != object and not (arr.dtype.kind in "fu" and arr.size and np.abs(arr).max() >= 2.0 ** 63):
        return
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, int) and not -2**63 <= item < 2**63:
            raise ValueError(f"tensor(): integer {item} does not fit in int64")


def _infer_numpy_dtype(data, arr):
    """Python floats give float32 and ints int64 (as in PyTorch); numpy arrays and scalars keep their dtype."""
    if isinstance(data, (np.ndarray, np.generic)) and arr.dtype in (np.float32, np.float64, np.int64, np.bool_):
        return arr.dtype
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"tensor(): value {arr.max()} does not fit in int64")
    if arr.dtype.kind == "b":
        return np.bool_
    if arr.dtype.kind in "iu":
        return np.int64
    if arr.dtype.kind == "f":
        return np.float32
    raise TypeError(f"tensor(): cannot build a tensor from data of numpy dtype {arr.dtype} "
                    f"(expected numbers or bools, got {type(data).__name__})")


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, numbers, a numpy array or a Tensor)."""
    if isinstance(data, Tensor):
        out = data.detach().clone() if dtype is None else data.detach().to(dtype).clone()
    else:
        try:
            arr = np.array(data)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"tensor(): data must be a rectangular nested sequence of numbers: {e}") from None
        if isinstance(data, (list, tuple)) and dtype in (None, _INT64):
            _check_int_range(data, arr)
        if dtype is not None and dtype not in _NUMPY_OF:
            raise TypeError(f"tensor(): dtype must be a pyseq dtype (pyseq.float32, ...), got {dtype!r}")
        np_dtype = _NUMPY_OF[dtype] if dtype is not None else _infer_numpy_dtype(data, arr)
        try:
            out = from_numpy(np.array(arr, dtype=np_dtype, order="C"))  # a fresh copy we own
        except OverflowError as e:
            raise ValueError(f"tensor(): a value does not fit in {dtype}: {e}") from None
    if requires_grad:
        out.requires_grad_(True)
    return out


def _repr(self):
    body = np.array2string(self.detach().numpy(), separator=", ", prefix="tensor(", precision=4)
    extras = []
    if self.numel() == 0 and self.ndim != 1:
        extras.append(f"size={self.shape}")
    if self.dtype not in (dtype.float32, dtype.int64) or self.numel() == 0:
        extras.append(f"dtype={self.dtype!r}")
    if self.grad_fn is not None:
        extras.append(f"grad_fn={self.grad_fn!r}")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _tolist(self):
    return self.detach().numpy().tolist()


def _array(self, dtype=None, copy=None):
    arr = self.detach().numpy()
    return arr if dtype is None else arr.astype(dtype)


def _to_python(kind):
    def convert(self):
        if self.numel() != 1:
            raise ValueError(f"only one-element tensors can be converted to Python scalars, got shape {self.shape}")
        return kind(self.item())
    return convert


def _rebuild(array, requires_grad):
    out = from_numpy(array)
    return out.requires_grad_(True) if requires_grad else out


def _reduce_ex(self, protocol):
    """Pickling and copy.deepcopy go through a numpy copy of the values (grad and graph are not kept)."""
    return _rebuild, (self.detach().numpy().copy(), self.requires_grad and self.is_leaf)


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(len(self)))


Tensor.__repr__ = _repr
Tensor.__iter__ = _iter
Tensor.__reduce_ex__ = _reduce_ex
Tensor.__str__ = _repr
Tensor.tolist = _tolist
Tensor.__array__ = _array
Tensor.__bool__ = _to_python(bool)
Tensor.__float__ = _to_python(float)
Tensor.__int__ = _to_python(int)
Tensor.__array_priority__ = 1000  # numpy defers to Tensor's reflected operators
