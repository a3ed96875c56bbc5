"""Attention modules: MultiheadAttention (torch.nn.MultiheadAttention's arguments, masks and
parameter layout) and positional encodings (sinusoidal, learned, rotary). The attention itself is
the fused C++ kernel (F.scaled_dot_product_attention); asking for the weights takes the plain path."""

import math

import numpy as np

from .. import _core
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "RotaryEmbedding",
           "apply_rotary", "merge_masks", "save_attention_heatmap"]


def save_attention_heatmap(weights, path, x_labels=None, y_labels=None, title=None):
    """Saves attention weights (Tq, Tk) as a PNG heatmap: queries down, keys across, labelled with
    the tokens when given (x_labels: the keys', y_labels: the queries'). Needs matplotlib (the
    optional extra pyseq[plot]). Returns path."""
    from ..train import _require_matplotlib
    Figure = _require_matplotlib("saving an attention heatmap")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    w = weights.detach().numpy() if isinstance(weights, _core.Tensor) else np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"save_attention_heatmap: expected weights of shape (Tq, Tk), got {w.shape}")
    for labels, size, what in ((x_labels, w.shape[1], "x_labels (keys)"), (y_labels, w.shape[0], "y_labels (queries)")):
        if labels is not None and len(labels) != size:
            raise ValueError(f"save_attention_heatmap: {len(labels)} {what} for {size} positions")
    fig = Figure(figsize=(1 + 0.4 * w.shape[1], 1 + 0.4 * w.shape[0]) if max(w.shape) <= 40 else (8, 8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(w, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax)
    if x_labels is not None:
        ax.set_xticks(range(len(x_labels)), labels=list(x_labels), rotation=90)
    if y_labels is not None:
        ax.set_yticks(range(len(y_labels)), labels=list(y_labels))
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path


def merge_masks(attn_mask, key_padding_mask, batch, num_heads, tgt_len, src_len, dtype):
    """torch.nn.MultiheadAttention's masks (bool: True = may NOT attend; float: added to the scores)
    merged into one mask for scaled_dot_product_attention, broadcastable to (N, H, L, S): a bool
    mask (True = may attend) when both are bool, else an additive float one. None when neither is given.
    attn_mask: (L, S) or (N * H, L, S); key_padding_mask: (N, S)."""
    masks = []
    if attn_mask is not None:
        if attn_mask.dim() == 3:
            attn_mask = attn_mask.reshape(batch, num_heads, tgt_len, src_len)
        elif attn_mask.dim() != 2:
            raise ValueError(f"MultiheadAttention: attn_mask must be (L, S) or (N * num_heads, L, S), got shape "
                             f"{tuple(attn_mask.shape)}")
        masks.append(attn_mask)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, src_len):
            raise ValueError(f"MultiheadAttention: key_padding_mask must have shape ({batch}, {src_len}), got "
                             f"{tuple(key_padding_mask.shape)}")
        masks.append(key_padding_mask.reshape(batch, 1, 1, src_len))
    if not masks:
        return None
    if all(m.dtype == _core.dtype.bool for m in masks):
        keep = ~masks[0]
        for m in masks[1:]:
            keep = keep * ~m  # and
        return keep
    total = None
    for m in masks:
        m = _core.zeros(*m.shape, dtype=dtype).masked_fill(m, float("-inf")) if m.dtype == _core.dtype.bool else m
        total = m if total is None else total + m
    return total


class MultiheadAttention(Module):
    """Attention over num_heads heads of embed_dim / num_heads dims, as torch.nn.MultiheadAttention.

    Parameters as PyTorch's (so its state_dict loads): in_proj_weight (3E, E) and in_proj_bias (3E,)
    when kdim == vdim == embed_dim, else q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight
    (E, vdim); out_proj (Linear(E, E)). Inputs (L, N, E), or (N, L, E) with batch_first; unbatched
    (L, E) too. forward returns (output, weights): weights (N, L, S) averaged over heads (or
    (N, H, L, S)) when need_weights, else None. Masks follow PyTorch: a bool attn_mask or
    key_padding_mask marks with True what may NOT be attended; float masks are added to the scores.
    Unlike PyTorch, a query whose keys are all masked gets zeros, not NaN."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if add_bias_kv or add_zero_attn:
            raise ValueError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported")
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads != 0:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, float(dropout), batch_first
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.head_dim = embed_dim // num_heads
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_core.empty(3 * embed_dim, embed_dim, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(_core.empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(_core.empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(_core.empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_core.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):  # as PyTorch: xavier_uniform_ projections, zero biases
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self):
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.split(E, 0)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = self.in_proj_bias.split(E, 0) if self.in_proj_bias is not None else (None, None, None)
        return weights, biases

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.dim() == 2
        if unbatched:  # (L, E): a batch of one
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if self.batch_first:  # (N, L, E) -> (L, N, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
            raise ValueError(f"MultiheadAttention: expected 3-D query, key and value, got shapes "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        L, N, _ = query.shape
        S = key.shape[0]
        H, D = self.num_heads, self.head_dim
        (wq, wk, wv), (bq, bk, bv) = self._projections()
        # (L, N, E) -> (N, H, L, D)
        q = F.linear(query, wq, bq).reshape(L, N, H, D).permute(1, 2, 0, 3)
        k = F.linear(key, wk, bk).reshape(S, N, H, D).permute(1, 2, 0, 3)
        v = F.linear(value, wv, bv).reshape(S, N, H, D).permute(1, 2, 0, 3)
        if attn_mask is None and is_causal:
            attn_mask = _core.ones(L, S, dtype=_core.dtype.bool).triu(1)
        mask = merge_masks(attn_mask, key_padding_mask, N, H, L, S, query.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            out, weights = F.attention_with_weights(q, k, v, attn_mask=mask)  # weights (N, H, L, S)
            if p > 0:
                out = F.dropout(weights, p, training=True) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(L, N, self.embed_dim))  # (L, N, E)
        if self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        return out, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, " \
               f"batch_first={self.batch_first}"


class SinusoidalPositionalEncoding(Module):
    """Adds the fixed encodings of "Attention Is All You Need": PE[pos, 2i] = sin(pos / 10000^(2i/d)),
    PE[pos, 2i+1] = cos(...), to x (..., T, d), optionally followed by dropout. A buffer `pe`
    (max_len, d) holds them (persistent=False: not in the state_dict)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0):
        super().__init__()
        pos = np.arange(max_len, dtype=np.float64)[:, None]
        freq = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
        pe = np.zeros((max_len, d_model), dtype=np.float32)
        pe[:, 0::2] = np.sin(pos * freq)
        pe[:, 1::2] = np.cos(pos * freq)[:, : d_model // 2]
        self.register_buffer("pe", _core.from_numpy(pe), persistent=False)
        self.dropout = float(dropout)

    def forward(self, x):  # (..., T, d)
        T = x.shape[-2]
        if T > self.pe.shape[0]:
            raise ValueError(f"SinusoidalPositionalEncoding: sequence of {T} positions, max_len is {self.pe.shape[0]}")
        return F.dropout(x + self.pe[:T].to(x.dtype), self.dropout, self.training)


class LearnedPositionalEmbedding(Module):
    """A learned vector per position (as GPT-2's wpe / BERT's position_embeddings): weight
    (max_len, d) ~ N(0, 1) like nn.Embedding; forward(x (..., T, d), offset=0) adds rows offset..offset+T."""

    def __init__(self, max_len, d_model):
        super().__init__()
        self.weight = Parameter(_core.empty(max_len, d_model))
        init.normal_(self.weight)

    def forward(self, x, offset=0):
        T = x.shape[-2]
        if offset < 0 or offset + T > self.weight.shape[0]:
            raise ValueError(f"LearnedPositionalEmbedding: positions {offset}..{offset + T - 1} are beyond max_len "
                             f"{self.weight.shape[0]}")
        return x + self.weight[offset:offset + T]


def apply_rotary(x, cos, sin):
    """Rotary position embedding (RoPE, Su et al.; Llama's "rotate half" layout) of x (..., T, d):
    x * cos + rotate_half(x) * sin, rotate_half([a, b]) = [-b, a] over the two halves of d."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rotated = _core.cat([-x2, x1], -1)
    return x * cos + rotated * sin


class RotaryEmbedding(Module):
    """cos and sin tables of rotary position embeddings for head dim `dim` (even): frequency
    base^(-2i/dim) per pair, as Llama. forward(q, k, offset=0) rotates q and k (..., T, dim) by
    their positions offset..offset+T-1 (offset: the length of a KV cache)."""

    def __init__(self, dim, max_len=4096, base=10000.0):
        super().__init__()
        if dim % 2:
            raise ValueError(f"RotaryEmbedding: dim must be even, got {dim}")
        inv_freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
        angles = np.arange(max_len, dtype=np.float64)[:, None] * inv_freq[None, :]
        angles = np.concatenate([angles, angles], axis=1)  # (max_len, dim): both halves
        self.register_buffer("cos", _core.from_numpy(np.cos(angles).astype(np.float32)), persistent=False)
        self.register_buffer("sin", _core.from_numpy(np.sin(angles).astype(np.float32)), persistent=False)

    def forward(self, q, k, offset=0):
        T = q.shape[-2]
        if offset + max(T, k.shape[-2]) > self.cos.shape[0]:
            raise ValueError(f"RotaryEmbedding: positions up to {offset + T} are beyond max_len {self.cos.shape[0]}")
        cos_q, sin_q = self.cos[offset:offset + T].to(q.dtype), self.sin[offset:offset + T].to(q.dtype)
        Tk = k.shape[-2]
        cos_k, sin_k = self.cos[offset:offset + Tk].to(k.dtype), self.sin[offset:offset + Tk].to(k.dtype)
        return apply_rotary(q, cos_q, sin_q), apply_rotary(k, cos_k, sin_k)
