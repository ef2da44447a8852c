"""``x[key] = value`` and ``index_put``: a direct write, or ``IndexPut`` through ``inplace``."""
from __future__ import annotations

from ..._tensor import Tensor, _wrap
from ...backend import dtypes
from ...backend.shims import scatter_add as _scatter_add
from .._inplace import inplace
from .._op import Op
from .._util import cast, is_scalar, tensor_arg_error
from ._common import _CPU, _needs_graph, _shape_str, _tname, _xp
from .getitem import _apply_keys
from .key import _fast_basic_key, _parse, _parse_checked

_C_TYPES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "bool": "bool"}


class IndexPut(Op):
    """A copy of ``x`` with ``x[key] = v`` (or ``+= v`` with ``accumulate``)."""

    def forward(self, x, v):
        out = x.copy()
        tgt = out if self.vkey is None else out[self.vkey]
        try:
            if self.akey is None:
                if self.accumulate:
                    tgt += v
                else:
                    tgt[...] = v
            elif self.accumulate:
                _scatter_add(self.xp, tgt, self.akey, v)
            else:
                tgt[self.akey] = v
        except ValueError:
            shape = tgt.shape if self.akey is None else tgt[self.akey].shape
            raise _value_shape_error(v.shape, shape) from None
        return out

    def backward(self, gy):
        nx, nv = self.needs_input_grad
        gx = gv = None
        if nx:
            if self.accumulate:
                gx = gy
            else:
                zero = _wrap(self.xp.zeros((), dtype=gy._data.dtype), gy._device)
                gx = IndexPut.apply(gy, zero, vkey=self.vkey, akey=self.akey, accumulate=False)
        if nv:
            gv = _apply_keys(gy, self.vkey, self.akey)
        return gx, gv


def _value_shape_error(vshape, shape) -> RuntimeError:
    return RuntimeError(
        f"shape mismatch: value tensor of shape {_shape_str(vshape)} cannot be broadcast to "
        f"indexing result of shape {_shape_str(shape)}"
    )


def _strip_leading_ones(v: Tensor) -> Tensor:
    shape = v._data.shape
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return v.reshape(shape[i:]) if i else v


def _setitem_value(self: Tensor, value):
    """The value as an array or Python scalar for a direct write (no graph)."""
    if isinstance(value, Tensor):
        if value._device is not self._device:
            if value._data.ndim == 0 and value._device is _CPU:
                return value.item()
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{self._device} and {value._device}!"
            )
        return value._data
    if is_scalar(value):
        return value
    mod = type(value).__module__
    tn = type(value).__qualname__ if mod == "builtins" else f"{mod}.{type(value).__qualname__}"
    raise TypeError(f"can't assign a {tn} to a disttorch.{_tname(self._data.dtype)}Tensor")


def _write_error(e: Exception, self: Tensor, vkey, akey, val) -> Exception:
    if isinstance(e, OverflowError) or "convert" in str(e).lower():
        name = dtypes.from_numpy(self._data.dtype).name
        return RuntimeError(
            f"value cannot be converted to type {_C_TYPES.get(name, name)} without overflow"
        )
    tgt = self._data if vkey is None else self._data[vkey]
    shape = tgt.shape if akey is None else tgt[akey].shape
    vshape = getattr(val, "shape", ())
    return _value_shape_error(vshape, shape)


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``: value a number or a tensor (broadcast, cast to self's dtype)."""
    if _needs_graph(self, value):
        _setitem_graph(self, key, value)
        return
    val = _setitem_value(self, value)
    k = _fast_basic_key(key)
    data = self._data
    if k is not None:
        try:
            data[k] = val
            self._vc[0] += 1
            return
        except (IndexError, ValueError, OverflowError, TypeError):
            pass  # the general path names the problem
    vkey, akey = _parse_checked(self, key)
    tgt = data if vkey is None else data[vkey]
    try:
        if akey is None:
            tgt[...] = val
        else:
            tgt[akey] = val
    except IndexError:
        _parse(self, key, True)
        raise
    except (ValueError, OverflowError, TypeError) as e:
        raise _write_error(e, self, vkey, akey, val) from None
    self._vc[0] += 1


def _index_put_fn(old: Tensor, v: Tensor, vkey, akey, accumulate=False) -> Tensor:
    return IndexPut.apply(old, v, vkey=vkey, akey=akey, accumulate=accumulate)


def _as_value_tensor(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value._device is not self._device and value._data.ndim == 0 and value._device is _CPU:
            value = value.to(self._device)
        v = cast(value, self._data.dtype)
        return _strip_leading_ones(v)
    _setitem_value(self, value)  # raises TypeError for what cannot be assigned
    xp = _xp(self)
    return _wrap(xp.asarray(value, dtype=self._data.dtype), self._device)


def _setitem_graph(self: Tensor, key, value) -> None:
    vkey, akey = _parse_checked(self, key)
    v = _as_value_tensor(self, value)
    try:
        inplace(self, _index_put_fn, v, vkey=vkey, akey=akey)
    except IndexError:
        _parse(self, key, True)
        raise


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``)."""
    if not isinstance(values, Tensor):
        raise tensor_arg_error("index_put", "values", 2, values)
    indices = tuple(indices)
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_tname(input._data.dtype)} for the destination and {_tname(values._data.dtype)} "
            "for the source."
        )
    vkey, akey = _parse_checked(input, indices)
    try:
        return IndexPut.apply(input, _strip_leading_ones(values), vkey=vkey, akey=akey,
                              accumulate=bool(accumulate))
    except IndexError:
        _parse(input, indices, True)
        raise


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`index_put`."""
    return input.index_put_(indices, values, accumulate)
