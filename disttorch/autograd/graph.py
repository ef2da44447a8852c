"""Saved-tensor hooks: control how tensors kept for backward are stored and read back.

``saved_tensors_hooks(pack, unpack)`` makes every tensor an op saves for backward (built-in
ops and ``ctx.save_for_backward`` alike) go through ``pack`` when saved and ``unpack`` when
backward reads it. Activation checkpointing (``disttorch.utils.checkpoint``) and
``save_on_cpu`` are built on it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .node import Node, pop_saved_hooks, push_saved_hooks, saved_hooks

__all__ = ["Node", "disable_saved_tensors_hooks", "save_on_cpu", "saved_tensors_hooks"]


class saved_tensors_hooks:  # noqa: N801 - torch's name
    """Context manager: ``pack_hook(tensor) -> Any`` on save, ``unpack_hook(packed) -> Tensor`` on use.

    Nestable; only the innermost pair applies. ``unpack_hook(pack_hook(t))`` should equal
    ``t`` in value, shape, dtype and device. Tensors saved through hooks are not checked for
    in-place modification (as in torch: the version cannot be tracked through the hooks).
    """

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        if saved_hooks.disabled is not None:
            raise RuntimeError(saved_hooks.disabled)
        push_saved_hooks(self.pack_hook, self.unpack_hook)

    def __exit__(self, *exc: object) -> None:
        pop_saved_hooks()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - torch's name
    """Keep saved tensors on the host during forward; copy them back to their device for backward.

    Tensors already on the CPU are stored as they are. ``pin_memory`` is accepted for
    torch compatibility; the copies here are always synchronous.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            return (tensor.device, tensor.cpu())

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Refuse saved-tensor hooks inside the block: installing one raises ``RuntimeError(error_message)``.

    Like torch, entering it while hooks are already installed raises that error at once.
    """
    prev = saved_hooks.disabled
    try:
        if saved_hooks.stack:
            raise RuntimeError(error_message)
        saved_hooks.disabled = error_message
        yield
    finally:
        saved_hooks.disabled = prev

