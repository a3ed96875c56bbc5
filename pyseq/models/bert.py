"""BERT in the layout of Hugging Face transformers: the encoder, its pretraining heads (masked LM,
next sentence) and fine-tuning heads, loading and saving `save_pretrained` folders both ways.

    model = BertModel.from_pretrained(folder)                 # config.json + model.safetensors
    out = model(input_ids, attention_mask=mask)               # out.last_hidden_state (B, T, H)
    clf = BertForSequenceClassification.from_pretrained(folder, num_labels=2)   # a new head

A layer, with x (B, T, H) and a padding mask hiding the keys of padded positions:

    a = LayerNorm(x + dense(attention(query(x), key(x), value(x))))      post-LayerNorm
    x = LayerNorm(a + output.dense(gelu(intermediate.dense(a))))

Module and parameter names are transformers' ('embeddings.word_embeddings.weight',
'encoder.layer.0.attention.self.query.weight', ...), so its safetensors load unchanged, with or
without the 'bert.' prefix (a BertModel's own file has none), and ours load in transformers. The
masked-LM decoder is tied to the word embeddings unless config.tie_word_embeddings is False. With
config.is_decoder the self-attention is causal.
"""

import math
import numbers
from collections.abc import Iterable
import os
import warnings
from dataclasses import dataclass, field, fields

import numpy as np

from .. import _core
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
                  linear_activation, read_json, returned, save_folder, to_numpy, warn_unused, with_dtype)

__all__ = ["BertConfig", "BertModel", "BertForMaskedLM", "BertLMHeadModel", "BertForNextSentencePrediction",
           "BertForPreTraining", "BertForSequenceClassification", "BertForTokenClassification", "BertForMultipleChoice",
           "BertForQuestionAnswering", "BertOutput", "HeadOutput", "PreTrainingOutput", "QuestionAnsweringOutput"]

_PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


@dataclass
class BertConfig:
    """BERT's hyperparameters under Hugging Face's names (its config.json). num_labels: outputs of
    the classification heads (from id2label when the file has one). problem_type: the sequence
    classifier's loss (None: inferred from num_labels and the labels' dtype, as transformers does).
    is_decoder: causal self-attention. tie_word_embeddings: the masked-LM decoder is the word embeddings."""
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    classifier_dropout: float = None
    num_labels: int = 2
    problem_type: str = None
    id2label: dict = field(default=None)
    is_decoder: bool = False
    tie_word_embeddings: bool = True

    @property
    def label2id(self):
        """{label name: id}, as transformers' config (LABEL_i for unnamed labels)."""
        names = self.id2label or {i: f"LABEL_{i}" for i in range(self.num_labels)}
        return {name: i for i, name in names.items()}

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size", "num_labels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"BertConfig: {name} must be a positive int, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size={self.hidden_size} is not divisible by num_attention_heads="
                             f"{self.num_attention_heads}")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act must be one of {ACTIVATIONS}, got {self.hidden_act!r}")
        if not isinstance(self.layer_norm_eps, numbers.Real) or not self.layer_norm_eps >= 0:
            raise ValueError(f"BertConfig: layer_norm_eps must be >= 0, got {self.layer_norm_eps!r}")
        if self.id2label is not None:
            self.id2label = {int(k): v for k, v in self.id2label.items()}
            self.num_labels = len(self.id2label)
        if self.problem_type is not None and self.problem_type not in _PROBLEM_TYPES:
            raise ValueError(f"BertConfig: problem_type must be None or one of {list(_PROBLEM_TYPES)}, got "
                             f"{self.problem_type!r}")
        if self.problem_type == "single_label_classification" and self.num_labels == 1:
            raise ValueError('BertConfig: problem_type="single_label_classification" needs num_labels > 1 (as '
                             'transformers); use num_labels=2, or problem_type="regression"')

    @classmethod
    def from_dict(cls, d, source="config"):
        check_model_type(d, "bert", source)
        if d.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{source}: only absolute position embeddings are supported, got "
                             f"{d['position_embedding_type']!r}")
        if d.get("add_cross_attention"):
            raise ValueError(f"{source}: cross-attention (add_cross_attention) is not supported")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json_file(cls, path):
        return cls.from_dict(read_json(path), source=os.fspath(path))

    def to_dict(self, architecture="BertModel"):
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["label2id"] = self.label2id
        d["id2label"] = {str(i): name for name, i in d["label2id"].items()}
        del d["num_labels"]
        d.update(model_type="bert", architectures=[architecture], position_embedding_type="absolute")
        return d


# --- the encoder ---

class BertEmbeddings(Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, position_ids, inputs_embeds=None):  # (B, T) int64 each -> (B, T, H)
        words = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, H)
        x = words + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x + self.position_embeddings(position_ids)))


class BertSelfAttention(Module):
    def __init__(self, config):
        super().__init__()
        H = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.query, self.key, self.value = Linear(H, H), Linear(H, H), Linear(H, H)
        self.dropout_p = config.attention_probs_dropout_prob
        self.is_causal = config.is_decoder

    def forward(self, x, keep, output_attentions=False):  # x (B, T, H), keep (B, 1, 1, T) bool or None
        B, T, H = x.shape
        q, k, v = [t(x).reshape(B, T, self.num_heads, H // self.num_heads).transpose(1, 2)  # (B, heads, T, hd)
                   for t in (self.query, self.key, self.value)]
        p = self.dropout_p if self.training else 0.0
        if output_attentions:  # the plain path, which also returns the weights: after dropout, as transformers'
            y, weights = F.attention_with_weights(q, k, v, attn_mask=keep, is_causal=self.is_causal)  # (B, heads, T, T)
            if p > 0:
                weights = F.dropout(weights, p)
                y = weights.matmul(v)
        else:
            y, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=p,
                                                        is_causal=self.is_causal), None
        return y.transpose(1, 2).reshape(B, T, H), weights


class BertAttention(Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = _DenseAddNorm(config, config.hidden_size)


class _DenseAddNorm(Module):
    """LayerNorm(residual + dropout(dense(x))): the output block after attention and after the MLP."""

    def __init__(self, config, in_features):
        super().__init__()
        self.dense = Linear(in_features, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):  # (B, T, in), (B, T, H) -> (B, T, H)
        return self.LayerNorm(residual + self.dropout(self.dense(x)))


class BertIntermediate(Module):
    def __init__(self, config):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.intermediate_size)
        self.activation = config.hidden_act

    def forward(self, x):  # (B, T, H) -> (B, T, I), the activation fused into the GEMM where it can be
        return linear_activation(x, self.dense.weight, self.dense.bias, self.activation)


class BertLayer(Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = _DenseAddNorm(config, config.intermediate_size)

    def forward(self, x, keep, output_attentions=False):  # (B, T, H) -> (B, T, H), weights or None
        y, weights = self.attention.self(x, keep, output_attentions)
        a = self.attention.output(y, x)
        return self.output(self.intermediate(a), a), weights


class BertEncoder(Module):
    def __init__(self, config):
        super().__init__()
        self.layer = ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])


class BertPooler(Module):
    def __init__(self, config):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):  # (B, T, H) -> (B, H): tanh(dense(hidden of [CLS]))
        return self.dense(hidden.select(1, 0)).tanh()


@dataclass
class BertOutput(ModelOutput):
    last_hidden_state: object = None  # (B, T, H)
    pooler_output: object = None      # (B, H), or None without a pooler
    hidden_states: tuple = None       # output_hidden_states=True: the embeddings', then each layer's (B, T, H)
    attentions: tuple = None          # per layer (B, heads, T, T), with output_attentions=True


@dataclass
class HeadOutput(ModelOutput):
    loss: object = None
    logits: object = None                    # the head's
    hidden_states: tuple = None              # as BertOutput's
    attentions: tuple = None


@dataclass
class PreTrainingOutput(ModelOutput):  # BertForPreTraining's, with transformers' field names
    loss: object = None
    prediction_logits: object = None         # the masked LM's (B, T, V)
    seq_relationship_logits: object = None   # next sentence: (B, 2)
    hidden_states: tuple = None
    attentions: tuple = None

    @property
    def logits(self):  # the masked LM's, as the other heads name theirs
        return self.prediction_logits


class BertPreTrainedModel(PretrainedModelMixin, Module):
    """What every BERT model shares: the config, Hugging Face's initialisation, from_pretrained and
    save_pretrained. `base_prefix` is where the encoder sits ('' for BertModel, 'bert.' in heads)."""
    base_prefix = "bert."

    def _init_weights(self, names=None):
        """Linear and embedding weights N(0, initializer_range), biases 0 (also the prediction bias),
        LayerNorms 1 and 0, the padding row of the word embeddings 0; only the parameters `names`
        when given (those a checkpoint lacks)."""
        std = self.config.initializer_range
        for name, p in self.named_parameters():
            if names is not None and name not in names:
                continue
            if "LayerNorm" in name:
                (init.ones_ if name.endswith("weight") else init.zeros_)(p)
            elif name.endswith("bias"):
                init.zeros_(p)
            else:
                init.normal_(p, 0.0, std)
        words = self._bert().embeddings.word_embeddings.weight
        if names is None and self.config.pad_token_id is not None:
            with no_grad():
                words[self.config.pad_token_id].zero_()

    def _bert(self):
        return self if isinstance(self, BertModel) else self.bert

    def _input_embeddings_at(self):
        return self._bert().embeddings, "word_embeddings"

    def _vocab_rows(self):
        heads = getattr(self, "cls", None)
        predictions = getattr(heads, "predictions", None)
        if predictions is None:
            return []
        rows = [(predictions, "bias", "zero")]
        if predictions.decoder is not None:  # untied
            rows += [(predictions.decoder, "weight", "mean")] + (
                [(predictions.decoder, "bias", "zero")] if predictions.decoder.bias is not None else [])
        return rows

    @classmethod
    def from_pretrained(cls, path, **config_overrides):
        """Loads a folder with config.json and model.safetensors written by transformers (any BERT
        class: keys with or without 'bert.', old LayerNorm 'gamma'/'beta' names), and its tokenizer
        (tokenizer.json or vocab.txt, when there) as `model.tokenizer`. The encoder's weights must all
        be there; a head the file lacks (e.g. a classifier on a plain BertModel) keeps its fresh
        initialisation, with a warning, and weights the model does not use (another head's) are left
        out with a warning, as transformers does. config_overrides: e.g. num_labels=3. The model comes
        in eval mode, as transformers' does (call model.train() to fine-tune it)."""
        config_path, weights_path = folder_files(path, cls.__name__)
        d = read_json(config_path)
        unknown = sorted(set(config_overrides) - {f.name for f in fields(BertConfig)})
        if unknown:
            raise TypeError(f"{cls.__name__}.from_pretrained: unknown argument(s) {', '.join(unknown)}; it takes "
                            f"BertConfig's fields as overrides (e.g. num_labels=3)")
        if "num_labels" in config_overrides and len(d.get("id2label") or {}) != config_overrides["num_labels"]:
            d.pop("id2label", None)  # another number of labels: the file's names no longer fit
        d.update(config_overrides)
        model = skip_init(cls, BertConfig.from_dict(d, source=config_path))  # the file's weights replace any drawn
        if is_float64_checkpoint(d):
            model.double()
        own = model.state_dict()
        # the decoder that transformers ties to the word embeddings and cls.predictions.bias
        tied = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias") if getattr(cls, "_mlm", False) \
            and model.config.tie_word_embeddings else ()
        state, unused = {}, []
        for name, value in load_file(weights_path).items():
            key = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            if key.endswith(("embeddings.position_ids", "embeddings.token_type_ids")) or key in tied:
                continue  # buffers of old checkpoints, and tied copies
            if not key.startswith(("cls.", "classifier.", "qa_outputs.", "bert.")):
                key = "bert." + key  # an encoder weight of a BertModel's own file
            if cls.base_prefix == "" and key.startswith("bert."):
                key = key[len("bert."):]
            if key in own:
                state[key] = value
            else:
                unused.append(name)
        warn_unused(cls.__name__, weights_path, unused)
        missing = [k for k in own if k not in state]
        base_missing = [k for k in missing if k.startswith(cls.base_prefix) and not k.startswith(
            cls.base_prefix + "pooler.")]
        if base_missing:
            raise ValueError(f"{cls.__name__}.from_pretrained: {weights_path} lacks the encoder weights "
                             + ", ".join(repr(k) for k in base_missing[:5]) + (" ..." if len(base_missing) > 5 else ""))
        if missing:
            warnings.warn(f"{cls.__name__}.from_pretrained: {weights_path} has no " + ", ".join(missing)
                          + "; they keep their fresh initialisation (train them)", stacklevel=2)
            model._init_weights(set(missing))
        try:
            model.load_state_dict(state, strict=False)
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"{cls.__name__}.from_pretrained: {weights_path} does not fit {config_path}: {e}") from None
        model.tokenizer = _folder_tokenizer(path)
        return model.eval()  # as transformers: dropout off until model.train()

    def save_pretrained(self, path):
        """Writes config.json and model.safetensors (transformers' key names) and, when the model has a
        `tokenizer` (from_pretrained sets it from the folder's files), tokenizer.json and vocab.txt;
        each file atomically."""
        save_folder(path, with_dtype(self.config.to_dict(type(self).__name__), self), self.state_dict())
        if getattr(self, "tokenizer", None) is not None:
            self.tokenizer.save(os.path.join(path, "tokenizer.json"))
            self.tokenizer.save_vocab(os.path.join(path, "vocab.txt"))


class BertModel(BertPreTrainedModel):
    """The encoder: embeddings, layers and (add_pooling_layer) the pooler over [CLS]."""
    base_prefix = ""

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"BertModel: expected a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        if type(self) is BertModel:
            self._init_weights()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        """input_ids (B, T) (Tensor, array or lists), or inputs_embeds (B, T, H), a Tensor that stands for
        the word embeddings; attention_mask (B, T): 1 (or True, or any nonzero) real token, 0 padding;
        token_type_ids (B, T): 0 first segment, 1 second; position_ids: 0 .. T - 1 by default.
        token_type_ids and position_ids of shape (1, T) or (T,) apply to the whole batch. The heads take
        these too; return_dict=False returns out.to_tuple(), as transformers."""
        c = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("BertModel: pass either input_ids or inputs_embeds (exactly one of them)")
        if input_ids is not None:
            ids = as_ids(input_ids, "input_ids", "BertModel")
            if ids.ndim == 1:
                ids = ids[None, :]
            if ids.ndim != 2 or ids.shape[1] == 0:
                raise ValueError(f"BertModel: expected input_ids of shape (batch, length >= 1), got {ids.shape}")
            check_ids(ids, c.vocab_size, "input_ids", "BertModel")
            B, T = ids.shape
        else:
            inputs_embeds = embeddings_tensor(inputs_embeds, self.embeddings.word_embeddings.weight.dtype, "BertModel")
            if inputs_embeds.ndim != 3 or inputs_embeds.shape[2] != c.hidden_size or inputs_embeds.shape[1] == 0:
                raise ValueError(f"BertModel: expected inputs_embeds of shape (batch, length >= 1, hidden_size="
                                 f"{c.hidden_size}), got {tuple(inputs_embeds.shape)}")
            B, T = inputs_embeds.shape[:2]
            ids = np.zeros((B, T), dtype=np.int64)  # unused: the embeddings stand for the words
        if T > c.max_position_embeddings:
            raise ValueError(f"BertModel: {T} tokens exceed max_position_embeddings={c.max_position_embeddings} "
                             "(truncate them, or encode long texts in windows with SentenceEncoder)")
        types = np.zeros((B, T), dtype=np.int64) if token_type_ids is None else \
            batch_ids(token_type_ids, "token_type_ids", "BertModel", B, T)
        check_ids(types, c.type_vocab_size, "token_type_ids", "BertModel", "the token types")
        positions = np.arange(T, dtype=np.int64) if position_ids is None else \
            batch_ids(position_ids, "position_ids", "BertModel", B, T)
        positions = np.broadcast_to(positions, (B, T))
        check_ids(positions, c.max_position_embeddings, "position_ids", "BertModel", "the positions")
        keep = None
        if attention_mask is not None:
            mask = as_mask(attention_mask, "attention_mask", "BertModel")
            if mask.ndim == 1:
                mask = mask[None, :]
            if mask.shape != (B, T):
                raise ValueError(f"BertModel: expected attention_mask of shape {(B, T)} like input_ids, got "
                                 f"{mask.shape}")
            if not mask.all():
                keep = _core.from_numpy(np.ascontiguousarray(mask[:, None, None, :]))  # (B, 1, 1, T)
        elif position_ids is not None and not c.is_decoder:
            # as transformers: without a mask, position ids that do not step by 1 start another packed
            # sequence, and a token attends only to those of its own
            sequence = np.cumsum(np.diff(positions, axis=1, prepend=positions[:, :1] - 1) != 1, axis=1)  # (B, T)
            if sequence[:, -1].any():
                same = sequence[:, None, :, None] == sequence[:, None, None, :]  # (B, 1, T, T)
                keep = _core.from_numpy(np.ascontiguousarray(same))
        x = self.embeddings(*(_core.from_numpy(np.ascontiguousarray(a)) for a in (ids, types, positions)),
                            inputs_embeds=inputs_embeds)
        hidden = [x] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer in self.encoder.layer:
            x, weights = layer(x, keep, output_attentions)
            if output_attentions:
                attentions.append(weights)
            if output_hidden_states:
                hidden.append(x)
        pooled = self.pooler(x) if self.pooler is not None else None
        return returned(BertOutput(last_hidden_state=x, pooler_output=pooled,
                                   hidden_states=tuple(hidden) if output_hidden_states else None,
                                   attentions=tuple(attentions) if output_attentions else None), return_dict)


# --- heads ---

class BertPredictionHeadTransform(Module):
    def __init__(self, config):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)
        self.activation = config.hidden_act
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(linear_activation(x, self.dense.weight, self.dense.bias, self.activation))


class BertLMPredictionHead(Module):
    """transform, then the decoder: the word embeddings (tied, not a parameter here) plus `bias`; or,
    with tie_word_embeddings False, its own `decoder` Linear (weight and bias), which transformers then
    uses in place of both (`bias` stays, unused, as in its checkpoints)."""

    def __init__(self, config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = Parameter(_core.zeros(config.vocab_size))
        self.decoder = None if config.tie_word_embeddings else Linear(config.hidden_size, config.vocab_size)

    def forward(self, x, word_embeddings):  # (B, T, H) -> (B, T, V)
        if self.decoder is not None:
            return self.decoder(self.transform(x))
        return F.linear(self.transform(x), word_embeddings, self.bias)


class _Heads(Module):
    """transformers' `cls` module: predictions (masked LM) and/or seq_relationship (next sentence)."""

    def __init__(self, config, mlm, nsp):
        super().__init__()
        if mlm:
            self.predictions = BertLMPredictionHead(config)
        if nsp:
            self.seq_relationship = Linear(config.hidden_size, 2)


def _labels(value, shape, name, owner):
    """Integer labels flattened, as transformers' labels.view(-1): of `shape`, or any shape of as many."""
    arr = as_ids(value, name, owner)
    if arr.size != math.prod(shape):
        raise ValueError(f"{owner}: expected {name} of shape {shape} (or {math.prod(shape)} values in any shape), got "
                         f"{arr.shape}")
    return _core.from_numpy(np.ascontiguousarray(arr).reshape(-1))


class BertForPreTraining(BertPreTrainedModel):
    """Masked LM + next sentence prediction; loss = the masked-LM's (labels, -100 ignored) + the
    next-sentence one (next_sentence_label: 0 = B follows A, 1 = B is random); as transformers, no
    loss unless both labels are given."""
    _mlm, _nsp, _pooler = True, True, True

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=self._pooler)
        self.cls = _Heads(config, self._mlm, self._nsp)
        self._init_weights()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                next_sentence_label=None, output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, inputs_embeds)
        h = out.last_hidden_state
        B, T, _ = h.shape
        name = type(self).__name__
        mlm_logits = self.cls.predictions(h, self.bert.embeddings.word_embeddings.weight) if self._mlm else None
        nsp_logits = self.cls.seq_relationship(out.pooler_output) if self._nsp else None
        losses = []  # one per head, None where its labels are missing
        if self._mlm:
            losses.append(None if labels is None else F.cross_entropy(mlm_logits.reshape(-1, self.config.vocab_size),
                                                                      _labels(labels, (B, T), "labels", name)))
        if self._nsp:
            losses.append(None if next_sentence_label is None else F.cross_entropy(
                nsp_logits, _labels(next_sentence_label, (B,), "next_sentence_label", name)))
        loss = None if any(l is None for l in losses) else sum(losses[1:], losses[0])
        if self._mlm and self._nsp:
            output = PreTrainingOutput(loss, mlm_logits, nsp_logits, out.hidden_states, out.attentions)
        else:
            output = HeadOutput(loss, mlm_logits if self._mlm else nsp_logits, out.hidden_states, out.attentions)
        return returned(output, return_dict)


class BertForMaskedLM(BertForPreTraining):
    """The masked-LM head alone (no pooler); logits (B, T, V); loss from labels (-100 ignored)."""
    _mlm, _nsp, _pooler = True, False, False

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        return super().forward(input_ids, attention_mask, token_type_ids, position_ids, labels, None, output_attentions,
                               output_hidden_states, inputs_embeds, return_dict)


class BertLMHeadModel(BertForMaskedLM):
    """The masked-LM head as a causal language model, transformers' BertLMHeadModel (the same weights
    as BertForMaskedLM): with config.is_decoder each token attends only to those before it, and the
    loss predicts labels[:, t + 1] from position t (-100 ignored)."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        out = super().forward(input_ids, attention_mask, token_type_ids, position_ids, None, output_attentions,
                              output_hidden_states, inputs_embeds)
        if labels is not None:
            out.loss = causal_lm_loss(out.logits, labels, type(self).__name__)
        return returned(out, return_dict)


class BertForNextSentencePrediction(BertForPreTraining):
    """The next-sentence head alone; logits (B, 2); loss from labels (B,) (0 = B follows A, 1 = B is
    random), transformers' name here."""
    _mlm, _nsp, _pooler = False, True, True

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        return super().forward(input_ids, attention_mask, token_type_ids, position_ids, None, labels, output_attentions,
                               output_hidden_states, inputs_embeds, return_dict)


class _BertClassifier(BertPreTrainedModel):
    """The encoder, dropout (classifier_dropout, else hidden_dropout_prob) and a linear classifier to
    _outputs (None: num_labels) values."""
    _pooler, _outputs = True, None

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=self._pooler)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = Dropout(p)
        self.classifier = Linear(config.hidden_size, self._outputs or config.num_labels)
        self._init_weights()


class BertForSequenceClassification(_BertClassifier):
    """dropout + a linear classifier over the pooled [CLS]: logits (B, num_labels). The loss follows
    config.problem_type, as transformers': regression, mean squared error against labels (B,) or
    (B, num_labels); single_label_classification, cross entropy against integer labels (B,);
    multi_label_classification, binary cross entropy with logits against float labels (B, num_labels).
    problem_type None is set on the first labels: regression when num_labels == 1, else single-label
    for integer labels and multi-label for the others."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, inputs_embeds)
        logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        loss = None if labels is None else self._loss(logits, labels)
        return returned(HeadOutput(loss, logits, out.hidden_states, out.attentions), return_dict)

    def _loss(self, logits, labels):
        B, C = logits.shape
        name = type(self).__name__
        target = to_numpy(labels)
        if self.config.problem_type is None:  # transformers infers it once and keeps it in the config
            self.config.problem_type = ("regression" if C == 1 else "single_label_classification"
                                        if np.issubdtype(target.dtype, np.integer) else "multi_label_classification")
        if self.config.problem_type == "single_label_classification":
            return F.cross_entropy(logits, _labels(labels, (B,), "labels", name))
        if C == 1 and self.config.problem_type == "regression":  # one output: both squeezed, as transformers
            logits, target = logits.reshape(-1), target.reshape(-1)
        if target.shape != tuple(logits.shape):
            raise ValueError(f"{name}: expected labels of shape {tuple(logits.shape)} for {self.config.problem_type}, "
                             f"got {target.shape}")
        if target.dtype == object or not np.issubdtype(target.dtype, np.number):
            raise TypeError(f"{name}: labels for {self.config.problem_type} must be numbers, got {target.dtype}")
        if self.config.problem_type == "multi_label_classification" and not np.issubdtype(target.dtype, np.floating):
            raise TypeError(f"{name}: labels for multi_label_classification must be floats (0. / 1. per label), "
                            f"got {target.dtype}")
        target = _core.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
        if self.config.problem_type == "regression":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)


class BertForTokenClassification(_BertClassifier):
    """dropout + a linear classifier on every token: logits (B, T, num_labels); labels (B, T), -100 ignored."""
    _pooler = False

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, inputs_embeds)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None
        if labels is not None:
            B, T, C = logits.shape
            loss = F.cross_entropy(logits.reshape(-1, C), _labels(labels, (B, T), "labels", type(self).__name__))
        return returned(HeadOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class BertForMultipleChoice(_BertClassifier):
    """Each of C choices encoded with the prompt, e.g. "[CLS] context [SEP] choice [SEP]": input_ids,
    attention_mask, token_type_ids, position_ids (B, C, T) (inputs_embeds (B, C, T, H)); dropout +
    a linear scorer (classifier: hidden -> 1) of each pooled [CLS]: logits (B, C); labels (B,) the
    right choice."""
    _pooler, _outputs = True, 1

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, inputs_embeds=None,
                return_dict=None):
        name = type(self).__name__

        def as_array(value):  # a pyseq Tensor as it is (gradients reach inputs_embeds), anything else as numpy
            if value is None or isinstance(value, _core.Tensor):
                return value
            return to_numpy(value.detach() if hasattr(value, "detach") else value)

        first = as_array(input_ids if input_ids is not None else inputs_embeds)
        if first is None:
            raise ValueError(f"{name}: pass either input_ids or inputs_embeds")
        shape = tuple(first.shape)
        if len(shape) != (4 if input_ids is None else 3):
            raise ValueError(f"{name}: expected input_ids of shape (batch, choices, length) (or inputs_embeds "
                             f"(batch, choices, length, hidden)), got {shape}")
        B, C = shape[:2]

        def flat(value):  # (B, C, T ...) -> (B C, T ...); None stays None
            value = as_array(value)
            if value is None:
                return None
            if tuple(value.shape[:2]) != (B, C):
                raise ValueError(f"{name}: expected (batch, choices) = {(B, C)} first in every input, got "
                                 f"{tuple(value.shape)}")
            return value.reshape(B * C, *value.shape[2:])

        out = self.bert(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                        output_attentions, output_hidden_states, flat(inputs_embeds))
        logits = self.classifier(self.dropout(out.pooler_output)).reshape(B, C)
        loss = None if labels is None else F.cross_entropy(logits, _labels(labels, (B,), "labels", name))
        return returned(HeadOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


@dataclass
class QuestionAnsweringOutput(ModelOutput):
    loss: object = None
    start_logits: object = None  # (B, T): where the answer span starts
    end_logits: object = None    # (B, T): where it ends
    hidden_states: tuple = None
    attentions: tuple = None


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive question answering: a linear layer (qa_outputs: hidden -> 2) on every token gives the
    start and end logits of the answer span (B, T) each. With start_positions and end_positions (B,)
    the loss is the mean of their cross entropies; as transformers, a position outside [0, T) is
    clamped to T and ignored (an answer cut off by truncation)."""

    def __init__(self, config):
        super().__init__()
        if config.num_labels != 2:
            raise ValueError(f"BertForQuestionAnswering: the span head has two outputs (start, end); got a config "
                             f"with num_labels={config.num_labels}")
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = Linear(config.hidden_size, config.num_labels)
        self._init_weights()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                start_positions=None, end_positions=None, output_attentions=False, output_hidden_states=False,
                inputs_embeds=None,
                return_dict=None):
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, inputs_embeds)
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start, end = logits.select(-1, 0), logits.select(-1, 1)  # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            B, T = start.shape
            name = type(self).__name__
            losses = []
            for logit, positions, what in ((start, start_positions, "start_positions"),
                                           (end, end_positions, "end_positions")):
                target = as_ids(positions, what, name).reshape(-1)
                if target.shape != (B,):
                    raise ValueError(f"{name}: expected {what} of shape ({B},), got {to_numpy(positions).shape}")
                target = _core.from_numpy(np.ascontiguousarray(np.clip(target, 0, T)))
                losses.append(F.cross_entropy(logit, target, ignore_index=T))
            loss = (losses[0] + losses[1]) / 2
        return returned(QuestionAnsweringOutput(loss, start, end, out.hidden_states, out.attentions), return_dict)


# --- sentence embeddings ---

def _folder_tokenizer(path):
    """The WordPiece tokenizer of a model folder: tokenizer.json, else vocab.txt (lower-cased unless
    tokenizer_config.json says do_lower_case false), else None. A tokenizer.json the WordPiece
    tokenizer cannot reproduce (e.g. added tokens) gives a warning, and the model no tokenizer."""
    from ..tokenizers import WordPieceTokenizer
    path = os.fspath(path)
    if os.path.isfile(os.path.join(path, "tokenizer.json")):
        try:
            return WordPieceTokenizer.from_file(os.path.join(path, "tokenizer.json"))
        except ValueError as e:
            warnings.warn(f"from_pretrained: the model is loaded without a tokenizer: {e}", stacklevel=3)
            return None
    if os.path.isfile(os.path.join(path, "vocab.txt")):
        lower = True
        if os.path.isfile(os.path.join(path, "tokenizer_config.json")):
            lower = bool(read_json(os.path.join(path, "tokenizer_config.json")).get("do_lower_case", True))
        return WordPieceTokenizer.from_vocab(os.path.join(path, "vocab.txt"), lowercase=lower)
    return None


def _batch_size(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"SentenceEncoder: batch_size must be a positive int, got {value!r}")
    return int(value)


class SentenceEncoder:
    """Sentence embeddings from a BERT encoder, as sentence-transformers computes them for models such
    as all-MiniLM-L6-v2: tokenize with pyseq's WordPiece, run the encoder without autograd in batches
    of similar length, pool the last hidden states (mean over the attention mask, or [CLS]) and
    L2-normalise.

    A text longer than `max_length` tokens (default: the model's max_position_embeddings) is truncated
    to it, as transformers' tokenizer(..., truncation=True) does, with a warning (sentence-transformers
    cuts at its folder's max_seq_length instead, 256 for all-MiniLM-L6-v2: pass max_length=256 for
    its vectors of longer texts); or, given `stride`,
    cut into windows of max_length that overlap by `stride` tokens, each with its own [CLS] and
    [SEP], and its vector pools all windows' tokens (mean) or their [CLS] vectors, before normalising.

        encoder = SentenceEncoder("path/to/all-MiniLM-L6-v2")
        vectors = encoder.encode(["Hello world", "Bonjour"])     # (2, 384) float32, unit length
    """

    def __init__(self, model, tokenizer=None, pooling="mean", normalize=True, max_length=None, stride=None,
                 batch_size=32):
        if isinstance(model, (str, os.PathLike)):
            model = BertModel.from_pretrained(model)
        if tokenizer is None:
            tokenizer = getattr(model, "tokenizer", None)
        if isinstance(model, BertPreTrainedModel) and not isinstance(model, BertModel):
            model = model.bert
        if not isinstance(model, BertModel):
            raise TypeError(f"SentenceEncoder: expected a BertModel or a model folder, got {type(model).__name__}")
        if tokenizer is None:
            raise ValueError("SentenceEncoder: pass the tokenizer (or a model folder that has one)")
        if pooling not in ("mean", "cls"):
            raise ValueError(f"SentenceEncoder: pooling must be 'mean' or 'cls', got {pooling!r}")
        window = model.config.max_position_embeddings if max_length is None else int(max_length)
        if not 2 < window <= model.config.max_position_embeddings:
            raise ValueError(f"SentenceEncoder: max_length must be in [3, {model.config.max_position_embeddings}], "
                             f"got {max_length}")
        if stride is not None and not 0 <= stride < window - 2:
            raise ValueError(f"SentenceEncoder: stride must be None (truncate) or in [0, {window - 2}), got {stride}")
        self.model, self.tokenizer, self.pooling, self.normalize = model.eval(), tokenizer, pooling, normalize
        self.max_length, self.stride, self.batch_size = window, stride, _batch_size(batch_size)

    def encode(self, texts, batch_size=None):
        """texts: a str or a list of str -> float32 array (len(texts), hidden_size) (or (hidden_size,))."""
        single = isinstance(texts, str)
        if isinstance(texts, (bytes, bytearray)) or texts is None or not isinstance(texts, (str, Iterable)):
            raise TypeError(f"SentenceEncoder.encode: expected a str or a list of str, got {type(texts).__name__}")
        texts = [texts] if single else list(texts)
        H = self.model.config.hidden_size
        if not texts:
            return np.zeros((0, H), dtype=np.float32)
        enc = self.tokenizer.encode_batch(texts, max_length=self.max_length, truncation=True, stride=self.stride or 0,
                                          return_overflowing=True)
        ids, types, mask = enc["input_ids"], enc["token_type_ids"], enc["attention_mask"]
        lengths, owner = enc["lengths"], enc["overflow_to_sample_mapping"]
        windows = np.arange(len(owner))
        if self.stride is None:  # each text's first window only: truncation
            windows = np.unique(owner, return_index=True)[1]
            if len(windows) < len(owner):
                cut = len(np.unique(np.delete(owner, windows)))
                warnings.warn(f"SentenceEncoder: {cut} text(s) longer than max_length={self.max_length} tokens were "
                              f"truncated (pass stride= to pool overlapping windows of them instead)", stacklevel=2)
        sums = np.zeros((len(texts), H), dtype=np.float64)   # per text: summed window vectors
        counts = np.zeros(len(texts), dtype=np.float64)      # and what they are weighted by
        order = windows[np.argsort(-lengths[windows], kind="stable")]  # longest first: batches of similar length
        step = self.batch_size if batch_size is None else _batch_size(batch_size)
        with no_grad():
            for start in range(0, len(order), step):
                rows = order[start:start + step]
                T = int(lengths[rows].max())
                out = self.model(ids[rows, :T], mask[rows, :T], types[rows, :T]).last_hidden_state.numpy()  # (b, T, H)
                if self.pooling == "mean":
                    m = mask[rows, :T].astype(np.float64)
                    np.add.at(sums, owner[rows], np.einsum("bt,bth->bh", m, out))
                    np.add.at(counts, owner[rows], m.sum(axis=1))
                else:
                    np.add.at(sums, owner[rows], out[:, 0, :])
                    np.add.at(counts, owner[rows], 1.0)
        vectors = sums / counts[:, None]
        if self.normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        vectors = vectors.astype(np.float32)
        return vectors[0] if single else vectors
