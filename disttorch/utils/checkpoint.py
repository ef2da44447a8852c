"""Activation checkpointing: drop a block's intermediate tensors in forward, recompute them in backward.

Two variants, as in torch:

* ``use_reentrant=True``: the block runs under ``no_grad`` inside a custom ``Function``
  that keeps only its inputs; its backward reruns the block with grad enabled and calls
  ``backward`` on the rerun (a backward pass inside the backward pass).
* ``use_reentrant=False``: the block runs with grad enabled under saved-tensor hooks that
  store an empty placeholder instead of each saved tensor; the first unpack in a backward
  pass reruns the block (under other hooks that collect what it saves) and hands the
  recomputed tensors to the original graph.

Both restore the RNG state of the forward for the rerun (CPU generator, and the CUDA
generators of the devices the tensor arguments live on), so dropout draws the same mask.
"""
from __future__ import annotations

import contextlib
import itertools
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import autograd
from .. import random as _random
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.graph import saved_tensors_hooks
from ..autograd.node import Node

__all__ = [
    "CheckpointError",
    "CheckpointFunction",
    "check_backward_validity",
    "checkpoint",
    "checkpoint_sequential",
    "detach_variable",
    "noop_context_fn",
    "set_checkpoint_debug_enabled",
    "set_checkpoint_early_stop",
]


class CheckpointError(RuntimeError):
    """The recomputation did not save the same tensors as the original forward."""


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    """The default ``context_fn``: no extra context for the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


_early_stop: bool | None = None
_debug_enabled: bool | None = None


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Iterator[None]:
    """Whether non-reentrant recomputation stops once every needed tensor is recomputed."""
    global _early_stop
    prev, _early_stop = _early_stop, enable
    try:
        yield
    finally:
        _early_stop = prev


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None) -> Iterator[None]:
    """Override every checkpoint's ``debug`` flag (``None`` defers to the flag)."""
    global _debug_enabled
    prev, _debug_enabled = _debug_enabled, enabled
    try:
        yield
    finally:
        _debug_enabled = prev


def detach_variable(inputs: tuple) -> tuple:
    """Detached copies of the tensors in ``inputs`` keeping their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(
            f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}"
        )
    out = []
    for inp in inputs:
        if isinstance(inp, Tensor):
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            inp = x
        out.append(inp)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


# -- RNG state --------------------------------------------------------------------------
def _cuda_indices(args) -> list[int]:
    found: list[int] = []

    def visit(a):
        if isinstance(a, Tensor):
            if a.device.type == "cuda" and (a.device.index or 0) not in found:
                found.append(a.device.index or 0)
        elif isinstance(a, (list, tuple)):
            for x in a:
                visit(x)
        elif isinstance(a, dict):
            for x in a.values():
                visit(x)

    visit(args)
    return found


def _capture_rng(args) -> tuple:
    """The CPU generator state and the CUDA generator states of the args' devices."""
    devices = _cuda_indices(args)
    return (_random.default_generator.get_state(),
            [(i, _random.cuda_generator(i).get_state()) for i in devices])


@contextlib.contextmanager
def _forked_rng(state: tuple | None) -> Iterator[None]:
    """Run with the generators set to ``state``; put the surrounding state back afterwards."""
    if state is None:
        yield
        return
    cpu_state, cuda_states = state
    outer_cpu = _random.default_generator.get_state()
    outer_cuda = [(i, _random.cuda_generator(i).get_state()) for i, _ in cuda_states]
    _random.default_generator.set_state(cpu_state)
    for i, s in cuda_states:
        _random.cuda_generator(i).set_state(s)
    try:
        yield
    finally:
        _random.default_generator.set_state(outer_cpu)
        for i, s in outer_cuda:
            _random.cuda_generator(i).set_state(s)


# -- use_reentrant=True ---------------------------------------------------------------------
_REENTRANT_GRAD_ERROR = (
    "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing "
    "an `inputs` parameter to .backward(). To resolve this error, you can either set "
    "use_reentrant=False, or call .backward() without passing the `inputs` argument."
)


class CheckpointFunction(Function):
    """The reentrant variant: forward under ``no_grad``, rerun and backpropagate in backward."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.rng = _capture_rng(args) if preserve_rng_state else None
        # non-tensor args are kept as they are, tensors go through save_for_backward
        # (so saved-tensor hooks and in-place checks apply to them)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_indices])
        with grad_mode.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not autograd._is_checkpoint_valid():
            raise RuntimeError(_REENTRANT_GRAD_ERROR)
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _forked_rng(ctx.rng):
            detached = detach_variable(tuple(inputs))
            with grad_mode.enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in detached)


# -- use_reentrant=False ----------------------------------------------------------------------
class _StopRecomputationError(Exception):
    """Raised from inside the rerun once every tensor still needed has been recomputed."""


class _Holder:
    """What the graph keeps in place of a saved tensor: the recomputed value, per backward pass."""

    __slots__ = ("values", "__weakref__")

    def __init__(self) -> None:
        self.values: dict[int, Tensor | None] = {}


class _SavedInputs(Node):
    """Keeps the checkpoint's tensor inputs like a node keeps saved tensors (hooks, version checks)."""

    def name(self) -> str:
        return "CheckpointInputs"


def _metadata(x: Tensor) -> dict:
    return {"shape": x.shape, "dtype": x.dtype, "device": x.device}


_DETERMINISM_CHECKS = {"default": _metadata, "none": lambda _: None}
_temp_ids = itertools.count(-2, -1)  # ids for unpacks outside any backward pass


class _Frame:
    """One non-reentrant checkpoint call: its inputs, how to rerun it, and its placeholders."""

    def __init__(self, recompute, early_stop: bool, metadata_fn, debug: bool) -> None:
        self.recompute = recompute
        self.early_stop = early_stop
        self.metadata_fn = metadata_fn
        self.debug = debug
        self.holders: list[weakref.ref] = []
        self.metas: list = []
        self.counts: dict[int, int] = {}
        self.recomputed: set[int] = set()
        self.forward_completed = False
        self.ignore_mismatch = False
        self.recompute_metas: dict[int, list] = {}

    def save_inputs(self, args) -> None:
        self.args = list(args)
        self.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        node = self.inputs = _SavedInputs.__new__(_SavedInputs)
        node._init_node((), ())
        node._record_saved([args[i] for i in self.tensor_pos], (), range(len(self.tensor_pos)), ())

    def get_inputs(self) -> list:
        args = list(self.args)
        for i, t in zip(self.tensor_pos, self.inputs.saved_tensors):
            args[i] = t
        return args

    # the pack/unpack hooks of the original forward
    def pack(self, x: Tensor) -> _Holder:
        holder = _Holder()
        self.holders.append(weakref.ref(holder))
        self.metas.append(self.metadata_fn(x))
        return holder

    def unpack(self, holder: _Holder) -> Tensor:
        gid = autograd._current_graph_task_id()
        if gid == -1:
            gid = next(_temp_ids)  # outside backward every unpack reruns, as in torch
        if gid not in self.recomputed:
            args = self.get_inputs()
            try:
                with _RecomputeHooks(self, gid), grad_mode.enable_grad():
                    self.recompute(*args)
            except _StopRecomputationError:
                pass
            self.recomputed.add(gid)
            try:
                self._check(gid)
            except CheckpointError as e:
                if self.debug:
                    raise CheckpointError(f"{e}\n{self._debug_dump(gid)}") from None
                raise
        value = holder.values.get(gid)
        if value is None:
            raise CheckpointError(
                "torch.utils.checkpoint: Unpack is being triggered for a tensor that was already "
                "unpacked once. If you are calling ctx.saved_tensors in backward, make sure to do "
                "so only once. Otherwise please open an issue with details on your use case."
            )
        holder.values[gid] = None  # hand it over once; the graph frees it after use
        return value

    # the pack hook of the rerun: route each saved tensor to its placeholder
    def pack_recomputed(self, gid: int, x: Tensor) -> Tensor:
        x = x.detach() if x.requires_grad else x
        k = self.counts.get(gid, 0)
        self.counts[gid] = k + 1
        if self.debug:
            self.recompute_metas.setdefault(gid, []).append(_metadata(x))
        if k >= len(self.holders):
            if not self.forward_completed:
                # backward called inside the checkpointed function itself: the rerun
                # goes further than the forward had got; nothing to compare then
                self.ignore_mismatch = True
                return x
            raise CheckpointError(
                "torch.utils.checkpoint: trying to save more tensors during recomputation than "
                "during the original forward pass."
            )
        holder = self.holders[k]()
        if holder is not None:  # else its node has been freed already: nothing to keep
            holder.values[gid] = x
        if self.early_stop and k + 1 == len(self.holders):
            raise _StopRecomputationError
        return x

    def _check(self, gid: int) -> None:
        if self.ignore_mismatch:
            return
        n = self.counts.get(gid, 0)
        if n != len(self.holders):
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                "original forward and recomputation.\n"
                f"Number of tensors saved during forward: {len(self.holders)}\n"
                f"Number of tensors saved during recomputation: {n}."
            )
        diffs = []
        for k, ref in enumerate(self.holders):
            holder = ref()
            if holder is None:
                continue
            got = self.metadata_fn(holder.values[gid])
            if got != self.metas[k]:
                diffs.append(f"tensor at position {k}:\nsaved metadata: {self.metas[k]}\n"
                             f"recomputed metadata: {got}\n")
        if diffs:
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have "
                "different metadata than during the forward pass.\n" + "".join(diffs)
            )

    def _debug_dump(self, gid: int) -> str:
        fwd = "\n".join(f"  {k}: {m}" for k, m in enumerate(self.debug_metas))
        rec = "\n".join(f"  {k}: {m}" for k, m in enumerate(self.recompute_metas.get(gid, [])))
        return (f"Tensors saved during the original forward:\n{fwd}\n"
                f"Tensors saved during recomputation:\n{rec}")


class _CheckpointHooks(saved_tensors_hooks):
    def __init__(self, frame: _Frame) -> None:
        if frame.debug:
            frame.debug_metas = []

            def pack(x):
                frame.debug_metas.append(_metadata(x))
                return frame.pack(x)

            super().__init__(pack, frame.unpack)
        else:
            super().__init__(frame.pack, frame.unpack)


class _RecomputeHooks(saved_tensors_hooks):
    def __init__(self, frame: _Frame, gid: int) -> None:
        # the rerun's own graph is thrown away; its saved tensors are only collected
        super().__init__(lambda x: frame.pack_recomputed(gid, x), lambda x: x)


def _checkpoint_non_reentrant(function, preserve_rng_state, context_fn, determinism_check,
                              debug, early_stop, args, kwargs):
    if _debug_enabled if _debug_enabled is not None else debug:
        if context_fn is not noop_context_fn:
            raise ValueError("debug=True is incompatible with non-default context_fn")
        debug = True
    else:
        debug = False
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(
            f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, but got "
            f"{determinism_check}"
        )
    forward_context, recompute_context = context_fn()
    rng = _capture_rng(args) if preserve_rng_state else None
    if not grad_mode.is_grad_enabled():
        return function(*args, **kwargs)

    def recompute(*inputs):
        with _forked_rng(rng), recompute_context:
            function(*inputs, **kwargs)

    frame = _Frame(recompute, _early_stop if _early_stop is not None else early_stop,
                   _DETERMINISM_CHECKS[determinism_check], debug)
    frame.save_inputs(args)
    finished = False
    with _CheckpointHooks(frame), forward_context:
        ret = function(*args, **kwargs)
        finished = True
    if not finished:
        raise RuntimeError(
            "torch.utils.checkpoint: the forward context provided by context_fn suppressed an "
            "exception raised during the checkpointed forward. This is not supported because "
            "checkpoint cannot return a value for a failed forward."
        )
    frame.forward_completed = True
    return ret


# -- public entry points ------------------------------------------------------------------------
def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable[[], tuple[Any, Any]] = noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its intermediate tensors for backward.

    They are recomputed during backward. ``use_reentrant`` should be given explicitly: when
    omitted, torch 2.13 warns and uses the reentrant variant, and so does this.
    ``preserve_rng_state`` replays the forward's RNG state in the recomputation.
    ``kwargs``, ``context_fn``, ``determinism_check`` and ``debug`` need ``use_reentrant=False``.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_non_reentrant(function, preserve_rng_state, context_fn, determinism_check,
                                     debug, early_stop, args, kwargs)


def checkpoint_sequential(functions, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """Run ``functions`` in order, checkpointing all but the last of ``segments`` chunks."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is not "
            "passed. use_reentrant=False is recommended, but if you need to preserve the current "
            "default behavior, you can pass use_reentrant=True. Refer to docs for more details "
            "on the differences between the two variants.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))

    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start: int, end: int):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
