"""GPT-2: a causal language model in the layout of Hugging Face's GPT2LMHeadModel.

    config = GPTConfig(vocab_size=50257, n_positions=256, n_embd=256, n_layer=4, n_head=4)
    model = GPT(config)                              # or GPT.from_pretrained("gpt2-folder")
    loss = model(ids, labels=ids).loss               # ids (B, T) int64
    out = model.generate([[15496, 995]], max_new_tokens=20, do_sample=True, top_p=0.9, seed=0)
    for piece in model.stream_text(tokenizer, "Hello", max_new_tokens=20): print(piece, end="")

The block (pre-LayerNorm), with x (B, T, C), H heads of size hd = C / H:

    x = x + c_proj(attention(split_heads(c_attn(ln_1(x)))))     causal, fused, O(T) memory
    x = x + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))

Module and parameter names are Hugging Face's, and c_attn / c_proj / c_fc are its Conv1D: a weight
stored (in, out), so `save_pretrained` folders load in `transformers` and theirs load here.

Generation keeps a KVCache: per layer, key and value buffers (B, H, max_length, hd) allocated once;
each step writes its new position and attends over the filled prefix in place (no recompute, no
copy of the prefix). Prompts of different lengths are padded on the left, with position ids that
count only real tokens and a mask that hides the padding, as `transformers` does.
"""

import inspect
import math
import numbers
import os
import warnings
from dataclasses import asdict, dataclass, fields

import numpy as np

from .. import _core, optim
from ..autograd import no_grad
from ..io.safetensors import load_file
from ..nn import functional as F
from ..nn import init
from ..nn.containers import ModuleList
from ..nn.dropout import Dropout
from ..nn.layers import Embedding, Linear
from ..nn.module import Module, Parameter
from ..nn.normalization import LayerNorm
from ..nn.utils import skip_init
from ._hf import (ACTIVATIONS, ModelOutput, PretrainedModelMixin, as_ids, as_mask, batch_ids, causal_lm_loss,
                  check_ids, check_model_type, embeddings_tensor, folder_files, is_float64_checkpoint,
                  linear_activation, read_json, returned, save_folder, warn_unused, with_dtype, write_json)

__all__ = ["GPTConfig", "GPT", "GPT2LMHeadModel", "Conv1D", "KVCache", "CausalLMOutput", "GenerationConfig"]

_FROM_CONFIG = object()  # generate's eos_token_id left out: the model's generation_config gives it


@dataclass
class GPTConfig:
    """GPT-2's hyperparameters under Hugging Face's names (config.json of a GPT2LMHeadModel).
    n_inner: the MLP width (None: 4 * n_embd). activation_function: gelu_new / gelu_fast /
    gelu_pytorch_tanh (tanh form), gelu (erf form), relu, or another of transformers' names
    (silu / swish, quick_gelu, mish, tanh, ...: ACTIVATIONS). eos_token_id: an id or a list of ids.
    bos / eos / pad_token_id are generate's defaults when the folder has no generation_config.json."""
    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int = None
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tie_word_embeddings: bool = True
    bos_token_id: int = 50256
    eos_token_id: int = 50256
    pad_token_id: int = None

    def __post_init__(self):
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        inner = self.n_inner
        if inner is not None and (isinstance(inner, bool) or not isinstance(inner, numbers.Integral) or inner < 0):
            raise ValueError(f"GPTConfig: n_inner must be None (4 * n_embd) or an int >= 0, got {inner!r}")
        if self.activation_function not in ACTIVATIONS:
            raise ValueError(f"GPTConfig: activation_function must be one of {ACTIVATIONS}, "
                             f"got {self.activation_function!r}")
        if not isinstance(self.layer_norm_epsilon, numbers.Real) or not self.layer_norm_epsilon >= 0:
            raise ValueError(f"GPTConfig: layer_norm_epsilon must be >= 0, got {self.layer_norm_epsilon!r}")
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"GPTConfig: {name} must be in [0, 1), got {getattr(self, name)!r}")

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    # transformers' GPT2Config reads these names too
    hidden_size = property(lambda self: self.n_embd)
    num_attention_heads = property(lambda self: self.n_head)
    num_hidden_layers = property(lambda self: self.n_layer)
    max_position_embeddings = property(lambda self: self.n_positions)

    @classmethod
    def from_dict(cls, d, source="config"):
        """From a config.json's dict: a GPT-2 config (model_type 'gpt2'); unknown keys are ignored,
        n_ctx is an old name of n_positions."""
        check_model_type(d, "gpt2", source)
        if d.get("add_cross_attention"):
            raise ValueError(f"{source}: cross-attention (add_cross_attention) is not supported")
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        if "n_positions" not in kwargs and "n_ctx" in d:
            kwargs["n_positions"] = d["n_ctx"]
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path):
        return cls.from_dict(read_json(path), source=os.fspath(path))

    def to_dict(self):
        d = asdict(self)
        d.update(model_type="gpt2", architectures=["GPT2LMHeadModel"], n_ctx=self.n_positions)
        return d


class Conv1D(Module):
    """Hugging Face's GPT-2 projection: y = x @ weight + bias with weight (in_features, out_features),
    the transpose of Linear's layout (linear reads weight.T in place). `activation` is fused into the
    GEMM when no gradient is needed."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_core.empty(in_features, out_features))
        self.bias = Parameter(_core.zeros(out_features))

    def forward(self, x, activation="linear"):  # (*, in) -> (*, out); activation: a config's name
        return linear_activation(x, self.weight.transpose(0, 1), self.bias, activation)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class GenerationConfig(dict):
    """generate's defaults (a folder's generation_config.json), read and set as a dict or, as
    transformers' GenerationConfig, by attribute: model.generation_config.pad_token_id = 50256. A
    field not set reads as None."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        self.pop(name, None)


class KVCache:
    """Keys and values of the positions seen so far, per layer: buffers (B, H, max_length, hd)
    allocated once. `length` positions are filled; `update` writes the next ones in place and
    returns views of the filled prefix. max_length=None: buffers that start small and double when
    full, up to the model's context (what forward(use_cache=True) makes, as transformers' cache
    grows)."""

    def __init__(self, config, batch_size, max_length=None, dtype=None):
        if max_length is not None and max_length > config.n_positions:
            raise ValueError(f"KVCache: max_length={max_length} exceeds the model's context n_positions="
                             f"{config.n_positions}")
        self.growable, self.limit = max_length is None, config.n_positions
        capacity = min(64, config.n_positions) if max_length is None else max_length
        shape = (batch_size, config.n_head, capacity, config.head_dim)
        self.keys = [_core.zeros(*shape, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [_core.zeros(*shape, dtype=dtype) for _ in range(config.n_layer)]
        self.batch_size, self.max_length, self.length = batch_size, capacity, 0

    def _grow(self, end):
        """Buffers for at least `end` positions (twice as many, up to the context), the filled prefix copied."""
        capacity = min(max(end, 2 * self.max_length), self.limit)
        for buffers in (self.keys, self.values):
            for layer, old in enumerate(buffers):
                B, H, _, hd = old.shape
                buffers[layer] = _core.zeros(B, H, capacity, hd, dtype=old.dtype)
                buffers[layer][:, :, :self.length] = old[:, :, :self.length]
        self.max_length = capacity

    def update(self, layer, k, v):  # k, v (B, H, T, hd) of the next T positions -> (B, H, length + T, hd)
        end = self.length + k.shape[2]
        if end > self.max_length and self.growable and end <= self.limit:
            self._grow(end)
        if end > self.max_length:
            raise ValueError(f"KVCache: {end} positions do not fit its max_length={self.max_length}")
        self.keys[layer][:, :, self.length:end] = k
        self.values[layer][:, :, self.length:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def reorder(self, rows):
        """Row b of the batch takes what row rows[b] held (beam search: each beam continues one of the
        step before); rows: an int64 Tensor (batch_size,)."""
        for buffers in (self.keys, self.values):
            for layer, buffer in enumerate(buffers):
                filled = buffer[:, :, :self.length]
                filled.copy_(filled.index_select(0, rows))


class CausalSelfAttention(Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        C = config.n_embd
        self.n_head, self.layer_idx = config.n_head, layer_idx
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)
        self.attn_pdrop = config.attn_pdrop
        self.resid_dropout = Dropout(config.resid_pdrop)
        scale = 1.0 / math.sqrt(config.head_dim) if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def forward(self, x, mask, cache=None, output_attentions=False):
        """x (B, T, C) -> ((B, T, C), the weights (B, H, T, past + T) with output_attentions, else None);
        mask: see GPT._attention_mask."""
        B, T, C = x.shape
        qkv = self.c_attn(x).reshape(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        q, k, v = qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)
        if cache is not None:
            if k.requires_grad:
                raise ValueError("GPT: a KV cache is for inference; call the model under pyseq.no_grad() to use one")
            k, v = cache.update(self.layer_idx, k, v)  # (B, H, past + T, hd)
        attn_mask, is_causal = mask
        p = self.attn_pdrop if self.training else 0.0
        if output_attentions:  # the plain path, which also returns the weights: after dropout, as transformers'
            y, weights = F.attention_with_weights(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=self.scale)
            if p > 0:
                weights = F.dropout(weights, p)
                y = weights.matmul(v)
        else:
            y, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal,
                                                        scale=self.scale, dropout_p=p), None  # (B, H, T, hd)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C))), weights


class MLP(Module):
    def __init__(self, config):
        super().__init__()
        inner = config.n_inner if config.n_inner is not None else 4 * config.n_embd  # as transformers: 0 stays 0
        self.c_fc = Conv1D(config.n_embd, inner)
        self.c_proj = Conv1D(inner, config.n_embd)
        self.activation = config.activation_function
        self.dropout = Dropout(config.resid_pdrop)

    def forward(self, x):  # (B, T, C) -> (B, T, C)
        return self.dropout(self.c_proj(self.c_fc(x, activation=self.activation)))


class Block(Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x, mask, cache=None, output_attentions=False):  # (B, T, C) -> (B, T, C), weights or None
        y, weights = self.attn(self.ln_1(x), mask, cache, output_attentions)
        x = x + y
        return x + self.mlp(self.ln_2(x)), weights


class GPT2Model(Module):
    """The stack without the LM head: token + position embeddings, blocks, final LayerNorm."""

    def __init__(self, config):
        super().__init__()
        self.wte = Embedding(config.vocab_size, config.n_embd)
        self.wpe = Embedding(config.n_positions, config.n_embd)
        self.drop = Dropout(config.embd_pdrop)
        self.h = ModuleList([Block(config, i) for i in range(config.n_layer)])
        self.ln_f = LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(self, input_ids, position_ids, mask, cache=None, output_hidden_states=False, token_type_ids=None,
                output_attentions=False, inputs_embeds=None):
        """(B, T) int64 each -> ((B, T, C) after ln_f; with output_hidden_states the input of every block
        and the final output, as transformers' hidden_states, else None; with output_attentions each
        block's attention weights (B, H, T, past + T), else None). token_type_ids, as transformers'
        GPT-2: ids whose token embeddings are added too. inputs_embeds (B, T, C) stands for
        wte(input_ids)."""
        x = (self.wte(input_ids) if inputs_embeds is None else inputs_embeds) + self.wpe(position_ids)
        if token_type_ids is not None:
            x = x + self.wte(token_type_ids)
        x = self.drop(x)
        hidden, attentions = [], []
        for block in self.h:
            if output_hidden_states:
                hidden.append(x)
            x, weights = block(x, mask, cache, output_attentions)
            attentions.append(weights)
        x = self.ln_f(x)
        return (x, tuple(hidden + [x]) if output_hidden_states else None,
                tuple(attentions) if output_attentions else None)


@dataclass
class CausalLMOutput(ModelOutput):
    loss: object = None             # scalar Tensor, when labels were given
    logits: object = None           # (B, T, vocab_size), or (B, logits_to_keep, vocab_size)
    past_key_values: object = None  # the KVCache in use (cache, past_key_values or use_cache=True)
    hidden_states: tuple = None     # n_layer + 1 of (B, T, C), with output_hidden_states=True
    attentions: tuple = None        # n_layer of (B, n_head, T, past + T), with output_attentions=True


def _as_ids(value, what):
    return as_ids(value, what, "GPT")


class GPT(PretrainedModelMixin, Module):
    """GPT-2 with its LM head (the token embedding, tied, unless config.tie_word_embeddings is False):
    Hugging Face's GPT2LMHeadModel, same state-dict keys and layouts. `generation_config`: generate's
    defaults for eos_token_id and pad_token_id (a folder's generation_config.json, else the config's)."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
                                                  **({} if config.pad_token_id is None else
                                                     {"pad_token_id": config.pad_token_id}))
        self.transformer = GPT2Model(config)
        if not config.tie_word_embeddings:
            self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        """Hugging Face's initialisation: weights N(0, initializer_range), biases 0, LayerNorms 1 and 0;
        each residual projection (attn.c_proj, mlp.c_proj) N(0, initializer_range / sqrt(2 n_layer))."""
        std = self.config.initializer_range
        for name, p in self.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                init.ones_(p)
            elif name.endswith("bias"):
                init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            else:
                init.normal_(p, 0.0, std)

    def _input_embeddings_at(self):
        return self.transformer, "wte"

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Module.load_state_dict; a tied model leaves out the lm_head.weight that transformers' state
        dicts hold (a second name for the token embedding)."""
        if self.config.tie_word_embeddings and "lm_head.weight" in state_dict:
            state_dict = {k: v for k, v in state_dict.items() if k != "lm_head.weight"}
        return super().load_state_dict(state_dict, strict, assign)

    def _vocab_rows(self):
        return [] if self.config.tie_word_embeddings else [(self.lm_head, "weight", "mean")]

    # --- forward ---

    def _head_weight(self):
        return self.transformer.wte.weight if self.config.tie_word_embeddings else self.lm_head.weight

    def _check_ids(self, ids, what="input_ids"):
        check_ids(ids, self.config.vocab_size, what, "GPT")

    def _attention_mask(self, attention_mask, past, T):
        """(attn_mask, is_causal) for T new queries after `past` cached positions. attention_mask
        (B, past + T), 1 = real token, or None. The fused causal cut when nothing is padded and
        nothing is cached; else a bool (B or 1, 1, T, past + T): key j is seen by query i when
        j <= past + i and j is not padding."""
        padded = attention_mask is not None and not attention_mask.all()
        if not padded and past == 0:
            return None, T > 1
        if not padded and T == 1:
            return None, False
        keep = np.arange(past + T)[None, :] <= past + np.arange(T)[:, None]  # (T, past + T)
        if padded:
            keep = keep[None, None] & attention_mask.astype(bool)[:, None, None, :]  # (B, 1, T, past + T)
        return _core.from_numpy(np.ascontiguousarray(keep)), False

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, labels=None, cache=None, logits_to_keep=0,
                output_hidden_states=False, token_type_ids=None, return_dict=None, use_cache=None,
                output_attentions=False, inputs_embeds=None, past_key_values=None):
        """input_ids (B, T) int64 (a Tensor, array or lists) -> CausalLMOutput(loss, logits (B, T, V)).
        inputs_embeds (B, T, C), instead of input_ids: a Tensor (or array) that stands for their token
        embeddings; gradients flow back to a pyseq Tensor.

        attention_mask (B, past + T): 1 (or True, or any nonzero) for real tokens, 0 for padding (covering
        the cached positions too). position_ids (B, T), or (1, T) / (T,) for the whole batch: by default
        past .. past + T - 1. labels (B, T): the loss is the mean cross entropy of predicting
        labels[:, t + 1] from position t, ignoring -100 (labels = input_ids for a language model).
        cache (or transformers' name past_key_values): a KVCache that holds `past` positions and receives
        these (for inference, under no_grad); use_cache=True without one starts a growing cache. The
        cache in use is returned as out.past_key_values, to pass to the next call.
        logits_to_keep: compute the logits of only the last so many positions (0: all).
        output_hidden_states: also return the input of each block and the final normalised output.
        output_attentions: also return each block's attention weights (B, n_head, T, past + T), after
        dropout as transformers' (this takes the plain attention path: memory grows with T^2).
        token_type_ids (B, T): as transformers' GPT-2, their token embeddings are added to the input's.
        return_dict=False returns out.to_tuple()."""
        if isinstance(logits_to_keep, bool) or not isinstance(logits_to_keep, numbers.Integral) or logits_to_keep < 0:
            raise ValueError(f"GPT: logits_to_keep must be an int >= 0 (0: every position), got {logits_to_keep!r}")
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("GPT: pass either input_ids or inputs_embeds (exactly one of them)")
        if input_ids is not None:
            ids = _as_ids(input_ids, "input_ids")
            if ids.ndim == 1:
                ids = ids[None, :]
            if ids.ndim != 2 or ids.shape[1] == 0:
                raise ValueError(f"GPT: expected input_ids of shape (batch, length >= 1), got {ids.shape}")
            self._check_ids(ids)
            B, T = ids.shape
            ids = _core.from_numpy(np.ascontiguousarray(ids))
        else:
            inputs_embeds = embeddings_tensor(inputs_embeds, self.transformer.wte.weight.dtype, "GPT")
            if inputs_embeds.ndim != 3 or inputs_embeds.shape[2] != self.config.n_embd or inputs_embeds.shape[1] == 0:
                raise ValueError(f"GPT: expected inputs_embeds of shape (batch, length >= 1, n_embd="
                                 f"{self.config.n_embd}), got {tuple(inputs_embeds.shape)}")
            B, T = inputs_embeds.shape[:2]
            ids = None
        if past_key_values is not None:
            if cache is not None and cache is not past_key_values:
                raise ValueError("GPT: pass the KV cache as cache or as past_key_values, not both")
            cache = past_key_values
        if cache is not None and not isinstance(cache, KVCache):
            raise TypeError(f"GPT: the cache must be a KVCache (out.past_key_values of an earlier call), got "
                            f"{type(cache).__name__}")
        if cache is None and use_cache:
            cache = KVCache(self.config, B, dtype=self.transformer.wte.weight.dtype)
        past = cache.length if cache is not None else 0
        if past + T > self.config.n_positions:
            raise ValueError(f"GPT: {past + T} positions exceed the model's context n_positions="
                             f"{self.config.n_positions}")
        if cache is not None and cache.batch_size != B:
            raise ValueError(f"GPT: the cache holds a batch of {cache.batch_size}, input_ids a batch of {B}")
        mask = None
        if attention_mask is not None:
            mask = as_mask(attention_mask, "attention_mask", "GPT")
            if mask.shape != (B, past + T):
                raise ValueError(f"GPT: expected attention_mask of shape {(B, past + T)} (past + new positions), "
                                 f"got {mask.shape}")
        if position_ids is None:
            positions = np.broadcast_to(np.arange(past, past + T, dtype=np.int64), (B, T))
        else:
            positions = batch_ids(position_ids, "position_ids", "GPT", B, T)
            if positions.min() < 0 or positions.max() >= self.config.n_positions:
                raise IndexError(f"GPT: position_ids must be in [0, {self.config.n_positions}), got "
                                 f"[{positions.min()}, {positions.max()}]")
        types = None
        if token_type_ids is not None:
            types = batch_ids(token_type_ids, "token_type_ids", "GPT", B, T)
            self._check_ids(types, "token_type_ids")
            types = _core.from_numpy(np.ascontiguousarray(types))
        h, hidden, attentions = self.transformer(ids, _core.from_numpy(np.ascontiguousarray(positions)),
                                                 self._attention_mask(mask, past, T), cache, output_hidden_states,
                                                 types, output_attentions, inputs_embeds)  # (B, T, C)
        if cache is not None:
            cache.length += T
        if logits_to_keep and logits_to_keep < T:
            h = h.narrow(1, T - logits_to_keep, logits_to_keep)
        logits = F.linear(h, self._head_weight())  # (B, T', V)
        loss = None
        if labels is not None:
            if logits.shape[1] != T:
                raise ValueError("GPT: labels need the logits of every position (logits_to_keep=0)")
            loss = causal_lm_loss(logits, labels, "GPT")
        out = CausalLMOutput(loss=loss, logits=logits, past_key_values=cache, hidden_states=hidden,
                             attentions=attentions)
        return returned(out, return_dict)

    # --- optimisation ---

    def configure_optimizers(self, weight_decay=0.1, learning_rate=6e-4, betas=(0.9, 0.95), eps=1e-8):
        """AdamW with two parameter groups: weight decay on the matrices of the projections, none on
        biases, LayerNorms and the (tied) embeddings."""
        decay, no_decay = [], []
        for name, p in self.named_parameters():
            (decay if p.dim() >= 2 and "wte" not in name and "wpe" not in name else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return optim.AdamW(groups, lr=learning_rate, betas=betas, eps=eps)

    # --- Hugging Face folders ---

    @classmethod
    def from_pretrained(cls, path):
        """Loads a folder with config.json and model.safetensors as written by transformers'
        GPT2LMHeadModel.save_pretrained (keys with or without the 'transformer.' prefix) and its
        generation_config.json when there, in eval mode as transformers does (call model.train() to
        train it). Weights the model does not use are left out with a warning, as transformers does."""
        config_path, weights_path = folder_files(path, "GPT")
        d = read_json(config_path)
        model = skip_init(cls, GPTConfig.from_dict(d, source=config_path))  # every weight comes from the file
        if is_float64_checkpoint(d):
            model.double()
        generation_path = os.path.join(os.fspath(path), "generation_config.json")
        if os.path.isfile(generation_path):
            model.generation_config.update(read_json(generation_path))
        state = {}
        for key, value in load_file(weights_path).items():
            if key.endswith(".attn.bias") or key.endswith(".attn.masked_bias"):
                continue  # the causal-mask buffers of old checkpoints
            if not key.startswith("transformer.") and not key.startswith("lm_head."):
                key = "transformer." + key
            state[key] = value
        try:
            missing, unused = model.load_state_dict(state, strict=False)
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"GPT.from_pretrained: {weights_path} does not fit {config_path}: {e}") from None
        if missing:
            raise ValueError(f"GPT.from_pretrained: {weights_path} does not fit {config_path}: it lacks "
                             + ", ".join(missing))
        warn_unused("GPT", weights_path, unused)
        return model.eval()  # as transformers: dropout off until model.train()

    @classmethod
    def from_gguf(cls, path):
        """Loads a GPT-2 from a GGUF file (llama.cpp's "gpt2" architecture, as its convert_hf_to_gguf.py
        writes it; F32, F16, BF16, Q8_0 or Q4_0 weights, dequantised to float32), in eval mode."""
        from ..io.gguf import read_gguf
        meta, tensors = read_gguf(path)
        arch = meta.get("general.architecture")
        if arch != "gpt2":
            raise ValueError(f"GPT.from_gguf: {path} holds a {arch!r} model; pyseq's GPT reads 'gpt2'")
        try:
            config = GPTConfig(vocab_size=tensors["token_embd.weight"].shape[0],
                               n_positions=meta["gpt2.context_length"], n_embd=meta["gpt2.embedding_length"],
                               n_layer=meta["gpt2.block_count"], n_head=meta["gpt2.attention.head_count"],
                               n_inner=meta.get("gpt2.feed_forward_length"),
                               layer_norm_epsilon=meta.get("gpt2.attention.layer_norm_epsilon", 1e-5),
                               tie_word_embeddings="output.weight" not in tensors,
                               bos_token_id=meta.get("tokenizer.ggml.bos_token_id", 50256),
                               eos_token_id=meta.get("tokenizer.ggml.eos_token_id", 50256))
        except KeyError as e:
            raise ValueError(f"GPT.from_gguf: {path} lacks {e.args[0]!r}") from None
        names = {"token_embd": "wte", "position_embd": "wpe", "output_norm": "ln_f"}
        per_layer = {"attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj", "ffn_norm": "ln_2",
                     "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"}
        state = {}
        for name, value in tensors.items():
            stem, _, kind = name.rpartition(".")  # kind: weight or bias
            parts = stem.split(".")
            if stem == "output":
                key = "lm_head"
            elif stem in names:
                key = "transformer." + names[stem]
            elif len(parts) == 3 and parts[0] == "blk" and parts[2] in per_layer:
                key = f"transformer.h.{parts[1]}.{per_layer[parts[2]]}"
                if kind == "weight" and parts[2] not in ("attn_norm", "ffn_norm"):
                    value = value.T  # GGUF keeps torch's (out, in); Conv1D stores (in, out)
            else:
                raise ValueError(f"GPT.from_gguf: {path} has a tensor {name!r} that a gpt2 model does not")
            state[f"{key}.{kind}"] = _core.from_numpy(np.ascontiguousarray(value))
        model = skip_init(cls, config)  # load_state_dict (strict) writes every weight
        try:
            model.load_state_dict(state)
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"GPT.from_gguf: the tensors of {path} do not fit its metadata: {e}") from None
        return model.eval()

    def save_pretrained(self, path):
        """Writes config.json, generation_config.json and model.safetensors (Hugging Face's key names and
        layouts), each atomically."""
        save_folder(path, with_dtype(self.config.to_dict(), self), self.state_dict())
        write_json(os.path.join(os.fspath(path), "generation_config.json"), self.generation_config)

    # --- generation ---

    def _special_ids(self, eos_token_id, pad_token_id):
        """(eos ids (n,) int64 or None, pad_token_id or None) with transformers' defaults: eos_token_id
        left out is the generation_config's (None: never stop); pad_token_id None is the
        generation_config's."""
        if eos_token_id is _FROM_CONFIG:
            eos_token_id = self.generation_config.get("eos_token_id")
        eos = None
        if eos_token_id is not None:
            eos = _as_ids(eos_token_id, "eos_token_id").reshape(-1)
            if eos.size == 0:
                raise ValueError("GPT.generate: eos_token_id must be an id or a non-empty list of ids (None: no eos)")
        if pad_token_id is None:
            pad_token_id = self.generation_config.get("pad_token_id")
        return eos, pad_token_id

    def _prompts(self, input_ids, attention_mask, pad_token_id, eos):
        """(ids (B, L), mask (B, L) int64). A list of prompts of different lengths is padded on the
        left. Else input_ids is (B, L) and the mask is attention_mask, or, as transformers infers it,
        ids != pad_token_id when the prompts hold pad_token_id and it is not an eos id (all ones otherwise)."""
        pad = _pad_id(pad_token_id, eos)
        rows = input_ids if isinstance(input_ids, (list, tuple)) and input_ids and all(
            isinstance(r, (list, tuple, np.ndarray)) for r in input_ids) else None
        if rows is not None and len({len(r) for r in rows}) > 1:  # prompts of different lengths
            if attention_mask is not None:
                raise ValueError("GPT.generate: with attention_mask, input_ids must be (batch, length); leave the "
                                 "mask out for a list of prompts of different lengths")
            rows = [_as_ids(r, "input_ids") for r in rows]
            if any(r.ndim != 1 for r in rows):
                raise ValueError("GPT.generate: each prompt must be a flat list of token ids")
            L = max(len(r) for r in rows)
            ids = np.full((len(rows), L), pad, dtype=np.int64)
            mask = np.zeros((len(rows), L), dtype=bool)
            for b, r in enumerate(rows):
                if len(r):
                    ids[b, L - len(r):], mask[b, L - len(r):] = r, True
        else:
            ids = _as_ids(input_ids, "input_ids")
            if ids.ndim == 1:
                ids = ids[None, :]
            if ids.ndim != 2:
                raise ValueError(f"GPT.generate: expected input_ids (batch, length) or a list of prompts, got "
                                 f"shape {ids.shape}")
            given = None
            if attention_mask is not None:
                given = as_mask(attention_mask, "attention_mask", "GPT")
                if given.ndim == 1:
                    given = given[None, :]
                if given.shape != ids.shape:
                    raise ValueError(f"GPT.generate: attention_mask {given.shape} does not match input_ids {ids.shape}")
            self._warn_about_padding(ids, given, pad_token_id, eos)
            if given is not None:
                mask = given
            elif pad_token_id is not None and (ids == pad).any() and (eos is None or pad not in eos):
                mask = ids != pad
            else:
                mask = np.ones(ids.shape, dtype=bool)
        if ids.shape[0] == 0 or not mask.any(axis=1).all():
            raise ValueError("GPT.generate: every prompt needs at least one token")
        self._check_ids(ids[mask], "the prompt")
        return np.ascontiguousarray(ids), mask.astype(np.int64)

    @staticmethod
    def _warn_about_padding(ids, mask, pad_token_id, eos):
        """transformers' warnings for a batch (B, L) that may be badly padded (mask: the attention_mask
        given, or None): padding it cannot find (no mask, and the pad id is an eos id) and padding on the
        right (a last position masked, or without a mask, holding the pad id)."""
        if ids.shape[0] < 2 or ids.shape[1] == 0 or (pad_token_id is None and eos is None):
            return
        pad = _pad_id(pad_token_id, eos)
        if mask is None and eos is not None and pad in eos:
            warnings.warn("GPT.generate: a batch without attention_mask whose pad id is an eos id (pad_token_id "
                          "defaults to the first): as in transformers, the mask cannot be inferred from the padding "
                          "and every position is attended; pass attention_mask", stacklevel=4)
        if (~mask[:, -1] if mask is not None else ids[:, -1] == pad).any():
            warnings.warn("GPT.generate: right-padding was detected; GPT-2 continues the last position, so pad "
                          "prompts on the left", stacklevel=4)

    def stream(self, input_ids, max_new_tokens=None, temperature=None, top_k=None, top_p=None, do_sample=None,
               eos_token_id=_FROM_CONFIG, seed=None, pad_token_id=None, attention_mask=None, **options):
        """Yields the next token of every prompt, an int64 array (B,), as soon as it is made; a prompt
        that has produced an eos id gets pad_token_id from then on, and the stream ends when all
        have (or after max_new_tokens). The arguments are generate's (not num_beams: beam search
        knows its tokens only at the end)."""
        ids, mask, decoding, eos, pad, new_tokens = self._prepare(
            input_ids, max_new_tokens, temperature, top_k, top_p, do_sample, eos_token_id, pad_token_id,
            attention_mask, options)
        if decoding.num_beams > 1:
            raise ValueError("GPT.stream: beam search knows its tokens only at the end; use generate for num_beams > 1")
        yield from self._steps(*decoding.repeated(ids, mask), new_tokens, decoding, eos, seed, pad)

    def _prepare(self, input_ids, max_new_tokens, temperature, top_k, top_p, do_sample, eos_token_id, pad_token_id,
                 attention_mask, options):
        """generate's arguments checked -> (ids, mask (B, L) of the prompts, the _Decoding, eos ids or
        None, the pad id, how many tokens to make at most)."""
        eos, pad_token_id = self._special_ids(eos_token_id, pad_token_id)
        ids, mask = self._prompts(input_ids, attention_mask, pad_token_id, eos)
        config = self.generation_config

        def setting(value, name):  # the call's, else the model's generation_config's, else transformers' default
            if value is not None:
                return value
            return config[name] if config.get(name) is not None else _SAMPLING_DEFAULTS[name]

        temperature, top_k, top_p, do_sample = (setting(value, name) for value, name in
                                                zip((temperature, top_k, top_p, do_sample), _SAMPLING_DEFAULTS))
        options = {**{k: v for k, v in config.items() if k in _Decoding.OPTIONS and v is not None}, **options}
        if max_new_tokens is None:  # as transformers: max_new_tokens, the call's or the config's, before max_length
            max_new_tokens = config.get("max_new_tokens")
        ignored = [k for k, off in _UNSUPPORTED_SETTINGS.items() if config.get(k) is not None and config.get(k) != off]
        if ignored:
            warnings.warn(f"GPT.generate: the generation_config's {', '.join(ignored)} are not supported and are "
                          f"ignored (transformers would apply them)", stacklevel=3)
        decoding = _Decoding(temperature, top_k, top_p, do_sample, **options)
        return ids, mask, decoding, eos, _pad_id(pad_token_id, eos), decoding.new_tokens(max_new_tokens, ids.shape[1])

    def _steps(self, ids, mask, max_new_tokens, decoding, eos, seed, pad):
        """stream's loop over prepared prompts: ids, mask (B, L); decoding: a _Decoding; eos ids (n,)
        or None; pad: an id."""
        B, L = ids.shape
        length = L + max_new_tokens - 1  # the positions fed to the model: the last new token never is
        if length > self.config.n_positions:
            raise ValueError(f"GPT.generate: a prompt of {L} tokens plus max_new_tokens={max_new_tokens} exceeds "
                             f"the model's context n_positions={self.config.n_positions} (L + max_new_tokens - 1 "
                             f"positions are fed to it)")
        rng = np.random.default_rng(seed)
        cache = KVCache(self.config, B, length, dtype=self.transformer.wte.weight.dtype)
        full_mask = np.concatenate([mask, np.ones((B, max_new_tokens - 1), dtype=mask.dtype)], axis=1)  # (B, length)
        positions = _positions(mask)
        sequences = np.concatenate([ids, np.zeros((B, max_new_tokens), dtype=np.int64)], axis=1)  # for the penalties
        finished = np.zeros(B, dtype=bool)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                step_ids, step_positions = _feedable(ids, self.config.vocab_size), positions
                for step in range(max_new_tokens):
                    seen = full_mask[:, :cache.length + step_ids.shape[1]]  # (B, past + T)
                    logits = self(step_ids, attention_mask=seen, position_ids=step_positions, cache=cache,
                                  logits_to_keep=1).logits  # (B, 1, V)
                    scores = logits.numpy()[:, -1, :]  # (B, V) float32
                    token = decoding.next_tokens(scores, sequences[:, :L + step], step, eos, rng)
                    token = np.where(finished, pad, token).astype(np.int64)
                    sequences[:, L + step] = token
                    if eos is not None:
                        finished |= np.isin(token, eos)
                    yield token
                    if finished.all() or step + 1 == max_new_tokens:
                        return
                    step_ids = _feedable(token[:, None], self.config.vocab_size)
                    step_positions = step_positions[:, -1:] + 1
        finally:
            self.train(was_training)

    def generate(self, input_ids, max_new_tokens=None, temperature=None, top_k=None, top_p=None, do_sample=None,
                 eos_token_id=_FROM_CONFIG, seed=None, pad_token_id=None, attention_mask=None, **options):
        """The prompts followed by up to max_new_tokens (>= 1; default 20) generated tokens: an int64
        Tensor (B, L + n), prompts left-padded to the longest (L) with pad_token_id, as transformers'
        generate returns; a prompt of L tokens may get up to n_positions - L + 1 new ones.

        input_ids: (B, L) ids (Tensor, array or lists) or a list of prompts of different lengths.
        attention_mask (B, L) marks the padding of a (B, L) batch (int, bool or float); without it, as
        transformers does, the padding is the positions holding pad_token_id (unless that is an eos id).
        Greedy unless do_sample; sampling scales the logits by 1 / temperature, keeps the top_k most
        likely tokens (default 50; 0: all) and the smallest set whose probability reaches top_p
        (transformers' TopPLogitsWarper), then draws from a numpy Generator seeded by `seed`. A prompt
        stops at eos_token_id (an id or a list of ids; left out: generation_config's, the checkpoint's;
        None: never), then is padded with pad_token_id (default generation_config's, else the first eos
        id, else 0). As in transformers, what a call leaves out (None) comes from the model's
        generation_config (a folder's generation_config.json), then from these defaults; so do
        max_new_tokens / max_length and the options below.

        options, keyword only, as transformers' generate: max_length (prompt + new tokens, when
        max_new_tokens is left out), min_new_tokens and min_length (eos is barred until then),
        repetition_penalty (> 0; the scores of tokens already in the sequence, prompt included, are
        divided by it where positive and multiplied where negative), no_repeat_ngram_size (n > 0: no
        n-gram of the sequence is made twice), num_return_sequences (with do_sample: that many
        samples of each prompt, next to each other in the output), bad_words_ids (token sequences
        never completed), suppress_tokens (never made), begin_suppress_tokens (not made first),
        forced_bos_token_id (the token that follows a one-token prompt), forced_eos_token_id (an id or
        ids the last new token is made of), and for sampling min_p (drop tokens less likely than min_p
        times the likeliest), typical_p (transformers' typical sampling), epsilon_cutoff (drop tokens
        less likely than it) and eta_cutoff (drop those less likely than min(eta_cutoff,
        sqrt(eta_cutoff) e^-entropy)); the likeliest token always stays."""
        ids, mask, decoding, eos, pad, new_tokens = self._prepare(
            input_ids, max_new_tokens, temperature, top_k, top_p, do_sample, eos_token_id, pad_token_id,
            attention_mask, options)
        if decoding.num_beams > 1:
            out = self._beam_search(ids, mask, new_tokens, decoding, eos, pad)
        else:
            ids, mask = decoding.repeated(ids, mask)
            steps = self._steps(ids, mask, new_tokens, decoding, eos, seed, pad)
            out = np.concatenate([ids] + [t[:, None] for t in steps], axis=1)
        return _core.from_numpy(np.ascontiguousarray(out))

    def _beam_search(self, ids, mask, max_new_tokens, decoding, eos, pad):
        """transformers' beam search (its _beam_search, float32, step for step) over prompts ids, mask
        (B, L) -> (B num_return_sequences, L + n): per prompt the best hypotheses by their summed log
        probability over (new tokens) ** length_penalty. Each step keeps the best (1 + eos ids, at least
        2) x num_beams continuations of all beams: those ending in eos (or at the length limit) among
        the first num_beams become finished hypotheses, the best num_beams others run on. The search
        ends when no running beam can beat the worst of num_beams finished ones (early_stopping False:
        judged at the current length; "never": at the longest; True: as soon as num_beams are done)."""
        B, L = ids.shape
        K, V, n_eos = decoding.num_beams, self.config.vocab_size, 0 if eos is None else len(eos)
        max_length, keep = L + max_new_tokens, max(2, 1 + n_eos) * K
        if max_length - 1 > self.config.n_positions:
            raise ValueError(f"GPT.generate: a prompt of {L} tokens plus max_new_tokens={max_new_tokens} exceeds "
                             f"the model's context n_positions={self.config.n_positions}")
        if keep > K * V:
            raise ValueError(f"GPT.generate: beam search keeps {keep} continuations a step, more than the {K} beams x "
                             f"{V} tokens there are")
        lp, early = np.float32(decoding.length_penalty), decoding.early_stopping
        top_beams = np.arange(keep) < K  # (keep,): the candidates that may finish
        fill = (pad or eos[0]) if eos is not None else -1  # transformers' output fill value
        big = np.float32(-1e9)
        running = np.full((B, K, max_length), fill, dtype=np.int64)
        running[:, :, :L] = ids[:, None, :]
        finished_seqs = running.copy()
        running_scores = np.zeros((B, K), dtype=np.float32)
        running_scores[:, 1:] = big  # the beams start equal: only the first one's continuations count
        finished_scores = np.full((B, K), big, dtype=np.float32)
        is_finished = np.zeros((B, K), dtype=bool)
        open_ = np.ones((B, 1), dtype=bool)  # whether a running beam may still beat the finished ones
        running_from = np.full((B, K, max_new_tokens), -1, dtype=np.int64)  # the beam each step continued
        finished_from = running_from.copy()
        batch_rows = np.arange(B)[:, None]

        def gather(a, index):  # a (B, n, ...) -> (B, m, ...) at index (B, m)
            return a[batch_rows, index]

        flat_mask = np.repeat(mask, K, axis=0)
        full_mask = np.concatenate([flat_mask, np.ones((B * K, max_new_tokens - 1), dtype=mask.dtype)], axis=1)
        positions = _positions(flat_mask)
        cache = KVCache(self.config, B * K, max_length - 1, dtype=self.transformer.wte.weight.dtype)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                step_ids, step_positions, cur = np.repeat(_feedable(ids, V), K, axis=0), positions, L
                while True:
                    seen = full_mask[:, :cache.length + step_ids.shape[1]]
                    logits = self(step_ids, attention_mask=seen, position_ids=step_positions, cache=cache,
                                  logits_to_keep=1).logits.select(1, 0)  # (B K, V)
                    log_probs = decoding.process(F.log_softmax(logits, dim=-1).numpy(),
                                                 running[:, :, :cur].reshape(B * K, cur), cur - L, eos)
                    total = (log_probs.reshape(B, K, V) + running_scores[:, :, None]).reshape(B, K * V)
                    best = _top(total, keep)  # the best continuations of all beams
                    cand_scores, cand_beam, cand_token = np.take_along_axis(total, best, axis=1), best // V, best % V
                    cand_seqs, cand_from = gather(running, cand_beam), gather(running_from, cand_beam)
                    cand_seqs[:, :, cur] = cand_token
                    cand_from[:, :, cur - L] = cand_beam + batch_rows * K
                    hits = np.full((B, keep), cur + 1 >= max_length)  # transformers' stopping criteria
                    if eos is not None:
                        hits |= np.isin(cand_token, eos)
                    # the best num_beams that go on
                    go_on = cand_scores + hits.astype(np.float32) * big
                    order = _top(go_on, K)
                    running, running_scores, running_from = (gather(a, order) for a in (cand_seqs, go_on, cand_from))
                    # the finished ones, scored with the length penalty, merged with those before
                    just_done = hits & top_beams[None, :]
                    done_scores = cand_scores / np.float32((cur + 1 - L) ** lp)
                    full = is_finished.all(axis=1, keepdims=True) & (early is True)
                    done_scores = done_scores + full * big + (~open_) * big + (~just_done) * big
                    merged_scores = np.concatenate([finished_scores, done_scores], axis=1)
                    order = _top(merged_scores, K)
                    finished_seqs = gather(np.concatenate([finished_seqs, cand_seqs], axis=1), order)
                    finished_from = gather(np.concatenate([finished_from, cand_from], axis=1), order)
                    is_finished = gather(np.concatenate([is_finished, just_done], axis=1), order)
                    finished_scores = gather(merged_scores, order)
                    cur += 1
                    longest = max_length - L if early == "never" and lp > 0 else cur - L
                    best_running = running_scores[:, :1] / np.float32(longest ** lp)
                    worst_done = np.where(is_finished, finished_scores.min(axis=1, keepdims=True), big)
                    open_ &= (best_running > worst_done).any(axis=1, keepdims=True)
                    if not (open_.any() and not (is_finished.all() and early is True) and not hits.all()):
                        break
                    cache.reorder(_core.from_numpy(np.ascontiguousarray(running_from[:, :, cur - 1 - L].reshape(-1))))
                    step_ids = running[:, :, cur - 1].reshape(B * K, 1)
                    step_positions = step_positions[:, -1:] + 1
        finally:
            self.train(was_training)
        n = decoding.num_return_sequences
        out, made = finished_seqs[:, :n].reshape(B * n, -1), finished_from[:, :n].reshape(B * n, -1)
        return out[:, :L + int((made >= 0).sum(axis=1).max())]

    def stream_text(self, tokenizer, prompt, max_new_tokens=None, **kwargs):
        """Yields the generated text of one prompt piece by piece, as tokens are made, through the
        tokenizer's incremental decoder (a piece never splits a UTF-8 character). kwargs: generate's."""
        ids = tokenizer.encode_ids(prompt) if isinstance(prompt, str) else prompt
        decoder = tokenizer.decode_stream()
        for token in self.stream([list(ids)], max_new_tokens, **kwargs):
            piece = decoder.step([int(token[0])])
            if piece:
                yield piece
        rest = decoder.flush()
        if rest:
            yield rest


GPT2LMHeadModel = GPT


_SAMPLING_DEFAULTS = {"temperature": 1.0, "top_k": 50, "top_p": 1.0, "do_sample": False}  # transformers'
# transformers' generation settings that change the tokens and that pyseq does not implement, with
# the value that turns each off (a generation_config.json holding another value gets a warning)
_UNSUPPORTED_SETTINGS = {"sequence_bias": None, "top_h": None, "diversity_penalty": 0.0, "num_beam_groups": 1,
                         "encoder_repetition_penalty": 1.0, "exponential_decay_length_penalty": None,
                         "penalty_alpha": None, "constraints": None, "force_words_ids": None,
                         "renormalize_logits": False, "guidance_scale": None, "watermarking_config": None}


class _Decoding:
    """How generate picks each next token, with transformers' generate arguments and checks: its
    logits processors (repetition_penalty, no_repeat_ngram_size, min_new_tokens / min_length) in
    its order, then greedy or sampling through the warpers (temperature, top_k, top_p, min_p,
    typical_p, epsilon_cutoff, eta_cutoff)."""
    OPTIONS = ("max_length", "min_new_tokens", "min_length", "repetition_penalty", "no_repeat_ngram_size",
               "num_return_sequences", "num_beams", "length_penalty", "early_stopping", "bad_words_ids",
               "suppress_tokens", "begin_suppress_tokens", "forced_bos_token_id", "forced_eos_token_id", "min_p",
               "typical_p", "epsilon_cutoff", "eta_cutoff")
    # (generation_config's fields of these names are defaults too)

    def __init__(self, temperature, top_k, top_p, do_sample, max_length=None, min_new_tokens=0, min_length=0,
                 repetition_penalty=1.0, no_repeat_ngram_size=0, num_return_sequences=1, num_beams=1,
                 length_penalty=1.0, early_stopping=False, use_cache=True, bad_words_ids=None, suppress_tokens=None,
                 begin_suppress_tokens=None, forced_bos_token_id=None, forced_eos_token_id=None, min_p=None,
                 typical_p=1.0, epsilon_cutoff=None, eta_cutoff=None, **unknown):
        # use_cache: generation always keeps a KV cache (transformers' use_cache=False gives the same tokens)
        if unknown:
            supported = [n for n in inspect.signature(_Decoding.__init__).parameters if n not in ("self", "unknown")]
            raise TypeError(f"GPT.generate: unexpected argument(s) {', '.join(sorted(unknown))}; besides input_ids, "
                            f"max_new_tokens, eos_token_id, seed, pad_token_id and attention_mask it takes "
                            f"{', '.join(supported)}")
        if do_sample:
            if not isinstance(temperature, numbers.Real) or not temperature > 0:
                raise ValueError(f"GPT.generate: temperature must be > 0 when sampling, got {temperature!r}")
            if top_p is not None and not (isinstance(top_p, numbers.Real) and 0 < top_p <= 1):
                raise ValueError(f"GPT.generate: top_p must be in (0, 1], got {top_p!r}")
            _check_count(top_k, "top_k", " (0: off)", allow_none=True)
            if min_p is not None and not (isinstance(min_p, numbers.Real) and 0 <= min_p <= 1):
                raise ValueError(f"GPT.generate: min_p must be in [0, 1] (None: off), got {min_p!r}")
            if not (isinstance(typical_p, numbers.Real) and 0 < typical_p <= 1):
                raise ValueError(f"GPT.generate: typical_p must be in (0, 1] (1: off), got {typical_p!r}")
            for value, name in [(epsilon_cutoff, "epsilon_cutoff"), (eta_cutoff, "eta_cutoff")]:
                if value is not None and not (isinstance(value, numbers.Real) and 0 <= value < 1):
                    raise ValueError(f"GPT.generate: {name} must be in [0, 1) (0 or None: off), got {value!r}")
        if not isinstance(repetition_penalty, numbers.Real) or not repetition_penalty > 0:
            raise ValueError(f"GPT.generate: repetition_penalty must be a number > 0 (1.0: off), got "
                             f"{repetition_penalty!r}")
        for value, name in [(no_repeat_ngram_size, "no_repeat_ngram_size"), (min_new_tokens, "min_new_tokens"),
                            (min_length, "min_length")]:
            _check_count(value, name, " (0: off)")
        _check_count(max_length, "max_length", "", allow_none=True)
        _check_count(num_return_sequences, "num_return_sequences", "", minimum=1)
        _check_count(num_beams, "num_beams", "", minimum=1)
        if num_beams > 1 and do_sample:
            raise ValueError("GPT.generate: beam search here is deterministic; pass do_sample=False with num_beams > 1")
        if num_return_sequences > num_beams and not do_sample:
            raise ValueError(f"GPT.generate: greedy decoding and beam search give at most num_beams={num_beams} "
                             f"sequences per prompt; num_return_sequences={num_return_sequences} needs do_sample=True "
                             f"or as many beams")
        if not isinstance(length_penalty, numbers.Real) or not math.isfinite(length_penalty):
            raise ValueError(f"GPT.generate: length_penalty must be a finite number, got {length_penalty!r}")
        if early_stopping not in (True, False, "never"):
            raise ValueError(f"GPT.generate: early_stopping must be True, False or 'never', got {early_stopping!r}")
        self.temperature, self.top_k, self.top_p, self.do_sample = temperature, top_k, top_p, do_sample
        self.min_p, self.typical_p = min_p, typical_p
        self.epsilon_cutoff, self.eta_cutoff = epsilon_cutoff or 0.0, eta_cutoff or 0.0
        self.max_length, self.min_new_tokens, self.min_length = max_length, min_new_tokens, min_length
        self.repetition_penalty, self.no_repeat_ngram_size = float(repetition_penalty), no_repeat_ngram_size
        self.num_return_sequences, self.num_beams = num_return_sequences, num_beams
        self.length_penalty, self.early_stopping = float(length_penalty), early_stopping
        self.bad_words = [_ids_list(w, "bad_words_ids", "a list of token-id lists") for w in bad_words_ids or ()]
        if any(not w for w in self.bad_words):
            raise ValueError("GPT.generate: bad_words_ids must be a list of non-empty token-id lists")
        self.suppress = _ids_list(suppress_tokens, "suppress_tokens", "a list of token ids")
        self.begin_suppress = _ids_list(begin_suppress_tokens, "begin_suppress_tokens", "a list of token ids")
        self.forced_eos = _ids_list(forced_eos_token_id, "forced_eos_token_id", "an id or a list of ids")
        if forced_bos_token_id is not None and (isinstance(forced_bos_token_id, bool) or not isinstance(
                forced_bos_token_id, numbers.Integral) or forced_bos_token_id < 0):
            raise ValueError(f"GPT.generate: forced_bos_token_id must be a token id (an int >= 0), got "
                             f"{forced_bos_token_id!r}")
        self.forced_bos = forced_bos_token_id
        self.max_new = None  # set by new_tokens

    def repeated(self, ids, mask):
        """The prompts' rows, each num_return_sequences times in a row (sampling draws each anew)."""
        return np.repeat(ids, self.num_return_sequences, axis=0), np.repeat(mask, self.num_return_sequences, axis=0)

    def new_tokens(self, max_new_tokens, prompt_length):
        """How many tokens to make at most: max_new_tokens, else max_length - the prompt's length, else 20."""
        if max_new_tokens is None:
            if self.max_length is None:
                max_new_tokens = 20
            elif self.max_length <= prompt_length:
                raise ValueError(f"GPT.generate: max_length={self.max_length} leaves no room after a prompt of "
                                 f"{prompt_length} tokens; pass max_new_tokens")
            else:
                max_new_tokens = self.max_length - prompt_length
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 1:
            raise ValueError(f"GPT.generate: max_new_tokens must be greater than 0, got {max_new_tokens!r}")
        self.max_new = int(max_new_tokens)
        return self.max_new

    def next_tokens(self, scores, sequences, made, eos, rng):
        """scores (B, V) float32 of the next position, after sequences (B, n) (the padded prompts, then
        `made` new tokens) -> the next tokens (B,)."""
        scores = self.process(scores, sequences, made, eos)
        if self.do_sample:
            return _sample(scores, self.temperature, self.top_k, self.top_p, rng, self.min_p, self.typical_p,
                           self.epsilon_cutoff, self.eta_cutoff)
        return scores.argmax(axis=1)

    def process(self, scores, sequences, made, eos):
        """transformers' logits processors, in its order -> scores (B, V) float32."""
        if self.repetition_penalty != 1.0:  # RepetitionPenaltyLogitsProcessor
            scores = scores.copy()
            seen = np.take_along_axis(scores, sequences, axis=1)
            penalty = np.float32(self.repetition_penalty)
            np.put_along_axis(scores, sequences, np.where(seen < 0, seen * penalty, seen / penalty), axis=1)
        n = self.no_repeat_ngram_size
        if n and sequences.shape[1] + 1 >= n:  # NoRepeatNGramLogitsProcessor
            scores = scores.copy()
            for row, seq in enumerate(sequences):
                grams = np.lib.stride_tricks.sliding_window_view(seq, n)  # (n_grams, n)
                tail = seq[len(seq) - n + 1:]  # the n - 1 tokens an n-gram would continue
                scores[row, grams[(grams[:, :-1] == tail).all(axis=1), -1]] = -np.inf
        if self.bad_words:  # NoBadWordsLogitsProcessor: the last token of a banned sequence whose start just came
            scores = scores.copy()
            for word in self.bad_words:
                if word[-1] < scores.shape[1] and len(word) - 1 <= sequences.shape[1] and not (
                        eos is not None and len(word) == 1 and word[0] in eos):  # (a lone eos is never banned)
                    hit = (sequences[:, sequences.shape[1] - len(word) + 1:] == word[:-1]).all(axis=1)
                    scores[hit, word[-1]] = -np.inf
        if eos is not None and (made < self.min_new_tokens or sequences.shape[1] < self.min_length):
            scores = scores.copy()  # MinLengthLogitsProcessor, MinNewTokensLengthLogitsProcessor
            scores[:, eos[eos < scores.shape[1]]] = -np.inf
        # ForcedBOSTokenLogitsProcessor (a sequence of one token goes on with forced_bos_token_id), then
        # ForcedEOSTokenLogitsProcessor (the last new token is eos), which wins when both apply
        forced_ids = [self.forced_bos] if self.forced_bos is not None and sequences.shape[1] == 1 else []
        if self.forced_eos and made == self.max_new - 1:
            forced_ids = self.forced_eos
        if forced_ids:
            if max(forced_ids) >= scores.shape[1]:
                raise ValueError(f"GPT.generate: forced token ids must be below the vocabulary size "
                                 f"{scores.shape[1]}, got {forced_ids}")
            scores = np.full_like(scores, -np.inf)
            scores[:, forced_ids] = 0
        for tokens, applies in ((self.suppress, True), (self.begin_suppress, made == 0)):
            if tokens and applies:  # SuppressTokensLogitsProcessor, SuppressTokensAtBeginLogitsProcessor
                scores = scores.copy()
                scores[:, [t for t in tokens if t < scores.shape[1]]] = -np.inf
        return scores


def _ids_list(value, name, expected):
    """A list of token ids (ints >= 0) from an id, a list of them, or None (empty)."""
    if value is None:
        return []
    items = [value] if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    try:
        items = list(items)
    except TypeError:
        items = [None]
    if any(isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0 for i in items):
        raise ValueError(f"GPT.generate: {name} must be {expected} (ints >= 0), got {value!r}")
    return [int(i) for i in items]


def _check_count(value, name, meaning, allow_none=False, minimum=0):
    """value must be an int >= minimum (or None when allowed), else a ValueError naming it."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a non-negative int" if minimum == 0 else f"an int >= {minimum}"
        raise ValueError(f"GPT.generate: {name} must be {what}{meaning}, got {value!r}")


def _top(values, k):
    """Indices of the k largest values of each row (B, n) -> (B, k), best first; ties: the lower index
    first, as torch.topk gives them."""
    part = np.argpartition(-values, k - 1, axis=1)[:, :k] if k < values.shape[1] else np.indices(values.shape)[1]
    return np.take_along_axis(part, np.lexsort((part, -np.take_along_axis(values, part, axis=1)), axis=1), axis=1)


def _positions(mask):
    """Position ids of prompts (B, L) under their mask, as transformers' generate: the real tokens
    count from 0, masked positions (padding on either side) get 0."""
    return np.where(mask != 0, np.cumsum(mask, axis=1) - 1, 0)


def _feedable(ids, vocab_size):
    """ids for the model's input: an id outside the vocabulary (a pad id, which fills only masked or
    finished positions, whose outputs are not used) becomes 0."""
    return np.where((ids >= 0) & (ids < vocab_size), ids, 0)


def _pad_id(pad_token_id, eos_token_id):
    """The id that pads prompts and finished rows: pad_token_id, else the (first) eos id, else 0."""
    if pad_token_id is not None:
        return pad_token_id
    return int(np.ravel(eos_token_id)[0]) if eos_token_id is not None else 0


def _warp(scores, temperature, top_k, top_p, min_p=None, typical_p=1.0, epsilon_cutoff=0.0, eta_cutoff=0.0):
    """transformers' logits warpers in its order and in float32: scores (B, V) / temperature, then
    -inf outside the top_k (ties at the k-th kept), outside the top_p nucleus, below min_p times the
    likeliest token's probability, outside the typical_p set, below probability epsilon_cutoff, and
    below eta = min(eta_cutoff, sqrt(eta_cutoff) e^-entropy) (the likeliest token always stays) ->
    float32 (B, V)."""
    scores = np.asarray(scores, dtype=np.float32)
    if temperature != 1.0:
        scores = scores / np.float32(temperature)
    V = scores.shape[1]
    if top_k and top_k < V:
        kth = np.partition(scores, V - top_k, axis=1)[:, V - top_k][:, None]
        scores = np.where(scores < kth, -np.inf, scores)
    if top_p is not None and top_p < 1:
        # TopPLogitsWarper: in ascending order (ties by index), drop the tokens whose cumulative probability
        # stays <= 1 - top_p; the most likely token always stays
        order = np.argsort(scores, axis=1, kind="stable")
        probs = _softmax_rows(np.take_along_axis(scores, order, axis=1))
        cumulative = np.cumsum(probs, axis=1, dtype=np.float64).astype(np.float32)  # torch sums in double too
        drop_sorted = cumulative <= np.float32(1 - top_p)
        drop_sorted[:, -1] = False
        scores = _drop_in_order(scores, order, drop_sorted)
    if min_p:  # MinPLogitsWarper
        probs = _softmax_rows(scores)
        scores = np.where(probs < np.float32(min_p) * probs.max(axis=1, keepdims=True), -np.inf, scores)
    if typical_p < 1:  # TypicalLogitsWarper: the tokens whose surprise is nearest the entropy, up to mass typical_p
        log_probs = _softmax_rows(scores, log=True)
        with np.errstate(invalid="ignore"):
            entropy = -np.nansum(log_probs * np.exp(log_probs), axis=1, keepdims=True, dtype=np.float32)
        distance = np.abs(-log_probs - entropy)
        order = np.argsort(distance, axis=1, kind="stable")
        in_order = np.take_along_axis(scores, order, axis=1)
        cumulative = np.cumsum(_softmax_rows(in_order), axis=1)
        last = np.minimum((cumulative < np.float32(typical_p)).sum(axis=1), scores.shape[1] - 1)
        sorted_distance = np.take_along_axis(distance, order, axis=1)
        drop_sorted = sorted_distance > np.take_along_axis(sorted_distance, last[:, None], axis=1)
        drop_sorted[:, 0] = False
        scores = _drop_in_order(scores, order, drop_sorted)
    for cutoff, eta in ((epsilon_cutoff, False), (eta_cutoff, True)):
        if 0 < cutoff < 1:  # EpsilonLogitsWarper, EtaLogitsWarper
            probs = _softmax_rows(scores)
            threshold = np.float32(cutoff)
            if eta:  # the entropy over the tokens left (0 log 0 = 0)
                entropy = -np.sum(np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1)), 0), axis=1,
                                  keepdims=True, dtype=np.float32)
                threshold = np.minimum(threshold, np.sqrt(threshold) * np.exp(-entropy))
            scores = np.where((probs < threshold) & (scores < scores.max(axis=1, keepdims=True)), -np.inf, scores)
    return scores


def _softmax_rows(scores, log=False):
    """softmax (log_softmax) of each row of a float32 array (B, V), by pyseq's kernel."""
    x = _core.from_numpy(np.ascontiguousarray(scores))
    return (F.log_softmax(x, dim=-1) if log else F.softmax(x, dim=-1)).numpy()


def _drop_in_order(scores, order, drop_sorted):
    """scores (B, V) with -inf where drop_sorted (B, V), which follows each row's `order`, is True."""
    drop = np.zeros_like(drop_sorted)
    np.put_along_axis(drop, order, drop_sorted, axis=1)
    return np.where(drop, -np.inf, scores)


def _sample(scores, temperature, top_k, top_p, rng, min_p=None, typical_p=1.0, epsilon_cutoff=0.0, eta_cutoff=0.0):
    """One token per row of scores (B, V): a draw from the softmax of the warped scores."""
    scores = _warp(scores, temperature, top_k, top_p, min_p, typical_p, epsilon_cutoff, eta_cutoff).astype(np.float64)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(scores.shape[0]) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), scores.shape[1] - 1)
