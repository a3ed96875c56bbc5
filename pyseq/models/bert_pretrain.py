"""BERT pretraining data from raw text: next-sentence pairs and masked-language-model masking.

    data = PretrainingData(documents, tokenizer, max_length=128)    # documents: lists of sentences
    batch = data.batch(32, rng)        # input_ids, token_type_ids, attention_mask, labels, next_sentence_label
    out = model(**batch)               # a BertForPreTraining: out.loss = masked LM + next sentence

Pairs (as in BERT's paper): segment A is a run of sentences_per_segment sentences of a document;
segment B is the run that follows it (label 0) with probability 1/2, else a random run of another
document (label 1). Each pair is encoded once as [CLS] A [SEP] B [SEP] (token types 0 / 1), longest-first
truncated to max_length. Masking is drawn afresh for every batch: 15% of the positions that are
not special tokens or padding are chosen (with whole_word_masking, whole words are: a word is a
token and the '##' pieces after it); of those 80% become [MASK], 10% a random non-special token and
10% stay; labels hold the original ids there and -100 elsewhere.
"""

import numpy as np

from .. import _core

__all__ = ["next_sentence_pairs", "PretrainingData", "mask_tokens"]


def next_sentence_pairs(documents, rng, sentences_per_segment=1):
    """(first, second, labels). Segments are runs of `sentences_per_segment` consecutive sentences of a
    document (joined by spaces), one starting at every sentence that leaves room for a next segment;
    the second is the segment that follows (label 0) or, with probability 1/2, a random run of as many
    sentences from another document (label 1)."""
    k = sentences_per_segment
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"next_sentence_pairs: sentences_per_segment must be a positive int, got {k!r}")
    documents = [list(d) for d in documents if len(d)]
    if len(documents) < 2:
        raise ValueError(f"next_sentence_pairs: random second segments need at least 2 non-empty documents, "
                         f"got {len(documents)}")
    first, second, labels = [], [], []
    for d, doc in enumerate(documents):
        for i in range(len(doc) - k):
            first.append(" ".join(doc[i:i + k]))
            if rng.random() < 0.5:
                second.append(" ".join(doc[i + k:i + 2 * k]))
                labels.append(0)
            else:
                other = int(rng.integers(len(documents) - 1))
                other = documents[other + (other >= d)]  # any document but this one
                j = int(rng.integers(max(1, len(other) - k + 1)))
                second.append(" ".join(other[j:j + k]))
                labels.append(1)
    return first, second, np.array(labels, dtype=np.int64)


def mask_tokens(input_ids, maskable, mask_id, random_ids, rng, mlm_probability=0.15, word_ids=None):
    """(masked input_ids, labels) for masked-LM training, both int64 (B, T).

    maskable (B, T) bool: positions that may be chosen (not special, not padding). random_ids: the
    ids a chosen position may be replaced by (10% of the time). word_ids (B, T), optional: positions
    with the same id form one word, chosen together (whole-word masking)."""
    if word_ids is None:
        chosen = (rng.random(input_ids.shape) < mlm_probability) & maskable
    else:
        word_chosen = rng.random(input_ids.shape) < mlm_probability  # one draw per word id, by its first token
        chosen = np.take_along_axis(word_chosen, word_ids, axis=1) & maskable
    labels = np.where(chosen, input_ids, -100)
    action = rng.random(input_ids.shape)
    masked = input_ids.copy()
    masked[chosen & (action < 0.8)] = mask_id
    swap = chosen & (action >= 0.8) & (action < 0.9)
    masked[swap] = random_ids[rng.integers(len(random_ids), size=int(swap.sum()))]
    return masked, labels


class PretrainingData:
    """Next-sentence pairs of `documents` (each a list of sentence strings) encoded once with a pyseq
    WordPieceTokenizer; `batch` draws random pairs and masks them afresh."""

    def __init__(self, documents, tokenizer, max_length=128, mlm_probability=0.15, whole_word_masking=False,
                 sentences_per_segment=1, seed=0):
        if not 0 < mlm_probability < 1:
            raise ValueError(f"PretrainingData: mlm_probability must be in (0, 1), got {mlm_probability!r}")
        first, second, self.next_sentence_label = next_sentence_pairs(documents, np.random.default_rng(seed),
                                                                      sentences_per_segment)
        enc = tokenizer.encode_batch(first, second, max_length=max_length, truncation="longest_first",
                                     padding="longest", return_special_tokens_mask=True)
        self.input_ids, self.token_type_ids = enc["input_ids"], enc["token_type_ids"]
        self.attention_mask = enc["attention_mask"]
        self.maskable = (enc["special_tokens_mask"] == 0) & (self.attention_mask == 1)
        vocab = tokenizer.get_vocab()
        self.mask_id = vocab["[MASK]"] if "[MASK]" in vocab else None
        if self.mask_id is None:
            raise ValueError("PretrainingData: the tokenizer has no [MASK] token")
        tokens = sorted(vocab, key=vocab.get)
        special = {t for t in tokens if t.startswith("[") and t.endswith("]")}
        self.random_ids = np.array([vocab[t] for t in tokens if t not in special], dtype=np.int64)
        self.word_ids = None
        if whole_word_masking:  # a word: a token and the '##' continuation pieces after it
            piece = np.zeros(max(vocab.values()) + 1, dtype=bool)
            piece[[vocab[t] for t in tokens if t.startswith("##")]] = True
            starts = ~piece[self.input_ids]
            self.word_ids = np.maximum.accumulate(np.where(starts, np.arange(self.input_ids.shape[1]), 0), axis=1)
        self.mlm_probability = mlm_probability

    def __len__(self):
        return len(self.input_ids)

    def batch(self, batch_size, rng, rows=None):
        """A dict of int64 Tensors for BertForPreTraining: `batch_size` random pairs (or those of `rows`),
        trimmed to their longest, freshly masked."""
        rows = rng.integers(len(self), size=batch_size) if rows is None else np.asarray(rows)
        T = int(self.attention_mask[rows].sum(axis=1).max())
        ids = self.input_ids[rows, :T]
        words = self.word_ids[rows, :T] if self.word_ids is not None else None
        masked, labels = mask_tokens(ids, self.maskable[rows, :T], self.mask_id, self.random_ids, rng,
                                     self.mlm_probability, words)
        arrays = {"input_ids": masked, "token_type_ids": self.token_type_ids[rows, :T],
                  "attention_mask": self.attention_mask[rows, :T], "labels": labels,
                  "next_sentence_label": self.next_sentence_label[rows]}
        return {k: _core.from_numpy(np.ascontiguousarray(v, dtype=np.int64)) for k, v in arrays.items()}
