"""word2vec: CBOW and skip-gram with negative sampling and hierarchical softmax (Word2Vec), and the
word vectors with their queries and file formats (KeyedVectors), under gensim's names."""

from .keyedvectors import KeyedVectors  # noqa: F401
from .model import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP, Word2Vec  # noqa: F401,E402
