"""Reading and writing the safetensors format, with atomic writes.

A safetensors file is:

    8 bytes      N, the header size, unsigned little-endian
    N bytes      a JSON object: {"__metadata__": {str: str}?, name: {"dtype": "F32", "shape": [2, 3],
                 "data_offsets": [begin, end]}, ...}, padded with spaces
    the rest     the data section: each tensor's raw little-endian bytes in row-major order, at
                 [begin, end) relative to the start of the data section; the tensors tile it exactly

Files written here are read by the `safetensors` package and by PyTorch
(`safetensors.torch.load_file`), and files they write are read here. pyseq's dtypes map to F32,
F64, I64 and BOOL (and a numpy float16 array is written as F16, to halve a file); on reading, the
narrower types other libraries write (F16, BF16, I8-I32, U8-U32) are widened to float32 / int64,
since pyseq has no tensors of those types.

Writes are atomic: the file is written under a temporary name in the same directory, flushed to
disk, and renamed over the target, so a crash mid-save leaves the previous file intact.
"""

import json
import math
import errno
import os
import stat
import tempfile

import numpy as np

from .._core import Tensor, dtype, from_numpy

__all__ = ["SafetensorsError", "save_file", "load_file", "load_metadata", "atomic_write"]

# pyseq dtype -> (safetensors name, little-endian numpy dtype)
_WRITE = {
    dtype.float32: ("F32", np.dtype("<f4")),
    dtype.float64: ("F64", np.dtype("<f8")),
    dtype.int64: ("I64", np.dtype("<i8")),
    dtype.bool: ("BOOL", np.dtype("u1")),
}
# safetensors name -> (little-endian numpy dtype of the bytes, numpy dtype pyseq gets)
_READ = {
    "F32": (np.dtype("<f4"), np.float32),
    "F64": (np.dtype("<f8"), np.float64),
    "I64": (np.dtype("<i8"), np.int64),
    "BOOL": (np.dtype("u1"), np.bool_),
    "F16": (np.dtype("<f2"), np.float32),
    "BF16": (np.dtype("<u2"), np.float32),  # the upper 16 bits of a float32
    "I32": (np.dtype("<i4"), np.int64),
    "I16": (np.dtype("<i2"), np.int64),
    "I8": (np.dtype("i1"), np.int64),
    "U32": (np.dtype("<u4"), np.int64),
    "U16": (np.dtype("<u2"), np.int64),
    "U8": (np.dtype("u1"), np.int64),
}
_MAX_HEADER = 100_000_000  # bytes; the safetensors package refuses larger headers too


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file (truncated, corrupt, unsupported content)."""


# --------------------------------------------------------------------------------------------
# writing


def _remove_stale_temps(directory, prefix):
    """Deletes the temporary files `prefix<pid>.<random>.tmp` of earlier writes of the same path
    whose process is gone (killed in the middle of a write): a process that is still running may
    be writing one now, so its files stay."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
        except (PermissionError, OverflowError):
            pass  # alive under another user, or not a pid at all


def atomic_write(path, write):
    """Calls `write(f)` on a temporary file beside `path`, then atomically renames it to `path`.

    The data is flushed and fsync'ed before the rename, and the directory is fsync'ed after it,
    so after a crash `path` holds either its previous content or the complete new one. On an
    error the temporary file is removed and `path` is untouched; the temporary file of a process
    killed mid-write (named with its pid) is removed by the next write of the same path.
    """
    atomic_write_files([(path, write)])


def atomic_write_files(files):
    """atomic_write for several files that belong together, [(path, write), ...]: every file is
    written in full to its temporary name before the first rename, so an error in any write
    (a full disk, a value that cannot be serialised) leaves all of the paths untouched."""
    written = []  # (temporary name, path)
    try:
        for path, write in files:
            path = os.fspath(path)
            written.append((_write_temporary(path, write), path))
        while written:
            tmp, path = written[0]
            os.replace(tmp, path)
            written.pop(0)
            _fsync_directory(os.path.dirname(os.path.abspath(path)))
    except BaseException:
        for tmp, _ in written:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise


def _write_temporary(path, write):
    """`write(f)` on a new temporary file beside `path`, flushed and fsync'ed: its name. On an error
    the file is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    _remove_stale_temps(directory, prefix)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"the folder {directory} does not exist", path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}.", suffix=".tmp")
    except OSError as e:  # name the file being written, not the temporary one
        raise type(e)(e.errno, f"cannot create a file in {directory} ({e.strerror})", path) from None
    try:
        _set_mode(fd, path)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def _umask():
    """The process's umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _set_mode(fd, path):
    """mkstemp creates files readable by the owner only; give the new file the permissions of the
    file it replaces, or those a plain open() would give."""
    if not hasattr(os, "fchmod"):  # Windows
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    os.fchmod(fd, mode)


def _fsync_directory(directory):
    """Makes the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _as_array(name, value):
    """A C-contiguous little-endian numpy array of a tensor's data, and its safetensors dtype."""
    if isinstance(value, Tensor):
        if value.dtype not in _WRITE:
            raise TypeError(f"save_file: tensor {name!r} has dtype {value.dtype}, which safetensors cannot store")
        st_name, le = _WRITE[value.dtype]
        arr = value.detach().contiguous().numpy()
    elif isinstance(value, np.ndarray):
        kinds = {"f": {2: "F16", 4: "F32", 8: "F64"}, "i": {8: "I64"}, "b": {1: "BOOL"}}
        st_name = kinds.get(value.dtype.kind, {}).get(value.dtype.itemsize)
        if st_name is None:
            raise TypeError(f"save_file: array {name!r} has numpy dtype {value.dtype}; "
                            "expected float16, float32, float64, int64 or bool")
        le = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"),
              "BOOL": np.dtype("u1")}[st_name]
        arr = value
    else:
        raise TypeError(f"save_file: value of {name!r} must be a pyseq.Tensor, got {type(value).__name__}")
    if st_name == "BOOL":
        arr = arr.astype(np.uint8, copy=False)
    return st_name, np.asarray(arr, dtype=le, order="C")  # (ascontiguousarray would make 0-d 1-d)


def _check_metadata(metadata):
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise TypeError(f"save_file: metadata must be a dict of str to str, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save_file: metadata must map str to str; entry {k!r}: {v!r} is "
                            f"{type(k).__name__} -> {type(v).__name__} (serialize values with json.dumps)")
    return dict(metadata)


def _serialize(tensors, metadata):
    """(header bytes incl. the 8-byte size, [arrays in data order])."""
    if not hasattr(tensors, "items"):
        raise TypeError(f"save_file: expected a dict of name -> Tensor, got {type(tensors).__name__}")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file: tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("save_file: '__metadata__' is reserved; pass metadata=... instead")
        st_name, arr = _as_array(name, value)
        entries.append((name, st_name, arr))
    # Data order: 8-byte types first, then 4-byte, then 1-byte, so every tensor starts at an
    # offset aligned to its element size (the header size is padded to a multiple of 8).
    order = sorted(range(len(entries)), key=lambda i: -entries[i][2].itemsize)
    offsets, pos = {}, 0
    for i in order:
        offsets[i] = (pos, pos + entries[i][2].nbytes)
        pos += entries[i][2].nbytes
    header = {}
    metadata = _check_metadata(metadata)
    if metadata is not None:
        header["__metadata__"] = metadata
    for i, (name, st_name, arr) in enumerate(entries):  # the header keeps the caller's order
        header[name] = {"dtype": st_name, "shape": list(arr.shape), "data_offsets": list(offsets[i])}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if len(text) > _MAX_HEADER:
        raise SafetensorsError(f"save_file: the header would take {len(text)} bytes, over the {_MAX_HEADER}-byte "
                               "limit of the safetensors format (too many tensors or too much metadata)")
    return len(text).to_bytes(8, "little") + text, [entries[i][2] for i in order]


def save_file(tensors, path, metadata=None):
    """Writes a dict of name -> Tensor to `path` in the safetensors format, atomically.

    metadata: an optional dict of str -> str stored in the header ("__metadata__").
    Non-contiguous tensors are written in row-major order. The previous content of `path`
    survives any failure (including a crash) before the final rename.
    """
    atomic_write(path, safetensors_writer(tensors, metadata))


def safetensors_writer(tensors, metadata=None):
    """save_file's content as a function write(f) for atomic_write / atomic_write_files (the
    tensors are checked and serialised now)."""
    head, arrays = _serialize(tensors, metadata)

    def write(f):
        f.write(head)
        for arr in arrays:
            if arr.nbytes:
                f.write(memoryview(arr.reshape(-1)).cast("B"))

    return write


# --------------------------------------------------------------------------------------------
# reading


def _read_header(f, path, file_size):
    """(header dict, metadata dict or None, position of the data section)."""
    raw = f.read(8)
    if len(raw) < 8:
        raise SafetensorsError(f"{path}: file is truncated or not a safetensors file "
                               f"({file_size} bytes; the 8-byte header size is missing)")
    n = int.from_bytes(raw, "little")
    if n > file_size - 8:
        raise SafetensorsError(f"{path}: file is truncated or corrupt: the header size says {n} bytes "
                               f"but only {file_size - 8} follow")
    if n > _MAX_HEADER:
        raise SafetensorsError(f"{path}: header of {n} bytes exceeds the {_MAX_HEADER}-byte limit")
    text = f.read(n)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError(f"{path}: corrupt header: not valid UTF-8 JSON ({e})") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: corrupt header: JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: corrupt header: expected a JSON object, got {type(header).__name__}")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise SafetensorsError(f"{path}: corrupt header: '__metadata__' must map str to str")
    return header, metadata, 8 + n


def _check_entry(path, name, info, data_size):
    """(safetensors dtype name, shape tuple, begin, end) of one header entry, validated."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise SafetensorsError(f"{path}: corrupt header entry for tensor {name!r}: expected "
                               f"'dtype', 'shape' and 'data_offsets', got {info!r}")
    st_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(st_name, str) or st_name not in _READ:
        raise SafetensorsError(f"{path}: tensor {name!r} has dtype {st_name!r}, which pyseq cannot load "
                               f"(supported: {', '.join(_READ)})")
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise SafetensorsError(f"{path}: tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise SafetensorsError(f"{path}: tensor {name!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if end > data_size:
        raise SafetensorsError(f"{path}: file is truncated or corrupt: tensor {name!r} needs bytes "
                               f"[{begin}, {end}) of the data section, which holds only {data_size} bytes")
    expected = math.prod(shape) * _READ[st_name][0].itemsize
    if end - begin != expected:
        raise SafetensorsError(f"{path}: corrupt header: tensor {name!r} of dtype {st_name} and shape "
                               f"{tuple(shape)} needs {expected} bytes, but data_offsets {offsets} span {end - begin}")
    return st_name, tuple(shape), begin, end


def _check_tiling(path, entries, data_size):
    """The tensors must cover the data section exactly, without gaps or overlaps."""
    pos = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else f"leaves a gap at byte {pos}"
            raise SafetensorsError(f"{path}: corrupt header: tensor {name!r} at data_offsets "
                                   f"[{begin}, {end}) {what}")
        pos = end
    if pos != data_size:
        raise SafetensorsError(f"{path}: corrupt file: the tensors cover {pos} bytes but the data "
                               f"section holds {data_size} (extra bytes at the end)")


def _read_tensor(f, path, name, st_name, shape, begin, end, data_start):
    raw_dtype, out_dtype = _READ[st_name]
    arr = np.empty(shape, dtype=raw_dtype)
    if end > begin:
        f.seek(data_start + begin)
        got = f.readinto(memoryview(arr.reshape(-1)).cast("B"))
        if got != end - begin:
            raise SafetensorsError(f"{path}: file is truncated: tensor {name!r} got {got} of {end - begin} bytes")
    if st_name == "BOOL":
        if arr.size and arr.max() > 1:
            raise SafetensorsError(f"{path}: corrupt data: BOOL tensor {name!r} holds bytes other than 0 and 1")
        return from_numpy(arr.view(np.bool_))
    if st_name == "BF16":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    elif arr.dtype != out_dtype or not arr.dtype.isnative:
        arr = arr.astype(out_dtype)
    return from_numpy(arr)


def _load(path):
    path = os.fspath(path)
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        header, metadata, data_start = _read_header(f, path, file_size)
        data_size = file_size - data_start
        entries = {name: _check_entry(path, name, info, data_size) for name, info in header.items()}
        _check_tiling(path, entries, data_size)
        tensors = {name: _read_tensor(f, path, name, *entry, data_start) for name, entry in entries.items()}
    return tensors, metadata


def load_file(path):
    """Reads a safetensors file into a dict of name -> Tensor (in the header's order).

    Each tensor owns fresh, writable memory. Raises SafetensorsError (a ValueError) naming the
    file and the tensor when the file is truncated, corrupt or holds an unsupported dtype.
    """
    return _load(path)[0]


def load_metadata(path):
    """The header's "__metadata__" dict of a safetensors file (None when it has none)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        return _read_header(f, path, os.fstat(f.fileno()).st_size)[1]
