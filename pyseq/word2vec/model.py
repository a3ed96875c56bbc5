"""Word2Vec: CBOW and skip-gram trained with negative sampling and/or hierarchical softmax, with
gensim's arguments, names and semantics. The loops run in C++ (pyseq._core.word2vec: Hogwild
threads with the GIL released, word2vec.c's formulas); this file counts the vocabulary (as gensim
does, so the vocabulary and its order are gensim's), streams the corpus, keeps the learning-rate
schedule and holds the vectors (numpy arrays the C++ trainer updates in place).

    model = Word2Vec(sentences, vector_size=100, window=5, min_count=5, sg=1, workers=2, seed=1)
    model.wv.most_similar("king")

Where pyseq differs from gensim 4.4:
- the vectors start from numpy's generator seeded with `seed` (gensim hashes each word with
  `hashfxn`, accepted and kept but unused), and training draws its own random numbers: the same
  seed gives other vectors than gensim's, of the same quality;
- a sentence of more than 10,000 words trains its first 10,000 words in the vocabulary, before
  subsampling (gensim: its first 10,000 left after subsampling);
- a one-shot iterator (map(), iter(list), itertools, not only a generator) is refused wherever
  more than one pass is needed, and an epoch that yields no sentence raises ValueError (gensim
  logs a warning and trains nothing);
- corpus_file may be compressed (.gz, .bz2, .xz; gensim refuses), its learning rate follows the
  words read (gensim's too, unless total_examples is given);
- with build_vocab(update=True), subsampling uses the counts of the whole vocabulary (gensim:
  those of the latest corpus, for its words only);
- save() / load() write pyseq's own .npz (gensim pickles); pickle and copy.deepcopy work as in
  gensim.
"""

import collections
import errno
import json
import logging
import math
import numbers
import os
import time
from collections.abc import Iterable, Iterator

import numpy as np

from .. import _core
from ..io.safetensors import atomic_write
from .keyedvectors import KeyedVectors, _open, _top_indices

__all__ = ["Word2Vec", "MAX_WORDS_IN_BATCH", "RULE_DEFAULT", "RULE_DISCARD", "RULE_KEEP"]

logger = logging.getLogger(__name__)

MAX_WORDS_IN_BATCH = 10000  # gensim's: the default batch_words, and the most words a sentence trains
RULE_DEFAULT, RULE_DISCARD, RULE_KEEP = 0, 1, 2  # what a trim_rule answers (gensim.utils' values)
_CHUNK_BYTES = 1 << 20    # bytes of a corpus file per call
_FORMAT = "pyseq.word2vec/1"
# the constructor's arguments a saved model records
_PARAMS = ("vector_size", "window", "min_count", "max_vocab_size", "max_final_vocab", "workers", "epochs", "negative",
           "sg", "hs", "cbow_mean", "alpha", "min_alpha", "sample", "ns_exponent", "seed", "null_word", "sorted_vocab",
           "batch_words", "compute_loss", "comment", "shrink_windows")
# What save() keeps of the training state besides the parameters (files from before keep the first two).
_STATE = ("corpus_total_words", "corpus_count", "train_count", "min_alpha_yet_reached", "running_training_loss",
          "effective_min_count", "epoch_stats", "_batches")


# --------------------------------------------------------------------------------------------
# reading the corpus

def _check_corpus(corpus_iterable, corpus_file, fn, passes):
    """gensim's _check_corpus_sanity: exactly one of the two, and no one-shot iterator where the
    corpus is read `passes` times (gensim refuses only generators, and trains on nothing after
    the first pass of other iterators)."""
    if (corpus_iterable is None) == (corpus_file is None):
        raise TypeError(f"{fn}: pass exactly one of corpus_iterable (an iterable of token lists) and corpus_file "
                        f"(a path)")
    if corpus_file is not None:
        if not os.path.isfile(corpus_file):
            raise TypeError(f"{fn}: corpus_file {corpus_file!r} is not a file")
    elif isinstance(corpus_iterable, (str, bytes)) or not isinstance(corpus_iterable, Iterable):
        raise TypeError(f"{fn}: the corpus must be an iterable of token lists, got {type(corpus_iterable).__name__}"
                        + (" (to read a file, pass corpus_file=)" if isinstance(corpus_iterable, (str, bytes)) else ""))
    elif passes > 1 and isinstance(corpus_iterable, Iterator):
        raise TypeError(f"{fn}: the corpus is a one-shot iterator ({type(corpus_iterable).__name__}), which can't "
                        f"support {passes} passes (one per epoch, and one for build_vocab when training starts "
                        f"from the constructor). Try a re-iterable sequence, such as a list")


def _check_sentence(sentence):
    if isinstance(sentence, str) or not hasattr(sentence, "__len__"):
        raise TypeError(f"Word2Vec: each sentence must be a list of str tokens, got {type(sentence).__name__}"
                        + (" (a corpus of str yields characters: split each sentence into words)"
                           if isinstance(sentence, str) else ""))


def _file_sentences(path):
    """The sentences of a corpus file as gensim's LineSentence reads them: each line's words
    (bytes, split at ASCII whitespace as the C++ trainer splits them) in pieces of at most
    MAX_WORDS_IN_BATCH words; lines without words are skipped."""
    with _open(path, "rb") as f:
        for line in f:
            words = line.split()
            for start in range(0, len(words), MAX_WORDS_IN_BATCH):
                yield words[start:start + MAX_WORDS_IN_BATCH]


def _file_chunks(path):
    """The file's bytes in chunks of about _CHUNK_BYTES that end at a line end, lines of more than
    MAX_WORDS_IN_BATCH words cut into lines of that many (as _file_sentences)."""
    with _open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(_CHUNK_BYTES)
            if not block:
                if rest:
                    yield _cut_long_lines(rest)
                return
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            yield _cut_long_lines(block[:cut + 1])
            rest = block[cut + 1:]


def _cut_long_lines(text):
    lines = text.split(b"\n")
    if max(map(len, lines)) <= 2 * MAX_WORDS_IN_BATCH:  # more words take at least 2 MAX_WORDS_IN_BATCH + 1 bytes
        return text
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) > MAX_WORDS_IN_BATCH:
            lines[i] = b"\n".join(b" ".join(words[start:start + MAX_WORDS_IN_BATCH])
                                  for start in range(0, len(words), MAX_WORDS_IN_BATCH))
    return b"\n".join(lines)


def _decode(word, path):
    """A word of corpus file `path` as str; one that is not UTF-8 raises ValueError naming the
    file and the first line it is on."""
    try:
        return word.decode("utf-8")
    except UnicodeDecodeError as e:
        with _open(path, "rb") as f:
            line_no = next(n for n, line in enumerate(f, 1) if word in line.split())
        raise ValueError(f"{path}: line {line_no}: the word {word[:80]!r} is not valid UTF-8 ({e.reason} at byte "
                         f"{e.start})") from None


def _sentence_batches(sentences, batch_words, key_to_index):
    """gensim's jobs, as (sentences, raw words): sentences join a batch while it stays within
    batch_words words (a longer sentence is a batch of its own). A sentence of more than
    MAX_WORDS_IN_BATCH words keeps its first MAX_WORDS_IN_BATCH in the vocabulary; the raw words
    count all of them."""
    batch, words = [], 0
    for sentence in sentences:
        _check_sentence(sentence)
        if batch and words + len(sentence) > batch_words:
            yield batch, words
            batch, words = [], 0
        words += len(sentence)
        if len(sentence) > MAX_WORDS_IN_BATCH:
            sentence = [word for word in sentence if word in key_to_index][:MAX_WORDS_IN_BATCH]
        batch.append(sentence if isinstance(sentence, (list, tuple)) else list(sentence))
    if batch:
        yield batch, words


def _keep(word, count, min_count, trim_rule):
    """gensim's keep_vocab_item: trim_rule(word, count, min_count) may answer RULE_KEEP or
    RULE_DISCARD; otherwise (RULE_DEFAULT, or no rule) a word stays if count >= min_count."""
    if trim_rule is not None:
        rule = trim_rule(word, count, min_count)
        if rule == RULE_KEEP:
            return True
        if rule == RULE_DISCARD:
            return False
    return count >= min_count


def _check_words(words):
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"build_vocab: expected sentences as lists of str, got a word of type "
                            f"{type(word).__name__}")
        if not word.isascii():
            try:
                word.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"build_vocab: the word {word!r} has no UTF-8 encoding (a lone surrogate)") from None


def _notify(callbacks, event, model):
    """Calls `event` (on_train_begin, on_epoch_begin, on_epoch_end, on_train_end) of each callback
    that has it, as gensim calls its CallbackAny2Vec."""
    for callback in callbacks:
        handler = getattr(callback, event, None)
        if handler is not None:
            handler(model)


class Word2Vec:
    """Word vectors learned from a corpus: an iterable of sentences (lists of str tokens, read once
    per epoch, plus once to count the vocabulary) or corpus_file (a text file, one sentence a line,
    tokens separated by whitespace).

    sg: 1 skip-gram, 0 CBOW (cbow_mean: the context's mean, else its sum); hs: 1 for hierarchical
    softmax; negative: negative samples per word (0: none), drawn from counts^ns_exponent; sample:
    the subsampling threshold of frequent words; window: the largest distance to a context word
    (each position draws its own, from 1 to window); alpha falls linearly to min_alpha over all
    epochs. The vocabulary: words seen min_count times or more (trim_rule may decide otherwise;
    max_final_vocab raises min_count until at most that many remain; max_vocab_size prunes rare
    words while counting), by decreasing count with sorted_vocab, equal counts in gensim's order
    (the reverse of their first appearance). workers threads train at once (Hogwild); with
    workers=1 and a seed, training is deterministic. The vectors are in `wv` (KeyedVectors).

    As in gensim, compute_loss sums the loss (-log sigmoid over the predictions) over each train()
    call in get_latest_training_loss(), and callbacks (on_train_begin, on_epoch_begin,
    on_epoch_end, on_train_end) serve the training that the constructor starts; neither is kept
    for later train() calls. pyseq's own: epoch_stats (per epoch: words, trained words, seconds,
    words/s, alpha and loss), and progress: True for a progress bar, or a function called with
    each epoch's stats. See the module's docstring for what differs from gensim."""

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, alpha=0.025, window=5, min_count=5,
                 max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001, sg=0, hs=0, negative=5,
                 ns_exponent=0.75, cbow_mean=1, hashfxn=hash, epochs=5, null_word=0, trim_rule=None, sorted_vocab=1,
                 batch_words=MAX_WORDS_IN_BATCH, compute_loss=False, callbacks=(), comment=None, max_final_vocab=None,
                 shrink_windows=True, progress=False):
        def positive_int(value, name, minimum=1):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"Word2Vec: {name} must be an int >= {minimum}, got {value!r}")
            return int(value)

        def finite(value, name, minimum=-math.inf):
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < minimum:
                raise ValueError(f"Word2Vec: {name} must be a finite number"
                                 + (f" >= {minimum}" if minimum > -math.inf else "") + f", got {value!r}")
            return float(value)

        self.vector_size = positive_int(vector_size, "vector_size")
        self.window = positive_int(window, "window")
        self.min_count = positive_int(min_count, "min_count", 0)
        self.max_vocab_size = None if max_vocab_size is None else positive_int(max_vocab_size, "max_vocab_size")
        self.max_final_vocab = None if max_final_vocab is None else positive_int(max_final_vocab, "max_final_vocab")
        self.workers = positive_int(workers, "workers")
        self.epochs = positive_int(epochs, "epochs")
        self.negative = positive_int(negative, "negative", 0)
        self.batch_words = positive_int(batch_words, "batch_words")
        self.sg, self.hs, self.cbow_mean = int(bool(sg)), int(bool(hs)), int(bool(cbow_mean))
        self.null_word, self.sorted_vocab = int(bool(null_word)), int(bool(sorted_vocab))
        if not self.hs and not self.negative:
            raise ValueError("Word2Vec: nothing to train with: set hs=1, negative > 0, or both")
        self.alpha, self.min_alpha = finite(alpha, "alpha", 0), finite(min_alpha, "min_alpha", 0)
        self.sample, self.ns_exponent = finite(sample, "sample", 0), finite(ns_exponent, "ns_exponent")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"Word2Vec: seed must be an int between 0 and 2**32 - 1, got {type(seed).__name__}")
        if not 0 <= seed < 2**32:
            raise ValueError(f"Word2Vec: seed must be between 0 and 2**32 - 1, got {seed}")
        self.seed, self.hashfxn, self.comment = int(seed), hashfxn, comment
        self.compute_loss, self.shrink_windows = bool(compute_loss), bool(shrink_windows)
        self.wv = KeyedVectors(self.vector_size)
        self.corpus_total_words = self.corpus_count = self.train_count = 0
        self.running_training_loss, self.min_alpha_yet_reached = 0.0, self.alpha
        self.raw_vocab = None
        self.epoch_stats = []  # per epoch: words, trained words, seconds, words/s, alpha, loss
        self._trainer, self._batches = None, 0
        if sentences is not None or corpus_file is not None:
            _check_corpus(sentences, corpus_file, "Word2Vec", passes=self.epochs + 1)
            self.build_vocab(sentences, corpus_file, trim_rule=trim_rule)
            self.train(sentences, corpus_file, total_examples=self.corpus_count, total_words=self.corpus_total_words,
                       epochs=self.epochs, start_alpha=self.alpha, end_alpha=self.min_alpha,
                       compute_loss=self.compute_loss, callbacks=callbacks, progress=progress)

    # --- vocabulary ---

    def build_vocab(self, corpus_iterable=None, corpus_file=None, update=False, progress_per=10000,
                    keep_raw_vocab=False, trim_rule=None):
        """Counts the corpus's words in one pass (a generator will do) and sets the vocabulary and
        its starting vectors. With `update`, words new to the model are added after the others
        (with fresh vectors) and every word's count grows by its count here, as gensim's online
        training. trim_rule(word, count, min_count) -> RULE_KEEP / RULE_DISCARD / RULE_DEFAULT
        overrides min_count (also when max_vocab_size prunes); keep_raw_vocab keeps the counts of
        every word seen in raw_vocab."""
        _check_corpus(corpus_iterable, corpus_file, "build_vocab", passes=1)
        if corpus_file is None:
            raw_vocab, self.corpus_total_words, self.corpus_count = self._scan_vocab(corpus_iterable, progress_per,
                                                                                      trim_rule)
            _check_words(raw_vocab)
        else:  # words stay bytes while counting, and are decoded once each
            rule = None if trim_rule is None else lambda word, *counts: trim_rule(_decode(word, corpus_file), *counts)
            raw_vocab, self.corpus_total_words, self.corpus_count = self._scan_vocab(_file_sentences(corpus_file),
                                                                                      progress_per, rule)
            raw_vocab = collections.Counter({_decode(word, corpus_file): n for word, n in raw_vocab.items()})
        if self.corpus_total_words == 0:
            raise ValueError("build_vocab: the corpus has no words")
        self._prepare_vocab(raw_vocab, update, keep_raw_vocab, trim_rule)

    def build_vocab_from_freq(self, word_freq, keep_raw_vocab=False, corpus_count=None, trim_rule=None,
                              update=False):
        """build_vocab from {word: count} instead of a corpus; corpus_count sets the number of
        sentences (for train's total_examples)."""
        _check_words(word_freq)
        self.corpus_count = corpus_count or 0
        self._prepare_vocab(word_freq, update, keep_raw_vocab, trim_rule)

    def _scan_vocab(self, sentences, progress_per, trim_rule):
        """gensim's scan: (raw counts in order of first appearance, words, sentences). With
        max_vocab_size, after each sentence that takes the table past it, the words seen fewer
        than 1, 2, 3, ... times are dropped (gensim's prune_vocab: the first time, none); a
        dropped word seen again counts from zero, at the end of the table."""
        raw_vocab, total_words, sentence_no, min_reduce = collections.Counter(), 0, -1, 1
        for sentence_no, sentence in enumerate(sentences):
            _check_sentence(sentence)
            if sentence_no % progress_per == 0:
                logger.info("PROGRESS: at sentence #%i, processed %i words, keeping %i word types", sentence_no,
                            total_words, len(raw_vocab))
            raw_vocab.update(sentence)
            total_words += len(sentence)
            if self.max_vocab_size and len(raw_vocab) > self.max_vocab_size:
                for word in [w for w, count in raw_vocab.items() if not _keep(w, count, min_reduce, trim_rule)]:
                    del raw_vocab[word]
                min_reduce += 1
        return raw_vocab, total_words, sentence_no + 1

    def _prepare_vocab(self, raw_vocab, update, keep_raw_vocab, trim_rule):
        """gensim's prepare_vocab: keeps the words of raw_vocab that pass min_count (raised for
        max_final_vocab to one more than the count of the word just past the cap, so that no run
        of equal counts is cut) or trim_rule; orders a fresh vocabulary by decreasing count with
        sorted_vocab, equal counts latest-seen first (gensim's np.lexsort((-index, -count))), with
        null_word a last word '\\0' of count 1 first; then sets the weights."""
        min_count = self.min_count
        if self.max_final_vocab is not None:
            counts = sorted(raw_vocab.values(), reverse=True)
            min_count = max(min_count, counts[self.max_final_vocab] + 1 if self.max_final_vocab < len(counts) else 1)
        self.effective_min_count = min_count
        kept = {word: count for word, count in raw_vocab.items() if _keep(word, count, min_count, trim_rule)}
        self.raw_vocab = raw_vocab if keep_raw_vocab else collections.defaultdict(int)
        if update:
            if not len(self.wv):
                raise RuntimeError("You cannot do an online vocabulary-update of a model which has no prior "
                                   "vocabulary. First build the vocabulary of your model with a corpus before doing "
                                   "an online update.")
            words = self.wv.index_to_key + [word for word in kept if word not in self.wv.key_to_index]
            counts = np.concatenate([self.wv.expandos["count"], np.zeros(len(words) - len(self.wv), np.int64)])
            counts += np.array([raw_vocab.get(word, 0) for word in words], dtype=np.int64)
        else:
            if not kept:
                raise ValueError(f"build_vocab: no word occurs min_count={min_count} times or more in the corpus "
                                 f"({sum(raw_vocab.values())} words); lower min_count")
            if self.null_word:  # gensim's padding word (for concatenated contexts): only ever an input
                kept.setdefault("\0", 1)
            words, counts = list(kept), np.fromiter(kept.values(), dtype=np.int64, count=len(kept))
            if self.sorted_vocab:
                order = np.lexsort((-np.arange(len(words)), -counts))
                words, counts = [words[i] for i in order], counts[order]
        self._prepare_weights(words, counts, update)

    def _prepare_weights(self, words, counts, update):
        """The vectors of words new to the model start uniform in (-1/D, 1/D) (word2vec.c's start),
        their output weights at zero; with `update`, the model's words keep theirs."""
        D, old = self.vector_size, len(self.wv) if update else 0
        new = len(words) - old
        rng = np.random.default_rng([self.seed, old] if old else self.seed)
        vectors = (rng.random((new, D), dtype=np.float32) * 2 - 1) / D  # (new, D)
        syn1 = np.zeros((new, D), np.float32) if self.hs else None
        syn1neg = np.zeros((new, D), np.float32) if self.negative else None
        if old:
            vectors = np.vstack([self.wv.vectors, vectors])
            syn1 = None if syn1 is None else np.vstack([self.syn1, syn1])
            syn1neg = None if syn1neg is None else np.vstack([self.syn1neg, syn1neg])
        self._set_vocabulary(words, counts, vectors, syn1, syn1neg)

    def _set_vocabulary(self, words, counts, vectors, syn1, syn1neg):
        """The vocabulary (words with their counts) with its vectors (V, D) and output weights
        (V, D) each or None (then absent, as in gensim), and the C++ trainer that updates them."""
        self.wv = KeyedVectors(self.vector_size)
        self.wv.add_vectors(list(words), vectors)
        self.wv.vectors = np.ascontiguousarray(self.wv.vectors, dtype=np.float32)
        self.wv.expandos["count"] = np.asarray(counts, dtype=np.int64)  # (V,), row order
        for name, array in (("syn1", syn1), ("syn1neg", syn1neg)):
            if array is None:
                self.__dict__.pop(name, None)
            else:
                setattr(self, name, np.ascontiguousarray(array, dtype=np.float32))
        self._make_trainer()

    def _make_trainer(self):
        V = len(self.wv)
        # syn1 has gensim's V rows, but V - 1 merges make V - 1 inner nodes: its last row is never used
        syn1 = self.syn1[:max(V - 1, 1)] if self.hs else None
        syn1neg = getattr(self, "syn1neg", None)
        # float32 views of the arrays: the binding checks the dtype object's identity, and an
        # unpickled array has a float32 dtype object of its own
        syn0, syn1, syn1neg = (None if a is None else a.view(np.float32) for a in (self.wv.vectors, syn1, syn1neg))
        counts = self.wv.expandos["count"]
        # the trainer takes sample as a share of the words; gensim reads sample >= 1 as about the
        # count above which words are downsampled
        sample = self.sample if self.sample < 1 else int(self.sample * (3 + math.sqrt(5)) / 2) / max(1, counts.sum())
        self._trainer = _core.word2vec.Trainer(
            list(self.wv.index_to_key), counts.tolist(), self.vector_size, self.window, bool(self.sg), bool(self.hs),
            self.negative, self.ns_exponent, sample, bool(self.cbow_mean), self.workers, self.seed, syn0, syn1,
            syn1neg, self.shrink_windows)

    # --- training ---

    def train(self, corpus_iterable=None, corpus_file=None, total_examples=None, total_words=None, epochs=None,
              start_alpha=None, end_alpha=None, word_count=0, queue_factor=2, report_delay=1.0, compute_loss=False,
              callbacks=(), progress=False):
        """Trains for `epochs` passes over the corpus; as gensim, epochs and one of total_examples
        (sentences a pass) or total_words (words a pass) are required, and the learning rate falls
        linearly from start_alpha (which replaces alpha) to end_alpha (min_alpha) by the share of
        them done (by total_examples when given; by total_words for corpus_file, which needs it).
        A generator will do for epochs=1. compute_loss sums the loss over this call (see
        get_latest_training_loss). word_count, queue_factor and report_delay are accepted for
        gensim's sake (they tune its job queue and logs). Returns (trained words: after dropping
        the words outside the vocabulary and subsampling, words), summed over the epochs."""
        if self._trainer is None:
            raise RuntimeError("train: build the vocabulary first (build_vocab, or pass the corpus to Word2Vec)")
        if not total_examples and not total_words:
            raise ValueError("You must specify either total_examples or total_words, for proper learning-rate and "
                             "progress calculations. If you've just built the vocabulary using the same corpus, using "
                             "the count cached in the model is sufficient: total_examples=model.corpus_count.")
        if epochs is None or epochs <= 0:
            raise ValueError("You must specify an explicit epochs count. The usual value is epochs=model.epochs.")
        _check_corpus(corpus_iterable, corpus_file, "train", passes=epochs)
        if corpus_file is not None and not total_words:
            raise ValueError("total_words must be provided alongside corpus_file argument.")
        self.alpha, self.min_alpha, self.epochs = start_alpha or self.alpha, end_alpha or self.min_alpha, epochs
        self.compute_loss, self.running_training_loss = bool(compute_loss), 0.0
        bar = None
        if progress is True:
            from tqdm import tqdm
            bar = tqdm(total=epochs * total_words if total_words else None, unit="word", unit_scale=True,
                       desc="word2vec")
        _notify(callbacks, "on_train_begin", self)
        trained_total, words_total = 0, 0
        for epoch in range(epochs):
            _notify(callbacks, "on_epoch_begin", self)
            start = time.perf_counter()
            stats = self._train_epoch(corpus_iterable, corpus_file, epoch, total_examples, total_words, bar)
            seconds = time.perf_counter() - start
            self.epoch_stats.append({"epoch": epoch, **stats, "seconds": seconds,
                                     "words_per_sec": stats["words"] / seconds if seconds > 0 else float("inf")})
            trained_total += stats["trained_words"]
            words_total += stats["words"]
            if callable(progress):
                progress(self.epoch_stats[-1])
            _notify(callbacks, "on_epoch_end", self)
        if bar is not None:
            bar.close()
        self.train_count += 1
        self.wv.norms = None  # stale now
        _notify(callbacks, "on_train_end", self)
        return trained_total, words_total

    def _train_epoch(self, corpus_iterable, corpus_file, epoch, total_examples, total_words, bar):
        """One pass. Each batch starts at gensim's learning rate for the share of the epoch done
        before it; the C++ trainer lowers it word by word from there (towards the next batch's)."""
        tally = {"words": 0, "trained_words": 0, "loss": 0.0}
        if corpus_file is not None:
            step = (self.alpha - self.min_alpha) / (self.epochs * total_words)  # a word's share of the fall
            for chunk in _file_chunks(corpus_file):
                alpha = self._next_alpha(tally["words"] / total_words, epoch)
                seen, stats = self._trainer.train_text(chunk, alpha, step, self.min_alpha, self._batches)
                self._count_batch(tally, seen, stats, alpha, bar)
            done = tally["words"] / total_words
        else:
            sentences = 0
            for batch, words in _sentence_batches(corpus_iterable, self.batch_words, self.wv.key_to_index):
                if total_examples:
                    done, then = sentences / total_examples, (sentences + len(batch)) / total_examples
                else:
                    done, then = tally["words"] / total_words, (tally["words"] + words) / total_words
                alpha = self._next_alpha(done, epoch)
                step = (alpha - self._next_alpha(then, epoch)) / max(1, words)
                _, stats = self._trainer.train_sentences(batch, alpha, step, self.min_alpha, self._batches)
                self._count_batch(tally, words, stats, alpha, bar)
                sentences += len(batch)
            if not sentences:
                raise ValueError(f"train: the corpus yielded no sentences in epoch {epoch}: is it an iterator that "
                                 f"an earlier pass (build_vocab's?) used up? Try a re-iterable sequence, such as a "
                                 f"list")
            done = sentences / total_examples if total_examples else tally["words"] / total_words
        return {**tally, "alpha": self._next_alpha(done, epoch)}

    def _count_batch(self, tally, words, stats, alpha, bar):
        """Adds a batch of `words` words that started at rate `alpha` to the epoch's tally."""
        tally["words"] += words
        tally["trained_words"] += stats.trained
        tally["loss"] += stats.loss
        self._batches += 1
        self.min_alpha_yet_reached = alpha  # the rate the latest batch started at (gensim's meaning)
        if self.compute_loss:
            self.running_training_loss += stats.loss
        if bar is not None:
            bar.update(words)
            bar.set_postfix(alpha=f"{alpha:.5f}")

    def _next_alpha(self, epoch_progress, epoch):
        """gensim's _get_next_alpha: alpha falls linearly to min_alpha over all the epochs."""
        progress = (epoch + epoch_progress) / self.epochs
        return max(self.min_alpha, self.alpha - (self.alpha - self.min_alpha) * progress)

    def get_latest_training_loss(self):
        """The loss (the sum of -log sigmoid over the predictions) of the latest train() call so
        far, if it had compute_loss; 0.0 otherwise (as gensim)."""
        return self.running_training_loss

    def predict_output_word(self, context_words_list, topn=10):
        """The `topn` (None: all) most probable centre words for context words (keys or rows), as [(word,
        probability)]: a softmax over the negative-sampling output weights of the context vectors'
        mean (sum, without cbow_mean), CBOW-style also for skip-gram models, as gensim; None (and a
        warning) when no context word is in the vocabulary. Needs negative sampling."""
        if not self.negative:
            raise RuntimeError("We have currently only implemented predict_output_word for the negative sampling "
                               "scheme, so you need to have run word2vec with negative > 0 for this to work.")
        if not hasattr(self, "syn1neg"):
            raise RuntimeError("Parameters required for predicting the output words not found.")
        rows = [self.wv.get_index(word) for word in context_words_list if word in self.wv]
        if not rows:
            logger.warning("All the input context words are out-of-vocabulary for the current model.")
            return None
        hidden = np.sum(self.wv.vectors[rows], axis=0)  # (D,)
        if self.cbow_mean:
            hidden /= len(rows)
        probabilities = np.exp(np.dot(hidden, self.syn1neg.T))  # (V,)
        probabilities /= np.sum(probabilities)
        return [(self.wv.index_to_key[i], probabilities[i]) for i in _top_indices(probabilities, topn)]

    # --- files, pickling ---

    def save(self, fname):
        """Writes the model (vectors, output weights, counts, parameters and the training state:
        how far the random streams have gone, the train count, the last rates and loss, the epochs'
        stats) to one .npz file, atomically: a crash leaves the old file, never half a new one. So
        training goes on after load as it would have without it (raw_vocab is not kept)."""
        params = {k: getattr(self, k) for k in _PARAMS + _STATE if hasattr(self, k)}
        arrays = {"format": np.array(_FORMAT), "params": np.array(json.dumps(params)),
                  "words": np.array(self.wv.index_to_key, dtype=str), "counts": self.wv.expandos["count"],
                  "vectors": self.wv.vectors}
        arrays.update({name: getattr(self, name) for name in ("syn1", "syn1neg") if hasattr(self, name)})
        atomic_write(fname, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, fname, mmap=None):
        """A model written by save(). mmap is accepted for gensim's sake: the arrays are read into
        memory (an .npz archive cannot be mapped)."""
        if os.path.isdir(fname):
            raise IsADirectoryError(errno.EISDIR, "Word2Vec.load: a folder, not a model file", fname)
        if not os.path.isfile(fname):
            raise FileNotFoundError(f"Word2Vec.load: no such file: {fname!r}")
        try:
            data = np.load(fname, allow_pickle=False)
            ok = "format" in data.files and str(data["format"]) == _FORMAT
        except (OSError, ValueError) as e:
            raise ValueError(f"Word2Vec.load: {fname!r} is not a model saved by pyseq's Word2Vec.save ({e})") from None
        if not ok:
            raise ValueError(f"Word2Vec.load: {fname!r} is not a model saved by pyseq's Word2Vec.save")
        params = json.loads(str(data["params"]))
        model = cls(**{k: params[k] for k in _PARAMS if k in params})
        for name in _STATE:
            if name in params:
                setattr(model, name, params[name])
        words, vectors = [str(w) for w in data["words"]], data["vectors"]
        syn1, syn1neg = (data[name] if name in data.files else None for name in ("syn1", "syn1neg"))
        if syn1 is not None and len(syn1) < len(words):  # saved with V - 1 rows (before gensim's V)
            syn1 = np.vstack([syn1, np.zeros((len(words) - len(syn1), syn1.shape[1]), syn1.dtype)])
        model._set_vocabulary(words, data["counts"], vectors, syn1, syn1neg)
        return model

    def __getstate__(self):
        """For pickle and copy.deepcopy: everything but the C++ trainer, which __setstate__ builds
        again around the (copied) arrays."""
        state = self.__dict__.copy()
        del state["_trainer"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._trainer = None
        if len(self.wv):
            self._make_trainer()

    def __repr__(self):
        return (f"Word2Vec<vocab={len(self.wv)}, vector_size={self.vector_size}, "
                f"{'skip-gram' if self.sg else 'CBOW'}, {'hs' if self.hs else ''}"
                f"{'+' if self.hs and self.negative else ''}{f'negative={self.negative}' if self.negative else ''}>")
