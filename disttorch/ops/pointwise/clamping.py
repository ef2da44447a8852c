"""Bounding values: clamp/clip (number or tensor bounds) and nan_to_num."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from .._op import Op
from .._util import cast, is_scalar, need_tensor, result_type
from ..comparison import isfinite
from ._common import _F32, _apply_bc, _select
from .selection import where

# -- clamp -------------------------------------------------------------------------------------------------


class ClampScalar(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        lo, hi = self.lo, self.hi
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def backward(self, gy):
        (x,) = self.saved_tensors
        lo, hi = self.lo, self.hi
        if lo is None:
            mask = x <= hi
        elif hi is None:
            mask = x >= lo
        else:
            mask = (x >= lo) & (x <= hi)
        return where(mask, gy, 0.0)

    def name(self) -> str:
        if self.kind:
            return f"Clamp{self.kind}Backward0"
        return "ClampBackward1"


class ClampTensor(Op):
    """clamp with tensor bounds; inputs are (x, min), (x, max) or (x, min, max)."""

    def forward(self, x, *bounds):
        self.retain_inputs(*range(1 + len(bounds)))
        xp = self.xp
        if self.has_min:
            x = xp.maximum(x, bounds[0])
        if self.has_max:
            x = xp.minimum(x, bounds[-1])
        return x

    def backward(self, gy):
        saved = self.saved_tensors
        needs = self.needs_input_grad
        x = saved[0]
        lo = saved[1] if self.has_min else None
        hi = saved[-1] if self.has_max else None
        out = [None] * len(saved)
        if lo is not None and hi is not None:
            if needs[0]:
                out[0] = where((x >= lo) & (x <= hi), gy, 0.0)
            if needs[1]:
                out[1] = where((x < lo) & ~(hi < lo), gy, 0.0)
            if needs[2]:
                out[2] = where((x > hi) | (hi < lo), gy, 0.0)
        elif lo is not None:
            if needs[0]:
                out[0] = where(x >= lo, gy, 0.0)
            if needs[1]:
                out[1] = where(x < lo, gy, 0.0)
        else:
            if needs[0]:
                out[0] = where(x <= hi, gy, 0.0)
            if needs[1]:
                out[1] = where(x > hi, gy, 0.0)
        return tuple(out)

    def name(self) -> str:
        if self.kind:
            return f"Clamp{self.kind}Backward1"
        return "ClampBackward0"


def _clamp(input: Tensor, min, max, kind: str = "") -> Tensor:
    need_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tmin, tmax = isinstance(min, Tensor), isinstance(max, Tensor)
    if tmin or tmax:
        if (min is not None and not tmin) or (max is not None and not tmax):
            raise TypeError(
                "clamp() received an invalid combination of arguments - got (Tensor, "
                f"{type(min).__name__}, {type(max).__name__}), but expected one of: "
                "(Tensor input, Tensor min, Tensor max) or (Tensor input, Number min, Number max)")
        bounds = [b for b in (min, max) if b is not None]
        rt = result_type(input, *bounds).np
        ins = [cast(input, rt)] + [cast(b, rt) for b in bounds]
        return _apply_bc(ClampTensor, *ins, has_min=min is not None, has_max=max is not None, kind=kind)
    for b in (min, max):
        if b is not None and not is_scalar(b):
            raise TypeError(
                f"clamp(): argument 'min' must be Number or Tensor, not {type(b).__name__}")
    rt = result_type(input, *[b for b in (min, max) if b is not None])
    if rt is dtypes.bool_:
        which = "clamp_scalar" if min is not None and max is not None else (
            "clamp_min_scalar" if min is not None else "clamp_max_scalar")
        raise NotImplementedError(f'"{which}_{input._device.type}" not implemented for \'Bool\'')
    x = cast(input, rt.np)
    lo, hi = min, max
    if not rt.is_floating_point:
        lo = None if lo is None else int(lo)
        hi = None if hi is None else int(hi)
    return ClampScalar.apply(x, lo=lo, hi=hi, kind=kind)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Elementwise clamp into [min, max]; either bound may be None, a number or a tensor."""
    return _clamp(input, min, max)


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:
    """Elementwise max(x, min)."""
    return _clamp(input, min, None, "Min")


def clamp_max(input: Tensor, max) -> Tensor:
    """Elementwise min(x, max)."""
    return _clamp(input, None, max, "Max")


# -- nan_to_num ------------------------------------------------------------------------------------------


class NanToNum(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        if x.dtype.kind not in "fV":
            return x.copy()
        h = x.astype(_F32) if x.dtype.kind == "V" else x
        y = _select(xp, xp.isnan(h), self.nan, h)
        y = _select(xp, h == math.inf, self.posinf, y)
        y = _select(xp, h == -math.inf, self.neginf, y)
        return y.astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * isfinite(x)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """Replace NaN, +inf and -inf by finite values (default: 0 and the dtype's extremes)."""
    need_tensor(input, "nan_to_num")
    dt = input._data.dtype
    if dt.kind in "fV":
        if dt.kind == "V":  # bfloat16 (numpy's finfo does not know it)
            import ml_dtypes

            big = float(ml_dtypes.finfo(dt).max)
        else:
            big = float(np.finfo(dt).max)
        posinf = big if posinf is None else float(posinf)
        neginf = -big if neginf is None else float(neginf)
    return NanToNum.apply(input, nan=float(nan), posinf=posinf, neginf=neginf)
