"""Reading GGUF files (llama.cpp's format): metadata, and tensors dequantised to float32 numpy arrays.

    metadata, tensors = read_gguf("model.gguf")   # {key: value}, {name: np.ndarray float32}

A GGUF file is a header (magic "GGUF", version 2 or 3, the number of tensors and of metadata
pairs), the metadata (typed key/value pairs: integers, floats, bools, strings and arrays of them),
one record per tensor (name, dimensions innermost first, element type, offset) and then the tensor
data, each tensor aligned to general.alignment (32 by default). A tensor of dimensions
(ne0, ne1, ...) is read as a numpy array of shape (..., ne1, ne0), the layout llama.cpp and
PyTorch share. Element types read here: F32, F16, BF16, Q8_0 and Q4_0 (blocks of 32 values with a
float16 scale); another type raises an error that names it.
"""

import math
import os
import struct

import numpy as np

__all__ = ["read_gguf", "GGUF_TYPES"]

_MAGIC = b"GGUF"
# metadata value types: struct format of the scalar ones
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# tensor element types: name, values per block, bytes per block
GGUF_TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34), 30: ("BF16", 1, 2)}
_TYPE_NAMES = {3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K",
               14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL",
               21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
               29: "IQ1_M"}


class _Reader:
    """Little-endian values from a bytes-like buffer, with the file's name in every error."""

    def __init__(self, buffer, path):
        self.buffer, self.path, self.pos = buffer, path, 0

    def take(self, n):
        if self.pos + n > len(self.buffer):
            raise ValueError(f"{self.path}: truncated GGUF file (needed {n} bytes at offset {self.pos}, the file has "
                             f"{len(self.buffer)})")
        out = self.buffer[self.pos:self.pos + n]
        self.pos += n
        return out

    def scalar(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        n = self.scalar("<Q")
        try:
            return bytes(self.take(n)).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{self.path}: a GGUF string at offset {self.pos - n} is not UTF-8 ({e.reason})") from None

    def value(self, kind):
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, n = self.scalar("<I"), self.scalar("<Q")
            if item_kind in _SCALARS and item_kind != 7:  # numbers: one numpy read
                dtype = np.dtype(_SCALARS[item_kind])
                return np.frombuffer(self.take(n * dtype.itemsize), dtype=dtype).tolist()
            return [self.value(item_kind) for _ in range(n)]
        raise ValueError(f"{self.path}: unknown GGUF metadata value type {kind} at offset {self.pos}")


def read_gguf(path, tensors=True):
    """(metadata, tensors) of a GGUF file: a dict of the metadata pairs and a dict of float32 numpy
    arrays, one per tensor (see the module's docstring for shapes and types); with tensors=False,
    only the metadata is read (and the dict of tensors is empty)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_gguf: {path} not found")
    data = np.memmap(path, dtype=np.uint8, mode="r") if os.path.getsize(path) else np.zeros(0, np.uint8)
    r = _Reader(data, path)
    if bytes(data[:4]) != _MAGIC:
        raise ValueError(f"{path}: not a GGUF file (it starts with {bytes(data[:4])!r}, not b'GGUF')")
    r.take(4)
    version = r.scalar("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version} is not supported (2 and 3 are)")
    n_tensors, n_kv = r.scalar("<Q"), r.scalar("<Q")
    metadata = {}
    for _ in range(n_kv):
        key = r.string()
        metadata[key] = r.value(r.scalar("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.scalar("<Q") for _ in range(r.scalar("<I"))]
        infos.append((name, dims, r.scalar("<I"), r.scalar("<Q")))
    alignment = int(metadata.get("general.alignment", 32))
    start = -(-r.pos // alignment) * alignment  # the data section begins at the next aligned offset
    arrays = {}
    for name, dims, kind, offset in infos if tensors else ():
        if kind not in GGUF_TYPES:
            raise ValueError(f"{path}: tensor {name!r} has element type {_TYPE_NAMES.get(kind, kind)}, which pyseq "
                             f"does not read (it reads {', '.join(t[0] for t in GGUF_TYPES.values())})")
        type_name, block, block_bytes = GGUF_TYPES[kind]
        count = math.prod(dims)  # Python ints: damaged dimensions cannot wrap around
        if count % block:
            raise ValueError(f"{path}: tensor {name!r} of {count} values is not whole blocks of {block} ({type_name})")
        nbytes = count // block * block_bytes
        if start + offset + nbytes > len(data):
            raise ValueError(f"{path}: truncated GGUF file (tensor {name!r} ends past the end of the file)")
        raw = data[start + offset:start + offset + nbytes]
        arrays[name] = _dequantize(raw, type_name, count).reshape(dims[::-1])
    return metadata, arrays


def _dequantize(raw, type_name, count):
    """float32 values (count,) from the raw bytes of one tensor."""
    if type_name == "F32":
        return raw.view(np.float32).astype(np.float32)
    if type_name == "F16":
        return raw.view(np.float16).astype(np.float32)
    if type_name == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    blocks = raw.reshape(count // 32, -1)                            # (n, block bytes)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    if type_name == "Q8_0":                                           # 32 int8 values
        return (scale * blocks[:, 2:].view(np.int8)).reshape(-1)
    packed = blocks[:, 2:]                                            # Q4_0: 16 bytes, two 4-bit values each
    q = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.int8) - 8  # low nibbles first
    return (scale * q).reshape(-1)
