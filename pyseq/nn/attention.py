"""Attention modules: MultiheadAttention (torch.nn.MultiheadAttention's arguments, masks and
parameter layout) and positional encodings (sinusoidal, learned, rotary). The attention itself is
the fused C++ kernel (F.scaled_dot_product_attention); asking for the weights takes the plain path
(as does a float mask that requires grad, which then gets its gradient).

The soft alignments of RNN encoder-decoders: AdditiveAttention (Bahdanau et al. 2015) and
MultiplicativeAttention (Luong et al. 2015: dot, general, scaled dot, concat; global or local-p),
both forward(query (B, Tq, Dq), keys (B, Tk, Dk), values (B, Tk, Dv), mask (B, Tk) True where a key
may be attended) -> (context (B, Tq, Dv), weights (B, Tq, Tk))."""

import math
import numbers

import numpy as np

from .. import _core
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear", "SinusoidalPositionalEncoding",
           "LearnedPositionalEmbedding", "RotaryEmbedding", "apply_rotary", "merge_masks", "save_attention_heatmap",
           "AdditiveAttention", "MultiplicativeAttention"]


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
    for name, m in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
        if m is not None and m.dtype != _core.dtype.bool and not m.dtype.is_floating_point:
            raise TypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, got {m.dtype}")
        if m is not None and m.dtype.is_floating_point and m.dtype != dtype:
            raise TypeError(f"MultiheadAttention: a float {name} is added to the scores and must have the query's "
                            f"dtype {dtype}, got {m.dtype} (or pass a bool mask: True = may not attend)")
    masks = []
    if attn_mask is not None:
        expected = {2: (tgt_len, src_len), 3: (batch * num_heads, tgt_len, src_len)}.get(attn_mask.dim())
        if expected is None:
            raise ValueError(f"MultiheadAttention: attn_mask must be (L, S) or (N * num_heads, L, S), got shape "
                             f"{tuple(attn_mask.shape)}")
        if tuple(attn_mask.shape) != expected:
            raise ValueError(f"MultiheadAttention: the shape of the {attn_mask.dim()}-D attn_mask is "
                             f"{tuple(attn_mask.shape)}, but should be {expected}")
        if attn_mask.dim() == 3:
            attn_mask = attn_mask.reshape(batch, num_heads, tgt_len, src_len)
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


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name PyTorch gives MultiheadAttention's out_proj, so the reprs agree."""


class MultiheadAttention(Module):
    """Attention over num_heads heads of embed_dim / num_heads dims, as torch.nn.MultiheadAttention.

    Parameters as PyTorch's (so its state_dict loads): in_proj_weight (3E, E) and in_proj_bias (3E,)
    when kdim == vdim == embed_dim, else q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight
    (E, vdim); out_proj (a Linear(E, E)); with add_bias_kv, bias_k and bias_v (1, 1, E): one more key
    and value appended to every sequence; with add_zero_attn, a key and value of zeros appended after
    the projection. Inputs (L, N, E), or (N, L, E) with batch_first; unbatched (L, E) too. forward
    returns (output, weights): weights (N, L, S) averaged over heads (or (N, H, L, S)) when
    need_weights, else None; in training with dropout, the weights after dropout. Masks follow
    PyTorch: a bool attn_mask or key_padding_mask marks with True what may NOT be attended; float
    masks are added to the scores. Unlike PyTorch, a query whose keys are all masked gets zeros, not NaN."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
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
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(_core.empty(1, 1, embed_dim, dtype=dtype))
            self.bias_v = Parameter(_core.empty(1, 1, embed_dim, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
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
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

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
        if query.dim() not in (2, 3) or key.dim() != query.dim() or value.dim() != query.dim():
            raise ValueError(f"MultiheadAttention: expected 3-D (or unbatched 2-D) query, key and value, got shapes "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        # value: key's length and batch (and width, when both go through in_proj_weight)
        if key.shape[:-1] != value.shape[:-1] or (self._qkv_same_embed_dim and key.shape != value.shape):
            raise ValueError(f"MultiheadAttention: key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
        unbatched = query.dim() == 2
        if unbatched:  # (L, E): a batch of one, (1, L, E) (batch_first does not apply, as in PyTorch)
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        batch_major = self.batch_first or unbatched  # (N, L, E), else (L, N, E); projections keep the layout
        N, L = (query.shape[0], query.shape[1]) if batch_major else (query.shape[1], query.shape[0])
        S = key.shape[1] if batch_major else key.shape[0]
        if (key.shape[0] if batch_major else key.shape[1]) != N:
            raise ValueError(f"MultiheadAttention: query holds a batch of {N}, key and value a batch of "
                             f"{key.shape[0] if batch_major else key.shape[1]} (shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}; batch_first={self.batch_first})")
        E, H, D = self.embed_dim, self.num_heads, self.head_dim

        def heads(x, T):  # a projection (.., E) -> (N, H, T, D), a view
            return x.reshape(N, T, H, D).permute(0, 2, 1, 3) if batch_major else x.reshape(T, N, H, D).permute(1, 2, 0, 3)

        if self._qkv_same_embed_dim and query is key and key is value:  # self-attention: one product
            q, k, v = (heads(t, L) for t in F.linear(query, self.in_proj_weight, self.in_proj_bias).split(E, -1))
        else:
            (wq, wk, wv), (bq, bk, bv) = self._projections()
            q, k, v = heads(F.linear(query, wq, bq), L), heads(F.linear(key, wk, bk), S), heads(F.linear(value, wv, bv), S)
        if attn_mask is None and is_causal:
            attn_mask = _core.ones(L, S, dtype=_core.dtype.bool).triu(1)
        extras = []  # keys and values appended to every sequence, which every query may attend
        if self.bias_k is not None:
            extras.append([b.reshape(1, H, 1, D).expand(N, H, 1, D) for b in (self.bias_k, self.bias_v)])
        if self.add_zero_attn:
            extras.append([_core.zeros(N, H, 1, D, dtype=k.dtype)] * 2)
        for k_new, v_new in extras:
            k, v = _core.cat([k, k_new], 2), _core.cat([v, v_new], 2)
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
            S += 1
        mask = merge_masks(attn_mask, key_padding_mask, N, H, L, S, query.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            out, weights = F.attention_with_weights(q, k, v, attn_mask=mask)  # weights (N, H, L, S)
            if p > 0:  # PyTorch returns the weights after dropout
                weights = F.dropout(weights, p, training=True)
                out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        # (N, H, L, D) back to the input's layout: a view when the kernel wrote it in q's dim order
        out = out.permute(0, 2, 1, 3).reshape(N, L, E) if batch_major else out.permute(2, 0, 1, 3).reshape(L, N, E)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        return out, weights


def _check_dims(cls, **dims):
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{cls}: {name} must be a positive int, got {value!r}")


def _check_positions(cls, x, offset, width, max_len, name="x"):
    """x (..., T, width) floating, offset an int >= 0 with offset + T <= max_len: -> T."""
    if not isinstance(x, _core.Tensor) or x.dim() < 2 or x.shape[-1] != width or not x.dtype.is_floating_point:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, _core.Tensor) else type(x).__name__
        raise ValueError(f"{cls}: expected {name} of shape (..., T, {width}) holding floats, got {got}")
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or offset < 0:
        raise ValueError(f"{cls}: offset must be an int >= 0 (the positions before these), got {offset!r}")
    T = x.shape[-2]
    if offset + T > max_len:
        raise ValueError(f"{cls}: positions {offset}..{offset + T - 1} are beyond max_len {max_len}")
    return T


class SinusoidalPositionalEncoding(Module):
    """Adds the fixed encodings of "Attention Is All You Need": PE[pos, 2i] = sin(pos / 10000^(2i/d)),
    PE[pos, 2i+1] = cos(...), to x (..., T, d), optionally followed by dropout. A buffer `pe`
    (max_len, d) holds them (persistent=False: not in the state_dict). forward(x, offset=0) adds
    positions offset..offset+T-1 (offset: the tokens before x when decoding step by step)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0):
        super().__init__()
        _check_dims("SinusoidalPositionalEncoding", d_model=d_model, max_len=max_len)
        pos = np.arange(max_len, dtype=np.float64)[:, None]
        freq = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
        pe = np.zeros((max_len, d_model), dtype=np.float32)
        pe[:, 0::2] = np.sin(pos * freq)
        pe[:, 1::2] = np.cos(pos * freq)[:, : d_model // 2]
        self.register_buffer("pe", _core.from_numpy(pe), persistent=False)
        self.dropout = float(dropout)

    def forward(self, x, offset=0):  # (..., T, d)
        T = _check_positions("SinusoidalPositionalEncoding", x, offset, self.pe.shape[1], self.pe.shape[0])
        return F.dropout(x + self.pe[offset:offset + T].to(x.dtype), self.dropout, self.training)


class LearnedPositionalEmbedding(Module):
    """A learned vector per position (as GPT-2's wpe / BERT's position_embeddings): weight
    (max_len, d) ~ N(0, 1) like nn.Embedding; forward(x (..., T, d), offset=0) adds rows offset..offset+T."""

    def __init__(self, max_len, d_model):
        super().__init__()
        _check_dims("LearnedPositionalEmbedding", max_len=max_len, d_model=d_model)
        self.weight = Parameter(_core.empty(max_len, d_model))
        init.normal_(self.weight)

    def forward(self, x, offset=0):
        T = _check_positions("LearnedPositionalEmbedding", x, offset, self.weight.shape[1], self.weight.shape[0])
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
        _check_dims("RotaryEmbedding", dim=dim, max_len=max_len)
        if dim % 2:
            raise ValueError(f"RotaryEmbedding: dim must be even, got {dim}")
        inv_freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
        angles = np.arange(max_len, dtype=np.float64)[:, None] * inv_freq[None, :]
        angles = np.concatenate([angles, angles], axis=1)  # (max_len, dim): both halves
        self.register_buffer("cos", _core.from_numpy(np.cos(angles).astype(np.float32)), persistent=False)
        self.register_buffer("sin", _core.from_numpy(np.sin(angles).astype(np.float32)), persistent=False)

    def forward(self, q, k, offset=0):
        max_len, dim = self.cos.shape
        T = _check_positions("RotaryEmbedding", q, offset, dim, max_len, "q")
        Tk = _check_positions("RotaryEmbedding", k, offset, dim, max_len, "k")
        cos_q, sin_q = self.cos[offset:offset + T].to(q.dtype), self.sin[offset:offset + T].to(q.dtype)
        cos_k, sin_k = self.cos[offset:offset + Tk].to(k.dtype), self.sin[offset:offset + Tk].to(k.dtype)
        return apply_rotary(q, cos_q, sin_q), apply_rotary(k, cos_k, sin_k)


# ------------------------------------------------------------------------------------------------
# Soft alignments of RNN encoder-decoders (one query per decoder step, keys = the encoder's states)


def _alignment_inputs(module, query, keys, values, mask, projected_keys):
    """Checks the shapes every alignment module expects: query (B, Tq, query_dim), keys (B, Tk, key_dim),
    values (B, Tk, Dv), mask None or bool (B, Tk) (a Tensor, or an array or torch tensor, copied),
    projected_keys None or (B, Tk, module.projected_dim). Returns (mask as a Tensor or None, the
    projected keys)."""
    cls = type(module).__name__
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if not isinstance(t, _core.Tensor):
            raise TypeError(f"{cls}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dim() != 3:
            raise ValueError(f"{cls}: expected {name} of 3 dims (batch, length, features), got shape {tuple(t.shape)}")
    B, Tk = keys.shape[0], keys.shape[1]
    if query.shape[2] != module.query_dim or keys.shape[2] != module.key_dim:
        raise ValueError(f"{cls}: expected query (B, Tq, {module.query_dim}) and keys (B, Tk, {module.key_dim}), got "
                         f"{tuple(query.shape)} and {tuple(keys.shape)}")
    if query.shape[0] != B or tuple(values.shape[:2]) != (B, Tk):
        raise ValueError(f"{cls}: query, keys and values must share the batch and keys and values the length; "
                         f"got {tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}")
    if Tk == 0:
        raise ValueError(f"{cls}: there are no keys to attend to (keys of shape {tuple(keys.shape)})")
    if mask is not None:
        if not isinstance(mask, _core.Tensor):
            array = np.asarray(mask.detach() if hasattr(mask, "detach") else mask)
            mask = _core.from_numpy(np.ascontiguousarray(array)) if array.dtype == bool else mask
        if not isinstance(mask, _core.Tensor) or mask.dtype != _core.dtype.bool or tuple(mask.shape) != (B, Tk):
            got = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, _core.Tensor) else type(mask).__name__
            raise ValueError(f"{cls}: mask must be a bool tensor of shape ({B}, {Tk}) (True where a key may be "
                             f"attended), got {got}")
    if projected_keys is None:
        return mask, module.project_keys(keys)
    expected = (B, Tk, module.projected_dim)
    if not isinstance(projected_keys, _core.Tensor) or tuple(projected_keys.shape) != expected:
        got = tuple(projected_keys.shape) if isinstance(projected_keys, _core.Tensor) else type(projected_keys).__name__
        raise ValueError(f"{cls}: expected projected_keys of shape {expected} (project_keys(keys)), got {got}")
    return mask, projected_keys


def _softmax_over_keys(scores, mask):
    """softmax over the last dim of scores (B, Tq, Tk) where mask (B, Tk) allows; a row with no
    allowed key gets uniform weights instead of NaN (it attends to padding, harmlessly)."""
    if mask is not None:
        scores = scores.masked_fill(~mask.unsqueeze(1), -3.0e38)
    return scores.softmax(-1)


class AdditiveAttention(Module):
    """Bahdanau's attention: score(q, k) = v^T tanh(W_q q + W_k k + b), weights = softmax over the
    keys, context = weights @ values. Parameters: query_proj (Linear(query_dim, hidden_dim, no bias)),
    key_proj (Linear(key_dim, hidden_dim)), v (Linear(hidden_dim, 1, no bias)).

    A decoder attends to the same keys at every step: project_keys(keys) once and pass the result as
    projected_keys to skip W_k k on each call."""

    def __init__(self, query_dim, key_dim, hidden_dim, dtype=None):
        super().__init__()
        _check_dims("AdditiveAttention", query_dim=query_dim, key_dim=key_dim, hidden_dim=hidden_dim)
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.query_proj = Linear(query_dim, hidden_dim, bias=False, dtype=dtype)
        self.key_proj = Linear(key_dim, hidden_dim, dtype=dtype)
        self.v = Linear(hidden_dim, 1, bias=False, dtype=dtype)

    @property
    def projected_dim(self):
        return self.hidden_dim

    def project_keys(self, keys):  # (B, Tk, key_dim) -> (B, Tk, hidden_dim)
        return self.key_proj(keys)

    def forward(self, query, keys, values, mask=None, projected_keys=None):
        mask, k = _alignment_inputs(self, query, keys, values, mask, projected_keys)  # k (B, Tk, A)
        q = self.query_proj(query)  # (B, Tq, A)
        scores = self.v((q.unsqueeze(2) + k.unsqueeze(1)).tanh()).squeeze(-1)  # (B, Tq, Tk, 1) -> (B, Tq, Tk)
        weights = _softmax_over_keys(scores, mask)
        return weights @ values, weights  # (B, Tq, Dv), (B, Tq, Tk)

    def extra_repr(self):
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, hidden_dim={self.hidden_dim}"


class MultiplicativeAttention(Module):
    """Luong's attention, score(q, k) by mode:
      "dot"         q . k                      (query_dim == key_dim)
      "scaled_dot"  q . k / sqrt(key_dim)      (query_dim == key_dim)
      "general"     q . (W k)                  W: weight (query_dim, key_dim)
      "concat"      v^T tanh(W [q; k])         W: weight (hidden_dim, query_dim + key_dim), v: (hidden_dim,)
    weights = softmax over the keys, context = weights @ values.

    local_window=D turns on Luong's local-p attention: each query predicts its centre
    p = (S - 1) sigmoid(v_p^T tanh(W_p q)) within its own source of S real keys (the mask's count;
    s, a key's position, counts only the real keys before it), attends only to keys within D of p,
    and its softmax weights are multiplied by the Gaussian exp(-(s - p)^2 / (2 (D/2)^2)), through
    which p learns. Parameters: position_proj (W_p:
    Linear(query_dim, query_dim, no bias)) and position_v (v_p: Linear(query_dim, 1, no bias))."""

    MODES = ("dot", "scaled_dot", "general", "concat")

    def __init__(self, query_dim, key_dim, mode="general", hidden_dim=None, local_window=None, dtype=None):
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"MultiplicativeAttention: unknown mode {mode!r} (expected one of {self.MODES})")
        _check_dims("MultiplicativeAttention", query_dim=query_dim, key_dim=key_dim,
                    **({} if hidden_dim is None or mode != "concat" else {"hidden_dim": hidden_dim}))
        if mode in ("dot", "scaled_dot") and query_dim != key_dim:
            raise ValueError(f"MultiplicativeAttention: mode {mode!r} needs query_dim == key_dim, got {query_dim} "
                             f"and {key_dim}; use mode='general' to map between them")
        if local_window is not None and (isinstance(local_window, bool) or not isinstance(local_window, int)
                                         or local_window < 1):
            raise ValueError(f"MultiplicativeAttention: local_window must be a positive int (D), got {local_window!r}")
        self.query_dim, self.key_dim, self.mode, self.local_window = query_dim, key_dim, mode, local_window
        self.hidden_dim = None
        if mode == "general":
            self.weight = Parameter(_core.empty(query_dim, key_dim, dtype=dtype))
            init.xavier_uniform_(self.weight)
        elif mode == "concat":
            self.hidden_dim = query_dim if hidden_dim is None else hidden_dim
            self.weight = Parameter(_core.empty(self.hidden_dim, query_dim + key_dim, dtype=dtype))
            self.v = Parameter(_core.empty(self.hidden_dim, dtype=dtype))
            init.xavier_uniform_(self.weight)
            init.uniform_(self.v, -1 / math.sqrt(self.hidden_dim), 1 / math.sqrt(self.hidden_dim))
        if local_window is not None:
            self.position_proj = Linear(query_dim, query_dim, bias=False, dtype=dtype)
            self.position_v = Linear(query_dim, 1, bias=False, dtype=dtype)

    @property
    def projected_dim(self):
        return {"general": self.query_dim, "concat": self.hidden_dim}.get(self.mode, self.key_dim)

    def project_keys(self, keys):
        """What the scores need of the keys, computed once per source: W k (B, Tk, query_dim) for
        "general", the key half of W [q; k] (B, Tk, hidden_dim) for "concat", the keys otherwise."""
        if self.mode == "general":
            return F.linear(keys, self.weight)
        if self.mode == "concat":
            return F.linear(keys, self.weight[:, self.query_dim:])
        return keys

    def forward(self, query, keys, values, mask=None, projected_keys=None):
        mask, k = _alignment_inputs(self, query, keys, values, mask, projected_keys)
        if self.mode == "concat":  # W [q; k] = W_q q + W_k k
            q = F.linear(query, self.weight[:, :self.query_dim])  # (B, Tq, A)
            scores = ((q.unsqueeze(2) + k.unsqueeze(1)).tanh() @ self.v.unsqueeze(-1)).squeeze(-1)  # (B, Tq, Tk)
        else:
            scores = query @ k.transpose(1, 2)  # (B, Tq, Tk)
            if self.mode == "scaled_dot":
                scores = scores * (1.0 / math.sqrt(self.key_dim))
        if self.local_window is None:
            weights = _softmax_over_keys(scores, mask)
        else:
            weights = self._local_p(query, scores, mask)
        return weights @ values, weights  # (B, Tq, Dv), (B, Tq, Tk)

    def _local_p(self, query, scores, mask):
        B, Tq, Tk = scores.shape
        D = self.local_window
        if mask is None:
            last = _core.full([B, 1, 1], float(Tk - 1), dtype=query.dtype)
        else:
            last = (mask.to(query.dtype).sum(-1) - 1).clamp(0.0, None).reshape(B, 1, 1)
        centre = last * self.position_v(self.position_proj(query).tanh()).sigmoid()  # (B, Tq, 1)
        if mask is None:
            positions = _core.arange(Tk, dtype=query.dtype).reshape(1, 1, Tk)
        else:  # a key's place among the real keys: left padding or holes in the mask move nothing
            positions = (mask.to(query.dtype).cumsum(-1) - 1.0).reshape(B, 1, Tk)
        distance = positions - centre  # (B, Tq, Tk)
        allowed = distance.detach().abs().le(float(D))
        if mask is not None:
            allowed = allowed * mask.unsqueeze(1)
        weights = scores.masked_fill(allowed.logical_not(), -3.0e38).softmax(-1)
        sigma = D / 2.0
        return weights * (distance * distance * (-0.5 / sigma ** 2)).exp()

    def extra_repr(self):
        s = f"query_dim={self.query_dim}, key_dim={self.key_dim}, mode={self.mode!r}"
        if self.hidden_dim is not None:
            s += f", hidden_dim={self.hidden_dim}"
        return s + ("" if self.local_window is None else f", local_window={self.local_window}")
