"""Masked ops: ``masked_fill`` (and ``masked_fill_``), ``masked_scatter``, ``masked_select``."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd import grad_mode
from ...backend import device as _dev
from ...backend import dtypes
from .._inplace import inplace
from .._op import Op
from .._util import cast, is_scalar, tensor_arg_error
from ._common import _TORCH_NAMES, _broadcast_shape, _needs_graph, _shape_str, _tname, _xp, _zero
from .getitem import AdvIndex, _pad_to

_C_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool",
}


class MaskedFill(Op):
    """``where(mask, value, x)`` (mask broadcast); value an attribute or a 0-d tensor input."""

    def forward(self, x, *v):
        return self.xp.where(self.mask, v[0] if v else self.value, x)

    def backward(self, gy):
        need = self.needs_input_grad
        gx = MaskedFill.apply(gy, mask=self.mask, value=_zero(gy)) if need[0] else None
        if len(need) == 1:
            return gx
        gv = None
        if need[1]:
            inv = self.xp.logical_not(self.mask)
            gv = MaskedFill.apply(gy, mask=inv, value=_zero(gy)).sum()
        return gx, gv


def _mask_array(mask: Tensor, input: Tensor, what: str):
    if not isinstance(mask, Tensor):
        raise tensor_arg_error(what, "mask", None, mask)
    m = mask._data
    if m.dtype.kind != "b":
        name = dtypes.from_numpy(m.dtype).name
        if what == "masked_fill":
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype {_C_NAMES[name]}"
            )
        if what == "masked_scatter":
            raise RuntimeError(
                f"masked_scatter_ only supports boolean masks, but got mask with dtype {_TORCH_NAMES[name]}"
            )
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    if mask._device is not input._device:
        m = _dev.to_device(m, input._device)
    return m


def _fill_value(input: Tensor, value, what: str):
    """(array value, tensor value or None) for masked_fill / index_fill."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"{what} only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value._requires_grad and grad_mode.state.grad_enabled:
            v = value.to(input._device) if value._device is not input._device else value
            return None, cast(v, input._data.dtype)
        value = value.item()
    elif not is_scalar(value):
        raise TypeError(f"masked_fill(): argument 'value' must be Number, not {type(value).__name__}")
    return _xp(input).asarray(value, dtype=input._data.dtype), None


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where ``mask`` (bool, broadcast) is True."""
    m = _mask_array(mask, input, "masked_fill")
    val, vt = _fill_value(input, value, "masked_fill_")
    try:
        if vt is None:
            return MaskedFill.apply(input, mask=m, value=val)
        return MaskedFill.apply(input, vt, mask=m)
    except ValueError:
        _broadcast_shape(input._data.shape, m.shape)
        raise


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place :func:`masked_fill` (the mask must broadcast to ``self``'s shape)."""
    if _needs_graph(self, value):
        return inplace(self, masked_fill, mask, value)
    m = _mask_array(mask, self, "masked_fill")
    val, _ = _fill_value(self, value, "masked_fill_")
    try:
        _xp(self).copyto(self._data, val, where=m)
    except ValueError:
        shape = _broadcast_shape(self._data.shape, m.shape)
        raise RuntimeError(
            f"output with shape {_shape_str(self._data.shape)} doesn't match the broadcast shape "
            f"{_shape_str(shape)}"
        ) from None
    self._vc[0] += 1
    return self


class MaskedScatter(Op):
    def forward(self, x, src):
        xp = self.xp
        shape = self.shape
        out = xp.broadcast_to(x, shape).copy() if x.shape != shape else x.copy()
        m = self.mask
        self.src_shape = src.shape
        out[m] = src.reshape(-1)[: self.n]
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gx = MaskedFill.apply(gy, mask=self.mask, value=_zero(gy)) if nx else None
        gs = None
        if ns:
            sel = AdvIndex.apply(gy, key=(self.mask,))
            size = 1
            for s in self.src_shape:
                size *= s
            gs = _pad_to(sel, (size,)).reshape(self.src_shape)
        return gx, gs


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the leading elements of ``source`` copied, in order, where ``mask`` is True."""
    m = _mask_array(mask, input, "masked_scatter")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got"
            f"{_tname(input._data.dtype)} and {_tname(source._data.dtype)}"
        )
    shape = _broadcast_shape(input._data.shape, m.shape)
    if m.shape != shape:
        m = _xp(input).broadcast_to(m, shape)
    n = int(_xp(input).count_nonzero(m))
    if n > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return MaskedScatter.apply(input, source, mask=m, shape=shape, n=n)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (bool, broadcast) is True, as a 1-d tensor."""
    m = _mask_array(mask, input, "masked_select")
    shape = _broadcast_shape(input._data.shape, m.shape)
    x = input
    if x._data.shape != shape:
        x = input.expand(shape)
    if m.shape != shape:
        m = _xp(input).broadcast_to(m, shape)
    if not shape:
        x = x.reshape(1)
        m = m.reshape(1)
    return AdvIndex.apply(x, key=(m,))
