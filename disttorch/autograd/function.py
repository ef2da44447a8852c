"""``autograd.Function``: user-defined ops with ``forward(ctx, ...)`` / ``backward(ctx, ...)``."""
from __future__ import annotations

import functools

from . import grad_mode
from . import node as node_mod
from .node import Node, _pack, saved_hooks


class FunctionCtx(Node):
    """The ``ctx`` handed to ``forward``/``backward``; it is also the op's graph node."""

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    def name(self) -> str:
        return self._cls.__name__ + "Backward"

    def _call_backward(self, grads: tuple) -> tuple:
        if self._materialize:
            from ..creation import zeros

            grads = tuple(
                zeros(meta[0], dtype=meta[1], device=meta[2]) if g is None and meta is not None else g
                for g, meta in zip(grads, self._output_meta)
            )
        out = self._cls.backward(self, *grads)
        if type(out) is not tuple:
            out = (out,)
        # trailing None grads for extra (non-tensor) forward arguments may be omitted
        if len(out) > len(self.next_functions) and all(g is None for g in out[len(self.next_functions):]):
            out = out[: len(self.next_functions)]
        return out


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method."
        )

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor, _wrap

        ctx = FunctionCtx.__new__(FunctionCtx)
        ctx._cls = cls
        ctx._to_save = ()
        ctx._non_differentiable = set()
        ctx._dirty = ()
        ctx._materialize = True
        ctx._init_node((), ())
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        separate_setup = cls.setup_context is not Function.setup_context
        with grad_mode.no_grad():
            if separate_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        for t in ctx._dirty:
            t._vc[0] += 1
        record = grad_mode.state.grad_enabled and any(ctx.needs_input_grad)
        if not record:
            return output

        tensor_args = [a if isinstance(a, Tensor) else None for a in args]
        ctx.next_functions = tuple(a._edge() if a is not None else (None, 0) for a in tensor_args)
        ctx._input_meta = tuple(
            (a._data.shape, a._data.dtype, a._device) if a is not None else None for a in tensor_args
        )
        input_ids = {id(a) for a in tensor_args if a is not None}
        results = []
        meta = []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                results.append(o)
                meta.append(None)
                continue
            meta.append((o._data.shape, o._data.dtype, o._device))
            if id(o) in ctx._non_differentiable or o._data.dtype.kind not in "fV":
                results.append(o)
                continue
            if id(o) in input_ids and o not in ctx._dirty:
                alias = _wrap(o._data, o._device)
                alias._vc = o._vc
                o = alias
            o.grad_fn = ctx
            o._output_nr = i
            o._requires_grad = True
            results.append(o)
        ctx._output_meta = tuple(meta)
        ctx._n_outputs = len(outputs)
        out_ids = {id(r): k for k, r in enumerate(results)}
        saved = []
        hooked = bool(node_mod._hooks_in_use and saved_hooks.stack)
        for t in ctx._to_save:
            if t is None:
                saved.append((None, 0, -1))
            elif id(t) in out_ids and results[out_ids[id(t)]].grad_fn is ctx:
                k = out_ids[id(t)]
                saved.append(_pack(t, k) if hooked else (t._alias(), t._vc[0], k))
            else:
                saved.append(_pack(t, -1) if hooked else (t, t._vc[0], -1))
        ctx._saved = tuple(saved)
        del ctx._to_save
        return tuple(results) if is_tuple else results[0]


def once_differentiable(fn):
    """Run ``backward`` without recording a graph (it cannot be differentiated again)."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            return fn(ctx, *args)

    return wrapper
