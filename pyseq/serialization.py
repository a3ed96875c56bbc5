"""pyseq.save / pyseq.load: any picklable object holding tensors (a state_dict, a checkpoint dict),
as torch.save / torch.load. Writes are atomic; loading is restricted by default (weights_only, as
PyTorch 2.6+): only tensors, numpy arrays, containers and plain values are rebuilt, never arbitrary
classes or calls, so a file from elsewhere cannot run code."""

import io
import os
import pickle

from .io.safetensors import atomic_write

__all__ = ["save", "load", "WeightsOnlyError"]

# (module, name) pairs a weights-only load may rebuild: pyseq tensors (pyseq._tensor._rebuild over a
# numpy array), numpy arrays and dtypes, and the standard containers.
_SAFE = {
    ("pyseq._tensor", "_rebuild"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "range"),
}


class WeightsOnlyError(ValueError):
    """A weights-only load met an object it may not rebuild (a class or a call)."""


class _WeightsOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE or (module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise WeightsOnlyError(f"load: weights_only=True refuses to rebuild {module}.{name}; pass "
                               f"weights_only=False for a file you trust")


def save(obj, f, pickle_protocol=pickle.DEFAULT_PROTOCOL):
    """Pickles obj into f (a path, written atomically, or a binary file object)."""
    if isinstance(f, (str, bytes, os.PathLike)):
        data = pickle.dumps(obj, protocol=pickle_protocol)
        atomic_write(f, lambda out: out.write(data))
    else:
        pickle.dump(obj, f, protocol=pickle_protocol)


def load(f, map_location=None, weights_only=True):
    """The object save wrote (f: a path or a binary file object). weights_only (the default)
    rebuilds only tensors, arrays, containers and plain values; map_location is accepted for
    PyTorch's sake ('cpu' or None: pyseq's tensors are on the CPU)."""
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: map_location must be None or 'cpu', got {map_location!r}")
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as file:
            data = file.read()
    else:
        data = f.read()
    if not weights_only:
        return pickle.loads(data)
    try:
        return _WeightsOnly(io.BytesIO(data)).load()
    except WeightsOnlyError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
        name = f if isinstance(f, (str, bytes, os.PathLike)) else "the file"
        raise ValueError(f"load: {name} is not a file pyseq.save wrote, or was cut short ({e})") from None
