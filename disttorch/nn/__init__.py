"""Neural network building blocks: ``Module``, layers, losses, ``functional``, ``init``."""
from . import functional, init, parallel, utils  # noqa: F401
from .modules import *  # noqa: F403
from .modules import Module, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .parameter import Buffer, Parameter  # noqa: F401
