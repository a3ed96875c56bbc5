"""Time-boxed fuzzing (hypothesis) of everything that reads outside data: safetensors and checkpoint
files, tokenizer files (tokenizer.json, vocab.txt, .tiktoken), tokenizer input (str and bytes,
ids to decode) and op arguments (shapes, dims, indices, dtypes).

Each input must give a result or one of the exceptions the error policy allows (ValueError and
its SafetensorsError, TypeError, IndexError, RuntimeError; for files also OSError); anything else,
a hang or a crash fails. PYSEQ_FUZZ_EXAMPLES sets the examples per test (default 200; the
sanitizer job of .ci/run runs these tests under AddressSanitizer, where a bad read is a crash).
"""

import json
import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import pyseq
from pyseq import nn, optim
from pyseq.io import load_checkpoint, save_checkpoint
from pyseq.io.safetensors import load_file, save_file
from pyseq.tokenizers import BPETokenizer, WordPieceTokenizer

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError)
FUZZ = settings(max_examples=int(os.environ.get("PYSEQ_FUZZ_EXAMPLES", "200")), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _outcome(fn, *allowed):
    """'ok' or the name of an allowed exception; anything else propagates and fails the test."""
    try:
        fn()
        return "ok"
    except ALLOWED + allowed as e:
        assert str(e), f"{type(e).__name__} without a message"
        return type(e).__name__


# ------------------------------------------------------------------------------------------------
# files


def _valid_safetensors(tmp_path):
    path = tmp_path / "valid.safetensors"
    save_file({"w": pyseq.randn(3, 4), "b": pyseq.zeros(4, dtype=pyseq.float64), "i": pyseq.arange(5),
               "m": pyseq.ones(2, dtype=pyseq.bool)}, str(path), metadata={"k": "v"})
    return path.read_bytes()


def _mutations():
    """A list of (kind, position, value) edits to apply to a file's bytes."""
    edit = st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]), st.integers(0, 10**6),
                     st.integers(0, 255))
    return st.lists(edit, min_size=1, max_size=6)


def _mutate(data, edits):
    data = bytearray(data)
    for kind, at, value in edits:
        at = at % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << (value % 8)
        elif kind == "set" and at < len(data):
            data[at] = value
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes([value])
        elif kind == "delete" and at < len(data):
            del data[at]
    return bytes(data)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                         st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=6), inner, max_size=4), max_leaves=12)


@st.composite
def safetensors_headers(draw):
    """Headers near the format: entries whose dtype, shape and offsets are drawn from valid and
    invalid values, with __metadata__ sometimes odd."""
    header = {}
    for name in draw(st.lists(st.text(min_size=0, max_size=5), max_size=4)):
        header[name] = draw(st.one_of(
            st.fixed_dictionaries({
                "dtype": st.sampled_from(["F32", "F64", "I64", "BOOL", "F16", "BF16", "I8", "U8", "X9", ""]) | JSON_VALUES,
                "shape": st.lists(st.integers(-3, 2**63), max_size=4) | JSON_VALUES,
                "data_offsets": st.lists(st.integers(-3, 2**64), max_size=3) | JSON_VALUES}),
            JSON_VALUES))
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4)) | JSON_VALUES)
    return header


@FUZZ
@given(edits=_mutations())
def test_fuzz_safetensors_bytes(tmp_path, edits):
    data = _mutate(_valid_safetensors(tmp_path), edits)
    path = tmp_path / "fuzzed.safetensors"
    path.write_bytes(data)
    _outcome(lambda: load_file(str(path)), OSError)


@FUZZ
@given(header=safetensors_headers(), body=st.binary(max_size=64))
def test_fuzz_safetensors_headers(tmp_path, header, body):
    text = json.dumps(header, allow_nan=True).encode()
    path = tmp_path / "header.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)
    result = _outcome(lambda: load_file(str(path)), OSError)
    if result != "ok":
        return
    for name, t in load_file(str(path)).items():  # what loads is whole
        assert isinstance(t, pyseq.Tensor) and t.numel() == int(np.prod(t.shape))


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    pyseq.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(pyseq.randn(2, 3)).sum().backward()
    opt.step()
    path = tmp_path_factory.mktemp("ckpt") / "c.safetensors"
    save_checkpoint(str(path), model, opt, step=3, note="x")
    return path.read_bytes()


@FUZZ
@given(edits=_mutations())
def test_fuzz_checkpoints(tmp_path, checkpoint_bytes, edits):
    """A damaged checkpoint fails with an allowed error, and a failed load changes nothing."""
    path = tmp_path / "fuzzed.safetensors"
    path.write_bytes(_mutate(checkpoint_bytes, edits))
    pyseq.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    if _outcome(lambda: load_checkpoint(str(path), model, opt), OSError) != "ok":
        for p, b in zip(model.parameters(), before):
            np.testing.assert_array_equal(p.detach().numpy(), b)


BYTE_TOKENS = st.binary(min_size=1, max_size=4)


@FUZZ
@given(lines=st.lists(st.one_of(
    st.tuples(BYTE_TOKENS, st.integers(-5, 600)).map(lambda t: __import__("base64").b64encode(t[0]) + b" " +
                                                     str(t[1]).encode()),
    st.binary(max_size=12)), max_size=30), full=st.booleans())
def test_fuzz_tiktoken_files(tmp_path, lines, full):
    """Ranks files: random lines, with or without the 256 single bytes in front."""
    import base64
    head = [base64.b64encode(bytes([i])) + b" " + str(i).encode() for i in range(256)] if full else []
    path = tmp_path / "r.tiktoken"
    path.write_bytes(b"\n".join(head + lines))
    result = _outcome(lambda: BPETokenizer.from_tiktoken(str(path), "gpt2"), OSError)
    if result == "ok":
        tok = BPETokenizer.from_tiktoken(str(path), "gpt2")
        ids = tok.encode_ordinary("fuzz ab\n")
        assert tok.decode_bytes(ids) == b"fuzz ab\n"


@FUZZ
@given(vocab=st.dictionaries(st.text(max_size=4), st.integers(-3, 40) | JSON_VALUES, max_size=12),
       merges=st.lists(st.text(max_size=5) | st.lists(st.text(max_size=3), max_size=3) | JSON_VALUES, max_size=6),
       added=st.lists(st.fixed_dictionaries({"id": st.integers(-2, 50) | JSON_VALUES, "content": st.text(max_size=4)})
                      | JSON_VALUES, max_size=3),
       model_type=st.sampled_from(["BPE", "WordPiece"]), pre=st.sampled_from(["ByteLevel", "BertPreTokenizer"]),
       ignore_merges=st.booleans())
def test_fuzz_tokenizer_json(tmp_path, vocab, merges, added, model_type, pre, ignore_merges):
    spec = {"model": {"type": model_type, "vocab": vocab, "merges": merges, "unk_token": "[UNK]",
                      "ignore_merges": ignore_merges, "continuing_subword_prefix": "##"},
            "added_tokens": added, "pre_tokenizer": {"type": pre}, "normalizer": None}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec))
    for cls in (BPETokenizer, WordPieceTokenizer):
        if _outcome(lambda: cls.from_file(str(path)), OSError) == "ok":
            tok = cls.from_file(str(path))
            _outcome(lambda: tok.encode("a b [UNK] ##c"))


@FUZZ
@given(data=st.lists(st.binary(max_size=8) | st.text(max_size=8).map(lambda s: s.encode("utf-8", "surrogatepass")),
                     max_size=20))
def test_fuzz_vocab_txt(tmp_path, data):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"\n".join(data))
    if _outcome(lambda: WordPieceTokenizer.from_vocab(str(path)), OSError) == "ok":
        tok = WordPieceTokenizer.from_vocab(str(path))
        _outcome(lambda: tok.encode("hello, world"))


# ------------------------------------------------------------------------------------------------
# tokenizer input


@pytest.fixture(scope="module")
def small_tokenizers():
    texts = ["the quick brown fox, don't 42 jumps", "über naïve café 東京 🎉", "a\tb\r\nc  d"] * 5
    return [BPETokenizer.train(texts, 300, special_tokens=["<|endoftext|>"]),
            BPETokenizer.train(texts, 300, pattern="o200k_base"),
            WordPieceTokenizer.train(texts, vocab_size=120)]


@FUZZ
@given(text=st.text(max_size=40), raw=st.binary(max_size=40), ids=st.lists(st.integers(-2**40, 2**40), max_size=8),
       max_length=st.integers(-2, 12) | st.none(), stride=st.integers(-1, 5))
def test_fuzz_tokenizer_input(small_tokenizers, text, raw, ids, max_length, stride):
    for tok in small_tokenizers:
        enc = _outcome(lambda: tok.encode(text, max_length=max_length, stride=stride))
        if max_length is None:  # a plain str always encodes (hypothesis draws no surrogates)
            assert enc == "ok"
        _outcome(lambda: tok.encode(raw))
        _outcome(lambda: tok.decode(ids))
        _outcome(lambda: tok.encode_batch([text, raw.decode("latin-1")], max_length=max_length, padding="max_length"
                                          if max_length else "longest"))
        if isinstance(tok, BPETokenizer):
            assert tok.decode_bytes(tok.encode_bytes(raw)) == raw  # any bytes encode, and back
            _outcome(lambda: tok.pre_tokenize(text))
        else:
            _outcome(lambda: tok.normalize(raw))


# ------------------------------------------------------------------------------------------------
# op arguments


SHAPES = st.lists(st.integers(0, 4), max_size=4)
INTS = st.integers(-6, 6) | st.sampled_from([2**31, -2**31 - 1, 2**62, 2**63 - 1, -2**63])


@FUZZ
@given(shape=SHAPES, dim=INTS, index=st.lists(INTS, max_size=5), new_shape=st.lists(INTS, max_size=4),
       dtype=st.sampled_from([pyseq.float32, pyseq.float64, pyseq.int64, pyseq.bool]), other=SHAPES)
def test_fuzz_op_arguments(shape, dim, index, new_shape, dtype, other):
    x = pyseq.ones(*shape, dtype=dtype) if shape else pyseq.tensor(1.0).to(dtype)
    idx = pyseq.tensor(index, dtype=pyseq.int64) if index else pyseq.zeros(0, dtype=pyseq.int64)
    y = pyseq.ones(*other) if other else pyseq.tensor(2.0)
    calls = [lambda: x.index_select(dim, idx), lambda: x.gather(dim, idx.reshape([-1] + [1] * (x.dim() - 1))
                                                                    if x.dim() else idx),
             lambda: x.reshape(new_shape), lambda: x.sum(dim), lambda: x.softmax(dim), lambda: x.narrow(dim, 0, 1),
             lambda: x.transpose(dim, 0), lambda: pyseq.cat([x, y], dim), lambda: pyseq.stack([x, x], dim),
             lambda: x.expand(new_shape), lambda: x.unsqueeze(dim).squeeze(dim), lambda: x @ y, lambda: x + y,
             lambda: x.split(max(1, abs(dim)), dim), lambda: x.max(dim), lambda: x.masked_fill(y > 1, 0.0),
             lambda: pyseq.embedding(idx, pyseq.ones(3, 2)), lambda: nn.functional.cross_entropy(y, idx),
             lambda: x[tuple(index[:2])] if index else x[...]]
    for call in calls:
        _outcome(call)
