"""Word vectors keyed by word, as gensim's `KeyedVectors`: similarity queries, the analogy and
word-pair evaluations, and the word2vec text and binary file formats.

Pure NumPy. The queries follow gensim 4's float32 arithmetic step by step (the same normalizations,
the same order of sums, the same top-n selection), so rankings agree with gensim's even on
near-ties. `evaluate_word_pairs` uses scipy.stats when it is installed and its own Pearson and
Spearman tests otherwise (scipy is not a dependency of pyseq).

The word2vec formats (those of the original word2vec.c):
    text    "V D\\n", then per word: the word, then D numbers, separated by spaces, then "\\n"
    binary  "V D\\n", then per word: the word's bytes, a space, D little-endian float32; word2vec.c
            writes a newline after each vector and gensim does not, so a newline before a word
            is skipped.
A name ending in .gz, .bz2 or .xz is read and written compressed, as gensim (smart_open) does. Every
write is atomic (a temporary file beside the target, then a rename): a failed or interrupted write
leaves the previous file as it was.
"""

import bz2
import gzip
import logging
import lzma
import math
import os
import warnings
import zipfile
from numbers import Integral

import numpy as np

from ..io.safetensors import atomic_write

__all__ = ["KeyedVectors"]

logger = logging.getLogger(__name__)

_FORMAT = "pyseq.word2vec.KeyedVectors 1"  # the marker (name and version) in files written by save()
_COSMUL_EPSILON = 1e-6  # keeps 3CosMul's quotient finite (gensim's value)


class KeyedVectors:
    """A (V, D) matrix `vectors` with a key (a word) per row: `index_to_key[i]` names row i and
    `key_to_index` maps back. Per-key attributes such as 'count' live in `expandos` (name ->
    (V,) array), set and read with `set_vecattr` / `get_vecattr`.

    `count` preallocates that many zero rows without keys, filled in order by `add_vector`
    (as in gensim, `len()` counts them from the start).
    """

    def __init__(self, vector_size, count=0, dtype=np.float32):
        self.vector_size = int(vector_size)
        self.vectors = np.zeros((count, self.vector_size), dtype=dtype)  # (V, D)
        self.index_to_key = [None] * count
        self.key_to_index = {}
        self.next_index = 0  # the preallocated row add_vector fills next
        self.norms = None  # (V,) L2 norms of the rows, computed on demand by fill_norms
        self.expandos = {}  # attribute name -> (V,) array

    def __repr__(self):
        return f"{type(self).__name__}<vector_size={self.vector_size}, {len(self)} keys>"

    def __len__(self):
        return len(self.index_to_key)

    def has_index_for(self, key):
        """Whether `key` has a row (a key, or a row number)."""
        return self.get_index(key, -1) >= 0

    def __contains__(self, key):
        return self.has_index_for(key)

    def __getitem__(self, key_or_keys):
        """A key's vector (D,), or the vectors of a list of keys (n, D), n >= 1 (as gensim)."""
        if isinstance(key_or_keys, (str, Integral)):
            return self.get_vector(key_or_keys)
        rows = [self.get_index(key) for key in key_or_keys]
        if not rows:
            raise ValueError("need at least one key to stack vectors (got an empty list)")
        return self.vectors[rows]

    def get_index(self, key, default=None):
        """The row of `key`. An integer that is not a key is taken as a row number, as in gensim."""
        index = self.key_to_index.get(key, -1)
        if index >= 0:
            return index
        if isinstance(key, Integral) and 0 <= key < len(self.index_to_key):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"Key '{key}' not present")

    def get_vector(self, key, norm=False):
        """The key's vector (D,), scaled to unit length with `norm`; read-only, since writing into
        it would leave the cached norms stale."""
        index = self.get_index(key)
        if norm:
            self.fill_norms()
            vector = self.vectors[index] / self.norms[index]
        else:
            vector = self.vectors[index]
        vector.setflags(write=False)
        return vector

    def fill_norms(self, force=False):
        """Computes the rows' L2 norms (V,) if they are missing, stale or `force`d."""
        if self.norms is None or force or len(self.norms) != len(self.vectors):
            self.norms = np.linalg.norm(self.vectors, axis=1)

    def sort_by_descending_frequency(self):
        """Reorders the keys (and their vectors and attributes) by their 'count' attribute, highest
        first; as gensim, keys of equal count end up in the reverse of their order before."""
        if not len(self):
            return
        counts = np.asarray(self.expandos["count"], dtype=np.int64)
        order = np.lexsort((-np.arange(len(counts)), -counts))
        self.index_to_key = [self.index_to_key[i] for i in order]
        self.expandos = {name: values[order] for name, values in self.expandos.items()}
        if len(self.vectors):
            self.vectors = self.vectors[order]
        self.key_to_index = {key: i for i, key in enumerate(self.index_to_key)}
        self.norms = None

    def get_normed_vectors(self):
        """All vectors scaled to unit length, (V, D)."""
        self.fill_norms()
        return self.vectors / self.norms[:, np.newaxis]

    # ----------------------------------------------------------------------------------------
    # adding vectors, per-key attributes

    def add_vector(self, key, vector):
        """Puts one vector in the next preallocated row (or appends it); returns its row. A key
        already present keeps its vector."""
        if key in self.key_to_index:
            return self.key_to_index[key]
        if self.next_index < len(self) and self.index_to_key[self.next_index] is None:
            vector = np.asarray(vector)
            if vector.shape != (self.vector_size,):
                raise ValueError(f"add_vector: expected a vector of shape ({self.vector_size},), got {vector.shape}")
            if not isinstance(key, str):
                raise TypeError("add_vector: keys must be str")
            index = self.next_index
            self.index_to_key[index] = key
            self.key_to_index[key] = index
            self.vectors[index] = vector
            self.norms = None
        else:
            index = len(self)
            self.add_vectors([key], [vector])
        self.next_index = index + 1
        return index

    def add_vectors(self, keys, weights, replace=False):
        """Appends `keys` (str, or a list of n str) with their vectors `weights` ((D,) or (n, D)).
        Keys already present keep their old vectors unless `replace`."""
        if isinstance(keys, str):
            keys, weights = [keys], np.reshape(weights, (1, -1))
        keys = list(keys)
        weights = np.asarray(weights)
        if weights.shape != (len(keys), self.vector_size):
            raise ValueError(f"add_vectors: expected weights of shape ({len(keys)}, {self.vector_size}) for "
                             f"{len(keys)} keys, got {weights.shape}")
        if not all(isinstance(key, str) for key in keys):
            raise TypeError("add_vectors: keys must be str")
        if len(set(keys)) != len(keys):
            raise ValueError("add_vectors: the keys repeat")
        is_new = np.array([key not in self.key_to_index for key in keys], dtype=bool)
        if replace:
            old_rows = [self.key_to_index[key] for key, new in zip(keys, is_new) if not new]
            self.vectors[old_rows] = weights[~is_new]
        for key in (key for key, new in zip(keys, is_new) if new):
            self.key_to_index[key] = len(self.index_to_key)
            self.index_to_key.append(key)
        self.vectors = np.concatenate([self.vectors, weights[is_new].astype(self.vectors.dtype)])
        for name, values in self.expandos.items():  # the new keys' attributes start at zero
            self.expandos[name] = np.concatenate([values, np.zeros(int(is_new.sum()), dtype=values.dtype)])
        self.norms = None

    def set_vecattr(self, key, attr, val):
        """Sets the number `val` as attribute `attr` of `key` (e.g. 'count')."""
        index = self.get_index(key)
        dtype = np.asarray(val).dtype
        if dtype.kind not in "biuf":
            raise TypeError(f"set_vecattr: {attr!r} must be a number, got {type(val).__name__}")
        values = self.expandos.get(attr)
        if values is None:
            values = np.zeros(len(self), dtype=np.int64 if dtype.kind in "iu" else dtype)
        elif not np.can_cast(dtype, values.dtype):  # e.g. a float into int counts
            values = values.astype(np.result_type(values.dtype, dtype))
        values[index] = val
        self.expandos[attr] = values

    def get_vecattr(self, key, attr):
        """Attribute `attr` of `key`."""
        return self.expandos[attr][self.get_index(key)]

    def vectors_for_all(self, keys, allow_inference=True, copy_vecattrs=False):
        """A new KeyedVectors of the given keys that are here (each once, in the order given), with
        their vectors, and as gensim made-up counts (n, n - 1, ... 1) or, with copy_vecattrs, their
        attributes. (allow_inference is gensim's, for FastText; word2vec infers nothing.)"""
        present = [key for key in dict.fromkeys(keys) if key in self.key_to_index]
        rows = [self.key_to_index[key] for key in present]
        kv = type(self)(self.vector_size, dtype=self.vectors.dtype)
        kv.add_vectors(present, self.vectors[rows].reshape(len(rows), self.vector_size))
        kv.expandos["count"] = np.arange(len(rows), 0, -1, dtype=np.int64)
        if copy_vecattrs:
            kv.expandos.update({name: values[rows].copy() for name, values in self.expandos.items()})
        return kv

    # gensim 3's names, which gensim 4 removed: a clear AttributeError, as gensim 4 gives
    def _removed(name, advice):
        def fail(self):
            raise AttributeError(f"The {name} attribute was removed from KeyedVectors in gensim 4.0.0, whose API "
                                 f"pyseq follows: {advice}")
        return property(fail)

    vocab = _removed("vocab", "use .key_to_index, .index_to_key and get_vecattr(key, attr) / set_vecattr")
    index2word = _removed("index2word", "use .index_to_key")
    index2entity = _removed("index2entity", "use .index_to_key")
    vectors_norm = _removed("vectors_norm", "use .get_normed_vectors()")
    del _removed

    # ----------------------------------------------------------------------------------------
    # similarity queries

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False, ignore_missing=True):
        """The weighted mean (D,) of `keys` (keys, row numbers or vectors (D,)) divided by the sum
        of the absolute weights (default 1 each); keys' vectors unit-normed with `pre_normalize`
        (vectors are taken as they are); scaled to unit length with `post_normalize`. Keys not
        present are skipped, or raise KeyError without `ignore_missing`. gensim's arithmetic:
        summed in the vectors' dtype, in the keys' order."""
        if len(keys) == 0:
            raise ValueError("cannot compute mean with no input")
        if isinstance(weights, list):
            weights = np.array(weights, dtype=self.vectors.dtype)
        if weights is None:
            weights = np.ones(len(keys), dtype=self.vectors.dtype)
        if len(keys) != weights.shape[0]:
            raise ValueError("keys and weights array must have same number of elements")
        mean = np.zeros(self.vector_size, dtype=self.vectors.dtype)
        total_weight = 0
        for key, weight in zip(keys, weights):
            if isinstance(key, np.ndarray):
                mean += weight * key
            elif key in self:
                mean += weight * self.get_vector(key, norm=pre_normalize)
            elif ignore_missing:
                continue
            else:
                raise KeyError(f"Key '{key}' not present in vocabulary")
            total_weight += abs(weight)
        if total_weight > 0:
            mean = mean / total_weight
        return _unit(mean).astype(np.float32) if post_normalize else mean

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None, restrict_vocab=None,
                     indexer=None):
        """The `topn` keys most similar (by cosine) to the unit mean of `positive` (weight +1) and
        `negative` (weight -1) keys, as [(key, similarity)], the input keys excluded. Items may be
        keys, row numbers, vectors (used as they are, not normalized) or (item, weight) pairs; a
        single key may stand for `positive`. Rows [clip_start, clip_end) are searched, or the first
        `restrict_vocab` if given. With topn=None, the similarities of all searched rows. An
        `indexer` (gensim's AnnoyIndexer and the like) answers through its most_similar(vector, topn)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        keys, weights = _keys_and_weights(positive, negative)
        self.fill_norms()
        clip_end = clip_end or len(self.vectors)
        if restrict_vocab:
            clip_start, clip_end = 0, restrict_vocab
        query = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        input_rows = [self.get_index(key) for key in keys if isinstance(key, (str, Integral)) and key in self]
        if indexer is not None and isinstance(topn, int):
            return indexer.most_similar(query, topn)
        similarities = self.vectors[clip_start:clip_end] @ query / self.norms[clip_start:clip_end]  # (rows,)
        if not topn:
            return similarities
        best = _top_indices(similarities, topn + len(input_rows)) + clip_start
        return [(self.index_to_key[i], float(similarities[i - clip_start])) for i in best if i not in input_rows][:topn]

    def similar_by_key(self, key, topn=10, restrict_vocab=None):
        """most_similar of one key."""
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        """most_similar of one word (similar_by_key's older name)."""
        return self.similar_by_key(word, topn, restrict_vocab)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        """most_similar of one vector (D,)."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """Levy & Goldberg's 3CosMul: ranks rows by prod((1 + cos(row, p)) / 2 over positive p) /
        (prod((1 + cos(row, n)) / 2 over negative n) + 1e-6), the input keys excluded; keys are
        unit-normed, vectors taken as they are (as gensim). Only the first `restrict_vocab` rows are
        searched (gensim 4.4 ignores this argument). With topn=None, all the scores, (V,)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ValueError("cannot compute similarity with no input")
        self.fill_norms()
        input_rows = {self.get_index(item) for item in positive + negative if not isinstance(item, np.ndarray)}
        end = restrict_vocab or len(self.vectors)

        def shifted_cosines(item):  # (end,) in [0, 1]
            term = item if isinstance(item, np.ndarray) else self.get_vector(item, norm=True)
            return (1 + self.vectors[:end] @ term / self.norms[:end]) / 2

        numerator = np.prod([shifted_cosines(item) for item in positive], axis=0)
        denominator = np.prod([shifted_cosines(item) for item in negative], axis=0)  # 1.0 with no negatives
        scores = numerator / (denominator + _COSMUL_EPSILON)
        if not topn:
            return scores
        best = _top_indices(scores, topn + len(input_rows))
        return [(self.index_to_key[i], float(scores[i])) for i in best if i not in input_rows][:topn]

    def similarity(self, w1, w2):
        """Cosine similarity of two keys (a number of the vectors' dtype, as gensim)."""
        return np.dot(_unit(self[w1]), _unit(self[w2]))

    def distance(self, w1, w2):
        """Cosine distance of two keys: 1 - similarity."""
        return 1 - self.similarity(w1, w2)

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        """Cosine similarities (n,) of `vector_1` (D,) with each row of `vectors_all` (n, D)."""
        norm = np.linalg.norm(vector_1)
        all_norms = np.linalg.norm(vectors_all, axis=1)
        return vectors_all @ vector_1 / (norm * all_norms)

    def distances(self, word_or_vector, other_words=()):
        """Cosine distances (n,) from a key or vector (D,) to each of `other_words`, or to every
        key (itself included) when there are none."""
        vector = self.get_vector(word_or_vector) if isinstance(word_or_vector, (str, Integral)) else word_or_vector
        others = self.vectors[[self.get_index(word) for word in other_words]] if other_words else self.vectors
        return 1 - self.cosine_similarities(vector, others)

    def closer_than(self, key1, key2):
        """The keys closer to `key1` than `key2` is, in row order, `key1` left out."""
        distances = self.distances(key1)
        row1, row2 = self.get_index(key1), self.get_index(key2)
        return [self.index_to_key[i] for i in np.flatnonzero(distances < distances[row2]) if i != row1]

    def words_closer_than(self, word1, word2):
        """Deprecated alias of closer_than (as in gensim)."""
        warnings.warn("Call to deprecated `words_closer_than` (Use closer_than instead).", DeprecationWarning,
                      stacklevel=2)
        return self.closer_than(word1, word2)

    def rank(self, key1, key2):
        """The rank of `key2` among all keys by distance from `key1` (1: the nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    def most_similar_to_given(self, key1, keys_list):
        """The key of `keys_list` most similar to `key1`."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def relative_cosine_similarity(self, wa, wb, topn=10):
        """similarity(wa, wb) over the sum of the similarities of wa's `topn` nearest keys
        (Leeuwenberg et al., 2016)."""
        similar = self.similar_by_word(wa, topn)
        if not similar:
            raise ValueError("Cannot calculate relative cosine similarity without any similar words.")
        return float(self.similarity(wa, wb)) / sum(similarity for _, similarity in similar)

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two lists of keys (raw vectors, not unit-normed); as
        in gensim, keys not in the vocabulary are left out of the means."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed list is empty.")
        mean1, mean2 = self.get_mean_vector(ws1, pre_normalize=False), self.get_mean_vector(ws2, pre_normalize=False)
        return np.dot(_unit(mean1), _unit(mean2))

    def rank_by_centrality(self, words, use_norm=True):
        """[(similarity, word)] of `words` to their unit mean (of unit vectors with `use_norm`),
        the most similar first; words not in the vocabulary are ignored (with a warning in the log)."""
        self.fill_norms()
        present = [word for word in words if word in self]
        if len(present) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these words",
                           set(words) - set(present))
        if not present:
            raise ValueError("cannot select a word from an empty list")
        vectors = np.vstack([self.get_vector(word, norm=use_norm) for word in present]).astype(np.float32)  # (n, D)
        return sorted(zip(vectors @ self.get_mean_vector(vectors, post_normalize=True), present), reverse=True)

    def doesnt_match(self, words):
        """The word farthest (by cosine) from the mean of the words' unit vectors; words not in the
        vocabulary are ignored (with a warning in the log)."""
        return self.rank_by_centrality(words)[-1][1]

    def init_sims(self, replace=False):
        """Deprecated in gensim 4 (norms are computed when needed): fills the norms; `replace`
        scales the vectors to unit length for good."""
        warnings.warn("Call to deprecated `init_sims` (Use fill_norms() instead).", DeprecationWarning, stacklevel=2)
        self.fill_norms()
        if replace:
            self.unit_normalize_all()

    def unit_normalize_all(self):
        """Scales every vector to unit length, in place (training cannot sensibly go on after it)."""
        self.fill_norms()
        self.vectors /= self.norms[:, np.newaxis]
        self.norms = np.ones(len(self.vectors))

    # ----------------------------------------------------------------------------------------
    # evaluations

    def _restricted_vocab(self, restrict_vocab, case_insensitive):
        """{key (upper-cased if case_insensitive): row} over the first `restrict_vocab` keys; of
        keys that upper-case alike, the first (the most frequent, in a sorted vocabulary) wins."""
        vocab = {}
        for index, key in enumerate(self.index_to_key[:restrict_vocab]):
            vocab.setdefault(key.upper() if case_insensitive else key, index)
        return vocab

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True, dummy4unknown=False):
        """Accuracy on analogy questions "a b c d" (a is to b as c is to d) in the questions-words
        format: ": section" lines, then one question per line. The answer is the first of the top 5
        of most_similar(positive=[b, c], negative=[a]) over the first `restrict_vocab` keys that is
        none of a, b, c. Questions with a word outside those keys are skipped, or counted wrong
        with `dummy4unknown`. Returns (score, sections): sections are dicts {'section', 'correct',
        'incorrect'} with lists of (a, b, c, d), the last one 'Total accuracy'."""
        vocab = self._restricted_vocab(restrict_vocab, case_insensitive)
        sections, section, questions, oov = [], None, 0, 0
        with _open(analogies, "rb") as f:
            for line_no, line in enumerate(f):
                line = line.decode("utf8")
                if line.startswith(": "):
                    if section:
                        sections.append(section)
                    section = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
                    continue
                if not section:
                    raise ValueError(f"Missing section header before line #{line_no} in {analogies}")
                words = [word.upper() for word in line.split()] if case_insensitive else line.split()
                if len(words) != 4:
                    logger.info("Skipping invalid line #%i in %s", line_no, analogies)
                    continue
                questions += 1
                a, b, c, expected = words
                if any(word not in vocab for word in words):
                    oov += 1
                    if dummy4unknown:
                        section["incorrect"].append((a, b, c, expected))
                    continue
                candidates = self.most_similar(positive=[vocab[b], vocab[c]], negative=[vocab[a]], topn=5,
                                               restrict_vocab=restrict_vocab)
                predicted = None
                for key, _ in candidates:  # if none qualifies, the last one stands (as in gensim)
                    predicted = key.upper() if case_insensitive else key
                    if predicted in vocab and predicted not in (a, b, c):
                        break
                section["correct" if predicted == expected else "incorrect"].append((a, b, c, expected))
        if section:
            sections.append(section)
        total = {"section": "Total accuracy",
                 "correct": [q for s in sections for q in s["correct"]],
                 "incorrect": [q for s in sections for q in s["incorrect"]]}
        sections.append(total)
        for s in sections:
            answered = len(s["correct"]) + len(s["incorrect"])
            if answered:
                logger.info("%s: %.1f%% (%i/%i)", s["section"], 100 * len(s["correct"]) / answered,
                            len(s["correct"]), answered)
        if not questions:  # gensim divides by their number
            raise ZeroDivisionError(f"{analogies}: no analogy questions ('a b c d' lines after a ': section' line)")
        logger.info("Quadruplets with out-of-vocabulary words: %.1f%%", 100 * oov / questions)
        answered = len(total["correct"]) + len(total["incorrect"])
        return (len(total["correct"]) / answered if answered else 0.0), sections

    def evaluate_word_pairs(self, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """Correlation of the cosine similarities with human judgments: `pairs` holds lines
        "word1<delimiter>word2<delimiter>score" ('#' starts a comment). Pairs with a word outside
        the first `restrict_vocab` keys are skipped, or given similarity 0 with `dummy4unknown`.
        Returns (pearson, spearman, oov_ratio): each correlation scipy's result (statistic and
        two-sided pvalue; a plain (statistic, pvalue) tuple without scipy), and the percentage of
        pairs with unknown words."""
        vocab = self._restricted_vocab(restrict_vocab, case_insensitive)
        gold, model, oov = [], [], 0
        with _open(pairs, "rt", encoding=encoding) as f:
            for line_no, line in enumerate(f):
                if line.startswith("#"):
                    continue
                fields = line.split(delimiter)
                fields = [field.upper() for field in fields] if case_insensitive else fields
                try:
                    a, b, score = fields
                    score = float(score)
                except ValueError:
                    logger.info("Skipping invalid line #%d in %s", line_no, pairs)
                    continue
                if a not in vocab or b not in vocab:
                    oov += 1
                    if dummy4unknown:
                        gold.append(score)
                        model.append(0.0)
                    continue
                gold.append(score)
                model.append(self.similarity(vocab[a], vocab[b]))  # float32, as gensim hands scipy
        if not gold:
            raise ValueError(f"No valid similarity judgements found in {pairs}: either invalid format or "
                             f"all are out-of-vocabulary in {self}")
        pearson, spearman = _correlations(gold, model)
        oov_ratio = oov / (len(gold) if dummy4unknown else len(gold) + oov) * 100
        logger.info("Pearson %.4f, Spearman %.4f against %s; pairs with unknown words: %.1f%%",
                    pearson[0], spearman[0], pairs, oov_ratio)
        return pearson, spearman, oov_ratio

    # ----------------------------------------------------------------------------------------
    # files

    def save_word2vec_format(self, fname, fvocab=None, binary=False, total_vec=None, write_header=True, prefix="",
                             append=False, sort_attr="count"):
        """Writes the word2vec text (or `binary`) format; with `fvocab`, also the vocabulary file
        ("word value" lines of sort_attr). As gensim, keys go in descending `sort_attr` order when
        that attribute is set (ties in row order), otherwise in row order; `prefix` goes before
        every key (in both files), the header states `total_vec` vectors (default: all), and
        `append` adds to the end of existing files (each file is still replaced atomically)."""
        if sort_attr in self.expandos:
            order = np.argsort(-self.expandos[sort_attr], kind="stable")
        elif fvocab is not None:
            raise ValueError(f"Cannot store vocabulary with '{sort_attr}' because that attribute does not exist")
        else:
            order = np.arange(len(self))
        if fvocab is not None:
            values = self.expandos[sort_attr]
            _write_file(fvocab, lambda f: f.writelines(f"{prefix}{self.index_to_key[i]} {values[i]}\n".encode("utf8")
                                                       for i in order), append)

        def write(f):
            if write_header:
                f.write(f"{len(self) if total_vec is None else total_vec} {self.vector_size}\n".encode("utf8"))
            for i in order:
                key, vector = f"{prefix}{self.index_to_key[i]}", self.vectors[i]
                if binary:
                    f.write(f"{key} ".encode("utf8") + vector.astype("<f4").tobytes())
                else:  # str() of a float32 is its shortest round-trip form, as gensim writes
                    f.write(f"{key} {' '.join(map(str, vector))}\n".encode("utf8"))

        _write_file(fname, write, append)

    @classmethod
    def load_word2vec_format(cls, fname, fvocab=None, binary=False, encoding="utf8", unicode_errors="strict",
                             limit=None, datatype=np.float32, no_header=False):
        """Reads the word2vec text (or `binary`) format, the first `limit` vectors if given. Word
        counts come from `fvocab` ("word count" lines, word2vec.c's -save-vocab) if given, else
        are made up in descending order (V - row), as gensim does. A repeated word keeps its first
        vector. `no_header`: a text file without the "V D" line. Malformed files raise ValueError
        naming the file, the line (text) or word (binary), and what was expected."""
        counts = _read_vocab_counts(fvocab, unicode_errors) if fvocab is not None else None
        with _open(fname, "rb") as f:
            if no_header:
                if binary:
                    raise NotImplementedError("no_header only available for text-format files")
                vocab_size, vector_size = _text_sizes(f, fname, limit)
                f.seek(0)
                first_line = 1
            else:
                vocab_size, vector_size = _parse_header(f.readline(), fname)
                first_line = 2
            if limit:
                vocab_size = min(vocab_size, limit)
            if binary:
                records = _binary_records(f, fname, vocab_size, vector_size, encoding, unicode_errors)
            else:
                records = _text_records(f, fname, vocab_size, vector_size, encoding, unicode_errors, first_line)
            # a record takes at least 2D + 1 bytes (text: "w", D times " 0") or 4D + 2 (binary: "w "
            # and D float32), which bounds the allocation when a damaged header announces too many;
            # a compressed file may hold more than that, and the array grows
            min_record_bytes = 4 * vector_size + 2 if binary else 2 * vector_size + 1
            capacity = min(vocab_size, max(0, os.fstat(f.fileno()).st_size - f.tell()) // min_record_bytes)
            kv = cls(vector_size, dtype=datatype)
            vectors = np.empty((capacity, vector_size), dtype=datatype)  # (V, D), shrunk below for repeats
            for word, vector in records:
                if word in kv.key_to_index:
                    logger.warning("duplicate word '%s' in word2vec file, ignoring all but first", word)
                    continue
                row = len(kv.index_to_key)
                if row == len(vectors):  # doubles, up to vocab_size
                    more = min(max(row, 1024), vocab_size - row)
                    vectors = np.concatenate([vectors, np.empty((more, vector_size), dtype=datatype)])
                kv.key_to_index[word] = row
                vectors[row] = vector
                kv.index_to_key.append(word)
        kv.vectors = np.ascontiguousarray(vectors[:len(kv.index_to_key)])
        kv.next_index = len(kv)
        if counts is None:
            kv.expandos["count"] = vocab_size - np.arange(len(kv), dtype=np.int64)
        else:
            missing = [word for word in kv.index_to_key if word not in counts]
            if missing:
                logger.warning("vocabulary file %s is incomplete: %d words missing (count 0), e.g. %r",
                               fvocab, len(missing), missing[0])
            kv.expandos["count"] = np.array([counts.get(word, 0) for word in kv.index_to_key], dtype=np.int64)
        return kv

    def save(self, fname):
        """Writes pyseq's own format: a NumPy .npz with the vectors, the keys and the per-key
        attributes (atomically)."""
        arrays = {"format": np.array(_FORMAT), "vectors": self.vectors,
                  "keys": np.array([str(key) for key in self.index_to_key], dtype=str)}
        arrays.update({f"vecattr.{name}": values for name, values in self.expandos.items()})
        atomic_write(fname, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, fname, mmap=None):
        """Reads a file written by `save`; any other file raises ValueError. mmap is accepted for
        gensim's sake: the arrays are read into memory (an .npz archive cannot be mapped)."""
        not_ours = f"{fname}: not a KeyedVectors file written by pyseq's KeyedVectors.save"
        with open(fname, "rb") as f:
            if not zipfile.is_zipfile(f):
                raise ValueError(not_ours + " (not a .npz archive)")
        with np.load(fname, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if "format" not in arrays or arrays["format"].shape != () or str(arrays["format"]) != _FORMAT:
            raise ValueError(not_ours + f" (no '{_FORMAT}' marker)")
        vectors, keys = arrays.get("vectors"), arrays.get("keys")
        if vectors is None or keys is None or vectors.ndim != 2 or keys.shape != (len(vectors),):
            raise ValueError(f"{fname}: damaged: expected vectors (V, D) and V keys")
        kv = cls(vectors.shape[1], dtype=vectors.dtype)
        kv.vectors = vectors
        kv.index_to_key = keys.tolist()
        kv.key_to_index = {key: index for index, key in enumerate(kv.index_to_key)}
        kv.next_index = len(kv)
        for name, values in arrays.items():
            if name.startswith("vecattr."):
                if values.shape != (len(vectors),):
                    raise ValueError(f"{fname}: damaged: attribute {name[8:]!r} has shape {values.shape}, "
                                     f"expected ({len(vectors)},)")
                kv.expandos[name[8:]] = values
        return kv


# --------------------------------------------------------------------------------------------
# query helpers

def _as_list(items):
    """positive/negative as a list: None -> [], one key or vector (D,) -> [it], vectors (n, D) ->
    n vectors."""
    if items is None:
        return []
    if isinstance(items, (str, Integral)) or (isinstance(items, np.ndarray) and items.ndim == 1):
        return [items]
    return list(items)


def _keys_and_weights(positive, negative):
    """most_similar's items as keys (or vectors) and their float64 weights: +1 for positive items
    and -1 for negative ones, unless given as (item, weight) pairs (gensim's rule)."""
    positive, negative = _as_list(positive), _as_list(negative)
    weights = np.concatenate([np.ones(len(positive)), -np.ones(len(negative))])
    keys = []
    for i, item in enumerate(positive + negative):
        if isinstance(item, (str, Integral, np.ndarray)):
            keys.append(item)
        else:
            keys.append(item[0])
            weights[i] = item[1]
    return keys, weights


def _unit(vector):
    """`vector` scaled to unit length, its norm and the scaling in float64, returned in its own
    dtype; zeros stay zeros (gensim's matutils.unitvec, with float64 BLAS nrm2 and scal)."""
    wide = vector.astype(np.float64)
    norm = np.linalg.norm(wide)
    if norm > 0:
        return (wide * (1.0 / norm)).astype(vector.dtype)
    return vector


def _top_indices(scores, n):
    """Indices of the `n` largest scores, largest first, ordered as gensim's matutils.argsort."""
    negated = -scores
    if n is None or n >= scores.size:  # (None: all, as gensim's matutils.argsort)
        return np.argsort(negated)[:n]
    top = np.argpartition(negated, n)[:n]
    return top[np.argsort(negated[top])]


# --------------------------------------------------------------------------------------------
# correlation tests (scipy.stats when installed)

def _correlations(x, y):
    """(Pearson, Spearman) of two equal-length sequences: scipy.stats' results (PearsonRResult,
    SignificanceResult), or (statistic, p-value) tuples when scipy is not installed."""
    try:
        from scipy import stats
    except ImportError:
        return _pearson(x, y), _spearman(x, y)
    return stats.pearsonr(x, y), stats.spearmanr(x, y)


def _pearson(x, y):
    """Pearson's r and its two-sided p-value, as scipy.stats.pearsonr (NaNs for a constant input)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("x and y must have the same length, at least 2")
    r = _correlation(x, y)
    return r, (1.0 if len(x) == 2 and not math.isnan(r) else _correlation_pvalue(r, len(x)))


def _spearman(x, y):
    """Spearman's rho (Pearson's r of the ranks, tied values sharing their average rank) and its
    two-sided p-value, as scipy.stats.spearmanr."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    if len(x) < 2:
        return math.nan, math.nan
    ranks_x, ranks_y = _average_ranks(x), _average_ranks(y)
    if _is_constant(ranks_x) or _is_constant(ranks_y):
        return math.nan, math.nan
    rho = float(np.corrcoef(ranks_x, ranks_y)[0, 1])  # as scipy computes it: exactly 1 for equal ranks
    return rho, _correlation_pvalue(rho, len(x))


def _correlation(x, y):
    """Pearson's r of two float64 arrays, computed as scipy.stats.pearsonr; NaN if either is constant."""
    if _is_constant(x) or _is_constant(y):
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    return float(np.clip(np.dot(x / np.linalg.norm(x), y / np.linalg.norm(y)), -1.0, 1.0))


def _is_constant(values):
    return bool(np.all(values == values[0]))


def _average_ranks(values):
    """1-based ranks (n,) of `values` (n,), tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.concatenate([[True], ordered[1:] != ordered[:-1]])  # (n,) a new value starts
    group = np.cumsum(starts_group) - 1  # (n,) the tie group of each sorted position
    first = np.flatnonzero(starts_group)  # (groups,) first sorted position of each group
    last = np.concatenate([first[1:], [len(values)]]) - 1
    ranks = np.empty(len(values))
    ranks[order] = ((first + last) / 2 + 1)[group]
    return ranks


def _correlation_pvalue(r, n):
    """Two-sided p-value of a correlation r over n pairs when there is none: with
    t = r sqrt((n - 2) / (1 - r^2)) Student-t distributed with n - 2 degrees of freedom,
    P(|T| >= |t|) = I_{1-r^2}((n - 2) / 2, 1 / 2), a regularized incomplete beta function."""
    if n <= 2 or math.isnan(r):
        return math.nan
    r_squared = min(r * r, 1.0)
    return _regularized_incomplete_beta((n - 2) / 2, 0.5, 1.0 - r_squared, r_squared)


def _regularized_incomplete_beta(a, b, x, one_minus_x):
    """I_x(a, b) for a, b > 0 and x in [0, 1], with 1 - x passed in exactly (it may be tiny).
    The continued fraction converges fast for x < (a + 1) / (a + b + 2); beyond that,
    I_x(a, b) = 1 - I_{1-x}(b, a)."""
    if x <= 0.0:
        return 0.0
    if one_minus_x <= 0.0:
        return 1.0
    # x^a (1-x)^b / B(a, b), the factor in front of the continued fraction
    log_front = (a * math.log(x) + b * math.log(one_minus_x)
                 + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _incomplete_beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _incomplete_beta_fraction(b, a, one_minus_x) / b


def _incomplete_beta_fraction(a, b, x, tolerance=1e-15, max_terms=10000):
    """The continued fraction of I_x(a, b), 1 / (1 + d1 / (1 + d2 / (1 + ...))) with
    d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) and
    d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), by the modified Lentz method."""
    tiny = 1e-300  # stands in for a zero denominator

    def guarded(value):
        return value if abs(value) > tiny else tiny

    c, d = 1.0, 1.0 / guarded(1.0 - (a + b) * x / (a + 1))
    fraction = d
    for m in range(1, max_terms):
        for coefficient in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 / guarded(1.0 + coefficient * d)
            c = guarded(1.0 + coefficient / c)
            fraction *= c * d
        if abs(c * d - 1.0) < tolerance:
            break
    return fraction


# --------------------------------------------------------------------------------------------
# files, compressed by their name's extension (as gensim's smart_open)

_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _compression(fname):
    """gzip.open, bz2.open or lzma.open for a name ending in .gz, .bz2 or .xz, else None."""
    return _COMPRESSIONS.get(os.path.splitext(os.fspath(fname))[1].lower())


def _open(fname, mode="rb", **kwargs):
    """The file `fname`, decompressed on the fly when its name ends in .gz, .bz2 or .xz."""
    return (_compression(fname) or open)(fname, mode, **kwargs)


def _write_file(fname, write, append=False):
    """atomic_write(fname, write), compressed when the name ends in .gz, .bz2 or .xz. With `append`,
    what the file held comes first (the whole file is written anew, atomically)."""
    if append and os.path.exists(fname):
        with _open(fname, "rb") as f:
            before = f.read()
        add = write

        def write(f):
            f.write(before)
            add(f)

    compress = _compression(fname)
    if compress is None:
        atomic_write(fname, write)
        return

    def write_compressed(f):
        with compress(f, "wb") as z:
            write(z)

    atomic_write(fname, write_compressed)


# --------------------------------------------------------------------------------------------
# word2vec file reading

class _ChunkedReader:
    """Reads a binary file in large chunks, handing out the bytes up to a delimiter or a given
    number of bytes."""

    def __init__(self, f, chunk_size=1 << 20):
        self._file, self._chunk_size = f, chunk_size
        self._buffer, self._pos = b"", 0

    def _refill(self):
        """Appends a chunk to the unread bytes; False at the end of the file."""
        chunk = self._file.read(self._chunk_size)
        self._buffer, self._pos = self._buffer[self._pos:] + chunk, 0
        return bool(chunk)

    def read_until(self, delimiter):
        """The bytes before the next `delimiter` (consumed too), or None if the file ends first."""
        while (end := self._buffer.find(delimiter, self._pos)) < 0:
            if not self._refill():
                return None
        data, self._pos = self._buffer[self._pos:end], end + len(delimiter)
        return data

    def read(self, size):
        """The next `size` bytes, fewer at the end of the file."""
        while len(self._buffer) - self._pos < size and self._refill():
            pass
        data = self._buffer[self._pos:self._pos + size]
        self._pos += len(data)
        return data


def _parse_header(line, fname):
    """(vocab_size, vector_size) from the header line "V D"."""
    try:
        vocab_size, vector_size = map(int, line.split())
    except ValueError:  # not two fields, or not integers
        vocab_size = vector_size = -1
    if vocab_size < 0 or vector_size < 0:
        raise ValueError(f"{fname}: line 1: expected the header 'vocab_size vector_size' (two integers), got "
                         f"{line[:80]!r} (a text file without a header loads with no_header=True)")
    return vocab_size, vector_size


def _decode(word, encoding, unicode_errors, where):
    try:
        return word.decode(encoding, unicode_errors)
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: the word {word[:80]!r} is not valid {encoding} ({e.reason} at byte {e.start}); "
                         f"unicode_errors='replace' or 'ignore' loads it anyway") from None


def _parse_values(values, where):
    """The text numbers `values` (list of bytes) as a float64 array (D,)."""
    try:
        return np.array([float(value) for value in values])
    except ValueError:
        position, value = next((i, v) for i, v in enumerate(values, 1) if not _is_number(v))
        raise ValueError(f"{where}: value {position} is not a number: {value[:80]!r}") from None


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _text_records(f, fname, vocab_size, vector_size, encoding, unicode_errors, first_line):
    """Yields (word, vector (D,)) for the next `vocab_size` lines "word v1 ... vD"."""
    for line_no in range(first_line, first_line + vocab_size):
        line = f.readline()
        if not line:
            raise ValueError(f"{fname}: expected {vocab_size} vectors, but the file ends after "
                             f"{line_no - first_line} (at line {line_no})")
        where = f"{fname}: line {line_no}"
        word, *values = line.rstrip().split(b" ")
        word = _decode(word, encoding, unicode_errors, where)
        if len(values) != vector_size:
            raise ValueError(f"{where}: expected a word and {vector_size} values, got {len(values)} values")
        yield word, _parse_values(values, where)


def _text_sizes(f, fname, limit):
    """(vocab_size, vector_size) of a text file without a header: its number of lines (at most
    `limit`) and the number of values on its first line."""
    first = f.readline()
    if not first:
        raise ValueError(f"{fname}: the file is empty")
    vocab_size = 1
    while (not limit or vocab_size < limit) and f.readline():
        vocab_size += 1
    return vocab_size, len(first.rstrip().split(b" ")) - 1


def _binary_records(f, fname, vocab_size, vector_size, encoding, unicode_errors):
    """Yields (word, vector (D,)) for the next `vocab_size` records "word<space><D float32>"."""
    reader = _ChunkedReader(f)
    vector_bytes = 4 * vector_size
    for number in range(1, vocab_size + 1):
        where = f"{fname}: word {number} of {vocab_size}"
        word = reader.read_until(b" ")
        if word is None:
            raise ValueError(f"{where}: the file ends before the word and its space (truncated, or the header's "
                             f"count is wrong)")
        word = word.lstrip(b"\n")  # word2vec.c ends each vector with a newline
        if not word:
            raise ValueError(f"{where}: empty word (damaged file, or the header's vector size is wrong)")
        word = _decode(word, encoding, unicode_errors, where)
        data = reader.read(vector_bytes)
        if len(data) < vector_bytes:
            raise ValueError(f"{where} ({word!r}): expected {vector_size} float32 values ({vector_bytes} bytes), "
                             f"but the file ends after {len(data)} bytes")
        yield word, np.frombuffer(data, dtype="<f4")


def _read_vocab_counts(fvocab, unicode_errors):
    """{word: count} from a vocabulary file of "word count" lines."""
    counts = {}
    with _open(fvocab, "rb") as f:
        for line_no, line in enumerate(f, 1):
            fields = _decode(line, "utf8", unicode_errors, f"{fvocab}: line {line_no}").split()
            if len(fields) != 2 or not fields[1].isdigit():
                raise ValueError(f"{fvocab}: line {line_no}: expected 'word count', got {line[:80]!r}")
            counts[fields[0]] = int(fields[1])
    return counts
