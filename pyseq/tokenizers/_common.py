"""Shared pieces of the tokenizer API: the Encoding view, truncation / padding arguments, batch
outputs."""

import numbers
import os


class Encoding:
    """One tokenized text (or pair): ids, tokens, offsets, type ids, masks, overflow windows."""

    __slots__ = ("_core", "_tokenizer")

    def __init__(self, core, tokenizer):
        self._core = core
        self._tokenizer = tokenizer

    @property
    def ids(self):
        return self._core.ids

    @property
    def tokens(self):
        return [self._tokenizer.id_to_token(i) for i in self._core.ids]

    @property
    def offsets(self):
        """(start, end) per token: text[start:end] is where it came from; (0, 0) for added specials."""
        return self._core.offsets

    @property
    def type_ids(self):
        return self._core.type_ids

    @property
    def attention_mask(self):
        return self._core.attention_mask

    @property
    def special_tokens_mask(self):
        return self._core.special_tokens_mask

    @property
    def overflowing(self):
        """The windows truncation cut off (consecutive ones share `stride` tokens), as Encodings."""
        return [Encoding(e, self._tokenizer) for e in self._core.overflowing]

    def __len__(self):
        return len(self._core)

    def __repr__(self):
        return f"Encoding(num_tokens={len(self)}, ids={self.ids[:8]}{'...' if len(self) > 8 else ''})"


_MAX_SIZE = 2 ** 62  # beyond any length the core can hold (sizes are 64-bit)


def size_arg(value, name, minimum=1):
    """An int argument that is a length: int (not bool), in [minimum, 2**62]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if not minimum <= value <= _MAX_SIZE:
        raise ValueError(f"{name} must be in [{minimum}, 2**62], got {value}")
    return int(value)


def json_object(spec, key, owner):
    """spec[key] of a tokenizer.json: an object, or {} where it is missing or null."""
    value = spec.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{owner}: \"{key}\" must be a JSON object (or null), got {value!r:.80}")
    return value


def added_tokens(spec, owner):
    """The added_tokens of a tokenizer.json: a list of objects, each with a non-empty "content"
    string and a non-negative int "id"."""
    tokens = spec.get("added_tokens") or []
    if not isinstance(tokens, list):
        raise ValueError(f"{owner}: added_tokens must be a list, got a JSON {type(tokens).__name__}")
    for t in tokens:
        ok = isinstance(t, dict) and isinstance(t.get("content"), str) and t["content"] and \
            isinstance(t.get("id"), int) and not isinstance(t["id"], bool) and t["id"] >= 0
        if not ok:
            raise ValueError(f"{owner}: each added token must be an object with a non-empty \"content\" string and "
                             f"a non-negative int \"id\", got {t!r}")
    return tokens


def truncation_args(max_length, truncation, stride, truncation_side):
    """(max_length, strategy, from_left, stride) for the core. truncation: None (truncate when
    max_length is given), True / "longest_first", "only_first", "only_second", or False."""
    if truncation is None:
        truncation = max_length is not None
    if truncation is False or truncation == "do_not_truncate":
        return 0, "longest_first", False, 0
    if max_length is None:
        raise ValueError("truncation needs max_length")
    max_length = size_arg(max_length, "max_length")
    strategy = "longest_first" if truncation is True else truncation
    if truncation_side not in ("right", "left"):
        raise ValueError(f"truncation_side must be 'right' or 'left', got {truncation_side!r}")
    return max_length, strategy, truncation_side == "left", size_arg(stride, "stride", minimum=0)


def padding_args(padding, max_length, pad_to_multiple_of, padding_side):
    """(pad, length, multiple_of, left) for the core. padding: True / "longest", "max_length",
    or False / None (no padding: the arrays are the rows one after another, with "lengths")."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    if padding in (False, None, "do_not_pad"):
        return False, 0, 0, False
    if padding is True or padding == "longest":
        length = 0
    elif padding == "max_length":
        if max_length is None:
            raise ValueError("padding='max_length' needs max_length")
        length = size_arg(max_length, "max_length")
    else:
        raise ValueError(f"padding must be True, 'longest', 'max_length' or False, got {padding!r}")
    multiple = 0 if pad_to_multiple_of is None else size_arg(pad_to_multiple_of, "pad_to_multiple_of", minimum=0)
    return True, length, multiple, padding_side == "left"


def seq(x):
    if x is None or isinstance(x, (list, tuple)):
        return x
    if isinstance(x, (str, bytes)):
        raise TypeError("expected a sequence of str, got a single str (wrap it in a list)")
    try:
        return list(x)
    except TypeError:
        raise TypeError(f"expected a sequence of str, got {type(x).__name__}") from None


def call_with_ids(fn, ids, name, vocab_size):
    """fn(list(ids)); when pybind11 cannot take the ids, a TypeError / IndexError that says which id and why."""
    if ids is None or isinstance(ids, (str, bytes)):
        raise TypeError(f"{name}: expected a sequence of token ids (ints), got {type(ids).__name__}")
    ids = list(ids)
    try:
        return fn(ids)
    except TypeError:
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(f"{name}: expected token ids (ints), got {type(i).__name__} {i!r}") from None
            if not 0 <= i < vocab_size:
                raise IndexError(f"{name}: token id {i} is out of range for a vocabulary of {vocab_size}") from None
        raise


def clean_up_tokenization(text):
    """transformers' clean_up_tokenization: no space before . ? ! , and inside English contractions."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                 (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


def batch(texts):
    """The texts of a batch call as a list: a sequence (or iterable) of str, not None."""
    if texts is None:
        raise TypeError("expected a sequence of str, got None")
    return seq(texts)


def read_text(path):
    """A text file's contents; invalid UTF-8 is a ValueError naming the file and line."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"expected a file path (str or os.PathLike), got {type(path).__name__}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(_utf8_error(path)) from None


def _utf8_error(path):
    """Where a file is not valid UTF-8 (a newline byte is never inside a UTF-8 sequence, so line by line)."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                return f"{path}: line {number} is not valid UTF-8 ({e.reason} at byte {e.start} of the line)"
    return f"{path}: not valid UTF-8"


def as_batch_output(arrays, return_tensors):
    if return_tensors == "np":
        return dict(arrays)
    if return_tensors == "pyseq":
        from .. import from_numpy
        return {k: from_numpy(v) for k, v in arrays.items()}
    raise ValueError(f"return_tensors must be 'np' or 'pyseq', got {return_tensors!r}")


def iter_texts(texts, files):
    """The training texts: an iterable of str, and/or the lines of text files."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts: expected an iterable of str, got a single str (wrap it in a list)")
    if texts is not None:
        try:
            texts = iter(texts)
        except TypeError:
            raise TypeError(f"texts: expected an iterable of str, got {type(texts).__name__}") from None
        yield from texts
    if isinstance(files, (str, bytes)) or hasattr(files, "__fspath__"):
        files = [files]
    for path in files or ():
        with open(path, encoding="utf-8") as f:
            try:
                yield from f
            except UnicodeDecodeError:
                raise ValueError(_utf8_error(path)) from None


def count_into(counter, texts, chunk_size):
    chunk = []
    for t in texts:
        chunk.append(t)
        if len(chunk) >= chunk_size:
            counter.add(chunk)
            chunk = []
    if chunk:
        counter.add(chunk)


class Progress:
    """A progress bar for training: tqdm when it is installed, else a line on stderr."""

    def __init__(self, show, desc):
        self.show, self.desc, self.bar, self.last = show, desc, None, 0

    def __call__(self, done, total):
        if not self.show:
            return
        if self.bar is None:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=self.desc, unit="tok")
            except ImportError:
                self.bar = False
        if self.bar:
            self.bar.update(done - self.last)
        else:
            import sys
            print(f"\r{self.desc}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)
        self.last = done

    def close(self):
        if self.bar:
            self.bar.close()

    def callback(self):
        return self if self.show else None
