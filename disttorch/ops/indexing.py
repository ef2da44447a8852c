"""Indexing: ``x[key]``, ``x[key] = v``, gather/scatter, index_* ops, masked ops, take/put, nonzero.

``x[key]`` splits the key the way torch does: integers, slices, ``None`` and ``...``
make a view (``BasicIndex``, sharing memory and the version counter); integer and bool
index tensors then pick elements (``AdvIndex``, a copy). Integers are applied before the
advanced indices, so ``x[0, :, [1, 2]]`` has torch's shape, not numpy's. The gradient of
an advanced index scatters back with accumulation for repeated indices.

``x[key] = v`` writes straight into the array when nothing needs a gradient; otherwise it
is the out-of-place ``IndexPut`` applied through ``inplace``, which rebases the tensor.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd import grad_mode
from ..backend import device as _dev
from ..backend import dtypes
from ..backend.shims import scatter_add as _scatter_add
from ._inplace import inplace, inplace_method
from ._op import Op
from ._util import cast, is_scalar, wrap_dim

_CPU = _dev.CPU
_FULL = slice(None)
_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_UINT8 = np.dtype(np.uint8)

_TORCH_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
    "bool": "Bool",
}
_C_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool",
}

_C_TYPES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "bool": "bool"}


class _IndexRangeError(IndexError, RuntimeError):
    """torch raises IndexError or RuntimeError for the same bad index depending on layout."""


def _tname(np_dtype) -> str:
    return _TORCH_NAMES[dtypes.from_numpy(np_dtype).name]


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _zeros(xp, shape, dtype, device) -> Tensor:
    return _wrap(xp.zeros(shape, dtype=dtype), device)


def _needs_graph(*tensors) -> bool:
    if not grad_mode.state.grad_enabled:
        return False
    for t in tensors:
        if isinstance(t, Tensor) and t._requires_grad:
            return True
    return False


def _on_device(a, x: Tensor):
    """The array ``a`` (numpy or device array) on ``x``'s device."""
    if x._device is _CPU:
        if type(a) is np.ndarray:
            return a
        return _dev.to_device(a, _CPU)
    if isinstance(a, np.ndarray):
        return _dev.cupy_module().asarray(a)
    if _dev.device_of_array(a) != x._device:
        return _dev.to_device(a, x._device)
    return a


def _host(a) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else _dev.to_device(a, _CPU)


def _first_outside(a, lo: int, hi: int):
    """The first value of ``a`` (flat order) outside ``[lo, hi)``, or None."""
    h = _host(a).reshape(-1)
    bad = np.nonzero((h < lo) | (h >= hi))[0]
    return int(h[bad[0]]) if bad.size else None


def _any_outside(xp, a, lo: int, hi: int) -> bool:
    if a.size == 0:
        return False
    if xp is np:
        return bool(a.min() < lo or a.max() >= hi)
    # one device-to-host transfer for both bounds
    mn, mx = xp.stack((a.min(), a.max())).tolist()
    return mn < lo or mx >= hi


def _shape_str(shape) -> str:
    return str(list(shape))


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """``np.broadcast_shapes`` with torch's error."""
    n = max(len(a), len(b))
    out = []
    for i in range(n):
        sa = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        sb = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                f"non-singleton dimension {i}"
            )
        out.append(sb if sa == 1 else sa)
    return tuple(out)


# ---------------------------------------------------------------------------------------
# the ops behind x[key]


class BasicIndex(Op):
    """``x[key]`` for a key of ints, slices, None and Ellipsis: a view."""

    view = True

    def forward(self, x):
        self.src = x.shape
        return x[self.key]

    def backward(self, gy):
        return BasicIndexGrad.apply(gy, key=self.key, shape=self.src)

    def name(self) -> str:
        return "SliceBackward0"


class BasicIndexGrad(Op):
    """Zeros of the source shape with the gradient written at ``key`` (no repeats)."""

    def forward(self, gy):
        z = self.xp.zeros(self.shape, dtype=gy.dtype)
        z[self.key] = gy
        return z

    def backward(self, gg):
        return BasicIndex.apply(gg, key=self.key)


class AdvIndex(Op):
    """``x[key]`` for a key holding index arrays (and full slices): a copy."""

    def forward(self, x):
        self.src = x.shape
        return x[self.key]

    def backward(self, gy):
        return AdvIndexGrad.apply(gy, key=self.key, shape=self.src)

    def name(self) -> str:
        return "IndexBackward0"


def _has_int_arrays(key) -> bool:
    for k in key:
        if type(k) is not slice and k.dtype.kind != "b":
            return True
    return False


class AdvIndexGrad(Op):
    """Zeros of the source shape with the gradient added at ``key`` (repeats accumulate)."""

    def forward(self, gy):
        xp = self.xp
        z = xp.zeros(self.shape, dtype=gy.dtype)
        if _has_int_arrays(self.key):
            _scatter_add(xp, z, self.key, gy)
        else:  # masks and slices never repeat an element
            z[self.key] = gy
        return z

    def backward(self, gg):
        return AdvIndex.apply(gg, key=self.key)


def _apply_keys(t: Tensor, vkey, akey) -> Tensor:
    if vkey is not None:
        t = BasicIndex.apply(t, key=vkey)
    if akey is not None:
        t = AdvIndex.apply(t, key=akey)
    return t


# ---------------------------------------------------------------------------------------
# parsing a key

_INT, _SLICE, _NONE, _ELL, _BOOL, _IDX, _MASK = range(7)


def _bad_index_type(k) -> IndexError:
    return IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(k).__name__})"
    )


def _slice_int(v):
    if v is None or type(v) is int:
        return v
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            "slice indices must be integers or None or have an __index__ method"
        ) from None


def _norm_slice(k: slice) -> slice:
    start, stop, step = _slice_int(k.start), _slice_int(k.stop), _slice_int(k.step)
    if step is not None:
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")
    return slice(start, stop, step)


def _array_item(a, x: Tensor):
    """(kind, payload) for an index array (numpy or device), moved to ``x``'s device."""
    dt = a.dtype
    if dt.kind == "b" or dt == _UINT8:
        if dt == _UINT8:
            warnings.warn(
                "indexing with dtype disttorch.uint8 is now deprecated, please use a dtype "
                "disttorch.bool instead.", UserWarning, stacklevel=4)
            a = a.astype(np.bool_)
        if a.ndim == 0:
            return _BOOL, bool(a.item())
        return _MASK, _on_device(a, x)
    if dt == _INT64 or dt == _INT32:
        if a.ndim == 0:
            return _INT, int(a.item())
        return _IDX, _on_device(a, x)
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _seq_array(seq) -> np.ndarray:
    from ..creation import tensor

    if len(seq) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        t = tensor(seq)
    except (TypeError, ValueError) as e:
        raise IndexError(f"could not convert the index {seq!r} to a tensor: {e}") from None
    return _host(t._data)


def _item(k, x: Tensor):
    tk = type(k)
    if tk is int:
        return _INT, k
    if tk is slice:
        return _SLICE, _norm_slice(k)
    if k is None:
        return _NONE, None
    if k is Ellipsis:
        return _ELL, None
    if tk is bool or tk is np.bool_:
        return _BOOL, bool(k)
    if isinstance(k, Tensor):
        return _array_item(k._data, x)
    if isinstance(k, np.ndarray):
        return _array_item(k, x)
    if isinstance(k, np.integer):
        return _INT, int(k)
    if isinstance(k, (list, tuple, range)):
        return _array_item(_seq_array(list(k)), x)
    if isinstance(k, str):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(k, (float, np.floating)):
        raise _bad_index_type(k)
    if hasattr(k, "__cuda_array_interface__") or type(k).__name__ == "ndarray":
        return _array_item(k, x)
    try:
        return _INT, operator.index(k)
    except TypeError:
        raise _bad_index_type(k) from None


def _treat_as_tuple(key: list) -> bool:
    # torch (like old numpy) reads a short list holding slices, tensors or lists as a tuple
    if len(key) >= 32:
        return False
    for k in key:
        if isinstance(k, (Tensor, list, tuple, slice)) or k is None or k is Ellipsis:
            return True
    return False


def _key_items(key) -> tuple:
    if type(key) is tuple:
        return key
    if isinstance(key, tuple):  # Size, namedtuples
        return tuple(key)
    if type(key) is list and _treat_as_tuple(key):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq].", UserWarning, stacklevel=4)
        return tuple(key)
    return (key,)


def _parse(x: Tensor, key, check_bounds: bool):
    """(vkey, akey, checks) for ``x[key]``.

    ``vkey``: the numpy basic key of the view step (None when it would be the identity);
    ``akey``: the advanced key applied to that view (None for none); ``checks``: per
    integer index array, (position among index tensors, array, dim size) for bounds.
    """
    items = [_item(k, x) for k in _key_items(key)]
    shape = x._data.shape
    nd = len(shape)
    specified = 0
    for kind, p in items:
        if kind == _INT or kind == _SLICE or kind == _IDX:
            specified += 1
        elif kind == _MASK:
            specified += p.ndim
    if specified > nd:
        if nd == 0 and any(kind == _INT for kind, _ in items):
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    xp = _xp(x)
    vkey: list = []
    akey: list = []
    checks: list = []
    d = 0
    nadv = 0
    identity = True
    has_mask = False
    for pos, (kind, p) in enumerate(items):
        if kind == _INT:
            n = shape[d]
            if not -n <= p < n:
                raise IndexError(f"index {p} is out of bounds for dimension {pos} with size {n}")
            vkey.append(p)
            identity = False
            d += 1
        elif kind == _SLICE:
            vkey.append(p)
            akey.append(_FULL)
            if p != _FULL:
                identity = False
            d += 1
        elif kind == _NONE:
            vkey.append(None)
            akey.append(_FULL)
            identity = False
        elif kind == _ELL:
            n = min(nd - specified, nd - d)
            vkey.extend([_FULL] * n)
            akey.extend([_FULL] * n)
            d += n
        elif kind == _BOOL:
            # torch: unsqueeze, then index the new dim with [0] (True) or [] (False)
            vkey.append(None)
            akey.append(xp.zeros(1 if p else 0, dtype=np.int64))
            identity = False
            nadv += 1
        elif kind == _IDX:
            vkey.append(_FULL)
            akey.append(p)
            if check_bounds:
                checks.append((nadv, p, shape[d]))
            nadv += 1
            d += 1
        else:  # mask
            k = p.ndim
            for j in range(k):
                if p.shape[j] != shape[d + j]:
                    raise IndexError(
                        f"The shape of the mask {_shape_str(p.shape)} at index {j} does not "
                        f"match the shape of the indexed tensor {_shape_str(shape)} at index {d + j}"
                    )
            vkey.extend([_FULL] * k)
            akey.append(p)
            has_mask = True
            nadv += k
            d += k
    if nadv == 0:
        akey = None
    else:
        while akey and type(akey[-1]) is slice:
            akey.pop()
        arrays = [a for a in akey if type(a) is not slice]
        if len(arrays) > 1:
            if has_mask:
                expanded: list = []
                for a in akey:
                    if type(a) is not slice and a.dtype.kind == "b":
                        expanded.extend(xp.nonzero(a))
                    else:
                        expanded.append(a)
                akey = expanded
                arrays = [a for a in akey if type(a) is not slice]
            try:
                np.broadcast_shapes(*[a.shape for a in arrays])
            except ValueError:
                raise IndexError(
                    "shape mismatch: indexing tensors could not be broadcast together with shapes "
                    + ", ".join(_shape_str(a.shape) for a in arrays)
                ) from None
        akey = tuple(akey)
    if identity:
        vkey = None
    else:
        vkey.append(Ellipsis)  # keeps a 0-d result a view instead of a scalar copy
        vkey = tuple(vkey)
    for ordinal, a, n in checks:
        if _any_outside(xp, a, -n, n):
            v = _first_outside(a, -n, n)
            raise IndexError(f"index {v} is out of bounds for dimension {ordinal} with size {n}")
    return vkey, akey


def _parse_checked(x: Tensor, key):
    """``_parse`` with bounds checks where the array module does not raise for us."""
    return _parse(x, key, x._device is not _CPU)


def _index_general(x: Tensor, key) -> Tensor:
    vkey, akey = _parse_checked(x, key)
    if vkey is None and akey is None:
        return BasicIndex.apply(x, key=(Ellipsis,))
    try:
        return _apply_keys(x, vkey, akey)
    except IndexError:
        _parse(x, key, True)  # raises torch's message for an out-of-range index
        raise


def _fast_basic_key(key):
    """``key`` (with an Ellipsis appended) if it holds only ints, slices, None, Ellipsis."""
    t = type(key)
    if t is int:
        return (key, Ellipsis)
    if t is tuple:
        ell = False
        for k in key:
            tk = type(k)
            if tk is int or k is None:
                continue
            if tk is slice:
                s = k.step
                if s is None or (type(s) is int and s > 0):
                    continue
                return None
            if k is Ellipsis:
                if ell:
                    return None
                ell = True
                continue
            return None
        return key if ell else key + (Ellipsis,)
    if t is slice:
        s = key.step
        if s is None or (type(s) is int and s > 0):
            return (key,)
        return None
    if key is None or key is Ellipsis:
        return (key, Ellipsis) if key is None else (Ellipsis,)
    return None


def getitem(self: Tensor, key) -> Tensor:
    """``self[key]``: basic indexing gives a view, index tensors and masks give a copy."""
    k = _fast_basic_key(key)
    if k is not None:
        try:
            return BasicIndex.apply(self, key=k)
        except IndexError:
            pass  # out of range / 0-d: the general path raises torch's message
    elif type(key) is Tensor or isinstance(key, Tensor):
        d = key._data
        dt = d.dtype
        sd = self._data
        if d.ndim and key._device is self._device and sd.ndim:
            if dt == _INT64 or dt == _INT32:
                if self._device is not _CPU:
                    n = sd.shape[0]
                    if _any_outside(_xp(self), d, -n, n):
                        return _index_general(self, key)
                try:
                    return AdvIndex.apply(self, key=(d,))
                except IndexError:
                    pass
            elif dt.kind == "b" and d.shape == sd.shape[:d.ndim]:
                return AdvIndex.apply(self, key=(d,))
    return _index_general(self, key)


# ---------------------------------------------------------------------------------------
# x[key] = value


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
        raise TypeError(
            f"index_put(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}"
        )
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


# ---------------------------------------------------------------------------------------
# gather / scatter


def _check_index_dtype(index: Tensor, what: str) -> None:
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError(f"{what}(): Expected dtype int32/int64 for index")


def _mesh(xp, shape: tuple, dim: int, idx) -> tuple:
    """Advanced-index arrays selecting ``idx`` along ``dim`` over the box ``shape``."""
    nd = len(shape)
    key = []
    for d in range(nd):
        if d == dim:
            key.append(idx)
        else:
            s = [1] * nd
            s[d] = shape[d]
            key.append(xp.arange(shape[d]).reshape(s))
    return tuple(key)


def _box(shape: tuple, inside: tuple):
    """Slices taking the leading ``shape`` block of an array of shape ``inside``."""
    if shape == inside:
        return None
    return tuple(slice(0, s) for s in shape)


class Gather(Op):
    def forward(self, x):
        xp = self.xp
        self.src = x.shape
        idx = self.idx
        sub = list(idx.shape)
        sub[self.dim] = x.shape[self.dim]
        box = _box(tuple(sub), x.shape)
        if box is not None:
            x = x[box]
        return xp.take_along_axis(x, idx, axis=self.dim)

    def backward(self, gy):
        z = _zeros(self.xp, self.src, gy._data.dtype, gy._device)
        return ScatterAdd.apply(z, gy, dim=self.dim, idx=self.idx)


class ScatterAdd(Op):
    """``x`` with ``src`` (its leading index-shaped block) added at ``idx`` along ``dim``."""

    def forward(self, x, src):
        out = x.copy()
        idx = self.idx
        self.src_shape = src.shape
        box = _box(idx.shape, src.shape)
        if box is not None:
            src = src[box]
        _scatter_add(self.xp, out, _mesh(self.xp, idx.shape, self.dim, idx), src)
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gs = None
        if ns:
            gs = _pad_to(Gather.apply(gy, dim=self.dim, idx=self.idx), self.src_shape)
        return (gy if nx else None), gs


class Scatter(Op):
    """``x`` with ``src`` (or the scalar ``value``) written at ``idx`` along ``dim``."""

    def forward(self, x, *src):
        out = x.copy()
        idx = self.idx
        key = _mesh(self.xp, idx.shape, self.dim, idx)
        if src:
            s = src[0]
            self.src_shape = s.shape
            box = _box(idx.shape, s.shape)
            out[key] = s if box is None else s[box]
        else:
            out[key] = self.value
        return out

    def backward(self, gy):
        need = self.needs_input_grad
        gx = Scatter.apply(gy, dim=self.dim, idx=self.idx, value=0) if need[0] else None
        if len(need) == 1:
            return gx
        gs = None
        if need[1]:
            gs = _pad_to(Gather.apply(gy, dim=self.dim, idx=self.idx), self.src_shape)
        return gx, gs


class _PadTo(Op):
    """``g`` placed in the leading block of zeros of ``shape``."""

    def forward(self, g):
        z = self.xp.zeros(self.shape, dtype=g.dtype)
        self.box = tuple(slice(0, s) for s in g.shape)
        z[self.box] = g
        return z

    def backward(self, gg):
        return BasicIndex.apply(gg, key=self.box)


def _pad_to(g: Tensor, shape: tuple) -> Tensor:
    if g._data.shape == shape:
        return g
    return _PadTo.apply(g, shape=shape)


def _as_1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t._data.ndim == 0 else t


def _scatter_checks(what: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None):
    _check_index_dtype(index, what)
    nd = max(input._data.ndim, 1)
    d = wrap_dim(dim, nd)
    ishape = index._data.shape or (1,)
    xshape = input._data.shape or (1,)
    if src is not None:
        sshape = src._data.shape or (1,)
        if len(ishape) != len(sshape):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if len(ishape) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if index._data.size:
        for i in range(nd):
            if (i != d and ishape[i] > xshape[i]) or (src is not None and ishape[i] > sshape[i]):
                msg = (f"xpected index {_shape_str(index.shape)} to be no larger than self "
                       f"{_shape_str(input.shape)} apart from dimension {d}")
                if src is not None:
                    raise RuntimeError(
                        f"E{msg} and to be no larger size than src {_shape_str(src.shape)}")
                raise RuntimeError(f"Size does not match at dimension {i} e{msg}")
    return d


def _check_dim_bounds(xp, idx, n: int, d: int, error=RuntimeError) -> None:
    if _any_outside(xp, idx, 0, n):
        v = _first_outside(idx, 0, n)
        raise error(f"index {v} is out of bounds for dimension {d} with size {n}")


def _index_array(index: Tensor, like: Tensor):
    a = index._data
    if index._device is not like._device:
        a = _dev.to_device(a, like._device)
    return a


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (same ndim as input)."""
    d = _scatter_checks("gather", input, dim, index, None)
    idx = _index_array(index, input)
    x = input
    if input._data.ndim == 0 or idx.ndim == 0:
        x = _as_1d(input)
        idx = idx.reshape(-1) if idx.ndim == 0 else idx
    if idx.size:
        _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    r = Gather.apply(x, dim=d, idx=idx)
    if index._data.ndim == 0:
        r = r.reshape(())
    return r


def _scatter_prepare(what, input, dim, index, src):
    d = _scatter_checks(what, input, dim, index, src)
    idx = _index_array(index, input)
    x = input
    zero_d = input._data.ndim == 0
    if zero_d or idx.ndim == 0:
        x = _as_1d(input)
        idx = idx.reshape(-1) if idx.ndim == 0 else idx
        if src is not None:
            src = _as_1d(src)
    if idx.size:
        _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    return x, d, idx, src, zero_d


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src`` (tensor or number) written at ``index`` along ``dim``."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if reduce == "add":
            if not isinstance(src, Tensor):
                src = _full_like_index(input, index, src)
            return scatter_add(input, dim, index, src)
        if not isinstance(src, Tensor):
            src = _full_like_index(input, index, src)
        return scatter_reduce(input, dim, index, src, "prod")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        x, d, idx, s, zero_d = _scatter_prepare("scatter", input, dim, index, src)
        r = Scatter.apply(x, s, dim=d, idx=idx)
    else:
        if not is_scalar(src):
            raise TypeError(f"scatter(): argument 'value' must be Number, not {type(src).__name__}")
        x, d, idx, _, zero_d = _scatter_prepare("scatter", input, dim, index, None)
        val = _xp(input).asarray(src, dtype=input._data.dtype)
        r = Scatter.apply(x, dim=d, idx=idx, value=val)
    return r.reshape(()) if zero_d else r


def _full_like_index(input: Tensor, index: Tensor, value) -> Tensor:
    xp = _xp(input)
    return _wrap(xp.full(index._data.shape, value, dtype=input._data.dtype), input._device)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}"
        )
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter_add(): Expected self.dtype to be equal to src.dtype")
    x, d, idx, s, zero_d = _scatter_prepare("scatter_add", input, dim, index, src)
    r = ScatterAdd.apply(x, s, dim=d, idx=idx)
    return r.reshape(()) if zero_d else r


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _ufunc_at(xp, name: str, out, key, src):
    """``xp.<name>.at(out, key, src)``; through the host where the array module lacks it."""
    try:
        getattr(xp, name).at(out, key, src)
        return out
    except (AttributeError, NotImplementedError):
        if xp is np:
            raise
    host = _host(out)
    hkey = tuple(k if type(k) is slice else _host(k) for k in key)
    getattr(np, name).at(host, hkey, _host(src))
    return xp.asarray(host)


class ScatterReduce(Op):
    """``scatter_reduce``: sum, prod, mean, amax, amin of ``src`` into ``x`` at ``idx``."""

    def forward(self, x, src):
        xp = self.xp
        idx = self.idx
        box = _box(idx.shape, src.shape)
        self.src_shape = src.shape
        if box is not None:
            src = src[box]
        key = _mesh(xp, idx.shape, self.dim, idx)
        red = self.reduce
        out = x.copy()
        if not self.include_self:
            fill = {"sum": 0, "mean": 0, "prod": 1}.get(red)
            if fill is None:
                if x.dtype.kind in "fV":
                    fill = -np.inf if red == "amax" else np.inf
                else:
                    info = np.iinfo(x.dtype) if x.dtype.kind != "b" else None
                    fill = (info.min if red == "amax" else info.max) if info else red == "amin"
            out[key] = fill
        if red == "sum" or red == "mean":
            _scatter_add(xp, out, key, src)
        else:
            out = _ufunc_at(xp, {"prod": "multiply", "amax": "maximum", "amin": "minimum"}[red],
                            out, key, src)
        if red == "mean":
            cnt = xp.zeros(x.shape, dtype=np.int64)
            _scatter_add(xp, cnt, key, xp.ones(idx.shape, dtype=np.int64))
            if self.include_self:
                cnt += 1
            cnt = xp.maximum(cnt, 1)
            if x.dtype.kind in "fV":
                out = (out / cnt).astype(x.dtype)
            else:
                out = xp.floor_divide(out, cnt).astype(x.dtype)
        if not self.include_self and red != "sum" and red != "mean":
            touched = xp.zeros(x.shape, dtype=np.bool_)
            touched[key] = True
            out = xp.where(touched, out, x)
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        return out

    def backward(self, gy):
        x, src, out = self.saved_tensors
        nx, ns = self.needs_input_grad
        dim, idx, red = self.dim, self.idx, self.reduce
        src_b = src if src._data.shape == idx.shape else _index_box(src, idx.shape)
        touched = _touched(self.xp, x._data.shape, dim, idx)
        gx = gs = None
        if red == "sum":
            if nx:
                gx = gy if self.include_self else MaskedFill.apply(gy, mask=touched, value=_zero(gy))
            gs = Gather.apply(gy, dim=dim, idx=idx) if ns else None
        elif red == "mean":
            xp = self.xp
            cnt = xp.zeros(x._data.shape, dtype=gy._data.dtype)
            _scatter_add(xp, cnt, _mesh(xp, idx.shape, dim, idx), xp.ones(idx.shape, dtype=cnt.dtype))
            if self.include_self:
                cnt = cnt + 1
            cnt = _wrap(xp.maximum(cnt, 1), gy._device)
            g = gy / cnt
            if nx:
                gx = g if self.include_self else MaskedFill.apply(g, mask=touched, value=_zero(g))
            if ns:
                gs = Gather.apply(g, dim=dim, idx=idx)
        elif red == "prod":
            # d out / d x = out / x and d out / d src = out / src (no zeros among the factors)
            if nx:
                if self.include_self:
                    gx = gy * out / x
                else:
                    gx = MaskedFill.apply(gy, mask=touched, value=_zero(gy))
            if ns:
                gs = Gather.apply(gy * out, dim=dim, idx=idx) / src_b
        else:  # amax / amin: the grad is shared evenly among the elements equal to the result
            xp = self.xp
            eq_x = (x._data == out._data)
            if not self.include_self:
                eq_x = eq_x & xp.logical_not(touched)
            outg = Gather.apply(out.detach(), dim=dim, idx=idx)._data
            eq_s = src_b._data == outg
            cnt = eq_x.astype(gy._data.dtype)
            _scatter_add(xp, cnt, _mesh(xp, idx.shape, dim, idx), eq_s.astype(cnt.dtype))
            cnt = _wrap(xp.maximum(cnt, 1), gy._device)
            g = gy / cnt
            if nx:
                gx = MaskedFill.apply(g, mask=xp.logical_not(eq_x), value=_zero(g))
            if ns:
                gs = MaskedFill.apply(Gather.apply(g, dim=dim, idx=idx),
                                      mask=xp.logical_not(eq_s), value=_zero(g))
        if gs is not None:
            gs = _pad_to(gs, self.src_shape)
        return gx, gs


def _zero(t: Tensor):
    return _xp(t).zeros((), dtype=t._data.dtype)


def _index_box(t: Tensor, shape: tuple) -> Tensor:
    return BasicIndex.apply(t, key=tuple(slice(0, s) for s in shape))


def _touched(xp, shape, dim, idx):
    m = xp.zeros(shape, dtype=np.bool_)
    m[_mesh(xp, idx.shape, dim, idx)] = True
    return m


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` (sum/prod/mean/amax/amin)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_reduce(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}"
        )
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    x, d, idx, s, zero_d = _scatter_prepare("scatter_reduce", input, dim, index, src)
    r = ScatterReduce.apply(x, s, dim=d, idx=idx, reduce=reduce, include_self=bool(include_self))
    return r.reshape(()) if zero_d else r


# ---------------------------------------------------------------------------------------
# index_select / index_add / index_copy / index_fill


def _dim_key(dim: int, idx) -> tuple:
    return (_FULL,) * dim + (idx,)


class IndexSelect(Op):
    def forward(self, x):
        self.src = x.shape
        return self.xp.take(x, self.idx, axis=self.dim)

    def backward(self, gy):
        z = _zeros(self.xp, self.src, gy._data.dtype, gy._device)
        return IndexAdd.apply(z, gy, dim=self.dim, idx=self.idx, alpha=1)


class IndexAdd(Op):
    def forward(self, x, src):
        out = x.copy()
        if self.alpha != 1:
            src = src * self.alpha
        _scatter_add(self.xp, out, _dim_key(self.dim, self.idx), src)
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gs = None
        if ns:
            gs = IndexSelect.apply(gy, dim=self.dim, idx=self.idx)
            if self.alpha != 1:
                gs = gs * self.alpha
        return (gy if nx else None), gs


class IndexCopy(Op):
    def forward(self, x, src):
        out = x.copy()
        out[_dim_key(self.dim, self.idx)] = src
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gx = gs = None
        if nx:
            gx = IndexFill.apply(gy, dim=self.dim, idx=self.idx, value=_zero(gy))
        if ns:
            gs = IndexSelect.apply(gy, dim=self.dim, idx=self.idx)
        return gx, gs


class IndexFill(Op):
    """A copy of ``x`` with the slices at ``idx`` along ``dim`` set to a value.

    The value is the attribute ``value`` or, when given, the 0-d tensor input ``v``.
    """

    def forward(self, x, *v):
        out = x.copy()
        out[_dim_key(self.dim, self.idx)] = v[0] if v else self.value
        return out

    def backward(self, gy):
        need = self.needs_input_grad
        filled = IndexFill.apply(gy, dim=self.dim, idx=self.idx, value=_zero(gy))
        gx = filled if need[0] else None
        if len(need) == 1:
            return gx
        gv = (gy - filled).sum() if need[1] else None
        return gx, gv


def _vector_index(index: Tensor, input: Tensor):
    idx = _index_array(index, input)
    return idx.reshape(-1) if idx.ndim == 0 else idx


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the vector ``index``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    idx = _vector_index(index, input)
    if nd == 0:
        if idx.size != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
            )
        if _any_outside(_xp(input), idx, 0, 1):
            raise _IndexRangeError("index out of range in self")
        return IndexSelect.apply(input.reshape(1), dim=0, idx=idx).reshape(())
    n = input._data.shape[d]
    if _any_outside(_xp(input), idx, 0, n):
        raise _IndexRangeError("index out of range in self")
    return IndexSelect.apply(input, dim=d, idx=idx)


def _index_src_checks(what: str, input: Tensor, d: int, idx, source: Tensor, copy=False):
    nsrc = source._data.shape[d] if source._data.ndim else 1
    if idx.size != nsrc:
        if copy:
            raise IndexError(
                f"{what}(): Number of indices ({idx.size}) should be equal to source.size(dim) ({nsrc})"
            )
        raise RuntimeError(
            f"{what}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
            f"({nsrc}), for dim: {d}"
        )
    xs, ss = input._data.shape, source._data.shape
    ok = len(xs) == len(ss) and all(a == b for i, (a, b) in enumerate(zip(xs, ss)) if i != d)
    if not ok:
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified dimension. "
            f"Got self.shape = {_shape_str(xs)} source.shape = {_shape_str(ss)}"
        )


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {index._data.ndim} "
            f"with type: {_tname(index._data.dtype)} and size: {_shape_str(index.shape)}"
        )
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError(
            f"index_add_(): Expected dtype int32/int64 for index but got: {_tname(dt)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_tname(input._data.dtype)}) and source "
            f"({_tname(source._data.dtype)}) must have the same scalar type"
        )
    idx = _vector_index(index, input)
    _index_src_checks("index_add_", input, d, idx, source)
    x, s = input, source
    if nd == 0:
        x, s = input.reshape(1), source.reshape(1)
    _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    r = IndexAdd.apply(x, s, dim=d, idx=idx, alpha=alpha)
    return r.reshape(()) if nd == 0 else r


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by ``source``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0")
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"index_copy_(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{_tname(input._data.dtype)} and (source) {_tname(source._data.dtype)}"
        )
    idx = _vector_index(index, input)
    _index_src_checks("index_copy_", input, d, idx, source, copy=True)
    x, s = input, source
    if nd == 0:
        x, s = input.reshape(1), source.reshape(1)
    n = x._data.shape[d]
    if _any_outside(_xp(input), idx, 0, n):
        v = _first_outside(idx, 0, n)
        raise IndexError(f"index_copy_(): index {v} is out of bounds for dimension {d} with size {n}")
    r = IndexCopy.apply(x, s, dim=d, idx=idx)
    return r.reshape(()) if nd == 0 else r


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.dtype != _INT64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    idx = _vector_index(index, input)
    x = input.reshape(1) if nd == 0 else input
    n = x._data.shape[d]
    xp = _xp(input)
    if _any_outside(xp, idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"index {v} is out of bounds for dimension {d} with size {n}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        v = value
        if v._device is not input._device:
            v = v.to(input._device)
        r = IndexFill.apply(x, cast(v, input._data.dtype), dim=d, idx=idx)
    else:
        if not is_scalar(value):
            raise TypeError(f"index_fill(): argument 'value' must be Number, not {type(value).__name__}")
        r = IndexFill.apply(x, dim=d, idx=idx, value=xp.asarray(value, dtype=input._data.dtype))
    return r.reshape(()) if nd == 0 else r


# ---------------------------------------------------------------------------------------
# masked ops


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
        raise TypeError(f"{what}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
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


# ---------------------------------------------------------------------------------------
# take / take_along_dim / put


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (result has ``index``'s shape)."""
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    idx = _index_array(index, input)
    n = input._data.size
    if _any_outside(_xp(input), idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")
    return AdvIndex.apply(input.reshape(-1), key=(idx,))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` (flattened when ``dim`` is None)."""
    if indices._data.dtype != _INT64:
        raise RuntimeError(
            "torch.take_along_dim(): dtype of indices should be Long but got "
            f"{_tname(indices._data.dtype)}"
        )
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    nd = input._data.ndim
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, nd)
    if nd != indices._data.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {nd} dimensions for input, and {indices._data.ndim} dimensions for indices"
        )
    xs, is_ = list(input._data.shape), list(indices._data.shape)
    xs[d] = is_[d] = 1
    b = list(_broadcast_shape(tuple(xs), tuple(is_)))
    xt = list(b)
    xt[d] = input._data.shape[d]
    it = list(b)
    it[d] = indices._data.shape[d]
    x = input if tuple(xt) == input._data.shape else input.expand(xt)
    ind = indices if tuple(it) == indices._data.shape else indices.expand(it)
    idx = _index_array(ind, input)
    n = x._data.shape[d]
    xp = _xp(input)
    if idx.size and _any_outside(xp, idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {n}")
    if idx.size and _any_outside(xp, idx, 0, n):
        idx = xp.where(idx < 0, idx + n, idx)
    return Gather.apply(x, dim=d, idx=idx)


class Put(Op):
    def forward(self, x, src):
        out = x.copy()
        self.src_shape = src.shape
        flat = out.reshape(-1)
        s = src.reshape(-1)
        if self.accumulate:
            _scatter_add(self.xp, flat, (self.idx,), s)
        else:
            flat[self.idx] = s
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gx = gs = None
        if nx:
            if self.accumulate:
                gx = gy
            else:
                z = _wrap(self.xp.zeros(self.idx.shape, dtype=gy._data.dtype), gy._device)
                gx = Put.apply(gy, z, idx=self.idx, accumulate=False)
        if ns:
            gs = AdvIndex.apply(gy.reshape(-1), key=(self.idx,)).reshape(self.src_shape)
        return gx, gs


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat positions ``index``."""
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"put_(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{_tname(input._data.dtype)} and source.dtype = {_tname(source._data.dtype)}"
        )
    if source._data.size != index._data.size:
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}"
        )
    idx = _index_array(index, input).reshape(-1)
    n = input._data.size
    if _any_outside(_xp(input), idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")
    return Put.apply(input, source, idx=idx, accumulate=bool(accumulate))


# ---------------------------------------------------------------------------------------
# nonzero / argwhere


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one vector per dim."""
    xp = _xp(input)
    d = input._data
    if as_tuple:
        if d.ndim == 0:
            d = d.reshape(1)
        return tuple(_wrap(a.astype(np.int64, copy=False), input._device) for a in xp.nonzero(d))
    return _wrap(xp.argwhere(d).astype(np.int64, copy=False), input._device)


def argwhere(input: Tensor) -> Tensor:
    """Indices of the non-zero elements as an (n, ndim) int64 tensor."""
    return nonzero(input)


# ---------------------------------------------------------------------------------------


def _install() -> None:
    T = Tensor
    T.__getitem__ = getitem
    T.__setitem__ = setitem
    T.gather, T.scatter, T.scatter_add, T.scatter_reduce = gather, scatter, scatter_add, scatter_reduce
    T.index_select, T.index_add, T.index_copy, T.index_fill = (
        index_select, index_add, index_copy, index_fill)
    T.masked_fill, T.masked_scatter, T.masked_select = masked_fill, masked_scatter, masked_select
    T.take, T.take_along_dim, T.put, T.index_put = take, take_along_dim, put, index_put
    T.nonzero, T.argwhere = nonzero, argwhere
    T.masked_fill_ = masked_fill_
    for fn in (scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill,
               masked_scatter, put, index_put):
        setattr(T, fn.__name__ + "_", inplace_method(fn))


_install()


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`index_put`."""
    return input.index_put_(indices, values, accumulate)


__all__ = [
    "argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_select", "masked_fill", "masked_scatter", "masked_select", "nonzero", "put",
    "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim",
]
