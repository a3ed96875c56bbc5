"""An LSTM language model: the recurrent sibling of GPT, trained and sampled the same way.

    model = LSTMLM(LSTMLMConfig(vocab_size=4096, n_embd=256, hidden_size=512, n_layer=2))
    loss = model(ids, labels=ids).loss                  # ids (B, T) int64, as GPT
    history = gpt_train.train(model, data, TrainConfig(max_steps=1000))
    for piece in model.stream_text(tokenizer, "In the beginning", max_new_tokens=40): print(piece, end="")

token ids -> Embedding (B, T, E) -> dropout -> nn.LSTM (n_layer, dropout between layers) (B, T, H)
-> dropout -> Linear (B, T, V). The state (h, c), each (n_layer, B, H), can be passed in and comes
back, so text can be fed in pieces. save_pretrained / from_pretrained write and read a folder with
config.json (model_type "pyseq_lstm_lm") and model.safetensors.
"""

import numbers
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from .. import _core, optim
from ..autograd import no_grad
from ..io.safetensors import load_file
from ..nn.dropout import Dropout
from ..nn.layers import Embedding, Linear
from ..nn.module import Module
from ..nn.rnn import LSTM
from ..nn.utils import skip_init
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ._hf import (ModelOutput, as_ids, causal_lm_loss, check_ids, check_model_type, folder_files, read_json,
                  save_folder)
from .gpt import GPT, _pad_id, _sample

__all__ = ["LSTMLMConfig", "LSTMLM", "LSTMLMOutput"]

MODEL_TYPE = "pyseq_lstm_lm"


@dataclass
class LSTMLMConfig:
    vocab_size: int = 4096
    n_embd: int = 256        # embedding size E
    hidden_size: int = 512   # LSTM state size H
    n_layer: int = 2
    dropout: float = 0.1     # on the embeddings, between LSTM layers and on the last layer's output

    def __post_init__(self):
        for name in ("vocab_size", "n_embd", "hidden_size", "n_layer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"LSTMLMConfig: {name} must be a positive int, got {value!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LSTMLMConfig: dropout must be in [0, 1), got {self.dropout!r}")

    @classmethod
    def from_json_file(cls, path):
        d = read_json(path)
        check_model_type(d, MODEL_TYPE, os.fspath(path))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self):
        return dict(asdict(self), model_type=MODEL_TYPE)


@dataclass
class LSTMLMOutput(ModelOutput):
    loss: object = None    # scalar Tensor, when labels were given
    logits: object = None  # (B, T, vocab_size)
    state: object = None   # (h, c), each (n_layer, B, hidden_size): the state after the last position


class LSTMLM(Module):
    def __init__(self, config):
        super().__init__()
        if not isinstance(config, LSTMLMConfig):
            raise TypeError(f"LSTMLM: expected an LSTMLMConfig, got {type(config).__name__}")
        self.config = config
        self.embedding = Embedding(config.vocab_size, config.n_embd)
        self.drop = Dropout(config.dropout)
        self.lstm = LSTM(config.n_embd, config.hidden_size, num_layers=config.n_layer, batch_first=True,
                         dropout=config.dropout if config.n_layer > 1 else 0.0)
        self.head = Linear(config.hidden_size, config.vocab_size)

    def forward(self, input_ids, labels=None, state=None, lengths=None):
        """input_ids (B, T) int64 -> LSTMLMOutput(loss, logits (B, T, V), state). labels (B, T): the mean
        cross entropy of predicting labels[:, t + 1] from position t, ignoring -100 (as GPT). lengths
        (B,): real tokens per row of a right-padded batch; the state returned is then each row's
        state after its last real token."""
        ids = as_ids(input_ids, "input_ids", "LSTMLM")
        if ids.ndim == 1:
            ids = ids[None, :]
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"LSTMLM: expected input_ids of shape (batch, length >= 1), got {ids.shape}")
        check_ids(ids, self.config.vocab_size, "input_ids", "LSTMLM")
        x = self.drop(self.embedding(_core.from_numpy(np.ascontiguousarray(ids))))  # (B, T, E)
        if lengths is not None:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            packed, state = self.lstm(packed, state)
            out, _ = pad_packed_sequence(packed, batch_first=True, total_length=ids.shape[1])  # (B, T, H)
        else:
            out, state = self.lstm(x, state)  # (B, T, H)
        logits = self.head(self.drop(out))  # (B, T, V)
        loss = causal_lm_loss(logits, labels, "LSTMLM") if labels is not None else None
        return LSTMLMOutput(loss=loss, logits=logits, state=state)

    def configure_optimizers(self, weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.95), eps=1e-8):
        """AdamW with weight decay on the weight matrices of the LSTM and the head, none on biases and
        the embedding (GPT.configure_optimizers' groups)."""
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            (decay if p.dim() >= 2 and not name.startswith("embedding") else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return optim.AdamW(groups, lr=learning_rate, betas=betas, eps=eps)

    @classmethod
    def from_pretrained(cls, path):
        config_path, weights_path = folder_files(path, "LSTMLM")
        model = skip_init(cls, LSTMLMConfig.from_json_file(config_path))  # load_state_dict (strict) writes them all
        try:
            model.load_state_dict(load_file(weights_path))
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"LSTMLM.from_pretrained: {weights_path} does not fit {config_path}: {e}") from None
        return model.eval()

    def save_pretrained(self, path):
        """Writes config.json and model.safetensors, each atomically."""
        save_folder(path, self.config.to_dict(), self.state_dict())

    def stream(self, input_ids, max_new_tokens=20, temperature=1.0, top_k=None, top_p=None, do_sample=False,
               eos_token_id=None, seed=None, pad_token_id=None):
        """Yields the next token of every prompt, an int64 array (B,), as GPT.stream does. input_ids:
        one prompt (a flat list), a batch (B, L) or a list of prompts of different lengths."""
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
            raise ValueError(f"LSTMLM.generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        pad_token_id = _pad_id(pad_token_id, eos_token_id)
        rows = _prompt_rows(input_ids)
        ids, lengths = _right_padded(rows, pad_token_id)
        check_ids(ids, self.config.vocab_size, "the prompt", "LSTMLM")
        if max_new_tokens == 0:
            return
        rng = np.random.default_rng(seed)
        finished = np.zeros(len(rows), dtype=bool)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                out = self(ids, lengths=lengths if (lengths != lengths[0]).any() else None)
                scores = out.logits.numpy()[np.arange(len(rows)), lengths - 1].astype(np.float64)  # (B, V)
                state = out.state
                for step in range(max_new_tokens):
                    token = _sample(scores, temperature, top_k, top_p, rng) if do_sample else scores.argmax(axis=1)
                    token = np.where(finished, pad_token_id, token).astype(np.int64)
                    if eos_token_id is not None:  # an id or a list of ids
                        finished |= np.isin(token, np.ravel(eos_token_id))
                    yield token
                    if finished.all() or step + 1 == max_new_tokens:
                        return
                    out = self(token[:, None], state=state)
                    scores, state = out.logits.numpy()[:, -1].astype(np.float64), out.state
        finally:
            self.train(was_training)

    def generate(self, input_ids, max_new_tokens=20, **kwargs):
        """The prompts (right-padded to the longest with pad_token_id) followed by the generated tokens:
        an int64 Tensor (B, L + n). kwargs: GPT.generate's sampling arguments."""
        rows = _prompt_rows(input_ids)
        ids, _ = _right_padded(rows, _pad_id(kwargs.get("pad_token_id"), kwargs.get("eos_token_id")))
        new = [t[:, None] for t in self.stream(rows, max_new_tokens, **kwargs)]
        return _core.from_numpy(np.ascontiguousarray(np.concatenate([ids] + new, axis=1)))

    stream_text = GPT.stream_text  # the same incremental decoding over self.stream


def _prompt_rows(input_ids):
    """A list of 1-D int64 arrays, one per prompt, each at least one token long."""
    if isinstance(input_ids, (list, tuple)) and input_ids and isinstance(input_ids[0], (list, tuple, np.ndarray)):
        rows = [as_ids(r, "input_ids", "LSTMLM") for r in input_ids]
    else:
        ids = as_ids(input_ids, "input_ids", "LSTMLM")
        rows = list(ids[None, :] if ids.ndim == 1 else ids)
    if not rows or any(r.ndim != 1 or len(r) == 0 for r in rows):
        raise ValueError("LSTMLM.generate: every prompt must be a flat list of at least one token id")
    return rows


def _right_padded(rows, pad):
    """(ids (B, L) int64, rows padded on the right with `pad` to the longest L; lengths (B,))."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ids = np.full((len(rows), lengths.max()), pad, dtype=np.int64)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = r
    return ids, lengths
