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
        if self._base is not None:
            raise RuntimeError(
                "an in-place operation that needs autograd on a view of another tensor is not "
                "supported; apply it to the base tensor or use the out-of-place op"
            )
        old = _wrap(self._data.copy(), self._device, self._requires_grad, self.grad_fn,
                    self._output_nr)
        r = fn(old, *args, **kwargs)
        check_castable(r._data.dtype, self._data.dtype)
        if r._data.dtype != self._data.dtype:
            from ._util import cast

            r = cast(r, self._data.dtype)
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
