"""Complete models built from pyseq.nn, reading and writing their ecosystem's checkpoint folders.

    gpt   GPT-2 (Hugging Face GPT2LMHeadModel layout): causal LM, training, generation with a KV cache
"""

from . import gpt  # noqa: F401
from .gpt import GPT, GPTConfig  # noqa: F401
