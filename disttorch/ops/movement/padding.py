"""Padding: ``pad`` (constant, reflect, replicate, circular) and ``ConstantPad``, the adjoint of slicing."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from ..shape import clone
from ._common import Take, _from_np, _int_list

# -- graph ops ---------------------------------------------------------------------------

class ConstantPad(Op):
    """Pad (or crop, for negative amounts) every dim by ``pads[d] = (before, after)``."""

    def forward(self, x):
        src, dst, shape = [], [], []
        for s, (a, b) in zip(x.shape, self.pads):
            lo, hi = max(-a, 0), max(-b, 0)
            n = s - lo - hi
            src.append(slice(lo, lo + n))
            dst.append(slice(max(a, 0), max(a, 0) + n))
            shape.append(s + a + b)
        if self.value == 0:
            out = self.xp.zeros(tuple(shape), dtype=x.dtype)
        else:
            out = self.xp.full(tuple(shape), self.value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    def backward(self, gy):
        return ConstantPad.apply(gy, pads=tuple((-a, -b) for a, b in self.pads), value=0)


def _pad_dim(g: Tensor, dim: int, before: int, after: int) -> Tensor:
    """Zero-pad ``g`` along one dim (the adjoint of slicing)."""
    pads = [(0, 0)] * g._data.ndim
    pads[dim] = (before, after)
    return ConstantPad.apply(g, pads=tuple(pads), value=0)


# -- padding -----------------------------------------------------------------------------

_CTYPE = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
          "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
          "float64": "double"}
_FMAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}


def _fill_value(value, np_dtype):
    kind = np_dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        v = int(value)
        info = np.iinfo(np_dtype)
        if not info.min <= v <= info.max:
            raise RuntimeError(
                f"value cannot be converted to type {_CTYPE[_from_np(np_dtype).name]} without overflow")
        return v
    v = float(value)
    fmax = _FMAX.get(_from_np(np_dtype).name)
    if fmax is not None and math.isfinite(v) and abs(v) > fmax:
        raise RuntimeError(
            f"value cannot be converted to type {_CTYPE[_from_np(np_dtype).name]} without overflow")
    return v


_NONCONST_HELP = (
    "\nSupported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def _pad_index(mode: str, n: int, lo: int, hi: int, dim: int, shape) -> np.ndarray:
    """Host indices into a dim of size ``n`` for padding it by ``(lo, hi)``."""
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError(
                "Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {dim} of input {list(shape)}")
        i = np.arange(-lo, n + hi, dtype=np.int64)
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(np.arange(-lo, n + hi, dtype=np.int64), 0, n - 1)
    # circular: crop the negative sides first, then wrap around what is left (at most once)
    if lo > n or hi > n:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    c0, c1 = max(-lo, 0), max(-hi, 0)
    m = n - c0 - c1
    a, b = max(lo, 0), max(hi, 0)
    if a > m or b > m:
        raise RuntimeError(
            "unsupported operation: padding wraps around a dimension cropped to size "
            f"{m} by negative padding")
    return c0 + (np.arange(-a, m + b, dtype=np.int64) % max(m, 1))


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims (``pad`` lists (before, after) from the last dim).

    ``mode`` is 'constant' (with ``value``), 'reflect', 'replicate' or 'circular';
    negative amounts crop.
    """
    p = _int_list(list(pad) if isinstance(pad, (tuple, list)) else pad, "pad", "pad", 2)
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(p) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    shape = input._data.shape
    nd = len(shape)
    k = len(p) // 2
    if k > nd:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(p)} and input of dimension {nd}")
    pads = [(0, 0)] * nd
    for i in range(k):
        pads[nd - 1 - i] = (p[2 * i], p[2 * i + 1])
    if mode == "constant":
        for s, (a, b) in zip(shape, pads):
            if s + a + b < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        v = 0 if value is None else _fill_value(value, input._data.dtype)
        return ConstantPad.apply(input, pads=tuple(pads), value=v)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(p)} is not supported for {nd}D input tensor.{_NONCONST_HELP}")
    if mode != "circular":
        if any(s == 0 for s in shape[nd - k - 1 if nd == k + 1 else 1:]):
            raise RuntimeError(
                f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                f"other non-zero dimensions for input, but got: {list(shape)}")
        if input._data.dtype.kind == "b":
            name = "reflection" if mode == "reflect" else "replication"
            raise NotImplementedError(f"\"{name}_pad{k}d\" not implemented for 'Bool'")
    out = input
    for d in range(nd - 1, nd - 1 - k, -1):
        lo, hi = pads[d]
        if lo == 0 and hi == 0:
            continue
        n = shape[d]
        if n + lo + hi < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
        idx = _pad_index(mode, n, lo, hi, d, shape)
        out = Take.apply(out, idx=idx, axis=d, n=n)
    return clone(out) if out is input else out
