"""Tokenizers: BERT WordPiece and byte-level BPE (GPT-2, cl100k, o200k), in C++.

Ids match Hugging Face `tokenizers` and `tiktoken` exactly; batches run on pyseq's threads.
"""

from .._core.text import pre_tokenize
from ._bpe import BPETokenizer
from ._common import Encoding
from ._wordpiece import WordPieceTokenizer

__all__ = ["BPETokenizer", "Encoding", "WordPieceTokenizer", "pre_tokenize"]
