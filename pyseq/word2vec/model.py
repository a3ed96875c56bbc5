"""Word2Vec: CBOW and skip-gram trained with negative sampling and/or hierarchical softmax, with
gensim's arguments and names. The loops run in C++ (pyseq._core.word2vec: Hogwild threads with the
GIL released, word2vec.c's formulas); this file streams the corpus, keeps the schedule and holds
the vectors (numpy arrays the C++ trainer updates in place).

    model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, sg=1, workers=2, seed=1)
    model.wv.most_similar("king")
"""

import json
import math
import numbers
import os
import time
import types

import numpy as np

from .. import _core
from ..io.safetensors import atomic_write
from .keyedvectors import KeyedVectors

__all__ = ["Word2Vec"]

_BATCH_WORDS = 10000      # words of an iterable corpus handed to C++ per call (gensim's batch_words)
_CHUNK_BYTES = 1 << 20    # bytes of a corpus file per call
_FORMAT = "pyseq.word2vec/1"
# the constructor's arguments a saved model records
_PARAMS = ("vector_size", "window", "min_count", "max_vocab_size", "max_final_vocab", "workers", "epochs", "negative",
           "sg", "hs", "cbow_mean", "alpha", "min_alpha", "sample", "ns_exponent", "seed")


def _file_chunks(path):
    """The file's bytes in chunks of about _CHUNK_BYTES that end at a line end."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(_CHUNK_BYTES)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            yield block[:cut + 1]
            rest = block[cut + 1:]


def _sentence_batches(sentences, batch_words):
    """Lists of sentences of about batch_words words each."""
    batch, words = [], 0
    for sentence in sentences:
        if isinstance(sentence, str) or not hasattr(sentence, "__len__"):
            raise TypeError(f"Word2Vec: each sentence must be a list of str tokens, got {type(sentence).__name__}"
                            + (" (a corpus of str yields characters: split each sentence into words)"
                               if isinstance(sentence, str) else ""))
        batch.append(sentence if isinstance(sentence, (list, tuple)) else list(sentence))
        words += len(sentence)
        if words >= batch_words:
            yield batch
            batch, words = [], 0
    if batch:
        yield batch


def _check_corpus(sentences, corpus_file, fn):
    if (sentences is None) == (corpus_file is None):
        raise ValueError(f"{fn}: pass exactly one of sentences (an iterable of token lists) and corpus_file (a path)")
    if isinstance(sentences, types.GeneratorType):
        raise TypeError(f"{fn}: sentences is a generator, which can be read only once; training reads the corpus "
                        f"once per epoch, so pass a list or a re-iterable object")
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"{fn}: sentences must be an iterable of token lists, got {type(sentences).__name__} (to "
                        f"read a file, pass corpus_file=)")
    if corpus_file is not None and not os.path.isfile(corpus_file):
        raise ValueError(f"{fn}: corpus_file {corpus_file!r} is not a file")


class Word2Vec:
    """Word vectors learned from a corpus: an iterable of sentences (lists of str tokens, read once
    per epoch) or corpus_file (a text file, one sentence a line, tokens separated by whitespace).

    sg: 1 skip-gram, 0 CBOW (cbow_mean: the context's mean, else its sum); hs: 1 for hierarchical
    softmax; negative: negative samples per word (0: none), drawn from counts^ns_exponent; sample:
    the subsampling threshold of frequent words; window: the largest distance to a context word
    (each position draws its own, from 1 to window); alpha falls linearly to min_alpha over all
    epochs. workers threads train at once (Hogwild); with workers=1 and a seed, training is
    deterministic. The vectors are in `wv` (KeyedVectors). The loss is always tracked (per epoch in
    epoch_stats; compute_loss is accepted for gensim's sake). progress: True for a progress bar, or
    a function called with each epoch's stats; callbacks: objects with on_epoch_begin(model) /
    on_epoch_end(model), as gensim's."""

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, alpha=0.025, window=5, min_count=5,
                 max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001, sg=0, hs=0, negative=5,
                 ns_exponent=0.75, cbow_mean=1, epochs=5, max_final_vocab=None, compute_loss=False, callbacks=(),
                 progress=False):
        def positive_int(value, name, minimum=1):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"Word2Vec: {name} must be an int >= {minimum}, got {value!r}")
            return int(value)

        self.vector_size = positive_int(vector_size, "vector_size")
        self.window = positive_int(window, "window")
        self.min_count = positive_int(min_count, "min_count", 0)
        self.max_vocab_size = None if max_vocab_size is None else positive_int(max_vocab_size, "max_vocab_size")
        self.max_final_vocab = None if max_final_vocab is None else positive_int(max_final_vocab, "max_final_vocab")
        self.workers = positive_int(workers, "workers")
        self.epochs = positive_int(epochs, "epochs")
        self.negative = positive_int(negative, "negative", 0)
        self.sg, self.hs, self.cbow_mean = int(bool(sg)), int(bool(hs)), int(bool(cbow_mean))
        if not self.hs and not self.negative:
            raise ValueError("Word2Vec: nothing to train with: set hs=1, negative > 0, or both")
        for name, value in [("alpha", alpha), ("min_alpha", min_alpha), ("sample", sample)]:
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValueError(f"Word2Vec: {name} must be a finite number >= 0, got {value!r}")
        self.alpha, self.min_alpha, self.sample = float(alpha), float(min_alpha), float(sample)
        self.ns_exponent, self.seed = float(ns_exponent), int(seed)
        self.compute_loss, self.callbacks, self.progress = compute_loss, tuple(callbacks), progress
        self.wv = KeyedVectors(self.vector_size)
        self.syn1 = self.syn1neg = None
        self.corpus_total_words = self.corpus_count = 0
        self.epoch_stats = []  # per epoch: words, trained words, seconds, words/s, alpha, loss
        self._trainer, self._batches = None, 0
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file)
            self.train(sentences, corpus_file, total_words=self.corpus_total_words, epochs=self.epochs)

    # --- vocabulary ---

    def build_vocab(self, corpus_iterable=None, corpus_file=None):
        """Counts the corpus's words in one pass; keeps those seen min_count times or more (fewer
        when max_final_vocab caps the vocabulary), by decreasing count; initialises the vectors."""
        _check_corpus(corpus_iterable, corpus_file, "build_vocab")
        counter = _core.word2vec.VocabCounter(self.max_vocab_size or 0)
        if corpus_file is not None:
            for chunk in _file_chunks(corpus_file):
                counter.add_text(chunk)
        else:
            for batch in _sentence_batches(corpus_iterable, 100_000):
                counter.add_sentences(batch)
        self.corpus_total_words, self.corpus_count = counter.total_words, counter.sentences
        if self.corpus_total_words == 0:
            raise ValueError("build_vocab: the corpus has no words")
        vocab = counter.vocabulary(self.min_count, self.max_final_vocab or 0)
        if not vocab:
            raise ValueError(f"build_vocab: no word occurs min_count={self.min_count} times or more in the corpus "
                             f"({self.corpus_total_words} words); lower min_count")
        rng = np.random.default_rng(self.seed)
        vectors = (rng.random((len(vocab), self.vector_size), dtype=np.float32) * 2 - 1) / self.vector_size  # U(-1, 1) / D
        V = len(vocab)
        syn1 = np.zeros((max(V - 1, 1), self.vector_size), np.float32) if self.hs else None
        syn1neg = np.zeros((V, self.vector_size), np.float32) if self.negative else None
        self._set_vocabulary([w for w, _ in vocab], [c for _, c in vocab], vectors, syn1, syn1neg)

    def _set_vocabulary(self, words, counts, vectors, syn1, syn1neg):
        """The vocabulary (by decreasing count) with its vectors and output weights, and the C++
        trainer that updates them in place."""
        self.wv = KeyedVectors(self.vector_size)
        self.wv.add_vectors(words, vectors)
        self.wv.vectors = np.ascontiguousarray(self.wv.vectors, dtype=np.float32)
        self.wv.expandos["count"] = np.asarray(counts, dtype=np.int64)  # (V,), row order
        self.syn1 = None if syn1 is None else np.ascontiguousarray(syn1, dtype=np.float32)
        self.syn1neg = None if syn1neg is None else np.ascontiguousarray(syn1neg, dtype=np.float32)
        self._trainer = _core.word2vec.Trainer(
            list(self.wv.index_to_key), self.wv.expandos["count"].tolist(), self.vector_size, self.window,
            bool(self.sg), bool(self.hs), self.negative, self.ns_exponent, self.sample, bool(self.cbow_mean),
            self.workers, self.seed, self.wv.vectors, self.syn1, self.syn1neg)

    # --- training ---

    def train(self, corpus_iterable=None, corpus_file=None, total_examples=None, total_words=None, epochs=None,
              start_alpha=None, end_alpha=None, compute_loss=None, callbacks=None, progress=None):
        """Trains for `epochs` passes over the corpus (the learning rate falling linearly from
        start_alpha to end_alpha over all of them, measured in total_words a pass). Returns
        (trained words, words) summed over the epochs, as gensim."""
        _check_corpus(corpus_iterable, corpus_file, "train")
        if self._trainer is None:
            raise RuntimeError("train: build the vocabulary first (build_vocab, or pass the corpus to Word2Vec)")
        epochs = self.epochs if epochs is None else epochs
        total_words = total_words or self.corpus_total_words
        start_alpha = self.alpha if start_alpha is None else start_alpha
        end_alpha = self.min_alpha if end_alpha is None else end_alpha
        callbacks = self.callbacks if callbacks is None else tuple(callbacks)
        progress = self.progress if progress is None else progress
        alpha_step = (start_alpha - end_alpha) / max(1, epochs * total_words)
        done, trained_total, seen_total = 0, 0, 0
        bar = None
        if progress is True:
            from tqdm import tqdm
            bar = tqdm(total=epochs * total_words, unit="word", unit_scale=True, desc="word2vec")
        for epoch in range(epochs):
            for cb in callbacks:
                getattr(cb, "on_epoch_begin", lambda m: None)(self)
            start, words, trained, loss = time.perf_counter(), 0, 0, 0.0
            batches = (_file_chunks(corpus_file) if corpus_file is not None
                       else _sentence_batches(corpus_iterable, _BATCH_WORDS))
            call = self._trainer.train_text if corpus_file is not None else self._trainer.train_sentences
            for batch in batches:
                alpha = start_alpha - alpha_step * done
                seen, stats = call(batch, alpha, alpha_step, end_alpha, self._batches)
                self._batches += 1
                done += seen
                words += seen
                trained += stats.trained
                loss += stats.loss
                if bar is not None:
                    bar.update(seen)
                    bar.set_postfix(alpha=f"{max(end_alpha, alpha):.5f}")
            seconds = time.perf_counter() - start
            self.epoch_stats.append({"epoch": epoch, "words": words, "trained_words": trained, "seconds": seconds,
                                     "words_per_sec": words / seconds if seconds > 0 else float("inf"),
                                     "alpha": max(end_alpha, start_alpha - alpha_step * done), "loss": loss})
            trained_total += trained
            seen_total += words
            if callable(progress):
                progress(self.epoch_stats[-1])
            for cb in callbacks:
                getattr(cb, "on_epoch_end", lambda m: None)(self)
        if bar is not None:
            bar.close()
        self.wv.fill_norms(force=True)
        return trained_total, seen_total

    def get_latest_training_loss(self):
        """The loss (sum of -log sigmoid over the predictions) of the last epoch trained."""
        return self.epoch_stats[-1]["loss"] if self.epoch_stats else 0.0

    # --- files ---

    def save(self, fname):
        """Writes the model (vectors, output weights, counts, parameters) to one .npz file,
        atomically: a crash leaves the old file, never half a new one."""
        params = {k: getattr(self, k) for k in _PARAMS + ("corpus_total_words", "corpus_count")}
        arrays = {"format": np.array(_FORMAT), "params": np.array(json.dumps(params)),
                  "words": np.array(self.wv.index_to_key, dtype=str), "counts": self.wv.expandos["count"],
                  "vectors": self.wv.vectors}
        arrays.update({name: getattr(self, name) for name in ("syn1", "syn1neg") if getattr(self, name) is not None})
        atomic_write(fname, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, fname):
        """A model written by save()."""
        try:
            data = np.load(fname, allow_pickle=False)
            ok = "format" in data.files and str(data["format"]) == _FORMAT
        except (OSError, ValueError) as e:
            raise ValueError(f"Word2Vec.load: {fname!r} is not a model saved by pyseq's Word2Vec.save ({e})") from None
        if not ok:
            raise ValueError(f"Word2Vec.load: {fname!r} is not a model saved by pyseq's Word2Vec.save")
        params = json.loads(str(data["params"]))
        model = cls(**{k: params[k] for k in _PARAMS})
        model.corpus_total_words, model.corpus_count = params["corpus_total_words"], params["corpus_count"]
        optional = {name: data[name] if name in data.files else None for name in ("syn1", "syn1neg")}
        model._set_vocabulary([str(w) for w in data["words"]], data["counts"], data["vectors"], **optional)
        model.wv.fill_norms(force=True)
        return model

    def __repr__(self):
        return (f"Word2Vec<vocab={len(self.wv)}, vector_size={self.vector_size}, "
                f"{'skip-gram' if self.sg else 'CBOW'}, {'hs' if self.hs else ''}"
                f"{'+' if self.hs and self.negative else ''}{f'negative={self.negative}' if self.negative else ''}>")
