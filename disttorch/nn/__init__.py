"""Neural network building blocks: ``Module``, layers, losses, ``functional``, ``init``."""
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter
