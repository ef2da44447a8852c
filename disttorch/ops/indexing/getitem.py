"""``x[key]``: the basic (view) and advanced (copy) index ops, their gradients, and ``getitem``."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend.shims import scatter_add as _scatter_add
from .._op import Op
from ._common import _CPU, _INT32, _INT64, _any_outside, _xp
from .key import _fast_basic_key, _parse, _parse_checked

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


# ---------------------------------------------------------------------------------------
# x[key]


def _index_general(x: Tensor, key) -> Tensor:
    vkey, akey = _parse_checked(x, key)
    if vkey is None and akey is None:
        return BasicIndex.apply(x, key=(Ellipsis,))
    try:
        return _apply_keys(x, vkey, akey)
    except IndexError:
        _parse(x, key, True)  # raises torch's message for an out-of-range index
        raise


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
