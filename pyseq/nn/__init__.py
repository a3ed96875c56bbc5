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
from .activation import (  # noqa: F401
    CELU, ELU, GELU, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU,
    ReLU, ReLU6, RReLU, SELU, Sigmoid, SiLU, Softmax, Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink,
    Threshold,
)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .conv import (AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, Conv1d, GlobalMaxPool1d, KMaxPool1d,  # noqa: F401
                   MaxPool1d)
from .dropout import Dropout, Dropout1d, GaussianNoise  # noqa: F401
from .layers import (  # noqa: F401
    CircularPad1d, ConstantPad1d, CosineSimilarity, Embedding, EmbeddingBag, Flatten, Identity, Linear,
    PairwiseDistance, ReflectionPad1d, ReplicationPad1d, Unflatten, ZeroPad1d,
)
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, CTCLoss, FocalLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss, MultiLabelSoftMarginLoss,
    MultiMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss, SoftmaxFocalLoss, TripletMarginLoss,
)
from .module import Module, Parameter  # noqa: F401
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .transformer import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
from . import utils  # noqa: F401,E402  (clip_grad_norm_, clip_grad_value_, penalties; utils.rnn)
