"""Complete models built from pyseq.nn, reading and writing their ecosystem's checkpoint folders.

    gpt      GPT-2 (Hugging Face GPT2LMHeadModel layout): causal LM, training, generation with a KV cache
    bert     BERT (Hugging Face BertModel layout): MLM + NSP pretraining, fine-tuning heads, sentence encoding
    lstm_lm  an LSTM language model, trained and sampled as GPT
    seq2seq  RNN (Bahdanau / Luong attention) and Transformer encoder-decoders, greedy and beam search,
             grapheme-to-phoneme conversion (G2P.pretrained())
"""

from . import gpt  # noqa: F401
from .gpt import GPT, GPTConfig  # noqa: F401
from .lstm_lm import LSTMLM, LSTMLMConfig  # noqa: F401
