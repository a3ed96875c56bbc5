"""Training a GPT as a causal language model on a text file.

    data = tokenize_file("corpus.txt", tokenizer, "data/")     # once: token ids in numpy memmaps
    model = GPT(GPTConfig(vocab_size=tokenizer.n_vocab, n_positions=256, n_embd=256, n_layer=4, n_head=4))
    history = train(model, data, TrainConfig(max_steps=2000, block_size=256), out_dir="run/")

`tokenize_file` encodes the text with a pyseq BPE tokenizer in pieces of whole lines, streams the
ids to ids.bin (uint16 when the vocabulary fits, else uint32; the last val_fraction of them is the
validation split) and returns a TokenBlocks over it, which draws random contiguous blocks.

`train` runs AdamW (no decay on biases, norms, embeddings), a linear warm-up and cosine decay,
gradient clipping and accumulation, a validation loss every eval_interval steps (on the same
batches each time) and a progress bar with tokens/s. With out_dir it writes a checkpoint every
checkpoint_interval steps and at the end, holding the model, the optimizer, the scheduler, both
random generators (dropout's and the batch sampler's), the step and the history; calling train
again with the same out_dir resumes from it exactly where it stopped.
"""

import hashlib
import itertools
import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from .. import _core
from ..autograd import no_grad
from ..io.checkpoint import load_checkpoint, save_checkpoint
from ..io.safetensors import atomic_write
from ..nn.utils import clip_grad_norm_
from ..optim.lr_scheduler import get_cosine_schedule_with_warmup

__all__ = ["TokenBlocks", "tokenize_file", "bigram_loss", "TrainConfig", "train", "evaluate"]


class TokenBlocks:
    """The token ids of a corpus in a memmap (ids.bin in `directory`; meta.json gives their dtype and
    how many of the first are the training split, the rest being validation); `batch` draws random
    contiguous blocks of a split."""

    def __init__(self, directory):
        directory = os.fspath(directory)
        meta_path = os.path.join(directory, "meta.json")
        if not os.path.isfile(meta_path):
            raise FileNotFoundError(f"TokenBlocks: {meta_path} not found (write the folder with tokenize_file)")
        with open(meta_path, encoding="utf-8") as f:
            self.meta = json.load(f)
        self.directory = directory
        path, dtype = os.path.join(directory, "ids.bin"), self.meta["dtype"]
        ids = np.memmap(path, dtype=dtype, mode="r") if os.path.getsize(path) else np.zeros(0, dtype=dtype)
        n_train = self.meta["train_tokens"]
        self.splits = {"train": ids[:n_train], "val": ids[n_train:]}

    def __len__(self):
        return len(self.splits["train"])

    def batch(self, split, batch_size, block_size, rng):
        """`batch_size` random blocks of `block_size` consecutive ids of `split` ('train' or 'val'):
        an int64 Tensor (batch_size, block_size). rng: a numpy Generator."""
        if split not in self.splits:
            raise ValueError(f"TokenBlocks.batch: split must be 'train' or 'val', got {split!r}")
        ids = self.splits[split]
        if len(ids) < block_size:
            raise ValueError(f"TokenBlocks.batch: the {split} split has {len(ids)} tokens, fewer than one block "
                             f"of {block_size}")
        starts = rng.integers(0, len(ids) - block_size + 1, size=batch_size)
        return _core.from_numpy(np.stack([ids[s:s + block_size] for s in starts]).astype(np.int64))


def _line_chunks(path, chunk_chars):
    """The text of `path` in pieces of about chunk_chars characters, each ending at a line end."""
    with open(path, encoding="utf-8") as f:
        while True:
            piece = f.read(chunk_chars)
            if not piece:
                return
            rest = f.readline()
            yield piece + rest


def tokenize_file(text_path, tokenizer, out_dir, val_fraction=0.1, chunk_chars=1 << 18):
    """Encodes the UTF-8 text file with `tokenizer` (a pyseq BPETokenizer: encode_ordinary_batch,
    n_vocab) once and writes out_dir/{ids.bin, meta.json} atomically; the last val_fraction of the
    ids is the validation split. Returns a TokenBlocks over the folder.

    The text is encoded in pieces of about chunk_chars characters cut at line ends, several
    pieces at a time on all threads. A folder already written for the same file (path, size,
    modification time), tokenizer and val_fraction is reused as it is."""
    text_path, out_dir = os.fspath(text_path), os.fspath(out_dir)
    if not 0 <= val_fraction < 1:
        raise ValueError(f"tokenize_file: val_fraction must be in [0, 1), got {val_fraction!r}")
    stat = os.stat(text_path)
    tokenizer_json = json.dumps(tokenizer.to_json(), sort_keys=True, ensure_ascii=False).encode("utf-8")
    source = {"source": os.path.abspath(text_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
              "tokenizer_sha256": hashlib.sha256(tokenizer_json).hexdigest(), "val_fraction": val_fraction}
    meta_path = os.path.join(out_dir, "meta.json")
    if os.path.isfile(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            try:
                old = json.load(f)
            except ValueError:
                old = {}
        if all(old.get(k) == v for k, v in source.items()):
            return TokenBlocks(out_dir)
    dtype = np.uint16 if tokenizer.n_vocab <= 1 << 16 else np.uint32
    total = 0

    def write_ids(f):  # streamed: memory holds 8 pieces of the text at a time, not the corpus
        nonlocal total
        chunks = _line_chunks(text_path, chunk_chars)
        while group := list(itertools.islice(chunks, 8)):
            for ids in tokenizer.encode_ordinary_batch(group):
                f.write(np.asarray(ids, dtype=dtype).tobytes())
                total += len(ids)

    os.makedirs(out_dir, exist_ok=True)
    atomic_write(os.path.join(out_dir, "ids.bin"), write_ids)
    n_val = int(round(total * val_fraction))
    meta = dict(source, dtype=np.dtype(dtype).name, n_vocab=int(tokenizer.n_vocab), train_tokens=total - n_val,
                val_tokens=n_val)
    atomic_write(os.path.join(out_dir, "meta.json"), lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return TokenBlocks(out_dir)


def bigram_loss(data, smoothing=(0.01, 0.03, 0.1, 0.3, 1.0)):
    """The baseline a language model should beat: the validation cross entropy (nats per token) of an
    add-k smoothed bigram model counted on the training split, for the best k of `smoothing` (chosen
    on the validation split itself, which flatters the baseline). Counts are kept sparse, so a
    50k-token vocabulary is fine."""
    V = data.meta["n_vocab"]
    train_ids = np.asarray(data.splits["train"], dtype=np.int64)
    val_ids = np.asarray(data.splits["val"], dtype=np.int64)
    if len(train_ids) < 2 or len(val_ids) < 2:
        raise ValueError("bigram_loss: both splits need at least 2 tokens")
    pairs, counts = np.unique(train_ids[:-1] * V + train_ids[1:], return_counts=True)
    row_totals = np.bincount(train_ids[:-1], minlength=V)  # how often each token is followed by any
    wanted = val_ids[:-1] * V + val_ids[1:]
    at = np.minimum(np.searchsorted(pairs, wanted), len(pairs) - 1)
    seen = np.where(pairs[at] == wanted, counts[at], 0)  # count of each validation pair in training
    return min(float(-np.mean(np.log((seen + k) / (row_totals[val_ids[:-1]] + k * V)))) for k in smoothing)


@dataclass
class TrainConfig:
    """Hyperparameters of `train`. One optimizer step sees batch_size * grad_accum_steps blocks of
    block_size tokens. The learning rate rises linearly over warmup_steps, then follows a cosine
    down to 0 at max_steps."""
    max_steps: int = 1000
    batch_size: int = 16
    block_size: int = 128
    grad_accum_steps: int = 1
    learning_rate: float = 1e-3
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)
    warmup_steps: int = 100
    grad_clip: float = 1.0   # max global gradient norm (0: no clipping)
    eval_interval: int = 200
    eval_iters: int = 20     # validation batches per evaluation
    checkpoint_interval: int = 0  # 0: checkpoint only at the end (when out_dir is given)
    seed: int = 0
    progress: bool = True


@no_grad()
def evaluate(model, data, split, batch_size, block_size, iters, seed=1234):
    """The mean loss over `iters` batches of `split`, drawn from a Generator seeded by `seed` (the
    same batches every time), in eval mode."""
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    losses = [model(x, labels=x).loss.item() for x in (data.batch(split, batch_size, block_size, rng)
                                                       for _ in range(iters))]
    model.train(was_training)
    return float(np.mean(losses))


def train(model, data, config, out_dir=None, resume=True):
    """Trains `model` (a GPT or an LSTMLM) on `data` (a TokenBlocks) for config.max_steps optimizer steps and returns
    the history: {"step", "train_loss", "lr", "val_step", "val_loss", "tokens_per_s"}. With out_dir and
    resume, a checkpoint there (out_dir/checkpoint.safetensors) is loaded first and training goes on
    from its step."""
    from tqdm.auto import tqdm

    if config.block_size > getattr(model.config, "n_positions", config.block_size):  # (an LSTM has no limit)
        raise ValueError(f"train: block_size={config.block_size} exceeds the model's n_positions="
                         f"{model.config.n_positions}")
    optimizer = model.configure_optimizers(config.weight_decay, config.learning_rate, config.betas)
    scheduler = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, config.max_steps)
    rng = np.random.default_rng(config.seed)
    history = {"step": [], "train_loss": [], "lr": [], "val_step": [], "val_loss": [], "tokens_per_s": []}
    step = 0
    path = os.path.join(os.fspath(out_dir), "checkpoint.safetensors") if out_dir is not None else None
    if path is not None and resume and os.path.exists(path):
        info = load_checkpoint(path, model, optimizer)
        step = info["step"]
        scheduler.load_state_dict(info["scheduler"])
        rng.bit_generator.state = info["sampler_rng"]
        _core.set_rng_state(info["rng"])
        history = info["history"]

    def checkpoint():
        os.makedirs(out_dir, exist_ok=True)
        save_checkpoint(path, model, optimizer, step=step, scheduler=scheduler.state_dict(),
                        sampler_rng=rng.bit_generator.state, rng=_core.get_rng_state(), history=history,
                        config=asdict(config))

    def validate():
        history["val_step"].append(step)
        history["val_loss"].append(evaluate(model, data, "val", config.batch_size, config.block_size,
                                            config.eval_iters))

    tokens_per_step = config.batch_size * config.block_size * config.grad_accum_steps
    bar = tqdm(total=config.max_steps, initial=step, unit="step", disable=not config.progress, dynamic_ncols=True)
    model.train()
    try:
        while step < config.max_steps:
            start = time.perf_counter()
            total = 0.0
            for _ in range(config.grad_accum_steps):
                x = data.batch("train", config.batch_size, config.block_size, rng)  # (B, T)
                loss = model(x, labels=x).loss
                (loss / config.grad_accum_steps).backward()
                total += loss.item() / config.grad_accum_steps
            if config.grad_clip:
                clip_grad_norm_(model.parameters(), config.grad_clip)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            speed = tokens_per_step / (time.perf_counter() - start)
            history["step"].append(step)
            history["train_loss"].append(total)
            history["lr"].append(lr)
            history["tokens_per_s"].append(speed)
            if config.eval_interval and step % config.eval_interval == 0 and step < config.max_steps:
                validate()
            if path is not None and config.checkpoint_interval and step % config.checkpoint_interval == 0:
                checkpoint()
            postfix = {"loss": f"{total:.3f}", "lr": f"{lr:.2e}", "tok/s": f"{speed:,.0f}"}
            if history["val_loss"]:
                postfix["val"] = f"{history['val_loss'][-1]:.3f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
        if not history["val_step"] or history["val_step"][-1] != step:
            validate()
        if path is not None:
            checkpoint()
    finally:
        bar.close()
    return history
