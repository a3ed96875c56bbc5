"""pyseq.nn: modules, layers, initialisation and losses, named as in torch.nn.

    from pyseq import nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    loss = nn.CrossEntropyLoss()(model(x), y)
"""

from . import functional, init  # noqa: F401
from .attention import (  # noqa: F401
    AdditiveAttention, LearnedPositionalEmbedding, MultiplicativeAttention, MultiheadAttention, RotaryEmbedding, SinusoidalPositionalEncoding, apply_rotary,
    save_attention_heatmap,
)
from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh  # noqa: F401
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import (AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, Conv1d, GlobalMaxPool1d, KMaxPool1d,  # noqa: F401
                   MaxPool1d)
from .dropout import Dropout, GaussianNoise  # noqa: F401
from .layers import CosineSimilarity, Embedding, Flatten, Identity, Linear  # noqa: F401
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
    SmoothL1Loss, SoftmaxFocalLoss,
)
from .module import Module, Parameter  # noqa: F401
from .normalization import BatchNorm1d, LayerNorm  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .transformer import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
from . import utils  # noqa: F401,E402  (clip_grad_norm_, clip_grad_value_, penalties; utils.rnn)
