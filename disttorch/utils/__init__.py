"""Utilities: ``disttorch.utils.data`` (datasets, samplers, ``DataLoader``) and
``disttorch.utils.checkpoint`` (activation checkpointing)."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
