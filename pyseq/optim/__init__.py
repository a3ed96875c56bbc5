"""Optimizers and learning-rate schedules, with PyTorch's names and semantics.

Each optimizer updates a parameter with one fused C++ call (`pyseq._core.<name>_step`); the
Python classes only keep the param groups, the per-parameter state and the step counts.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
