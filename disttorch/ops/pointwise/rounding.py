"""Rounding: floor, ceil, trunc/fix and round (to even, optionally to ``decimals`` places)."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import need_tensor
from ._common import _F32, _legacy, _zeros_like


class _Rounding(Op):
    def forward(self, x):
        if x.dtype.kind != "f" and x.dtype.kind != "V":
            return x.copy()
        return self.f(self.xp, x)

    def backward(self, gy):
        return _zeros_like(gy)


class Floor(_Rounding):
    f = staticmethod(lambda xp, x: xp.floor(x))


class Ceil(_Rounding):
    f = staticmethod(lambda xp, x: xp.ceil(x))


class Trunc(_Rounding):
    f = staticmethod(lambda xp, x: xp.trunc(x))


class Round(_Rounding):
    f = staticmethod(lambda xp, x: xp.rint(x))


class RoundDecimals(_Rounding):
    def f(self, xp, x):
        h = x.astype(_F32) if x.dtype.itemsize < 4 else x
        d = self.decimals
        if d > 0:
            s = xp.asarray(10.0 ** d, dtype=h.dtype)
            y = xp.rint(h * s) / s
        else:
            s = xp.asarray(10.0 ** -d, dtype=h.dtype)
            y = xp.rint(h / s) * s
        return y.astype(x.dtype)

    def name(self) -> str:
        return "RoundBackward1"


def _rounding(name: str, op: type, doc: str):
    def fn(input: Tensor) -> Tensor:
        need_tensor(input, name)
        if input._data.dtype.kind == "b":
            raise NotImplementedError(f'"{name}_vml_{input._device.type}" not implemented for \'Bool\'')
        return op.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding("floor", Floor, "Elementwise largest integer <= x.")
ceil = _rounding("ceil", Ceil, "Elementwise smallest integer >= x.")
trunc = _rounding("trunc", Trunc, "Elementwise integer part, rounded toward zero.")
fix = trunc
_round0 = _rounding("round", Round, "")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - torch's name
    """Elementwise round half to even, to ``decimals`` decimal places."""
    if decimals == 0:
        return _round0(input)
    need_tensor(input, "round")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"round_{input._device.type}" not implemented for \'{_legacy(input)}\'')
    return RoundDecimals.apply(input, decimals=int(decimals))
