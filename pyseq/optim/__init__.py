"""Optimizers and learning-rate schedules, with PyTorch's names and semantics.

Most optimizers update a group of parameters with one fused C++ call (`pyseq._core.<name>_step_multi`);
NAdam, RAdam and Adamax are written with in-place tensor ops in Python. The classes keep the param
groups, the per-parameter state and the step counts.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Adamax",
           "lr_scheduler"]
