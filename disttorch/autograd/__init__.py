"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""
from __future__ import annotations

import itertools
import threading

from . import anomaly, engine, grad_mode, graph
from .anomaly import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .node import Node

__all__ = [
    "Function", "FunctionCtx", "GradcheckError", "Node", "anomaly", "backward", "detect_anomaly",
    "enable_grad", "engine", "grad", "grad_mode", "graph", "gradcheck", "gradgradcheck",
    "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "no_grad",
    "once_differentiable", "set_detect_anomaly", "set_grad_enabled",
]


class _TaskState(threading.local):
    # (id, checkpoint_valid) per backward()/grad() call running on this thread, innermost
    # last: reentrant checkpoint needs to know whether the pass it runs in is a plain
    # backward, and non-reentrant checkpoint keys its recomputations by pass
    tasks: tuple = ()


_tasks = _TaskState()
_task_ids = itertools.count()


def _is_checkpoint_valid() -> bool:
    """False inside a ``grad()`` or ``backward(inputs=...)`` pass (reentrant checkpoint can't run there)."""
    return _tasks.tasks[-1][1] if _tasks.tasks else True


def _current_graph_task_id() -> int:
    """A number unique to the backward pass running now (never reused), or -1 outside one."""
    return _tasks.tasks[-1][0] if _tasks.tasks else -1


def _run(roots, grads, retain_graph, create_graph, inputs, accumulate, **kw):
    prev = _tasks.tasks
    _tasks.tasks = prev + ((next(_task_ids), accumulate and inputs is None),)
    try:
        return engine.run_backward(roots, grads, retain_graph, create_graph, inputs=inputs,
                                   accumulate=accumulate, **kw)
    finally:
        _tasks.tasks = prev


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _make_grads(outputs, grad_outputs, create_graph):
    from ..creation import ones_like

    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:
                raise RuntimeError(
                    "grad can be implicitly created only for real scalar outputs but got "
                    f"disttorch.{out.dtype.name}"
                )
            g = ones_like(out)
        else:
            if tuple(g._data.shape) != tuple(out._data.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}."
                )
            if g._device != out._device:
                raise RuntimeError(
                    f"Expected all tensors to be on the same device, but found at least two "
                    f"devices, {out._device} and {g._device}!"
                )
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def _roots(outputs):
    roots = []
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        roots.append(out._edge())
    return roots


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(
            f"got {len(grad_tensors)} tensors and {len(tensors)} gradients"
        )
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    roots = _roots(tensors)
    grads = _make_grads(tensors, grad_tensors, create_graph)
    _run(roots, grads, retain_graph, create_graph, inputs, True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated)."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} and {len(outputs)}")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    roots = _roots(outputs)
    grads = _make_grads(outputs, grad_outputs, create_graph)
    result = _run(roots, grads, retain_graph, create_graph, inputs, False,
                  allow_unused=allow_unused)
    if materialize_grads:
        from ..creation import zeros_like

        result = [zeros_like(x) if r is None else r for r, x in zip(result, inputs)]
    return tuple(result)
