"""Byte-level BPE (GPT-2, cl100k_base, o200k_base) over the C++ core (pyseq._core.text.BPE)."""

import gzip
import json
import numbers
import zlib

from .._core import text as _text
from ..io.safetensors import atomic_write
from ._common import (Encoding, Progress, added_tokens, as_batch_output, batch, count_into, iter_texts,
                      json_object, padding_args, read_text, seq, size_arg, truncation_args)

# The special tokens of tiktoken's encodings (tiktoken_ext/openai_public.py).
_ENDOFTEXT, _ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"
ENCODINGS = {
    "gpt2": ("gpt2", {_ENDOFTEXT: 50256}),
    "r50k_base": ("gpt2", {_ENDOFTEXT: 50256}),
    "p50k_base": ("gpt2", {_ENDOFTEXT: 50256}),
    "cl100k_base": ("cl100k_base", {_ENDOFTEXT: 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                                    "<|fim_suffix|>": 100260, _ENDOFPROMPT: 100276}),
    "o200k_base": ("o200k_base", {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}),
}


# tiktoken's pre-tokenizer regexes (pat_str in tiktoken_ext/openai_public.py) by pyseq's pattern
# name: a tokenizer.json splits with one of them (then ByteLevel without its own regex), as the
# files Hugging Face converts from tiktoken do. One change: cl100k's possessive \p{N}{1,3}+ is
# written \p{N}{1,3} (the same match here), since Oniguruma, which `tokenizers` uses, reads
# {1,3}+ as a repeated repeat and would keep "4096" whole.
_POSSESSIVE_DIGITS, _DIGITS = r"\p{N}{1,3}+", r"\p{N}{1,3}"
PATTERN_REGEX = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|"""
                   r"""\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
}


def _all_splits(ranks):
    """tiktoken's ranks as Hugging Face merges: every split of every token into two tokens, by the
    token's rank, then the left part's, then the right part's. A BPE that applies these by priority
    and looks whole pieces up first (ignore_merges) encodes as tiktoken does."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        splits = [(token[:k], token[k:]) for k in range(1, len(token)) if token[:k] in ranks and token[k:] in ranks]
        merges += sorted(splits, key=lambda pair: (ranks[pair[0]], ranks[pair[1]]))
    return merges


def _pre_tokenizer_pattern(pre, path, default):
    """(pattern name, add_prefix_space) of a tokenizer.json's pre_tokenizer: ByteLevel with its regex
    (`default`), or Split on one of tiktoken's regexes followed by ByteLevel without one (and
    without a prefix space, which it would add to every piece)."""
    def byte_level(p, use_regex):
        return p.get("type") == "ByteLevel" and bool(p.get("use_regex", True)) == use_regex

    if byte_level(pre, True):
        return default, bool(pre.get("add_prefix_space"))
    steps = pre.get("pretokenizers") or []
    if (pre.get("type") == "Sequence" and len(steps) == 2 and isinstance(steps[0], dict) and isinstance(steps[1], dict)
            and byte_level(steps[1], False) and not steps[1].get("add_prefix_space")):
        split = steps[0]
        regex = str((split.get("pattern") or {}).get("Regex")).replace(_POSSESSIVE_DIGITS, _DIGITS)  # (tiktoken's own)
        names = [name for name, r in PATTERN_REGEX.items() if r == regex]
        if split.get("type") == "Split" and names and split.get("behavior") == "Isolated" and not split.get("invert"):
            return names[0], False
    raise ValueError(f"BPETokenizer.from_file: {path}: only a ByteLevel pre-tokenizer, alone with its regex or "
                     f"(add_prefix_space=false) after a Split on the regex of gpt2, cl100k_base or o200k_base, is "
                     f"supported, got {pre!r}")


def _check_vocab_and_merges(vocab, merges, path):
    """A tokenizer.json BPE model's vocab ({token: id}, distinct ids in int32) and merges ("a b"
    strings or [a, b] pairs of strings), checked so that a malformed file is a ValueError."""
    ids = set()
    for token, i in vocab.items():
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < 2**31 - 1:
            raise ValueError(f"{path}: token {token!r} has id {i!r}; ids must be ints in [0, 2**31 - 1)")
        if i in ids:
            raise ValueError(f"{path}: id {i} is given to more than one token (one of them {token!r})")
        ids.add(i)
    for m in merges:
        pair = m.split(" ") if isinstance(m, str) else m
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) and t for t in pair)):
            raise ValueError(f"{path}: a merge must be a string \"a b\" or a pair [a, b] of tokens, got {m!r}")


def _with_surrogates_repaired(encode, text_or_texts):
    """encode(text_or_texts); when that meets a surrogate, again after tiktoken's repair
    (UTF-16 with surrogatepass, decoded with replacement: pairs joined, lone ones U+FFFD)."""
    try:
        return encode(text_or_texts)
    except ValueError as e:
        if "surrogate" not in str(e):
            raise

    def repair(text):
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if isinstance(text, str) else text

    if isinstance(text_or_texts, str):
        return encode(repair(text_or_texts))
    return encode([repair(t) for t in text_or_texts])


def _read(path):
    """The file's bytes, gunzipped when it is gzip."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{path}: a truncated or corrupt gzip file ({e})") from None


def _load_json(path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None


def _in_file(path, fn, *args):
    """fn(*args), with the file's name in front of a ValueError's message."""
    try:
        return fn(*args)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


class BPETokenizer:
    """Byte-level BPE with tiktoken's API (encode / encode_ordinary / decode / special tokens).

    Build it with `from_tiktoken` (a .tiktoken ranks file, optionally gzipped), `from_gpt2`
    (encoder.json + vocab.bpe), `from_file` (a Hugging Face tokenizer.json with a BPE model and
    a ByteLevel pre-tokenizer), or `train`. Ids match tiktoken and Hugging Face exactly.
    """

    def __init__(self, core, name=None, from_ranks=False):
        self._core = core
        self._pattern = None
        self.name = name
        self._from_ranks = from_ranks  # built by tiktoken's rule (ids = ranks), which pickling must keep
        specials = core.special_tokens
        self._special_names = list(specials)  # the order the core indexes them in
        self.special_tokens = dict(specials)
        self.added_tokens = {}  # tokenizer.json's added tokens that are not special: always matched
        self._check_all = [True] * len(self._special_names)

    def _mark_not_special(self, names):
        """Moves the core's special tokens `names` to added_tokens: Hugging Face's added tokens with
        "special": false, which every encode call finds in the text (tiktoken's special-token rules
        do not apply to them) and which decoding keeps."""
        for name in names:
            self.added_tokens[name] = self.special_tokens.pop(name)
        self._check_all = [n not in self.added_tokens for n in self._special_names]

    def _added_name(self, name):
        return name in self.special_tokens or name in self.added_tokens

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_tiktoken(cls, path, encoding="cl100k_base", *, pattern=None, special_tokens=None):
        """From a tiktoken ranks file. `encoding` names the pre-tokenizer and special tokens of one
        of tiktoken's encodings ("gpt2"/"r50k_base", "p50k_base", "cl100k_base", "o200k_base");
        `pattern` and `special_tokens` override them."""
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; expected one of {sorted(ENCODINGS)}")
        default_pattern, default_specials = ENCODINGS[encoding]
        core = _in_file(path, _text.BPE.from_tiktoken, _read(path), pattern or default_pattern,
                        dict(default_specials if special_tokens is None else special_tokens))
        return cls(core, encoding, from_ranks=True)

    @classmethod
    def from_ranks(cls, ranks, pattern="gpt2", special_tokens=None, name=None):
        """From a {bytes: rank} dict (tiktoken's mergeable_ranks)."""
        return cls(_text.BPE.from_ranks(dict(ranks), pattern, dict(special_tokens or {})), name, from_ranks=True)

    @classmethod
    def from_gpt2(cls, encoder_json, vocab_bpe, *, pattern="gpt2", special_tokens=None):
        """From GPT-2's original encoder.json and vocab.bpe (or Hugging Face's vocab.json/merges.txt)."""
        vocab = _load_json(encoder_json)
        if not isinstance(vocab, dict):
            raise ValueError(f"{encoder_json}: expected a JSON object of token -> id")
        lines = read_text(vocab_bpe).split("\n")
        merges = []
        for number, line in enumerate(lines, 1):
            if not line or line.startswith("#version"):
                continue
            if len(line.split(" ")) != 2:
                raise ValueError(f"{vocab_bpe}: line {number}: expected two tokens separated by a space, "
                                 f"got {line!r}")
            merges.append(line)
        if special_tokens is None:
            special_tokens = {t: i for t, i in vocab.items() if t == _ENDOFTEXT}
        return cls(_in_file(vocab_bpe, _text.BPE.from_byte_level_merges, vocab, merges, pattern,
                            dict(special_tokens)), "gpt2")

    @classmethod
    def from_gguf(cls, path):
        """From the tokenizer in a GGUF file's metadata (tokenizer.ggml.model "gpt2": byte-level
        tokens, their merges, and the control tokens as special tokens), for the pre-tokenizers
        "gpt-2" (or none given) and "default"."""
        from ..io.gguf import read_gguf
        meta, _ = read_gguf(path, tensors=False)
        model, pre = meta.get("tokenizer.ggml.model"), meta.get("tokenizer.ggml.pre", "gpt-2")
        if model != "gpt2":
            raise ValueError(f"{path}: the GGUF tokenizer is {model!r}; pyseq reads the byte-level BPE ('gpt2') ones")
        if pre not in ("gpt-2", "default"):
            raise ValueError(f"{path}: the GGUF pre-tokenizer {pre!r} is not one pyseq knows ('gpt-2')")
        tokens, merges = meta.get("tokenizer.ggml.tokens"), meta.get("tokenizer.ggml.merges")
        if not tokens or merges is None:
            raise ValueError(f"{path}: the GGUF metadata has no tokenizer.ggml.tokens / tokenizer.ggml.merges")
        types = meta.get("tokenizer.ggml.token_type") or [1] * len(tokens)
        control = {t: i for i, (t, kind) in enumerate(zip(tokens, types)) if kind == 3}  # llama.cpp's CONTROL
        vocab = {t: i for i, t in enumerate(tokens)}
        return cls(_in_file(path, _text.BPE.from_byte_level_merges, vocab, list(merges), "gpt2", control), "gguf")

    @classmethod
    def from_file(cls, path, *, pattern="gpt2", strict=True):
        """From a Hugging Face tokenizer.json with a BPE model over the ByteLevel alphabet. The
        pre-tokenizer is ByteLevel's own regex (then `pattern` picks pyseq's splitter) or a Split
        on one of tiktoken's regexes; a model with ignore_merges (as written for tiktoken
        encodings) must hold tiktoken's merges, and then ids follow tiktoken's rule. Added tokens
        that are not special are found in any text, as Hugging Face does. What pyseq's encode would
        do differently is refused: a post-processor that adds tokens or trims offsets (anything but
        ByteLevel with trim_offsets false), and added tokens that strip the whitespace around them
        or match only whole words (lstrip, rstrip, single_word); strict=False loads the rest and
        leaves those out."""
        spec = _load_json(path)
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: expected a JSON object (a tokenizer.json), got {type(spec).__name__}")
        model = json_object(spec, "model", str(path))
        if model.get("type") != "BPE":
            raise ValueError(f"BPETokenizer: expected a BPE model, got {model.get('type')!r}")
        if not isinstance(model.get("vocab"), dict) or not isinstance(model.get("merges"), list):
            raise ValueError(f"{path}: the BPE model needs a \"vocab\" object and a \"merges\" list")
        _check_vocab_and_merges(model["vocab"], model["merges"], path)
        pre = json_object(spec, "pre_tokenizer", str(path))
        pattern, add_prefix_space = _pre_tokenizer_pattern(pre, path, pattern)
        if spec.get("normalizer"):
            raise ValueError(f"BPETokenizer.from_file: normalizers are not supported, got {spec['normalizer']!r}")
        post = json_object(spec, "post_processor", str(path))
        if post and strict and (post.get("type") != "ByteLevel" or post.get("trim_offsets")):
            raise ValueError(f"BPETokenizer.from_file: {path}: its post_processor ({post.get('type')!r}) adds tokens or "
                             f"trims offsets, which pyseq's BPETokenizer does not; pass strict=False to load the rest "
                             f"without it")
        added = added_tokens(spec, str(path))
        flagged = [t["content"] for t in added if any(t.get(flag) for flag in ("lstrip", "rstrip", "single_word"))]
        if flagged and strict:
            raise ValueError(f"BPETokenizer.from_file: {path}: added tokens {flagged} strip the whitespace around them "
                             f"or match only whole words (lstrip / rstrip / single_word), which pyseq's BPETokenizer "
                             f"does not; pass strict=False to load them as plain added tokens")
        specials = {t["content"]: t["id"] for t in added}
        if model.get("ignore_merges"):
            ranks = {_text.byte_level_decode(t): i for t, i in model["vocab"].items() if t not in specials}
            merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
            expected = [(_text.byte_level_encode(a), _text.byte_level_encode(b)) for a, b in _all_splits(ranks)]
            if merges != expected:
                raise ValueError(f"BPETokenizer.from_file: {path}: ignore_merges is only supported with tiktoken's "
                                 f"merges (every split of every token, in rank order)")
            tok = cls(_in_file(path, _text.BPE.from_ranks, ranks, pattern, specials), from_ranks=True)
        else:
            tok = cls(_in_file(path, _text.BPE.from_byte_level_merges, model["vocab"], model["merges"], pattern,
                               specials))
        tok._pattern = pattern
        tok._core.add_prefix_space = add_prefix_space
        tok._mark_not_special(t["content"] for t in added if not t.get("special", False))
        return tok

    @classmethod
    def train(cls, texts=None, vocab_size=30000, *, files=None, min_frequency=0, special_tokens=(), pattern="gpt2",
              add_prefix_space=False, full_byte_alphabet=True, max_token_length=None, show_progress=False,
              chunk_size=10000):
        """Learns a byte-level BPE vocabulary from an iterable of str.

        Gives the vocabulary and merges of Hugging Face's BpeTrainer(vocab_size, min_frequency,
        special_tokens, initial_alphabet=ByteLevel.alphabet() when full_byte_alphabet) with a
        ByteLevel(add_prefix_space) pre-tokenizer, which the tokenizer then encodes with (a text,
        or its part between special tokens, that does not start with a space is split as if it
        did); `pattern` may also be "cl100k_base" or "o200k_base" to split words like those
        encodings (without add_prefix_space). Special tokens take the first ids.
        Texts come from `texts` (any iterable of str) and/or the lines of `files`; words are
        counted on all threads, in chunks of `chunk_size` texts, with 64-bit counts; ties break
        deterministically. With full_byte_alphabet=False the vocabulary covers only the corpus's
        bytes, and encoding text with another byte raises a ValueError (Hugging Face's BPE drops
        that character instead).
        """
        if add_prefix_space and pattern != "gpt2":
            raise ValueError(f"BPETokenizer.train: add_prefix_space is ByteLevel's, with GPT-2's pattern; got "
                             f"pattern={pattern!r}")
        counter = _text.WordCounter(pattern, bool(add_prefix_space))
        count_into(counter, iter_texts(texts, files), chunk_size)
        progress = Progress(show_progress, "BPE merges")
        try:
            core = counter.train(size_arg(vocab_size, "vocab_size"), size_arg(min_frequency, "min_frequency", 0),
                                 list(special_tokens), bool(full_byte_alphabet),
                                 int(max_token_length or 0), progress.callback())
        finally:
            progress.close()
        tok = cls(core)
        tok._pattern = pattern
        tok._core.add_prefix_space = bool(add_prefix_space)
        return tok

    # --- encoding -----------------------------------------------------------------------------
    def _allowed(self, text, allowed_special, disallowed_special):
        """tiktoken's rules: allowed specials are encoded as such; finding a disallowed one in the
        text is a ValueError; the rest is ordinary text."""
        names, always = self._special_names, self.added_tokens
        if not allowed_special and disallowed_special == "all":  # the default: every special is disallowed
            if len(names) > len(always):
                for t in text if isinstance(text, (list, tuple)) else [text]:
                    k = self._core.find_special(t, self._check_all)
                    if k >= 0:
                        self._raise_disallowed(names[k])
            return [n in always for n in names] if always else None
        if allowed_special == "all":
            allowed = set(names)
        else:
            allowed = set(allowed_special) | set(always)
        if disallowed_special == "all":
            disallowed = set(names) - allowed
        else:
            disallowed = set(disallowed_special) - set(always)
        if disallowed and text is not None:
            texts = text if isinstance(text, (list, tuple)) else [text]
            check = [n in disallowed for n in names]
            others = disallowed - set(names)  # strings that are not special tokens here: tiktoken refuses them too
            for t in texts:
                k = self._core.find_special(t, check)
                if k >= 0:
                    self._raise_disallowed(names[k])
                for other in others:
                    if other and other in t:
                        self._raise_disallowed(other)
        return [n in allowed for n in names] if allowed else None

    @staticmethod
    def _raise_disallowed(name):
        raise ValueError(f"Encountered text corresponding to disallowed special token {name!r}.\n"
                         "Pass it in allowed_special (or allowed_special='all') to encode it as a special "
                         "token, or disallowed_special=() to encode it as normal text.")

    def encode(self, text, pair=None, *, allowed_special=(), disallowed_special="all", max_length=None,
               truncation=None, stride=0, truncation_side="right"):
        """One text (or a pair: type id 1) -> Encoding: ids, tokens, type ids, masks, offsets.

        Special tokens follow tiktoken's rules (allowed_special / disallowed_special); truncation
        and overflow windows as in WordPieceTokenizer.encode."""
        texts = [text] if pair is None else [text, pair]
        allowed = self._allowed(texts, allowed_special, disallowed_special)
        return Encoding(self._core.encode(text, pair, allowed, -1, -1,
                                          *truncation_args(max_length, truncation, stride, truncation_side)), self)

    # The tiktoken-style calls take a str with surrogates as tiktoken does: a surrogate pair is
    # read as its character and a lone surrogate as U+FFFD (other calls raise on them).
    def encode_ids(self, text, *, allowed_special=(), disallowed_special="all"):
        """Text -> list of ids, exactly as tiktoken's Encoding.encode."""
        return _with_surrogates_repaired(
            lambda t: self._core.encode_ids(t, self._allowed(t, allowed_special, disallowed_special)), text)

    def encode_ordinary(self, text):
        """Text -> list of ids, with special tokens treated as plain text (tiktoken's encode_ordinary);
        added tokens that are not special are still found."""
        if self.added_tokens:
            return self.encode_ids(text, disallowed_special=())
        return _with_surrogates_repaired(self._core.encode_ordinary, text)

    def encode_ids_batch(self, texts, *, allowed_special=(), disallowed_special="all"):
        """Many texts -> list of lists of ids (tiktoken's encode_batch), on pyseq's threads."""
        return _with_surrogates_repaired(
            lambda ts: self._core.encode_ids_batch(ts, self._allowed(ts, allowed_special, disallowed_special)),
            batch(texts))

    def encode_ordinary_batch(self, texts):
        return self.encode_ids_batch(texts, disallowed_special=())

    def encode_bytes(self, data):
        """Bytes that need not be valid UTF-8 -> ids, as tiktoken's Encoding._encode_bytes: the
        valid UTF-8 prefix is encoded as text, then the tokens of its last piece (widened over
        whitespace-only tokens before it) are joined with the invalid rest and byte-pair encoded
        again."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"encode_bytes: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        try:
            return self.encode_ordinary(data.decode("utf-8"))
        except UnicodeDecodeError as e:
            valid_up_to = e.start
        text = data[:valid_up_to].decode("utf-8")
        tokens = self._core.encode_ordinary(text)
        pieces = self.pre_tokenize(text)
        last = len(self._core.encode_ordinary(pieces[-1])) if pieces else 0

        def all_space(token):
            return all(b in b" \n\t" for b in self._core.token_bytes(token))

        if last > 0 and all_space(tokens[-last]):
            while last < len(tokens) and all_space(tokens[-last - 1]):
                last += 1
        if not tokens or last == 0:
            return tokens + self._core.encode_piece(data[valid_up_to:])
        unstable = b"".join(self._core.token_bytes(t) for t in tokens[-last:]) + data[valid_up_to:]
        return tokens[:-last] + self._core.encode_piece(unstable)

    def encode_batch_encodings(self, texts, pairs=None, *, allowed_special=(), disallowed_special="all",
                               max_length=None, truncation=None, stride=0, truncation_side="right"):
        """Many texts at once -> a list of Encoding."""
        texts, pairs = batch(texts), seq(pairs)
        allowed = self._allowed([*texts, *(pairs or ())], allowed_special, disallowed_special)
        core = self._core.encode_batch(texts, pairs, allowed, -1, -1,
                                       *truncation_args(max_length, truncation, stride, truncation_side))
        return [Encoding(e, self) for e in core]

    def encode_batch(self, texts, pairs=None, *, allowed_special=(), disallowed_special="all", max_length=None,
                     truncation=None, stride=0, truncation_side="right", padding="longest", pad_to_multiple_of=None,
                     padding_side="right", pad_id=None, return_overflowing=False, return_offsets_mapping=False,
                     return_special_tokens_mask=False, return_tensors="np"):
        """Many texts at once, on all of pyseq's threads with the GIL released, as arrays (see
        WordPieceTokenizer.encode_batch). pad_id defaults to <|endoftext|> (else 0)."""
        if isinstance(texts, str):
            texts = [texts]
            pairs = [pairs] if isinstance(pairs, str) else pairs
        texts, pairs = batch(texts), seq(pairs)
        allowed = self._allowed([*texts, *(pairs or ())], allowed_special, disallowed_special)
        if pad_id is None:
            pad_id = self.special_tokens.get(_ENDOFTEXT, 0)
        pad, length, multiple, left = padding_args(padding, max_length, pad_to_multiple_of, padding_side)
        out = self._core.encode_batch_arrays(texts, pairs, allowed, -1, -1,
                                             *truncation_args(max_length, truncation, stride, truncation_side),
                                             pad, int(pad_id), length, multiple, left, bool(return_overflowing),
            bool(return_offsets_mapping), bool(return_special_tokens_mask))
        return as_batch_output(out, return_tensors)

    __call__ = encode_batch

    def decode_bytes(self, ids):
        return self._decode_bytes(ids, "decode_bytes")

    def decode(self, ids, errors="replace"):
        """Ids -> str (invalid UTF-8 is replaced, as in tiktoken)."""
        return self._decode_bytes(ids, "decode").decode("utf-8", errors=errors)

    @staticmethod
    def _decode_ids(ids, fn):
        if ids is None or isinstance(ids, (str, bytes)):
            raise TypeError(f"{fn}: expected a sequence of token ids (ints), got {type(ids).__name__}")
        return list(ids)

    def _decode_bytes(self, ids, fn):
        ids = self._decode_ids(ids, fn)
        try:
            return self._core.decode_bytes(ids)
        except TypeError:  # pybind11 could not take an id as int32: say which, and why
            for i in ids:
                if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                    raise TypeError(f"{fn}: expected token ids (ints), got {type(i).__name__} {i!r}") from None
                if not 0 <= i < 2**31:  # (IndexError, as for any id outside the vocabulary)
                    raise IndexError(f"{fn}: token id {i} is out of range (this tokenizer's ids are 0 .. "
                                     f"{self.n_vocab - 1})") from None
            raise

    def decode_stream(self, errors="replace"):
        """An incremental decoder: `step(ids)` returns the text the ids complete, holding back an
        incomplete UTF-8 sequence until the ids that finish it arrive (for streaming generation)."""
        return StreamDecoder(self, errors)

    def decode_batch(self, batch, errors="replace"):
        rows = [list(self._decode_ids(x, "decode_batch")) for x in batch]
        try:
            data = self._core.decode_batch_bytes(rows)
        except TypeError:
            for row in rows:  # say which id, and why
                self._decode_bytes(row, "decode_batch")
            raise
        return [b.decode("utf-8", errors=errors) for b in data]

    # --- vocabulary ---------------------------------------------------------------------------
    def token_bytes(self, i):
        return self._core.token_bytes(i)

    def id_to_token(self, i):
        """The token as a str in GPT-2's byte-level alphabet (Hugging Face's spelling, "Ġworld")."""
        b = self._core.token_bytes(i)
        name = b.decode("utf-8", errors="ignore")
        return name if self._added_name(name) else _text.byte_level_encode(b)

    def token_to_id(self, token):
        """Id of a token given as bytes, or as a str in the byte-level alphabet; None if absent."""
        if isinstance(token, str):
            if self._added_name(token):
                return self.special_tokens.get(token, self.added_tokens.get(token))
            token = _text.byte_level_decode(token)
        return self._core.token_to_id(token)

    @property
    def n_vocab(self):
        return self._core.vocab_size

    vocab_size = n_vocab

    @property
    def eot_token(self):
        return self.special_tokens.get(_ENDOFTEXT)

    def pre_tokenize(self, text, pattern=None):
        """The pieces the pre-tokenizer cuts `text` into (after the space add_prefix_space adds)."""
        if self._core.add_prefix_space and isinstance(text, str) and text and not text.startswith(" "):
            text = " " + text
        return _text.pre_tokenize(text, pattern or self._pattern_name())

    def __getstate__(self):
        return {"json": self.to_json(), "name": self.name, "pattern": self._pattern_name(),
                "from_ranks": self._from_ranks}

    def __setstate__(self, state):
        spec = state["json"]
        model = spec["model"]
        specials = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
        tiktoken_rule = state.get("from_ranks", state.get("name") in ENCODINGS)  # (older pickles: by name)
        if tiktoken_rule:  # ranks = ids: rebuild with tiktoken's merge rule
            ranks = {_text.byte_level_decode(t): i for t, i in model["vocab"].items() if t not in specials}
            core = _text.BPE.from_ranks(ranks, state["pattern"], specials)
        else:
            core = _text.BPE.from_byte_level_merges(model["vocab"], model["merges"], state["pattern"], specials)
        self.__init__(core, state.get("name"), from_ranks=tiktoken_rule)
        self._pattern = state["pattern"]
        core.add_prefix_space = bool((spec.get("pre_tokenizer") or {}).get("add_prefix_space"))
        self._mark_not_special(t["content"] for t in spec.get("added_tokens", []) if not t.get("special", True))

    def _pattern_name(self):
        if self._pattern:
            return self._pattern
        return ENCODINGS.get(self.name, ("gpt2",))[0] if self.name else "gpt2"

    # --- saving -------------------------------------------------------------------------------
    def merges(self):
        """The merges in priority order, as pairs of token bytes (for a tokenizer built from
        tiktoken ranks: every split of every token, see _all_splits)."""
        if self._from_ranks:
            specials = set(self.special_tokens.values()) | set(self.added_tokens.values())
            return _all_splits({self._core.token_bytes(i): i for i in range(self.n_vocab)
                                if i not in specials and self._has(i)})
        return [(self._core.token_bytes(a), self._core.token_bytes(b)) for a, b in self._core.merges()]

    def get_vocab(self):
        """{token in GPT-2's byte-level alphabet (or special token): id}."""
        return {self.id_to_token(i): i for i in range(self.n_vocab) if self._has(i)}

    def _has(self, i):
        try:
            self._core.token_bytes(i)
            return True
        except IndexError:
            return False

    def to_json(self):
        """A Hugging Face tokenizer.json (as a dict): BPE model, ByteLevel pre-tokenizer and decoder."""
        tokens = sorted([(i, t, True) for t, i in self.special_tokens.items()]
                        + [(i, t, False) for t, i in self.added_tokens.items()])
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": not special, "special": special} for i, t, special in tokens],
            "normalizer": None,
            "pre_tokenizer": self._pre_tokenizer_json(),
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": self._from_ranks,
                      "vocab": self.get_vocab(),
                      "merges": [[_text.byte_level_encode(a), _text.byte_level_encode(b)] for a, b in self.merges()]},
        }

    def _pre_tokenizer_json(self):
        """ByteLevel with GPT-2's regex, or (another pattern, or tiktoken's rule) a Split on
        tiktoken's regex before a ByteLevel without one: what Hugging Face writes for these."""
        pattern = self._pattern_name()
        if pattern == "gpt2" and not self._from_ranks:
            return {"type": "ByteLevel", "add_prefix_space": self._core.add_prefix_space, "trim_offsets": True,
                    "use_regex": True}
        return {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PATTERN_REGEX[pattern]}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}

    def save(self, path):
        """Writes a Hugging Face tokenizer.json (load it back with from_file, or with `tokenizers`), atomically."""
        text = json.dumps(self.to_json(), ensure_ascii=False)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))

    def save_tiktoken(self, path):
        """Writes a tiktoken ranks file ("<base64 token> <id>" per line; special tokens are not in it).

        Only faithful for vocabularies whose merge order is their id order (tiktoken's rule). Atomic."""
        import base64
        lines = [base64.b64encode(self._core.token_bytes(i)) + b" " + str(i).encode() + b"\n"
                 for i in range(self.n_vocab) if self._has(i) and not self._added_name(self.id_to_token(i))]
        atomic_write(path, lambda f: f.write(b"".join(lines)))


class StreamDecoder:
    """Turns ids into text as they come, never splitting a UTF-8 sequence (see decode_stream)."""

    def __init__(self, tokenizer, errors="replace"):
        import codecs
        self._tokenizer = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)

    def step(self, ids):
        """Text completed by `ids` (an id or a list of ids); "" while a character is incomplete."""
        if isinstance(ids, numbers.Integral):
            ids = [int(ids)]
        return self._decoder.decode(self._tokenizer.decode_bytes(ids))

    def flush(self):
        """The rest (an incomplete sequence left at the end becomes U+FFFD with errors="replace")."""
        return self._decoder.decode(b"", final=True)
