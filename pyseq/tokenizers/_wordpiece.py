"""BERT's WordPiece tokenizer over the C++ core (pyseq._core.text.WordPiece)."""

import inspect
import json

from .._core import text as _text
from ..io.safetensors import atomic_write
from ._common import (Encoding, Progress, added_tokens, as_batch_output, batch, call_with_ids, clean_up_tokenization,
                      count_into, iter_texts, json_object, padding_args, read_text, seq, size_arg, truncation_args)


_DEFAULT = object()


def _bert_template(post):
    """(cls, sep) of a TemplateProcessing that is BERT's: single [CLS] $A [SEP], pair [CLS] $A [SEP]
    $B:1 [SEP]:1 (any token names); another template is refused."""
    def piece(p):
        kind, body = next(iter(p.items()))
        return kind, body["id"], body.get("type_id", 0)

    single, pair = [piece(p) for p in post["single"]], [piece(p) for p in post["pair"]]
    if len(single) == 3 and single[1] == ("Sequence", "A", 0) and single[0][0] == single[2][0] == "SpecialToken":
        cls_token, sep_token = single[0][1], single[2][1]
        if single[0][2] == single[2][2] == 0 and pair == [("SpecialToken", cls_token, 0), ("Sequence", "A", 0),
                                                           ("SpecialToken", sep_token, 0), ("Sequence", "B", 1),
                                                           ("SpecialToken", sep_token, 1)]:
            return cls_token, sep_token
    raise ValueError(f"WordPieceTokenizer: unsupported post_processor template {post['single']!r} / {post['pair']!r} "
                     f"(only BERT's [CLS] $A [SEP] and [CLS] $A [SEP] $B:1 [SEP]:1)")


class WordPieceTokenizer:
    """BERT's tokenizer: basic tokenizer, WordPiece model and [CLS]/[SEP] template.

    profile="bert" (the default) follows google-research/bert's BasicTokenizer over Unicode 16.0
    (Final_Sigma lowercasing, its CJK ranges, Cc/Cf controls, Zs spaces); profile="huggingface"
    reproduces Hugging Face tokenizers' BertNormalizer + BertPreTokenizer exactly, ids and offsets
    (`from_file` on a tokenizer.json uses it). `never_split` (bert profile): whitespace-separated
    tokens kept whole, neither lowercased nor split.
    """

    def __init__(self, vocab, *, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100,
                 clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True,
                 special_tokens=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), cls_token=_DEFAULT,
                 sep_token=_DEFAULT, pad_token=_DEFAULT, profile="bert", never_split=()):
        vocab = list(vocab)
        present = set(vocab)
        special_tokens = [t for t in special_tokens if t in present]
        self._core = _text.WordPiece(
            vocab, unk_token, continuing_subword_prefix, int(max_input_chars_per_word), bool(clean_text),
            bool(handle_chinese_chars), bool(lowercase if strip_accents is None else strip_accents), bool(lowercase),
            special_tokens, profile, list(never_split))
        self.profile = profile
        self._options = dict(unk_token=unk_token, continuing_subword_prefix=continuing_subword_prefix,
                             max_input_chars_per_word=int(max_input_chars_per_word), clean_text=bool(clean_text),
                             handle_chinese_chars=bool(handle_chinese_chars), strip_accents=strip_accents,
                             lowercase=bool(lowercase), special_tokens=list(special_tokens), profile=profile,
                             never_split=list(never_split))
        # [CLS], [SEP], [PAD] by default when the vocabulary has them; named ones must be there.
        cls_token = self._default(cls_token, "[CLS]", present)
        sep_token = self._default(sep_token, "[SEP]", present)
        pad_token = self._default(pad_token, "[PAD]", present)
        self.unk_token, self.cls_token, self.sep_token, self.pad_token = unk_token, cls_token, sep_token, pad_token
        self._options.update(cls_token=cls_token, sep_token=sep_token, pad_token=pad_token)
        self.special_tokens = special_tokens
        self._cls = self._id_or(cls_token, "cls_token")
        self._sep = self._id_or(sep_token, "sep_token")
        self._pad = self._id_or(pad_token, "pad_token")

    @staticmethod
    def _default(token, default, present):
        if token is _DEFAULT:
            return default if default in present else None
        return token

    def _id_or(self, token, what):
        if token is None:
            return -1
        i = self._core.token_to_id(token)
        if i is None:
            raise ValueError(f"WordPieceTokenizer: {what} {token!r} is not in the vocabulary")
        return i

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_vocab(cls, path, **kwargs):
        """From a BERT vocab.txt (one token a line; the line number is the id)."""
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        vocab = []
        for number, line in enumerate(lines, 1):
            try:
                vocab.append(line.decode("utf-8").rstrip("\r"))
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}: line {number} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
        if vocab and vocab[-1] == "":
            vocab.pop()
        for number, token in enumerate(vocab, 1):
            if not token:
                raise ValueError(f"{path}: line {number} is empty (every line must hold one token)")
        if not vocab:
            raise ValueError(f"{path}: the vocabulary is empty")
        try:
            return cls(vocab, **kwargs)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_file(cls, path):
        """From a Hugging Face tokenizer.json with a WordPiece model and a BERT normalizer."""
        try:
            spec = json.loads(read_text(path))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
        try:
            return cls.from_json(spec)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            raise ValueError(f"{path}: not a WordPiece tokenizer.json ({type(e).__name__}: {e})") from None
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_json(cls, spec):
        """From a parsed tokenizer.json. What this tokenizer cannot reproduce exactly is refused with
        a ValueError rather than read differently: another normalizer, pre-tokenizer or decoder, a
        post-processor other than BERT's [CLS] A [SEP] (B [SEP]) template, and added tokens that are
        not special tokens of the vocabulary."""
        if not isinstance(spec, dict):
            raise ValueError(f"WordPieceTokenizer: expected a tokenizer.json object, got a JSON {type(spec).__name__}")
        owner = "WordPieceTokenizer"
        model = json_object(spec, "model", owner)
        if model.get("type") != "WordPiece":
            raise ValueError(f"WordPieceTokenizer: expected a WordPiece model, got {model.get('type')!r}")
        vocab_map = model["vocab"]
        if not isinstance(vocab_map, dict) or not vocab_map:
            raise ValueError("WordPieceTokenizer: the model's vocab must be a non-empty object of token -> id")
        for tok, i in vocab_map.items():
            if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                raise ValueError(f"WordPieceTokenizer: token {tok!r} has id {i!r}; ids must be non-negative ints")
        ids = set(vocab_map.values())  # ids 0 .. n - 1, each once: checked before a table of them is built
        if len(ids) != len(vocab_map) or max(ids) != len(vocab_map) - 1:
            raise ValueError(f"WordPieceTokenizer: the vocabulary's ids are not contiguous from 0 ({len(vocab_map)} "
                             f"tokens, {len(ids)} distinct ids, the largest {max(ids)})")
        vocab = [None] * len(vocab_map)
        for tok, i in vocab_map.items():
            vocab[i] = tok
        norm = json_object(spec, "normalizer", owner)
        if norm and norm.get("type") != "BertNormalizer":
            raise ValueError(f"WordPieceTokenizer: unsupported normalizer {norm.get('type')!r}")
        prefix = model.get("continuing_subword_prefix", "##")
        pre = json_object(spec, "pre_tokenizer", owner)
        if pre.get("type") != "BertPreTokenizer":
            raise ValueError(f"WordPieceTokenizer: unsupported pre_tokenizer {pre.get('type')!r} (only BertPreTokenizer)")
        decoder = json_object(spec, "decoder", owner)
        if decoder.get("type") != "WordPiece" or decoder.get("prefix", "##") != prefix or not decoder.get("cleanup",
                                                                                                          True):
            raise ValueError(f"WordPieceTokenizer: unsupported decoder {decoder or None!r} (only WordPiece with the "
                             f"model's prefix {prefix!r} and cleanup)")
        specials = []
        for t in added_tokens(spec, "WordPieceTokenizer"):
            if not t.get("special") or vocab_map.get(t["content"]) != t["id"]:
                raise ValueError(f"WordPieceTokenizer: added token {t['content']!r} (id {t['id']}) is not a special "
                                 f"token of the vocabulary; added tokens beyond it are not supported")
            specials.append(t["content"])
        unk = model.get("unk_token", "[UNK]")
        if not isinstance(unk, str) or not unk:
            raise ValueError(f"WordPieceTokenizer: the model's unk_token must be a non-empty string, got {unk!r}")
        kwargs = dict(
            unk_token=unk,
            continuing_subword_prefix=prefix,
            max_input_chars_per_word=model.get("max_input_chars_per_word", 100),
            clean_text=norm.get("clean_text", False) if norm else False,
            handle_chinese_chars=norm.get("handle_chinese_chars", False) if norm else False,
            strip_accents=norm.get("strip_accents") if norm else False,
            lowercase=norm.get("lowercase", False) if norm else False,
            special_tokens=specials,
            profile="huggingface",
        )
        post = json_object(spec, "post_processor", owner)
        if post.get("type") == "TemplateProcessing":
            kwargs["cls_token"], kwargs["sep_token"] = _bert_template(post)
        elif post.get("type") == "BertProcessing":
            kwargs["cls_token"], kwargs["sep_token"] = post["cls"][0], post["sep"][0]
        elif not post:
            kwargs["cls_token"] = kwargs["sep_token"] = None
        else:
            raise ValueError(f"WordPieceTokenizer: unsupported post_processor {post.get('type')!r}")
        pad = json_object(spec, "padding", owner)
        if pad.get("pad_token"):
            kwargs["pad_token"] = pad["pad_token"]
        return cls(vocab, **kwargs)

    @classmethod
    def train(cls, texts=None, vocab_size=30000, *, files=None, min_frequency=0, show_progress=False,
              special_tokens=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), continuing_subword_prefix="##",
              clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True, max_token_length=None,
              limit_alphabet=None, initial_alphabet=(), chunk_size=10000, profile="bert", **kwargs):
        """Learns a WordPiece vocabulary from an iterable of str, as Hugging Face's WordPieceTrainer
        does (with profile="huggingface" its words are those of its BertNormalizer and
        BertPreTokenizer), deterministically. limit_alphabet: at most this many characters in the
        alphabet (the rarest others leave it, and the words lose them), initial_alphabet: characters
        always in it, as Hugging Face's. Where merges tie in count, Hugging Face's trainer breaks
        the tie by the ids it gave the "##" letters in the order a hash map lists the words, which
        differs from process to process (on 2,000 KJV verses at 1,500 tokens, four runs of it gave
        four different token sets); here those ids follow code point order, so a few tied tokens
        can differ from any one of its runs."""
        unknown = set(kwargs) - set(inspect.signature(cls.__init__).parameters) - {"self", "vocab"}
        if unknown:  # before the counting and merging, not after them
            raise TypeError(f"WordPieceTokenizer.train: unexpected argument(s) {', '.join(sorted(unknown))}")
        unk = kwargs.get("unk_token", "[UNK]")
        if unk not in special_tokens:
            raise ValueError(f"WordPieceTokenizer.train: special_tokens must hold the unknown token {unk!r} (a word "
                             f"the vocabulary cannot spell encodes to it), got {list(special_tokens)}")
        if limit_alphabet is not None:
            limit_alphabet = size_arg(limit_alphabet, "limit_alphabet", 0)
        if isinstance(initial_alphabet, str) or any(not isinstance(c, str) or len(c) != 1 for c in initial_alphabet):
            raise ValueError(f"WordPieceTokenizer.train: initial_alphabet must be a list of single characters, got "
                             f"{initial_alphabet!r}")
        strip = lowercase if strip_accents is None else strip_accents
        counter = _text.WordCounter.bert(bool(clean_text), bool(handle_chinese_chars), bool(strip), bool(lowercase),
                                         profile)
        count_into(counter, iter_texts(texts, files), chunk_size)
        progress = Progress(show_progress, "WordPiece merges")
        try:
            vocab = counter.train_vocab(size_arg(vocab_size, "vocab_size"), size_arg(min_frequency, "min_frequency", 0),
                                        list(special_tokens),
                                        continuing_subword_prefix, int(max_token_length or 0), progress.callback(),
                                        -1 if limit_alphabet is None else limit_alphabet, "".join(initial_alphabet))
        finally:
            progress.close()
        specials = list(special_tokens)
        return cls(vocab, continuing_subword_prefix=continuing_subword_prefix, clean_text=clean_text,
                   handle_chinese_chars=handle_chinese_chars, strip_accents=strip_accents, lowercase=lowercase,
                   special_tokens=specials, profile=profile, **kwargs)

    # --- encoding ---------------------------------------------------------------------------
    def _specials(self, add_special_tokens):
        return (self._cls, self._sep) if add_special_tokens else (-1, -1)

    def encode(self, text, pair=None, *, add_special_tokens=True, max_length=None, truncation=None, stride=0,
               truncation_side="right"):
        """One text (or a pair) -> Encoding: ids, tokens, type ids, masks, offsets into `text`.

        max_length truncates (counting [CLS]/[SEP]) with `truncation` = "longest_first",
        "only_first" or "only_second", from the right or left; the cut-off part is kept in
        `overflowing` as windows that overlap by `stride` tokens."""
        cls_id, sep_id = self._specials(add_special_tokens)
        return Encoding(self._core.encode(text, pair, None, cls_id, sep_id,
                                          *truncation_args(max_length, truncation, stride, truncation_side)), self)

    def encode_batch_encodings(self, texts, pairs=None, *, add_special_tokens=True, max_length=None, truncation=None,
                               stride=0, truncation_side="right"):
        """Many texts at once (on all of pyseq's threads) -> a list of Encoding."""
        cls_id, sep_id = self._specials(add_special_tokens)
        core = self._core.encode_batch(batch(texts), seq(pairs), None, cls_id, sep_id,
                                       *truncation_args(max_length, truncation, stride, truncation_side))
        return [Encoding(e, self) for e in core]

    def encode_batch(self, texts, pairs=None, *, add_special_tokens=True, max_length=None, truncation=None, stride=0,
                     truncation_side="right", padding="longest", pad_to_multiple_of=None, padding_side="right",
                     return_overflowing=False, return_offsets_mapping=False,
                     return_special_tokens_mask=False, return_tensors="np"):
        """Many texts (or pairs) at once, on all of pyseq's threads with the GIL released, as arrays:
        input_ids, token_type_ids, attention_mask (rows, T) int64, lengths (rows,), and with
        return_overflowing the overflow
        windows as extra rows plus overflow_to_sample_mapping (rows,). offset_mapping (rows, T, 2)
        and special_tokens_mask come with return_offsets_mapping / return_special_tokens_mask.

        padding: "longest" / True, "max_length" (to max_length), or False (no padding: each array
        is the rows one after another, cut them with `lengths`); pad_to_multiple_of rounds the
        length up; padding_side "right" or "left". return_tensors: "np" or "pyseq"."""
        if isinstance(texts, str):
            texts = [texts]
            pairs = [pairs] if isinstance(pairs, str) else pairs
        cls_id, sep_id = self._specials(add_special_tokens)
        if self._pad < 0 and padding not in (False, None, "do_not_pad"):
            raise ValueError("WordPieceTokenizer: padding needs a pad_token in the vocabulary")
        out = self._core.encode_batch_arrays(
            batch(texts), seq(pairs), None, cls_id, sep_id, *truncation_args(max_length, truncation, stride,
                                                                            truncation_side),
            *_pad(padding, max_length, pad_to_multiple_of, padding_side, max(self._pad, 0)), bool(return_overflowing),
            bool(return_offsets_mapping), bool(return_special_tokens_mask))
        return as_batch_output(out, return_tensors)

    __call__ = encode_batch

    def decode(self, ids, *, skip_special_tokens=True, clean_up_tokenization_spaces=False):
        """Ids -> text, as Hugging Face's WordPiece decoder (with its cleanup of " ." " ," ...);
        clean_up_tokenization_spaces=True also joins "do n't" and "it ' s" as transformers does."""
        text = call_with_ids(lambda i: self._core.decode(i, skip_special_tokens), ids, "decode", self.vocab_size)
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def decode_batch(self, batch, *, skip_special_tokens=True, clean_up_tokenization_spaces=False):
        return [self.decode(ids, skip_special_tokens=skip_special_tokens,
                            clean_up_tokenization_spaces=clean_up_tokenization_spaces) for ids in batch]

    # --- vocabulary ---------------------------------------------------------------------------
    def token_to_id(self, token):
        return self._core.token_to_id(token)

    def id_to_token(self, i):
        return self._core.id_to_token(i)

    def get_vocab(self):
        return {t: i for i, t in enumerate(self._core.vocab)}

    @property
    def vocab_size(self):
        return self._core.vocab_size

    def normalize(self, text):
        """The normalized text (huggingface profile: as its normalizer.normalize_str; bert profile:
        the basic tokenizer's words joined by spaces)."""
        return self._core.normalize(text)

    def pre_tokenize(self, text):
        """Normalized words (as Hugging Face's pre_tokenizer.pre_tokenize_str, without offsets)."""
        return self._core.pre_tokenize(text)

    def to_json(self):
        """A Hugging Face tokenizer.json (as a dict). The huggingface profile round-trips exactly;
        the bert profile is saved as Hugging Face's BertNormalizer (its closest equivalent)."""
        vocab = self._core.vocab
        specials = [t for t in self.special_tokens]
        single, pair = [], []
        if self.cls_token:
            single.append({"SpecialToken": {"id": self.cls_token, "type_id": 0}})
            pair.append({"SpecialToken": {"id": self.cls_token, "type_id": 0}})
        single.append({"Sequence": {"id": "A", "type_id": 0}})
        pair.append({"Sequence": {"id": "A", "type_id": 0}})
        if self.sep_token:
            single.append({"SpecialToken": {"id": self.sep_token, "type_id": 0}})
            pair.append({"SpecialToken": {"id": self.sep_token, "type_id": 0}})
        pair.append({"Sequence": {"id": "B", "type_id": 1}})
        if self.sep_token:
            pair.append({"SpecialToken": {"id": self.sep_token, "type_id": 1}})
        post_specials = {t: {"id": t, "ids": [self.token_to_id(t)], "tokens": [t]}
                         for t in (self.cls_token, self.sep_token) if t}
        return {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": self.token_to_id(t), "content": t, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": True} for t in specials],
            "normalizer": {"type": "BertNormalizer", "clean_text": self._options["clean_text"],
                           "handle_chinese_chars": self._options["handle_chinese_chars"],
                           "strip_accents": self._options["strip_accents"], "lowercase": self._options["lowercase"]},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair,
                               "special_tokens": post_specials},
            "decoder": {"type": "WordPiece", "prefix": self._options["continuing_subword_prefix"], "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": self.unk_token,
                      "continuing_subword_prefix": self._options["continuing_subword_prefix"],
                      "max_input_chars_per_word": self._options["max_input_chars_per_word"],
                      "vocab": {t: i for i, t in enumerate(vocab)}},
        }

    def save(self, path):
        """Writes a Hugging Face tokenizer.json (load it with from_file, or with `tokenizers`), atomically."""
        text = json.dumps(self.to_json(), ensure_ascii=False)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))

    def __getstate__(self):
        return {"vocab": list(self._core.vocab), "options": self._options}

    def __setstate__(self, state):
        self.__init__(state["vocab"], **state["options"])

    def save_vocab(self, path):
        """Writes vocab.txt (one token a line, in id order), atomically."""
        text = "".join(t + "\n" for t in self._core.vocab)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _pad(padding, max_length, multiple_of, side, pad_id):
    pad, length, multiple, left = padding_args(padding, max_length, multiple_of, side)
    return pad, pad_id, length, multiple, left
