"""In-place variants (``add_``, ``mul_``, ``__setitem__``...) built on the out-of-place ops.

Without autograd the result is written straight into the tensor's array. With autograd
the op runs on a snapshot of the old value and the tensor is rebased onto the new
node, as torch does; the version counter is bumped so any node that saved the old
value refuses to use it.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd import grad_mode
from ..backend import dtypes
from ._op import Op


def check_castable(result_dtype, self_dtype) -> None:
    if result_dtype == self_dtype:
        return
    if not np.can_cast(result_dtype, self_dtype, casting="same_kind") and not (
        result_dtype.kind in "biuf" and self_dtype.kind == "V"  # into bfloat16
    ):
        r = dtypes.from_numpy(result_dtype).legacy_name
        s = dtypes.from_numpy(self_dtype).legacy_name
        raise RuntimeError(f"result type {r} can't be cast to the desired output type {s}")


def check_writable(self: Tensor) -> None:
    """An expanded tensor's elements share memory: torch refuses to write into it."""
    if not getattr(self._data.flags, "writeable", True):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )


def _needs_graph(self: Tensor, args) -> bool:
    if not grad_mode.state.grad_enabled:
        return False
    if self._requires_grad:
        return True
    return any(isinstance(a, Tensor) and a._requires_grad for a in args)


def inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Compute ``fn(self, *args, **kwargs)`` and store the result into ``self``."""
    check_writable(self)
    if _needs_graph(self, args):
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        old = _wrap(self._data.copy(), self._device, self._requires_grad, self.grad_fn,
                    self._output_nr)
        r = fn(old, *args, **kwargs)
        check_castable(r._data.dtype, self._data.dtype)
        if r._data.dtype != self._data.dtype:
            from ._util import cast

            r = cast(r, self._data.dtype)
        if self._base is not None:
            _rebase_view(self, r)
        else:
            _write(self, r._data)
            self.grad_fn = r.grad_fn
            self._output_nr = r._output_nr
            self._requires_grad = r._requires_grad
    else:
        r = fn(self, *args, **kwargs)
        check_castable(r._data.dtype, self._data.dtype)
        if r._data is not self._data:
            _write(self, r._data)
    self._vc[0] += 1
    return self


class CopySlices(Op):
    """The base after writing ``value`` into the region a view recipe selects.

    Forward writes in place and returns the base's own array (no copy); backward gives
    the base the grad with that region zeroed and the value the region's grad.
    """

    def forward(self, base, value):
        self.replay(_wrap(base, self.device))._data[...] = value
        return base

    def name(self) -> str:
        return "CopySlices"

    def backward(self, gy):
        from ..creation import zeros_like

        region = self.replay(gy)
        gb = CopySlices.apply(gy.clone(), zeros_like(region), replay=self.replay, device=self.device)
        return gb, region


def _view_chain(view: Tensor) -> list:
    """The recipes that rebuild ``view`` from its base, outermost last."""
    chain = []
    t = view
    while t is not view._base:
        parent, cls, attrs, index = t._extra["view"]
        chain.append((cls, attrs, index))
        t = parent
    chain.reverse()
    return chain


def _rebase_view(view: Tensor, value: Tensor) -> None:
    """Write ``value`` into ``view`` and rewrite the base's graph (torch's CopySlices)."""
    base = view._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    chain = _view_chain(view)

    def replay(t: Tensor) -> Tensor:
        for cls, attrs, index in chain:
            t = cls.apply(t, **attrs)
            if type(t) is tuple:
                t = t[index]
        return t

    new_base = CopySlices.apply(base, value, replay=replay, device=base._device)
    base.grad_fn = new_base.grad_fn
    base._output_nr = new_base._output_nr
    base._requires_grad = new_base._requires_grad
    fresh = replay(base)
    view.grad_fn = fresh.grad_fn
    view._output_nr = fresh._output_nr
    view._requires_grad = fresh._requires_grad


def _write(self: Tensor, data) -> None:
    if data.shape != self._data.shape:
        if np.broadcast_shapes(data.shape, self._data.shape) != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(data.shape, self._data.shape))}"
            )
    self._data[...] = data


def inplace_method(fn):
    """Make ``Tensor.<name>_`` from the out-of-place function ``fn``."""

    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :meth:`{fn.__name__}`."
    return method
