"""Graph nodes: one per recorded op application, plus ``AccumulateGrad`` for leaves.

A node holds edges to the nodes of its inputs (``next_functions``) and the tensors it
saved for backward; it holds no reference to its outputs, so a graph has no reference
cycles and dies with the last tensor that points into it.
"""
from __future__ import annotations

import itertools
import math
import threading
import weakref

from . import anomaly

_sequence = itertools.count()

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the graph "
    "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
    "you need to backward through the graph a second time or if you need to access saved "
    "tensors after calling backward."
)


class RemovableHandle:
    """Returned by ``register_*hook``; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _SavedHooksState(threading.local):
    # Thread-local like torch's. ``stack`` holds (pack, unpack) pairs, innermost last
    # (an immutable tuple, replaced on push/pop); ``disabled`` is the message of an
    # enclosing disable_saved_tensors_hooks.
    stack: tuple = ()
    disabled: str | None = None


saved_hooks = _SavedHooksState()
# how many hook pairs are installed over all threads: lets _record_saved, on every op's
# hot path, skip the (slower) thread-local lookup with one global test when none are
_hooks_in_use = 0
_hooks_lock = threading.Lock()


def push_saved_hooks(pack, unpack) -> None:
    global _hooks_in_use
    with _hooks_lock:
        _hooks_in_use += 1
    saved_hooks.stack = saved_hooks.stack + ((pack, unpack),)


def pop_saved_hooks() -> None:
    global _hooks_in_use
    saved_hooks.stack = saved_hooks.stack[:-1]
    with _hooks_lock:
        _hooks_in_use -= 1


class _Packed:
    """A saved tensor as a pack hook stored it, plus what unpack needs to rebuild it."""

    # grad_fn/edge_nr: where an unpacked non-leaf input sits in the graph; acc: a leaf's
    # AccumulateGrad (already kept alive by the node's edges, so no new lifetime)
    __slots__ = ("value", "unpack_hook", "requires_grad", "grad_fn", "edge_nr", "acc")
    # saved entries of packed tensors have version None, which this never equals: the
    # version test in saved_tensors then sends them to the unpack branch
    _vc = (0,)

    def unpack(self, node):
        from .._tensor import Tensor, _wrap

        r = self.unpack_hook(self.value)
        if not isinstance(r, Tensor):
            raise TypeError(
                "Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                f"type {type(r).__name__}"
            )
        # like torch: the unpacked value takes the graph position the saved tensor had
        # (a saved output is an output of the node using it), with the unpacked data's
        # version counter; no version check is possible through the hooks
        grad_fn = node if self.grad_fn is _SELF else self.grad_fn
        t = _wrap(r._data, r._device, self.requires_grad, grad_fn, self.edge_nr)
        t._vc = r._vc
        if self.acc is not None:
            t._extra = {"acc": weakref.ref(self.acc)}
        return t


_SELF = object()  # marks a saved output: its grad_fn is the node that saved it


def _pack(t, output_nr: int) -> tuple:
    """A saved-tensor entry ``(packed, None, output_nr)`` made by the innermost pack hook."""
    from . import grad_mode

    pack, unpack = saved_hooks.stack[-1]
    version = t._vc[0]
    prev = grad_mode.state.grad_enabled
    grad_mode.state.grad_enabled = False  # torch packs under no_grad
    try:
        value = pack(t)
    finally:
        grad_mode.state.grad_enabled = prev
    if t._vc[0] != version:
        raise RuntimeError(
            "A saved tensor pack hook is modifying its input in place. Tensors provided as "
            "input to pack hook cannot be modified by in-place operations as this can lead to "
            "unexpected side-effects. Please open an issue if you need to perform in-place "
            "operations on the input to a pack hook."
        )
    p = _Packed()
    p.value = value
    p.unpack_hook = unpack
    p.acc = None
    if output_nr >= 0:
        # not t.grad_fn: the packed entry must not point at its own node (no cycle)
        p.requires_grad, p.grad_fn, p.edge_nr = True, _SELF, output_nr
    elif t.grad_fn is not None:
        p.requires_grad, p.grad_fn, p.edge_nr = True, t.grad_fn, t._output_nr
    else:  # a leaf: keep its accumulator so a double backward still reaches it
        p.requires_grad, p.grad_fn, p.edge_nr = t._requires_grad, None, 0
        if t._requires_grad:
            p.acc = t._accumulator()
    return (p, None, output_nr)


def _saved_desc(t) -> str:
    return f"[disttorch.{t.dtype.tensor_type_name} {list(t.shape)}]"


class Node:
    """Base of every backward node. ``apply``-style subclasses fill the slots."""

    __slots__ = (
        "next_functions", "_input_meta", "_seq", "_saved", "_hooks", "_pre_hooks",
        "_tensor_pre_hooks", "_trace", "__weakref__", "__dict__",
    )
    # output nodes of AccumulateGrad get popped first (torch gives them max priority)
    _priority = 0.0

    def _init_node(self, next_functions, input_meta) -> None:
        self.next_functions = next_functions
        self._input_meta = input_meta
        self._seq = next(_sequence)
        self._saved = ()
        self._hooks = None
        self._pre_hooks = None
        self._tensor_pre_hooks = None
        self._trace = anomaly.forward_trace() if anomaly.state.enabled else None

    def name(self) -> str:
        return type(self).__name__ + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    # -- saved tensors -------------------------------------------------------------
    def _record_saved(self, inputs, outputs, input_idx, output_idx) -> None:
        if _hooks_in_use and saved_hooks.stack:
            self._saved = tuple(
                [_pack(inputs[i], -1) for i in input_idx]
                + [_pack(outputs[i], outputs[i]._output_nr) for i in output_idx]
            )
            return
        saved = []
        for i in input_idx:
            t = inputs[i]
            saved.append((t, t._vc[0], -1))
        for i in output_idx:
            t = outputs[i]
            # keep a detached alias of the output, not the output itself: the output
            # points at this node, and we must not point back (no reference cycles)
            saved.append((t._alias(), t._vc[0], t._output_nr))
        self._saved = tuple(saved)

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED)
        out = []
        for t, version, output_nr in saved:
            if t is None:
                out.append(None)
                continue
            if t._vc[0] != version:
                if version is None:  # stored by a pack hook (kept off the common path)
                    out.append(t.unpack(self))
                    continue
                owner = "output" if output_nr >= 0 else "an input"
                where = f"which is output {output_nr} of {self.name()}" if output_nr >= 0 else (
                    f"which is {owner} of {self.name()}")
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: {_saved_desc(t)}, {where}, is at version "
                    f"{t._vc[0]}; expected version {version} instead. Hint: the operation that "
                    "saved it is shown by disttorch.autograd.set_detect_anomaly(True)."
                )
            if output_nr >= 0:
                t = t._with_grad_fn(self, output_nr)
            out.append(t)
        return tuple(out)

    def _release(self) -> None:
        if self._saved:
            self._saved = None

    # -- hooks ----------------------------------------------------------------------
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = {}
        h = RemovableHandle(self._hooks)
        self._hooks[h.id] = fn
        return h

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        h = RemovableHandle(self._pre_hooks)
        self._pre_hooks[h.id] = fn
        return h

    def _register_tensor_pre_hook(self, output_nr: int, fn):
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        hooks = self._tensor_pre_hooks.setdefault(output_nr, {})
        h = RemovableHandle(hooks)
        hooks[h.id] = fn
        # the retain_grad hook always runs last, so .grad sees what other hooks made
        if "retain" in hooks:
            hooks["retain"] = hooks.pop("retain")
        return h

    def _register_retain_grad_hook(self, output_nr: int, fn) -> None:
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        self._tensor_pre_hooks.setdefault(output_nr, {})["retain"] = fn

    # -- the backward computation -----------------------------------------------------
    def _call_backward(self, grads: tuple) -> tuple:
        """Run ``backward`` on the output grads; one grad (or None) per input."""
        out = self.backward(*grads)
        if type(out) is not tuple:
            out = (out,)
        return out

    def backward(self, *grads):  # pragma: no cover - every subclass defines it
        raise NotImplementedError(f"{self.name()} has no backward")


class AccumulateGrad(Node):
    """Adds the incoming gradient into a leaf tensor's ``.grad``."""

    _priority = math.inf

    def __init__(self, variable) -> None:
        self._init_node((), ())
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def accumulate(self, grad, create_graph: bool) -> None:
        var = self.variable
        if var.grad is None:
            if create_graph:
                var.grad = grad
            else:
                var.grad = grad._owned_detached()
        elif create_graph:
            var.grad = var.grad + grad
        else:
            g = var.grad
            if g.shape == grad.shape and g._data.dtype == grad._data.dtype:
                g._data += grad._data
            else:
                var.grad = g + grad
        post = var._extra.get("post_acc_hooks") if var._extra else None
        if post:
            for hook in tuple(post.values()):
                hook(var)
