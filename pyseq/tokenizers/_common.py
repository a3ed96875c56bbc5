"""Shared pieces of the tokenizer API: the Encoding view and batch outputs."""


class Encoding:
    """One tokenized text (or pair): ids, tokens, offsets, type ids, masks."""

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

    def __len__(self):
        return len(self._core)

    def __repr__(self):
        return f"Encoding(num_tokens={len(self)}, ids={self.ids[:8]}{'...' if len(self) > 8 else ''})"


def as_batch_output(arrays, return_tensors):
    if return_tensors == "np":
        return dict(arrays)
    if return_tensors == "pyseq":
        from .. import from_numpy
        return {k: from_numpy(v) for k, v in arrays.items()}
    raise ValueError(f"return_tensors must be 'np' or 'pyseq', got {return_tensors!r}")
