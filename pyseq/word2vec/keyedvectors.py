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
Every write is atomic (a temporary file beside the target, then a rename): a failed or interrupted
write leaves the previous file as it was.
"""

import logging
import math
import os
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

    def __contains__(self, key):
        return self.get_index(key, -1) >= 0

    def __getitem__(self, key_or_keys):
        """A key's vector (D,), or the vectors of a list of keys (n, D)."""
        if isinstance(key_or_keys, (str, Integral)):
            return self.get_vector(key_or_keys)
        return self.vectors[[self.get_index(key) for key in key_or_keys]]

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

    # ----------------------------------------------------------------------------------------
    # similarity queries

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """The `topn` keys most similar (by cosine) to the mean of the unit vectors of `positive`
        (weight +1) and `negative` (weight -1) keys, as [(key, similarity)], the input keys
        excluded. Items may be keys, vectors (used as they are, not normalized) or (item, weight)
        pairs; a single key may stand for `positive`. Only the first `restrict_vocab` rows are
        searched. With topn=None, the similarities of all (searched) rows, (V,)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        terms = _weighted_terms(positive, negative)
        return self._most_similar(terms, topn, restrict_vocab, self.get_index)

    def _most_similar(self, terms, topn, restrict_vocab, index_of):
        """most_similar over [(key or vector, weight)], the keys looked up with `index_of`."""
        self.fill_norms()
        resolved = [(item if isinstance(item, np.ndarray) else index_of(item), weight) for item, weight in terms]
        query = self._unit_mean(resolved)  # (D,)
        input_rows = [item for item, _ in resolved if not isinstance(item, np.ndarray)]
        end = restrict_vocab or len(self.vectors)
        similarities = self.vectors[:end] @ query / self.norms[:end]  # (end,)
        if not topn:
            return similarities
        best = _top_indices(similarities, topn + len(input_rows))
        return [(self.index_to_key[i], float(similarities[i])) for i in best if i not in input_rows][:topn]

    def _unit_mean(self, terms):
        """The unit vector (D,) along the weighted mean of [(row or vector, weight)]: rows are
        normalized first, vectors are taken as they are (gensim's get_mean_vector)."""
        if not terms:
            raise ValueError("cannot compute similarity with no input")
        mean = np.zeros(self.vector_size, dtype=self.vectors.dtype)
        total_weight = np.float64(0.0)
        for item, weight in terms:  # summed in the input's order and the vectors' dtype, as gensim
            vector = item if isinstance(item, np.ndarray) else self.vectors[item] / self.norms[item]
            mean += np.float64(weight) * vector
            total_weight += abs(np.float64(weight))
        if total_weight > 0:
            mean = mean / total_weight  # float64 from here
        return _unit(mean).astype(np.float32)

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
        """Cosine similarity of two keys."""
        return float(np.dot(_unit(self[w1]), _unit(self[w2])))

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two lists of keys (raw vectors, not unit-normed); as
        in gensim, keys not in the vocabulary are left out of the means."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed list is empty.")
        return float(np.dot(_unit(self._raw_mean(ws1)), _unit(self._raw_mean(ws2))))

    def _raw_mean(self, keys):
        """The mean (D,) of the vectors of those `keys` that are present; zeros if none is."""
        mean = np.zeros(self.vector_size, dtype=self.vectors.dtype)
        rows = [self.get_index(key) for key in keys if key in self]
        for row in rows:
            mean += self.vectors[row]
        return mean / self.vectors.dtype.type(len(rows)) if rows else mean

    def doesnt_match(self, words):
        """The word farthest (by cosine) from the mean of the words' unit vectors; words not in the
        vocabulary are ignored (with a warning in the log)."""
        present = [word for word in words if word in self]
        if len(present) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring these words",
                           set(words) - set(present))
        if not present:
            raise ValueError("cannot select a word from an empty list")
        units = np.vstack([self.get_vector(word, norm=True) for word in present]).astype(np.float32)  # (n, D)
        centroid = np.zeros(self.vector_size, dtype=self.vectors.dtype)
        for unit in units:
            centroid += unit
        centroid = _unit(centroid / self.vectors.dtype.type(len(units))).astype(np.float32)
        # gensim sorts (similarity, word) pairs and takes the last: the smallest pair
        return min(zip((units @ centroid).tolist(), present))[1]

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
        with open(analogies, "rb") as f:
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
                candidates = self._most_similar([(b, 1.0), (c, 1.0), (a, -1.0)], 5, restrict_vocab, vocab.__getitem__)
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
        if questions:
            logger.info("Quadruplets with out-of-vocabulary words: %.1f%%", 100 * oov / questions)
        answered = len(total["correct"]) + len(total["incorrect"])
        return (len(total["correct"]) / answered if answered else 0.0), sections

    def evaluate_word_pairs(self, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """Correlation of the cosine similarities with human judgments: `pairs` holds lines
        "word1<delimiter>word2<delimiter>score" ('#' starts a comment). Pairs with a word outside
        the first `restrict_vocab` keys are skipped, or given similarity 0 with `dummy4unknown`.
        Returns (pearson, spearman, oov_ratio): each correlation a (statistic, two-sided p-value)
        pair, and the percentage of pairs with unknown words."""
        vocab = self._restricted_vocab(restrict_vocab, case_insensitive)
        gold, model, oov = [], [], 0
        with open(pairs, encoding=encoding) as f:
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
                model.append(float(np.dot(_unit(self.vectors[vocab[a]]), _unit(self.vectors[vocab[b]]))))
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

    def save_word2vec_format(self, fname, fvocab=None, binary=False, write_header=True):
        """Writes the word2vec text (or `binary`) format; with `fvocab`, also the vocabulary file
        ("word count" lines). As gensim, keys go in descending 'count' order when counts are set
        (ties in row order), otherwise in row order."""
        if "count" in self.expandos:
            order = np.argsort(-self.expandos["count"], kind="stable")
        elif fvocab is not None:
            raise ValueError("Cannot store vocabulary with 'count' because that attribute does not exist")
        else:
            order = np.arange(len(self))
        if fvocab is not None:
            counts = self.expandos["count"]
            atomic_write(fvocab, lambda f: f.writelines(f"{self.index_to_key[i]} {counts[i]}\n".encode("utf8")
                                                        for i in order))

        def write(f):
            if write_header:
                f.write(f"{len(self)} {self.vector_size}\n".encode("utf8"))
            for i in order:
                key, vector = self.index_to_key[i], self.vectors[i]
                if binary:
                    f.write(f"{key} ".encode("utf8") + vector.astype("<f4").tobytes())
                else:  # str() of a float32 is its shortest round-trip form, as gensim writes
                    f.write(f"{key} {' '.join(map(str, vector))}\n".encode("utf8"))

        atomic_write(fname, write)

    @classmethod
    def load_word2vec_format(cls, fname, fvocab=None, binary=False, encoding="utf8", unicode_errors="strict",
                             limit=None, datatype=np.float32, no_header=False):
        """Reads the word2vec text (or `binary`) format, the first `limit` vectors if given. Word
        counts come from `fvocab` ("word count" lines, word2vec.c's -save-vocab) if given, else
        are made up in descending order (V - row), as gensim does. A repeated word keeps its first
        vector. `no_header`: a text file without the "V D" line. Malformed files raise ValueError
        naming the file, the line (text) or word (binary), and what was expected."""
        counts = _read_vocab_counts(fvocab, unicode_errors) if fvocab is not None else None
        with open(fname, "rb") as f:
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
            # a record takes at least 2D bytes (text: D times " 0") or 4D + 2 (binary: "w " and D
            # float32), which bounds the allocation when a damaged header announces too many
            min_record_bytes = 4 * vector_size + 2 if binary else 2 * vector_size
            capacity = min(vocab_size, (os.fstat(f.fileno()).st_size - f.tell()) // min_record_bytes)
            kv = cls(vector_size, dtype=datatype)
            vectors = np.empty((capacity, vector_size), dtype=datatype)  # (V, D), shrunk below for repeats
            for word, vector in records:
                if word in kv.key_to_index:
                    logger.warning("duplicate word '%s' in word2vec file, ignoring all but first", word)
                    continue
                kv.key_to_index[word] = len(kv.index_to_key)
                vectors[len(kv.index_to_key)] = vector
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
    def load(cls, fname):
        """Reads a file written by `save`; any other file raises ValueError."""
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


def _weighted_terms(positive, negative):
    """[(key or vector, weight)]: positive items weigh +1 and negative ones -1, unless given as
    (item, weight) pairs."""
    terms = []
    for items, sign in ((positive, 1.0), (negative, -1.0)):
        for item in _as_list(items):
            terms.append((item, sign) if isinstance(item, (str, Integral, np.ndarray)) else tuple(item))
    return terms


def _unit(vector):
    """`vector` scaled to unit length in float64, returned in its own dtype; zeros stay zeros
    (gensim's matutils.unitvec)."""
    norm = np.linalg.norm(vector)
    if norm > 0:
        return (vector.astype(np.float64) * (1.0 / norm)).astype(vector.dtype)
    return vector


def _top_indices(scores, n):
    """Indices of the `n` largest scores, largest first, ordered as gensim's matutils.argsort."""
    negated = -scores
    if n >= scores.size:
        return np.argsort(negated)[:n]
    top = np.argpartition(negated, n)[:n]
    return top[np.argsort(negated[top])]


# --------------------------------------------------------------------------------------------
# correlation tests (scipy.stats when installed)

def _correlations(x, y):
    """((Pearson r, p-value), (Spearman rho, p-value)) of two equal-length sequences."""
    try:
        from scipy import stats
    except ImportError:
        return _pearson(x, y), _spearman(x, y)
    pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
    return (float(pearson[0]), float(pearson[1])), (float(spearman[0]), float(spearman[1]))


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
    if vocab_size < 0 or vector_size < 1:
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
    with open(fvocab, "rb") as f:
        for line_no, line in enumerate(f, 1):
            fields = _decode(line, "utf8", unicode_errors, f"{fvocab}: line {line_no}").split()
            if len(fields) != 2 or not fields[1].isdigit():
                raise ValueError(f"{fvocab}: line {line_no}: expected 'word count', got {line[:80]!r}")
            counts[fields[0]] = int(fields[1])
    return counts
