"""KeyedVectors against gensim's on the same vectors: queries and evaluations on vectors that gensim's
Word2Vec learns from the King James Bible (a few seconds), the word2vec text and binary formats in
both directions (byte for byte), pyseq's own .npz format, the Pearson/Spearman fallback against
scipy, malformed files, and atomic writes.
"""

import os
import sys
import warnings

import numpy as np
import pytest

gensim = pytest.importorskip("gensim")

from gensim.models import KeyedVectors as GensimKeyedVectors  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402
from test_textcnn import _kjv_verses, _tokenize  # noqa: E402

from pyseq.word2vec import KeyedVectors  # noqa: E402
from pyseq.word2vec import keyedvectors as kv_module  # noqa: E402

WORDS = ["the", "naïve", "東京", "café", "word2vec", "</s>", "x"]  # non-ASCII and word2vec.c's own token


@pytest.fixture(scope="module")
def bible():
    """(gensim's KeyedVectors from a Word2Vec trained on the KJV, ours with the same keys, vectors
    and counts)."""
    sentences = [_tokenize(verse["text"]) for verse in _kjv_verses()]
    model = gensim.models.Word2Vec(sentences, vector_size=48, window=5, min_count=5, workers=1, seed=1, epochs=3)
    theirs = model.wv
    ours = KeyedVectors(theirs.vector_size)
    ours.add_vectors(theirs.index_to_key, theirs.vectors)
    for key in theirs.index_to_key:
        ours.set_vecattr(key, "count", theirs.get_vecattr(key, "count"))
    return theirs, ours


@pytest.fixture
def small():
    """(ours, gensim's) with the same 7 random vectors of size 5."""
    vectors = np.random.default_rng(7).standard_normal((len(WORDS), 5)).astype(np.float32)
    ours, theirs = KeyedVectors(5), GensimKeyedVectors(5)
    ours.add_vectors(WORDS, vectors)
    theirs.add_vectors(WORDS, vectors)
    return ours, theirs


def assert_same_ranking(ours, theirs):
    assert [key for key, _ in ours] == [key for key, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# queries and evaluations against gensim

QUERIES = [
    dict(positive="king"),
    dict(positive=["king", "woman"], negative=["man"], topn=20),
    dict(positive=["jerusalem"], restrict_vocab=500),
    dict(negative=["god"], topn=5),
    dict(positive=[("lord", 2.0), "heaven"], negative=[("earth", 0.5)]),
]


@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_matches_gensim(bible, query):
    theirs, ours = bible
    assert_same_ranking(ours.most_similar(**query), theirs.most_similar(**query))
    everything = dict(query, topn=None)  # all similarities, (V,) or (restrict_vocab,)
    np.testing.assert_allclose(ours.most_similar(**everything), theirs.most_similar(**everything), atol=1e-6)


def test_most_similar_with_vectors_matches_gensim(bible):
    theirs, ours = bible
    moses, egypt = theirs["moses"], theirs["egypt"]  # vectors are used as they are, and not excluded
    query = dict(positive=[moses, "pharaoh"], negative=egypt)
    assert_same_ranking(ours.most_similar(**query), theirs.most_similar(**query))
    assert ours.most_similar(moses, topn=1)[0][0] == "moses"


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")  # inside gensim's cosmul
def test_most_similar_cosmul_matches_gensim(bible):
    theirs, ours = bible
    for query in (dict(positive=["king", "woman"], negative=["man"]), dict(positive="moses", topn=3),
                  dict(positive=["lord", "heaven"], negative="earth", topn=15)):
        assert_same_ranking(ours.most_similar_cosmul(**query), theirs.most_similar_cosmul(**query))
        everything = dict(query, topn=None)
        np.testing.assert_allclose(ours.most_similar_cosmul(**everything), theirs.most_similar_cosmul(**everything),
                                   rtol=1e-6)
    # gensim 4.4 ignores restrict_vocab here; ours searches the first rows only
    query = dict(positive=["king", "woman"], negative=["man"])
    full = theirs.most_similar_cosmul(**query, topn=None)
    np.testing.assert_allclose(ours.most_similar_cosmul(**query, topn=None, restrict_vocab=300), full[:300], rtol=1e-6)
    within = [(k, s) for k, s in theirs.most_similar_cosmul(**query, topn=len(full)) if theirs.get_index(k) < 300]
    assert_same_ranking(ours.most_similar_cosmul(**query, restrict_vocab=300), within[:10])


def test_pairwise_queries_match_gensim(bible):
    theirs, ours = bible
    for w1, w2 in [("king", "queen"), ("moses", "aaron"), ("bread", "wine"), ("god", "god"), ("sea", "sword")]:
        assert ours.similarity(w1, w2) == pytest.approx(float(theirs.similarity(w1, w2)), abs=1e-6)
    for ws1, ws2 in [(["king", "queen"], ["prince"]), (["bread", "nosuchword"], ["wine", "water"])]:
        assert ours.n_similarity(ws1, ws2) == pytest.approx(float(theirs.n_similarity(ws1, ws2)), abs=1e-6)
    for words in (["moses", "aaron", "joshua", "bread"], ["bread", "wine", "water", "sword", "nosuchword"]):
        assert ours.doesnt_match(words) == theirs.doesnt_match(words)
    assert ours.doesnt_match(["moses", "aaron", "joshua", "bread"]) == "bread"
    np.testing.assert_allclose(ours.get_vector("lamb", norm=True), theirs.get_vector("lamb", norm=True), atol=1e-7)
    np.testing.assert_allclose(ours.get_normed_vectors(), theirs.get_normed_vectors(), atol=1e-7)
    np.testing.assert_array_equal(ours[["sheep", "goats"]], theirs[["sheep", "goats"]])
    assert len(ours) == len(theirs) and "sheep" in ours and "automobile" not in ours


def test_more_queries_match_gensim(bible):
    theirs, ours = bible
    for name, args in [("similar_by_word", ("king", 5)), ("similar_by_key", ("moses", 3, 500)),
                       ("similar_by_vector", (theirs["bread"],)), ("distance", ("king", "queen")),
                       ("distances", ("king", ["queen", "lord"])), ("distances", (theirs["sea"],)),
                       ("rank", ("king", "queen")), ("closer_than", ("king", "prince")),
                       ("cosine_similarities", (theirs["king"], theirs[["queen", "lord"]])),
                       ("get_mean_vector", (["king", "queen", "nosuchword"],)),
                       ("get_mean_vector", (["king", theirs["sea"]], [2.0, 0.5], False, True)),
                       ("most_similar_to_given", ("king", ["queen", "bread", "sword"])),
                       ("relative_cosine_similarity", ("king", "queen")), ("similarity", ("king", "queen")),
                       ("n_similarity", (["king", "queen"], ["prince"])),
                       ("rank_by_centrality", (["moses", "aaron", "bread", "nosuchword"],))]:
        expected, got = getattr(theirs, name)(*args), getattr(ours, name)(*args)
        assert type(got) is type(expected), name  # np.float32 for similarity and distance, as gensim
        np.testing.assert_array_equal(np.asarray(got, dtype=object), np.asarray(expected, dtype=object), err_msg=name)
    assert ours.has_index_for("king") and not ours.has_index_for("automobile") and ours.has_index_for(3)
    with pytest.warns(DeprecationWarning, match="closer_than"):
        assert ours.words_closer_than("king", "prince") == theirs.closer_than("king", "prince")
    with pytest.raises(KeyError, match="Key 'nosuchword' not present in vocabulary"):
        ours.get_mean_vector(["king", "nosuchword"], ignore_missing=False)


def test_most_similar_arguments_as_gensim(bible):
    theirs, ours = bible
    # gensim's positional order: positive, negative, topn, clip_start, clip_end, restrict_vocab
    assert ours.most_similar("king", None, 5, 100, 400) == theirs.most_similar("king", None, 5, 100, 400)
    np.testing.assert_array_equal(ours.most_similar("king", topn=None, clip_start=10, clip_end=50),
                                  theirs.most_similar("king", topn=None, clip_start=10, clip_end=50))
    assert ours.most_similar("king", None, 5, 100, 400, 300) == theirs.most_similar("king", topn=5, restrict_vocab=300)

    class Indexer:  # gensim's AnnoyIndexer answers most_similar(vector, topn)
        def most_similar(self, vector, topn):
            self.query = vector
            return [("answer", 1.0)]

    mine, gensims = Indexer(), Indexer()
    assert ours.most_similar(["king", "woman"], ["man"], indexer=mine) == [("answer", 1.0)]
    theirs.most_similar(["king", "woman"], ["man"], indexer=gensims)
    np.testing.assert_array_equal(mine.query, gensims.query)
    for kv in (ours, theirs):
        with pytest.raises(KeyError) as error:
            kv.most_similar("nosuchword")
        with pytest.raises(ValueError, match="cannot compute mean with no input"):
            kv.most_similar()
        assert str(error.value) == "\"Key 'nosuchword' not present in vocabulary\""


def test_init_sims_is_deprecated_as_in_gensim(small):
    ours, theirs = small
    with pytest.warns(DeprecationWarning, match="init_sims"):
        ours.init_sims()
    assert ours.norms is not None
    with pytest.warns(DeprecationWarning):
        ours.init_sims(replace=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.init_sims(replace=True)
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    np.testing.assert_array_equal(ours.norms, theirs.norms)


def test_empty_inputs_as_gensim(small, tmp_path):
    ours, theirs = small
    for kv in (ours, theirs):
        with pytest.raises(ValueError):
            kv[[]]
    (tmp_path / "empty.txt").write_text(": section\n")
    for kv in (ours, theirs):
        with pytest.raises(ZeroDivisionError):
            kv.evaluate_word_analogies(str(tmp_path / "empty.txt"))


@pytest.mark.parametrize("options", [{}, dict(restrict_vocab=2000, case_insensitive=False, dummy4unknown=True)])
def test_evaluate_word_analogies_matches_gensim(bible, options):
    theirs, ours = bible
    path = datapath("questions-words.txt")  # most questions are out of the Bible's vocabulary
    score, sections = ours.evaluate_word_analogies(path, **options)
    their_score, their_sections = theirs.evaluate_word_analogies(path, **options)
    assert sections == their_sections  # section names, and which questions were right and wrong, in order
    assert score == their_score
    assert sections[-1]["section"] == "Total accuracy" and len(sections[-1]["correct"]) > 10


def test_evaluations_with_case_variants_follow_gensim(tmp_path):
    """Keys that upper-case alike: the first one stands for all of them, the others are never an
    answer, and when the top 5 are all such keys the question counts as wrong."""
    basis = np.eye(8, dtype=np.float32)
    query1, query2 = basis[1] + basis[2] - basis[0], basis[4] + basis[5] - basis[3]
    vectors = dict(zip(["man", "king", "woman", "boy", "girl", "son"], basis))
    for i, variant in enumerate(["King", "KING", "kINg", "Woman", "WOMAN"]):  # the 5 nearest to king - man + woman
        vectors[variant] = query1 + 0.1 * (i + 1) * basis[6]
    vectors.update(queen=query1 + 0.7 * basis[6], GIRL=query2 + 0.1 * basis[7], daughter=query2 + 0.2 * basis[7])
    ours, theirs = KeyedVectors(8), GensimKeyedVectors(8)
    ours.add_vectors(list(vectors), np.array(list(vectors.values())))
    theirs.add_vectors(list(vectors), np.array(list(vectors.values())))

    (tmp_path / "questions.txt").write_text(": test\nman king woman queen\nboy girl son daughter\n")
    score, sections = ours.evaluate_word_analogies(tmp_path / "questions.txt")
    assert (score, sections) == theirs.evaluate_word_analogies(str(tmp_path / "questions.txt"))
    assert sections[0]["correct"] == [("BOY", "GIRL", "SON", "DAUGHTER")]  # GIRL, first, is skipped
    assert sections[0]["incorrect"] == [("MAN", "KING", "WOMAN", "QUEEN")]  # queen is 6th

    (tmp_path / "pairs.tsv").write_text("king\tqueen\t9\nking\twoman\t2\nman\tboy\t5\nson\tdaughter\t6\ngirl\tson\t1\n")
    pearson, spearman, oov = ours.evaluate_word_pairs(tmp_path / "pairs.tsv")
    their_pearson, their_spearman, _ = theirs.evaluate_word_pairs(str(tmp_path / "pairs.tsv"))
    np.testing.assert_allclose([pearson, spearman], [tuple(their_pearson), tuple(their_spearman)], rtol=1e-6)


@pytest.mark.parametrize("options", [{}, dict(dummy4unknown=True), dict(restrict_vocab=3000, case_insensitive=False)])
def test_evaluate_word_pairs_matches_gensim(bible, options, monkeypatch):
    theirs, ours = bible
    path = datapath("wordsim353.tsv")
    their_pearson, their_spearman, their_oov = theirs.evaluate_word_pairs(path, **options)
    expected = [(their_pearson.statistic, their_pearson.pvalue), (their_spearman.statistic, their_spearman.pvalue)]
    pearson, spearman, oov = ours.evaluate_word_pairs(path, **options)
    assert type(pearson) is type(their_pearson) and type(spearman) is type(their_spearman)  # scipy's results
    assert [(pearson.statistic, pearson.pvalue), (spearman.statistic, spearman.pvalue)] == expected  # the same floats
    assert oov == their_oov
    monkeypatch.setitem(sys.modules, "scipy", None)  # without scipy: our own tests, the same numbers
    pearson, spearman, oov = ours.evaluate_word_pairs(path, **options)
    np.testing.assert_allclose([pearson, spearman], expected, rtol=1e-6)
    assert oov == their_oov


# ------------------------------------------------------------------------------------------------
# the correlation fallback against scipy

@pytest.mark.parametrize("n, slope", [(3, 0.0), (12, 0.5), (60, 0.0), (200, -0.3), (353, 1.0), (2000, 0.05)])
def test_correlation_fallback_matches_scipy(n, slope):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(n)
    x = rng.integers(0, 8, n).astype(np.float64)  # many ties
    y = np.round(slope * x + rng.standard_normal(n), 1)  # ties too
    for ours, theirs in ((kv_module._pearson(x, y), stats.pearsonr(x, y)),
                         (kv_module._spearman(x, y), stats.spearmanr(x, y))):
        np.testing.assert_allclose(ours, (theirs.statistic, theirs.pvalue), rtol=1e-9, atol=1e-300)


def test_correlation_fallback_edge_cases_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about constant inputs and n = 2
        for x, y in [([1.0, 2.0], [3.0, 1.0]), ([1.0, 1.0, 1.0], [3.0, 1.0, 2.0]), ([1.0, 2.0, 3.0], [3.0, 1.0, 1.0])]:
            np.testing.assert_allclose(kv_module._pearson(x, y), tuple(stats.pearsonr(x, y)), rtol=1e-12)
            np.testing.assert_allclose(kv_module._spearman(x, y), tuple(stats.spearmanr(x, y)), rtol=1e-12)


def test_regularized_incomplete_beta_matches_scipy():
    special = pytest.importorskip("scipy.special")
    for a in (0.5, 1.0, 3.5, 50.0, 1000.0):
        for b in (0.5, 2.0, 40.0):
            for x in (1e-6, 0.01, 0.3, 0.5, 0.9, 0.999):
                ours = kv_module._regularized_incomplete_beta(a, b, x, 1.0 - x)
                assert ours == pytest.approx(special.betainc(a, b, x), rel=1e-9, abs=1e-300), (a, b, x)


# ------------------------------------------------------------------------------------------------
# word2vec files

@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_files_both_ways(small, tmp_path, binary):
    ours, theirs = small
    ours.save_word2vec_format(tmp_path / "ours", binary=binary)
    theirs.save_word2vec_format(str(tmp_path / "theirs"), binary=binary)
    assert (tmp_path / "ours").read_bytes() == (tmp_path / "theirs").read_bytes()
    loaded = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "ours"), binary=binary)
    assert loaded.index_to_key == WORDS
    np.testing.assert_array_equal(loaded.vectors, ours.vectors)  # text: shortest round-trip digits
    loaded = KeyedVectors.load_word2vec_format(tmp_path / "theirs", binary=binary)
    assert loaded.index_to_key == WORDS and loaded.key_to_index == theirs.key_to_index
    np.testing.assert_array_equal(loaded.vectors, theirs.vectors)
    assert [loaded.get_vecattr(w, "count") for w in WORDS] == list(range(len(WORDS), 0, -1))  # made up, as gensim


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_files_with_counts_match_gensim(small, tmp_path, binary):
    ours, theirs = small
    counts = [3, 9, 3, 1, 12, 9, 0]
    for word, count in zip(WORDS, counts):
        ours.set_vecattr(word, "count", count)
        theirs.set_vecattr(word, "count", count)
    ours.save_word2vec_format(tmp_path / "ours", fvocab=tmp_path / "ours.vocab", binary=binary)
    theirs.save_word2vec_format(str(tmp_path / "theirs"), fvocab=str(tmp_path / "theirs.vocab"), binary=binary)
    assert (tmp_path / "ours").read_bytes() == (tmp_path / "theirs").read_bytes()  # most frequent first
    assert (tmp_path / "ours.vocab").read_bytes() == (tmp_path / "theirs.vocab").read_bytes()
    loaded = KeyedVectors.load_word2vec_format(tmp_path / "ours", fvocab=tmp_path / "ours.vocab", binary=binary)
    expected = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "ours"), fvocab=str(tmp_path / "ours.vocab"),
                                                       binary=binary)
    assert loaded.index_to_key == expected.index_to_key == ["word2vec", "naïve", "</s>", "the", "東京", "café", "x"]
    np.testing.assert_array_equal(loaded.vectors, expected.vectors)
    assert [loaded.get_vecattr(w, "count") for w in WORDS] == counts
    with pytest.raises(ValueError, match="'count'"):  # a vocabulary file needs counts
        KeyedVectors(5).save_word2vec_format(tmp_path / "y", fvocab=tmp_path / "y.vocab")


@pytest.mark.parametrize("binary", [False, True])
def test_bible_files_match_gensim_byte_for_byte(bible, tmp_path, binary):
    theirs, ours = bible
    ours.save_word2vec_format(tmp_path / "ours", fvocab=tmp_path / "ours.vocab", binary=binary)
    theirs.save_word2vec_format(str(tmp_path / "theirs"), fvocab=str(tmp_path / "theirs.vocab"), binary=binary)
    assert (tmp_path / "ours").read_bytes() == (tmp_path / "theirs").read_bytes()
    assert (tmp_path / "ours.vocab").read_bytes() == (tmp_path / "theirs.vocab").read_bytes()
    loaded = KeyedVectors.load_word2vec_format(tmp_path / "ours", binary=binary, limit=1000)
    assert loaded.index_to_key == theirs.index_to_key[:1000]
    np.testing.assert_array_equal(loaded.vectors, theirs.vectors[:1000])


@pytest.mark.parametrize("binary", [False, True])
def test_compressed_word2vec_files_as_gensim(small, tmp_path, binary):
    """A name ending in .gz (or .bz2, .xz) is read and written compressed, as gensim's smart_open."""
    import bz2
    import gzip

    ours, theirs = small
    ours.set_vecattr("café", "count", 7)
    ours.save_word2vec_format(tmp_path / "ours.gz", fvocab=tmp_path / "ours.vocab.bz2", binary=binary)
    ours.save_word2vec_format(tmp_path / "plain", binary=binary)
    assert gzip.decompress((tmp_path / "ours.gz").read_bytes()) == (tmp_path / "plain").read_bytes()
    assert bz2.decompress((tmp_path / "ours.vocab.bz2").read_bytes()).startswith(b"caf")
    loaded = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "ours.gz"), binary=binary)
    assert loaded.index_to_key == ["café"] + [w for w in WORDS if w != "café"]  # by count
    theirs.save_word2vec_format(str(tmp_path / "theirs.gz"), binary=binary)
    for path, fvocab in ((tmp_path / "theirs.gz", None), (tmp_path / "ours.gz", tmp_path / "ours.vocab.bz2")):
        loaded = KeyedVectors.load_word2vec_format(path, fvocab=fvocab, binary=binary)
        assert sorted(loaded.index_to_key) == sorted(WORDS)
        np.testing.assert_array_equal(loaded[WORDS], theirs[WORDS])
    assert loaded.get_vecattr("café", "count") == 7
    first_two = KeyedVectors.load_word2vec_format(tmp_path / "ours.gz", binary=binary, limit=2)
    assert first_two.index_to_key == ["café", WORDS[0]]
    many = KeyedVectors(5)  # zeros compress far below the size of their records: the array grows while reading
    many.add_vectors([f"w{i}" for i in range(3000)], np.zeros((3000, 5)))
    many.save_word2vec_format(tmp_path / "many.xz", binary=binary)
    assert KeyedVectors.load_word2vec_format(tmp_path / "many.xz", binary=binary).index_to_key == many.index_to_key


@pytest.mark.parametrize("binary", [False, True])
def test_zero_dimensions_load_as_gensim(tmp_path, binary):
    (tmp_path / "v").write_bytes(b"1 0\nword " if binary else b"1 0\nword\n")
    ours = KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary)
    theirs = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "v"), binary=binary)
    assert ours.index_to_key == theirs.index_to_key == ["word"] and ours.vectors.shape == theirs.vectors.shape == (1, 0)


def test_word2vec_c_binary_loads(small, tmp_path):
    """word2vec.c writes a newline after each vector; gensim does not."""
    ours, _ = small
    data = f"{len(WORDS)} 5\n".encode() + b"".join(
        word.encode() + b" " + vector.astype("<f4").tobytes() + b"\n" for word, vector in zip(WORDS, ours.vectors))
    (tmp_path / "c.bin").write_bytes(data)
    for loaded in (KeyedVectors.load_word2vec_format(tmp_path / "c.bin", binary=True),
                   GensimKeyedVectors.load_word2vec_format(str(tmp_path / "c.bin"), binary=True)):
        assert loaded.index_to_key == WORDS
        np.testing.assert_array_equal(loaded.vectors, ours.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_limit_and_no_header(small, tmp_path, binary):
    ours, _ = small
    ours.save_word2vec_format(tmp_path / "v", binary=binary)
    loaded = KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary, limit=3)
    assert loaded.index_to_key == WORDS[:3] and loaded.vectors.shape == (3, 5)
    np.testing.assert_array_equal(loaded.vectors, ours.vectors[:3])
    assert [loaded.get_vecattr(w, "count") for w in WORDS[:3]] == [3, 2, 1]
    if not binary:
        ours.save_word2vec_format(tmp_path / "glove", write_header=False)
        loaded = KeyedVectors.load_word2vec_format(tmp_path / "glove", no_header=True)
        assert loaded.index_to_key == WORDS
        np.testing.assert_array_equal(loaded.vectors, ours.vectors)
        assert KeyedVectors.load_word2vec_format(tmp_path / "glove", no_header=True, limit=2).index_to_key == WORDS[:2]


def test_repeated_words_and_unicode_errors_as_gensim(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes("3 2\nword 1 2\nmot 3 4\nword 5 6\n".encode())
    loaded, expected = KeyedVectors.load_word2vec_format(path), GensimKeyedVectors.load_word2vec_format(str(path))
    assert loaded.index_to_key == ["word", "mot"]  # the first vector of a repeated word wins
    np.testing.assert_array_equal(loaded.vectors, [[1, 2], [3, 4]])
    assert expected.index_to_key == ["word", "mot", None]  # gensim keeps the unused slot, with a zero vector
    np.testing.assert_array_equal(expected.vectors, [[1, 2], [3, 4], [0, 0]])
    # word2vec.c cuts long words at a byte count, which can split a UTF-8 character
    path = tmp_path / "cut.bin"
    cut = "東京".encode()[:4]
    path.write_bytes(b"2 1\n" + cut + b" " + np.float32(1).tobytes() + b"ok " + np.float32(2).tobytes())
    with pytest.raises(ValueError, match="word 1 of 2: the word .* is not valid utf8"):
        KeyedVectors.load_word2vec_format(path, binary=True)
    for errors in ("ignore", "replace"):
        loaded = KeyedVectors.load_word2vec_format(path, binary=True, unicode_errors=errors)
        expected = GensimKeyedVectors.load_word2vec_format(str(path), binary=True, unicode_errors=errors)
        assert loaded.index_to_key == expected.index_to_key and loaded.index_to_key[1] == "ok"


def test_own_format_round_trip_and_foreign_files(small, tmp_path):
    ours, _ = small
    ours.set_vecattr("café", "count", 7)
    ours.save(tmp_path / "v.npz")
    loaded = KeyedVectors.load(tmp_path / "v.npz")
    assert loaded.index_to_key == WORDS and loaded.key_to_index == ours.key_to_index
    np.testing.assert_array_equal(loaded.vectors, ours.vectors)
    assert loaded.get_vecattr("café", "count") == 7 and loaded.get_vecattr("x", "count") == 0
    assert loaded.most_similar("the") == ours.most_similar("the")

    ours.save_word2vec_format(tmp_path / "w2v.txt")
    np.savez(tmp_path / "other.npz", vectors=ours.vectors)
    (tmp_path / "junk").write_bytes(b"\x00\x01garbage")
    for name in ("w2v.txt", "other.npz", "junk"):
        with pytest.raises(ValueError, match="not a KeyedVectors file written by pyseq") as error:
            KeyedVectors.load(tmp_path / name)
        assert name in str(error.value)


# ------------------------------------------------------------------------------------------------
# malformed input, errors, atomic writes

def _record(word, values):
    return word + b" " + np.asarray(values, dtype="<f4").tobytes()


MALFORMED = [  # (file content, binary, expected in the message after the file name)
    (b"three 2\nw 1 2\n", False, "line 1: expected the header 'vocab_size vector_size'"),
    (b"3\nw 1 2\n", False, "line 1: expected the header"),
    (b"", False, "line 1: expected the header"),
    (b"2 x\n" + _record(b"w", [1, 2]), True, "line 1: expected the header"),
    (b"2 3\na 1 2 3\nb 1 2\n", False, "line 3: expected a word and 3 values, got 2 values"),
    (b"1 3\na 1 2 3 4\n", False, "line 2: expected a word and 3 values, got 4 values"),
    (b"1 3\na 1 x 3\n", False, "line 2: value 2 is not a number: b'x'"),
    (b"3 2\na 1 2\nb 1 2\n", False, "expected 3 vectors, but the file ends after 2 (at line 4)"),
    (b"1 2\n\xff\xfe 1 2\n", False, "line 2: the word b'\\xff\\xfe' is not valid utf8"),
    (b"2 3\n" + _record(b"a", [1, 2, 3]) + _record(b"b", [1, 2, 3])[:7], True,
     "word 2 of 2 ('b'): expected 3 float32 values (12 bytes), but the file ends after 5 bytes"),
    (b"3 3\n" + _record(b"a", [1, 2, 3]) + _record(b"b", [1, 2, 3]), True,
     "word 3 of 3: the file ends before the word"),
    (b"1 1\n" + _record(b"\xc3(", [1]), True, "word 1 of 1: the word b'\\xc3(' is not valid utf8"),
    (b"1000000000000 300\n" + _record(b"a", np.zeros(300)), True, "word 2 of 1000000000000: the file ends"),
]


@pytest.mark.parametrize("content, binary, message", MALFORMED)
def test_malformed_files_raise_value_error(tmp_path, content, binary, message):
    path = tmp_path / "vectors.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        KeyedVectors.load_word2vec_format(path, binary=binary)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_malformed_vocab_file(small, tmp_path):
    ours, _ = small
    ours.save_word2vec_format(tmp_path / "v")
    (tmp_path / "vocab").write_bytes(b"the 5\nnaive five\n")
    with pytest.raises(ValueError, match="vocab: line 2: expected 'word count'"):
        KeyedVectors.load_word2vec_format(tmp_path / "v", fvocab=tmp_path / "vocab")


def test_errors(small):
    ours, _ = small
    for call in (lambda: ours["xyz"], lambda: ours.most_similar("xyz"), lambda: ours.similarity("the", "xyz"),
                 lambda: ours.most_similar_cosmul(["the"], ["xyz"])):
        with pytest.raises(KeyError, match="Key 'xyz' not present"):
            call()
    with pytest.raises(ValueError, match="no input"):
        ours.most_similar()
    with pytest.raises(ValueError, match="no input"):
        ours.most_similar_cosmul(negative=["the"])
    with pytest.raises(ValueError, match=r"expected weights of shape \(2, 5\).*got \(2, 4\)"):
        ours.add_vectors(["a", "b"], np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(1, 5\).*got \(1, 6\)"):
        ours.add_vectors("a", np.zeros(6))
    assert ours.most_similar("the", topn=0) == []


def test_add_vectors(small):
    ours, _ = small
    old = ours["the"].copy()
    ours.add_vectors(["the", "new"], np.ones((2, 5)))
    np.testing.assert_array_equal(ours["the"], old)  # present keys keep their vectors...
    assert ours.index_to_key[-1] == "new" and len(ours) == len(WORDS) + 1
    assert ours.most_similar("new", topn=1)[0][1] < 0.99
    ours.add_vectors(["the"], np.full((1, 5), 2.0), replace=True)  # ...unless replaced
    np.testing.assert_array_equal(ours["the"], np.full(5, 2.0))
    assert ours.most_similar("new", topn=1) == [("the", pytest.approx(1.0))]  # the norms follow the change
    preallocated = KeyedVectors(2, count=2)
    assert preallocated.add_vector("a", [1.0, 0.0]) == 0 and preallocated.add_vector("b", [0.0, 1.0]) == 1
    assert preallocated.add_vector("c", [1.0, 1.0]) == 2 and preallocated.index_to_key == ["a", "b", "c"]


def test_vectors_for_all_and_gensim_3_names_as_gensim(small):
    ours, theirs = small
    for kv in (ours, theirs):
        kv.set_vecattr(WORDS[2], "count", 7)
    keys = [WORDS[3], "missing", WORDS[2], WORDS[3]]
    for copy_vecattrs in (False, True):
        mine, expected = (kv.vectors_for_all(keys, copy_vecattrs=copy_vecattrs) for kv in small)
        assert mine.index_to_key == expected.index_to_key == [WORDS[3], WORDS[2]]
        np.testing.assert_array_equal(mine.vectors, expected.vectors)
        assert mine.get_vecattr(WORDS[2], "count") == expected.get_vecattr(WORDS[2], "count") == (
            7 if copy_vecattrs else 1)  # (else made-up counts, n .. 1)
    for name in ("vocab", "index2word", "index2entity", "vectors_norm"):
        for kv in small:
            with pytest.raises(AttributeError, match=f"{name}`? attribute .*4.0.0"):
                getattr(kv, name)


@pytest.mark.parametrize("binary", [False, True])
def test_failed_write_keeps_the_old_file(small, tmp_path, binary):
    ours, _ = small
    path = tmp_path / "vectors"
    ours.save_word2vec_format(path, binary=binary)
    before = path.read_bytes()
    broken = KeyedVectors(5)
    broken.add_vectors(["fine", "bad\ud800", "after"], np.ones((3, 5)))  # a lone surrogate has no UTF-8
    with pytest.raises(UnicodeEncodeError):  # after the header and the first vector are written
        broken.save_word2vec_format(path, binary=binary)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["vectors"]  # no temporary file left


def test_failed_save_keeps_the_old_file(small, tmp_path, monkeypatch):
    ours, _ = small
    path = tmp_path / "vectors.npz"
    ours.save(path)
    before = path.read_bytes()

    def savez_then_fail(f, **arrays):
        f.write(b"PK\x03\x04 part of an archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="No space left"):
        ours.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["vectors.npz"]


def test_sort_by_descending_frequency_as_gensim():
    gensim_models = pytest.importorskip("gensim.models")
    keys, counts = list("abcdefg"), [1, 5, 3, 5, 2, 9, 3]
    sorted_ = []
    for cls in (KeyedVectors, gensim_models.KeyedVectors):
        kv = cls(3)
        kv.add_vectors(keys, np.arange(21, dtype=np.float32).reshape(7, 3))
        for key, count in zip(keys, counts):
            kv.set_vecattr(key, "count", count)
        kv.sort_by_descending_frequency()
        sorted_.append((kv.index_to_key, kv.vectors.copy(), [kv.get_vecattr(k, "count") for k in kv.index_to_key],
                        kv.get_index("f")))
    (ours_keys, ours_vectors, ours_counts, ours_f), (keys_ref, vectors_ref, counts_ref, f_ref) = sorted_
    assert ours_keys == keys_ref and ours_counts == counts_ref and ours_f == f_ref == 0
    np.testing.assert_array_equal(ours_vectors, vectors_ref)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_save_word2vec_format_options_write_gensims_bytes(tmp_path, binary, suffix):
    # prefix, total_vec, sort_attr, fvocab and append (onto the file written first) as gensim writes them
    import gzip
    files = {}
    for name, cls in (("ours", KeyedVectors), ("gensim", GensimKeyedVectors)):
        kv = cls(3)
        kv.add_vectors(list("abcde"), np.arange(15, dtype=np.float32).reshape(5, 3) / 7)
        for key, count, tag in zip("abcde", [1, 5, 3, 5, 2], [9, 1, 4, 4, 0]):
            kv.set_vecattr(key, "count", count)
            kv.set_vecattr(key, "tag", tag)
        path, vocab = tmp_path / f"{name}.txt{suffix}", tmp_path / f"{name}.vocab"
        kv.save_word2vec_format(str(path), fvocab=str(vocab), binary=binary, prefix="X_", total_vec=7,
                                sort_attr="tag")
        kv.save_word2vec_format(str(path), fvocab=str(vocab), binary=binary, append=True, write_header=False)
        read = gzip.open if suffix else open
        with read(path, "rb") as f:
            files[name] = (f.read(), vocab.read_bytes())
    assert files["ours"] == files["gensim"]
    assert files["ours"][0].startswith(b"7 3\nX_a ")
