"""``where``: elementwise choice between two tensors, and ``where(condition)`` as nonzero."""
from __future__ import annotations

import warnings

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from .._util import cast, is_scalar, need_tensor, result_type, scalar_tensor
from ._common import _apply_bc, _legacy, _select


class Where(Op):
    def forward(self, c, a, b):
        self.retain_inputs(0)
        return _select(self.xp, c, a, b)

    def backward(self, gy):
        (c,) = self.saved_tensors
        _, na, nb = self.needs_input_grad
        ga = Where.apply(c, gy, scalar_tensor(0, gy._data.dtype, gy._device)) if na else None
        gb = Where.apply(c, scalar_tensor(0, gy._data.dtype, gy._device), gy) if nb else None
        return None, ga, gb


class NonzeroTuple(Op):
    differentiable = False

    def forward(self, c):
        if c.ndim == 0:
            c = c.reshape(1)
        return tuple(i.astype(np.int64) for i in self.xp.nonzero(c))


def where(condition: Tensor, input=None, other=None):
    """Elementwise ``input`` where ``condition`` holds, else ``other`` (broadcast, promoted).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``.
    """
    need_tensor(condition, "where", "condition")
    if input is None and other is None:
        return NonzeroTuple.apply(condition)
    k = condition._data.dtype.kind
    if k != "b":
        if condition._data.dtype != np.uint8:
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_legacy(condition)}")
        warnings.warn(
            "where received a uint8 condition tensor. This behavior is deprecated and will be "
            "removed in a future version. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = cast(condition, np.bool_)
    ti, to = isinstance(input, Tensor), isinstance(other, Tensor)
    if ti and to and input._data.dtype == other._data.dtype:
        a, b = input, other
    else:
        for v, name in ((input, "input"), (other, "other")):
            if not isinstance(v, Tensor) and not is_scalar(v):
                raise TypeError(
                    f"where(): argument '{name}' must be Tensor or Number, not {type(v).__name__}")
        rt = result_type(input, other).np
        dev = condition._device
        a = cast(input, rt) if ti else scalar_tensor(input, rt, dev)
        b = cast(other, rt) if to else scalar_tensor(other, rt, dev)
    return _apply_bc(Where, condition, a, b)
