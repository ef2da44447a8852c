"""Window pools: argument checks, ``max_pool{1,2,3}d`` (and ``_with_indices``), ``avg_pool{1,2,3}d``."""
from __future__ import annotations

from ..._tensor import Tensor
from .. import _conv_kernels as K
from .._util import need_tensor
from ._common import _as2d, _i64, _index, _IntArg, _nd_ints, _not_implemented
from .pool_ops import _AvgPool, _MaxPool

_COUNT = {1: "one int", 2: "two ints", 3: "three ints"}


def _pool_arg(v, nd: int, name: str, fname: str, *, optional: bool = False):
    """A pooling parameter: an int or 1 or ``nd`` ints (None/empty for an omitted
    stride) -> ``nd`` ints, or None when omitted."""
    if optional and (v is None or (isinstance(v, (tuple, list)) and len(v) == 0)):
        return None
    t = _nd_ints(v, nd, name, fname)
    if len(t) != nd:
        if fname == "max_pool1d":
            what = ("None, an int, list of ints, or tuple of ints" if optional
                    else "an int, list of ints or tuple of ints")
            raise RuntimeError(f"max_pool1d() {name} must be {what} of size 1 but got size {len(t)}")
        if fname in ("avg_pool1d",):
            raise RuntimeError(f"{fname}() argument '{name}' should contain one int (got {len(t)})")
        verb = "be either" if name == "dilation" else "either be"
        omitted = "omitted, " if optional else ""
        raise RuntimeError(
            f"{fname}: {name} must {verb} {omitted}a single int, or a tuple of {_COUNT[nd]}"
        )
    return t


def _pool_ksp(fname: str, nd: int, kernel_size, stride, padding):
    """``(kernel_size, stride, padding)`` of a window pool as ``nd`` ints each; an omitted
    stride is the kernel size."""
    k = _pool_arg(kernel_size, nd, "kernel_size", fname)
    s = _pool_arg(stride, nd, "stride", fname, optional=True)
    return k, (k if s is None else s), _pool_arg(padding, nd, "padding", fname)


def _pool_input(fname: str, nd: int, input, *, max_pool1d: bool = False) -> bool:
    """Rank and non-empty checks of a (max/avg) pool input; returns whether unbatched."""
    need_tensor(input, fname)
    shape = input._data.shape
    dim = len(shape)
    if fname == "avg_pool1d" and dim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {dim}-dimensional tensor for argument #1 "
            "'self' (while checking arguments for avg_pool1d)"
        )
    if fname == "avg_pool2d" and dim < 3:
        lo, hi = (-dim, dim - 1) if dim else (-1, 0)
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got -3)")
    if fname.startswith("max_pool") and not max_pool1d and dim not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    if dim not in (nd + 1, nd + 2) or any(s == 0 for s in shape[dim - nd - 1:]):
        if max_pool1d:
            raise RuntimeError(
                "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
                f"size for input, but got:{list(shape)}"
            )
        shown = list(shape)
        n = nd
        if nd == 1:  # torch runs 1-d pooling as 2-d and reports the 2-d shape
            shown = shown[:-1] + [1] + shown[-1:]
            n = 2
        raise RuntimeError(
            f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{shown}"
        )
    return dim == nd + 1


def _pool_out_check(cs, out) -> None:
    """``cs``: (C, *spatial) of one sample."""
    if any(o < 1 for o in out):
        per = tuple(cs)
        cpo = (cs[0],) + tuple(out)
        if len(out) == 1:
            per = per[:1] + (1,) + per[1:]
            cpo = cpo[:1] + (1,) + cpo[1:]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, per))}). Calculated output size: "
            f"({'x'.join(map(str, cpo))}). Output size is too small"
        )


def _half_kernel_check(k, padding, dilation, *, check_plain: bool) -> None:
    for kk, p, d in zip(k, padding, dilation):
        if p > (d * (kk - 1) + 1) // 2:
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={kk} and dilation={d}"
            )
    if check_plain and any(p > kk // 2 for kk, p in zip(k, padding)):
        nd = len(k)
        if nd == 3:
            names = (("padT", padding[0]), ("padW", padding[2]), ("padH", padding[1]),
                     ("kT", k[0]), ("kW", k[2]), ("kH", k[1]))
        else:
            k2, p2 = _as2d(tuple(k), 1), _as2d(tuple(padding), 0)
            names = (("padW", p2[1]), ("padH", p2[0]), ("kW", k2[1]), ("kH", k2[0]))
        desc = ", ".join(f"{n} = {v}" for n, v in names)
        raise RuntimeError(
            f"pad should be smaller than or equal to half of kernel size, but got {desc}"
        )


def _pool_window_out(shape, k, s, p, d, ceil_mode: bool, *, dilated: bool) -> tuple[int, ...]:
    """Window checks of a 2-d/3-d max (``dilated``) or any avg pool; returns the output size."""
    nd = len(k)
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    letters = ("T", "H", "W")[3 - nd:] if nd > 1 else ("H", "W")
    if any(v <= 0 for v in k):
        desc = " ".join(f"k{a}: {v}" for a, v in zip(letters, _as2d(k, 1)))
        raise RuntimeError(f"kernel size should be greater than zero, but got {desc}")
    if any(v <= 0 for v in s):
        desc = " ".join(f"d{a}: {v}" for a, v in zip(letters, _as2d(s, 1)))
        raise RuntimeError(f"stride should be greater than zero, but got {desc}")
    if dilated and any(v <= 0 for v in d):
        desc = " ".join(f"dilation{a}: {v}" for a, v in zip(letters, _as2d(d, 1)))
        raise RuntimeError(f"dilation should be greater than zero, but got {desc}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(p)}")
    _half_kernel_check(k, p, d, check_plain=dilated)
    out = tuple(K.pool_output_size(L, kk, ss, pp, dd, ceil_mode)
                for L, kk, ss, pp, dd in zip(shape[-nd:], k, s, p, d))
    _pool_out_check(shape[-nd - 1:], out)
    return out


def _max_pool_nd(fname, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices):
    is1d = fname == "max_pool1d"
    unbatched = _pool_input(fname, nd, input, max_pool1d=is1d)
    k, s, p = _pool_ksp(fname, nd, kernel_size, stride, padding)
    d = _pool_arg(dilation, nd, "dilation", fname)
    ceil_mode = bool(ceil_mode)
    shape = input._data.shape
    sizes = shape[-nd:]
    if is1d:
        if k[0] <= 0:
            raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k[0]}")
        if s[0] <= 0:
            raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s[0]}")
        if p[0] < 0:
            raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p[0]}")
        if p[0] > k[0] // 2:
            raise RuntimeError(
                "max_pool1d() padding should be at most half of kernel size, but got "
                f"padding={p[0]} and kernel_size={k[0]}"
            )
        if d[0] <= 0:
            raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d[0]}")
        o = K.pool_output_size(sizes[0], k[0], s[0], p[0], d[0], ceil_mode)
        if o < 1:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {o}")
        out = (o,)
    else:
        out = _pool_window_out(shape, k, s, p, d, ceil_mode, dilated=True)
    kind = input._data.dtype.kind
    if kind == "b" or kind == "c":
        raise _not_implemented(f"max_pool{nd}d", input)
    if is1d and kind in "iu" and not return_indices and not input._requires_grad:
        raise _not_implemented("max_pool1d_impl", input)
    x = input.unsqueeze(0) if unbatched else input
    y, idx = _MaxPool.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                            ceil_mode=ceil_mode, out_shape=x._data.shape[:2] + out)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L) or (C, L); with ``return_indices`` also the argmax."""
    return _max_pool_nd("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling over (N, C, H, W) or (C, H, W); with ``return_indices`` also the argmax."""
    return _max_pool_nd("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool_nd("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` returning ``(values, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` returning ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool_nd(fname, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
    unbatched = _pool_input(fname, nd, input)
    k, s, p = _pool_ksp(fname, nd, kernel_size, stride, padding)
    ceil_mode = bool(ceil_mode)
    if divisor_override is not None:
        divisor_override = _index(divisor_override, "divisor_override", fname)
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    out = _pool_window_out(input._data.shape, k, s, p, (1,) * nd, ceil_mode, dilated=False)
    dt = input._data.dtype
    if not (dt.kind in "fV" or dt == _i64):
        raise _not_implemented(f"avg_pool{max(nd, 2)}d", input)
    x = input.unsqueeze(0) if unbatched else input
    args = (k, s, p, ceil_mode, bool(count_include_pad), divisor_override)
    y = _AvgPool.apply(x, out_shape=x._data.shape[:2] + out, args=args)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L)."""
    return _avg_pool_nd("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-d average pooling over (N, C, H, W) or (C, H, W)."""
    return _avg_pool_nd("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _avg_pool_nd("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override)

