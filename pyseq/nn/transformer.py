"""Transformer blocks as torch.nn's: TransformerEncoderLayer, TransformerEncoder,
TransformerDecoderLayer, TransformerDecoder and Transformer, with PyTorch's arguments, masks and
state_dict keys (a torch model's state_dict loads unchanged). Attention runs on the fused kernel."""

import copy

from .. import _core
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .layers import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]


def _activation(activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise ValueError(f"activation must be 'relu', 'gelu' or a callable, got {activation!r}")


def _activation_code(fn):
    """torch's activation_relu_or_gelu: 1 for relu, 2 for gelu (a function or module), 0 another."""
    return 1 if fn is F.relu or isinstance(fn, ReLU) else 2 if fn is F.gelu or isinstance(fn, GELU) else 0


def _build_feed_forward(layer, d_model, dim_feedforward, dropout, bias, dtype):
    """The feed-forward block's modules, under PyTorch's names: linear1, dropout, linear2. Each layer
    sets its activation last, where PyTorch registers a Module activation (after the norms and dropouts)."""
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)


def _attend(attention, dropout, x, memory, mask, key_padding_mask, is_causal, need_weights=False):
    """(dropout(attention of x to memory), weights averaged over heads or None): the attention
    step of both layer kinds."""
    out, weights = attention(x, memory, memory, attn_mask=mask, key_padding_mask=key_padding_mask,
                             need_weights=need_weights, is_causal=is_causal)
    return dropout(out), weights


def _feed_forward(layer, x, dropout_out):
    """dropout_out(linear2(dropout(activation(linear1(x))))): the block both layer kinds share. A
    relu or gelu is done by linear1's matrix multiply itself (see F.linear)."""
    act = layer.activation  # (compared by identity: any callable may come, hashable or not)
    fused = ("relu" if act is F.relu else "gelu" if act is F.gelu else None) if type(layer.linear1) is Linear else None
    if fused:
        hidden = F.linear(x, layer.linear1.weight, layer.linear1.bias, activation=fused)
    else:
        hidden = layer.activation(layer.linear1(x))
    return dropout_out(layer.linear2(layer.dropout(hidden)))


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and LayerNorm:
    after each (post-norm, the default) or before each (norm_first). src (S, N, E), or (N, S, E)
    with batch_first."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        _build_feed_forward(self, d_model, dim_feedforward, dropout, bias, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)
        self.activation_relu_or_gelu = _activation_code(self.activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        def attend(x):
            return _attend(self.self_attn, self.dropout1, x, x, src_mask, src_key_padding_mask, is_causal)[0]

        x = src
        if self.norm_first:
            x = x + attend(self.norm1(x))
            return x + _feed_forward(self, self.norm2(x), self.dropout2)
        x = self.norm1(x + attend(x))
        return self.norm2(x + _feed_forward(self, x, self.dropout2))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's memory, then a feed-forward block,
    each with a residual connection and LayerNorm (post-norm, or pre-norm with norm_first).

    Set keep_attention_weights = True to keep the attention to the memory of the next forward
    (averaged over heads, (N, T, S) with batch_first) in attention_weights: a decoder's alignments.

    prefix (not in PyTorch): this layer's inputs at the positions before tgt's, (N, P, E) with
    batch_first. The self-attention then reads prefix and tgt together, so a decoder can run one
    new position at a time on the inputs it kept (tgt_mask, if given, is (T, P + T))."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                 dtype=dtype)
        _build_feed_forward(self, d_model, dim_feedforward, dropout, bias, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)
        self.keep_attention_weights, self.attention_weights = False, None

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False, prefix=None):
        if prefix is not None and tgt_is_causal:
            raise ValueError("TransformerDecoderLayer: with a prefix, give the causal mask as tgt_mask (T, P + T) "
                             "instead of tgt_is_causal")
        def attend_self(x, norm=None):  # x: tgt, or norm(tgt) when norm_first
            if prefix is None:
                keys = x
            else:  # (a LayerNorm acts on each position alone: norm of the whole is the norms side by side)
                keys = _core.cat([prefix if norm is None else norm(prefix), x], 1 if self.self_attn.batch_first else 0)
            return _attend(self.self_attn, self.dropout1, x, keys, tgt_mask, tgt_key_padding_mask, tgt_is_causal)[0]

        def attend_memory(x):
            out, weights = _attend(self.multihead_attn, self.dropout2, x, memory, memory_mask, memory_key_padding_mask,
                                   memory_is_causal, need_weights=self.keep_attention_weights)
            self.attention_weights = weights
            return out

        x = tgt
        if self.norm_first:
            x = x + attend_self(self.norm1(x), self.norm1)
            x = x + attend_memory(self.norm2(x))
            return x + _feed_forward(self, self.norm3(x), self.dropout3)
        x = self.norm1(x + attend_self(x))
        x = self.norm2(x + attend_memory(x))
        return self.norm3(x + _feed_forward(self, x, self.dropout3))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer (same initial weights, as PyTorch), then `norm` if given."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        # kept for code that reads them: padding is masked, never packed into nested tensors
        self.enable_nested_tensor, self.use_nested_tensor, self.mask_check = enable_nested_tensor, False, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer (same initial weights, as PyTorch), then `norm` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                      memory_is_causal=memory_is_causal)
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder of "Attention Is All You Need", as torch.nn.Transformer: an encoder and a
    decoder stack, each closed by a LayerNorm. forward(src (S, N, E), tgt (T, N, E), masks...) -> (T, N, E).
    As PyTorch, every parameter of dim > 1 starts from xavier_uniform_ (custom_encoder / custom_decoder too)."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        layer_args = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                          layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                          dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **layer_args), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **layer_args), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():  # as PyTorch's _reset_parameters (the layers alone keep their own init)
            if p.dim() > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        shapes = f"src of shape {tuple(src.shape)} and tgt of shape {tuple(tgt.shape)}"
        batch_dim = 0 if self.batch_first else 1
        if src.dim() == 3 and (tgt.dim() != 3 or src.shape[batch_dim] != tgt.shape[batch_dim]):
            raise ValueError(f"Transformer: the batch number of src and tgt must be equal, got {shapes} "
                             f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature number of src and tgt must be equal to d_model "
                             f"({self.d_model}), got {shapes}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask: -inf above the diagonal (future positions), 0 elsewhere."""
        return _core.zeros(sz, sz, dtype=dtype or _core.dtype.float32).masked_fill(
            _core.ones(sz, sz, dtype=_core.dtype.bool).triu(1), float("-inf"))
