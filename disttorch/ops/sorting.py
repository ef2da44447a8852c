"""Sorting and searching: sort/argsort/msort, topk, kthvalue, cummax/cummin, unique,
unique_consecutive, searchsorted/bucketize, bincount, histc, isin.

Orderings follow torch: NaN sorts as the largest value, sorts are stable, and descending
sorts keep equal elements in their original order. Selections (sort, topk, kthvalue,
cummax, cummin) compute their indices on the raw arrays and take the values through one
op whose backward scatters the gradient back to the source positions with Tensor ops
(``scatter_add``), so higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..backend import device as _dev
from ._op import Op
from ._util import is_scalar, need_tensor, wrap_dim
from .reduction import _return_type

_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
                "bfloat16": "BFloat16"}


def _named(name: str, fields: tuple):
    cls = _return_type(name, fields)
    cls.__module__ = __name__  # pickled by reference to this module's ``_rt_<name>``
    return cls


_rt_sort = _named("sort", ("values", "indices"))
_rt_topk = _named("topk", ("values", "indices"))
_rt_kthvalue = _named("kthvalue", ("values", "indices"))
_rt_cummax = _named("cummax", ("values", "indices"))
_rt_cummin = _named("cummin", ("values", "indices"))


# -- helpers ---------------------------------------------------------------------------------
def _xp(t: Tensor):
    return np if t._device is _dev.CPU else _dev.cupy_module()


def _tname(np_dtype) -> str:
    from ..backend import dtypes

    name = dtypes.from_numpy(np_dtype).name
    return _TORCH_NAMES.get(name, name)


def _int_arg(value, fn: str, name: str, pos: int | None = None) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    where = f" (position {pos})" if pos is not None else ""
    raise TypeError(f"{fn}(): argument '{name}'{where} must be int, not {type(value).__name__}")


def _wrapped_dim(input: Tensor, dim, fn: str) -> int:
    return wrap_dim(_int_arg(dim, fn, "dim"), input._data.ndim)


def _key(x):
    """The array to order by: bfloat16 through float32 (its own sort is unreliable)."""
    return x.astype(_F32) if x.dtype.kind == "V" else x


def _is_float(a) -> bool:
    return a.dtype.kind == "f" or a.dtype.kind == "V"


def _argsort(xp, key, d: int, descending: bool):
    """Stable sort order along ``d`` with NaN largest; descending keeps ties in order."""
    if not descending:
        return xp.argsort(key, axis=d, kind="stable")
    n = key.shape[d]
    # reversed, a stable ascending sort lists equal elements last-first; reversing that
    # order gives a descending sort with equal elements first-first (and NaNs first)
    order = xp.argsort(xp.flip(key, d), axis=d, kind="stable")
    return (n - 1) - xp.flip(order, d)


def _narrow(a, d: int, start: int, stop: int):
    return a[(slice(None),) * d + (slice(start, stop),)]


class _TakeAlong(Op):
    """``x`` at the precomputed indices ``idx`` along ``dim`` (``squeeze``: drop ``dim``).

    Backward scatters the grad back to the source positions (repeats accumulate).
    """

    def forward(self, x):
        self.src = x.shape
        if x.ndim == 0:
            return x.copy()
        v = self.xp.take_along_axis(x, self.idx, axis=self.dim)
        return v.squeeze(self.dim) if self.squeeze else v

    def backward(self, gy):
        if not self.src:
            return gy
        if self.squeeze:
            gy = gy.unsqueeze(self.dim)
        idx = _wrap(self.idx, gy._device)
        return gy.new_zeros(self.src).scatter_add(self.dim, idx, gy)


# one subclass per function, so ``grad_fn`` reads like torch's (``SortBackward0``...)
class Sort(_TakeAlong):
    pass


class Topk(_TakeAlong):
    pass


class Kthvalue(_TakeAlong):
    pass


class Cummax(_TakeAlong):
    pass


class Cummin(_TakeAlong):
    pass


_OPS = {"sort": Sort, "topk": Topk, "kthvalue": Kthvalue, "cummax": Cummax, "cummin": Cummin}


def _select(input: Tensor, idx, d: int, squeeze: bool, rt):
    """(values, indices) for indices ``idx`` (keepdim form) along ``d``."""
    x = input._data
    op = _OPS[rt.__name__]
    if x.ndim == 0:
        xp = _xp(input)
        return rt(op.apply(input, idx=None, dim=0, squeeze=False),
                  _wrap(xp.zeros((), dtype=_INT64), input._device))
    values = op.apply(input, idx=idx, dim=d, squeeze=squeeze)
    if values._requires_grad:
        idx = idx.copy()  # the graph keeps its own copy: the returned indices may be modified
    out = idx.squeeze(d) if squeeze else idx
    return rt(values, _wrap(out.astype(_INT64, copy=False), input._device))


# -- sort / argsort / msort --------------------------------------------------------------------
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False,
         out=None) -> tuple:
    """(values, indices) sorted along ``dim``; stable, with NaN treated as the largest value."""
    need_tensor(input, "sort")
    d = _wrapped_dim(input, dim, "sort")
    x = input._data
    if x.ndim == 0:
        return _select(input, None, 0, False, _rt_sort)
    idx = _argsort(_xp(input), _key(x), d, bool(descending))
    return _select(input, idx, d, False, _rt_sort)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """Indices that sort ``input`` along ``dim`` (as ``sort(...).indices``)."""
    need_tensor(input, "argsort")
    d = _wrapped_dim(input, dim, "argsort")
    x = input._data
    xp = _xp(input)
    if x.ndim == 0:
        return _wrap(xp.zeros((), dtype=_INT64), input._device)
    idx = _argsort(xp, _key(x), d, bool(descending))
    return _wrap(idx.astype(_INT64, copy=False), input._device)


def msort(input: Tensor, *, out=None) -> Tensor:
    """``input`` sorted along its first dimension (the values of ``sort(input, 0)``)."""
    need_tensor(input, "msort")
    return sort(input, 0).values


# -- topk / kthvalue -----------------------------------------------------------------------------
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         out=None) -> tuple:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, in order."""
    need_tensor(input, "topk")
    k = _int_arg(k, "topk", "k", 2)
    d = _wrapped_dim(input, dim, "topk")
    x = input._data
    if x.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    n = x.shape[d] if x.ndim else 1
    if k < 0 or k > n:
        raise RuntimeError("selected index k out of range")
    if x.ndim == 0:  # torch gives the element itself for k 0 or 1
        return _select(input, None, 0, False, _rt_topk)
    idx = _narrow(_argsort(_xp(input), _key(x), d, bool(largest)), d, 0, k)
    return _select(input, idx, d, False, _rt_topk)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None) -> tuple:
    """The ``k``-th smallest element along ``dim`` (1-based) and its index."""
    need_tensor(input, "kthvalue")
    k = _int_arg(k, "kthvalue", "k", 2)
    d = _wrapped_dim(input, dim, "kthvalue")
    x = input._data
    if x.dtype.kind == "b":
        raise NotImplementedError("\"kthvalue_cpu\" not implemented for 'Bool'")
    n = x.shape[d] if x.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if k < 1 or k > n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if x.ndim == 0:
        return _select(input, None, 0, False, _rt_kthvalue)
    xp = _xp(input)
    key = _key(x)
    if x.size:
        part = xp.argpartition(key, k - 1, axis=d)
        idx = _narrow(part, d, k - 1, k)
    else:
        idx = xp.zeros(x.shape[:d] + (1,) + x.shape[d + 1:], dtype=_INT64)
    return _select(input, idx, d, not keepdim, _rt_kthvalue)


# -- cummax / cummin ---------------------------------------------------------------------------
def _cum_extreme_accumulate(xp, x, d: int, is_min: bool):
    """Indices of the running max/min along ``d`` via ``ufunc.accumulate`` (numpy).

    Ties take the later index; a NaN becomes the running value and each later NaN its index.
    """
    with np.errstate(invalid="ignore"):
        run = (xp.minimum if is_min else xp.maximum).accumulate(x, axis=d)
        hit = x == run
    if _is_float(x):
        hit |= xp.isnan(x)
    n = x.shape[d]
    pos = xp.arange(n, dtype=_INT64).reshape((n,) + (1,) * (x.ndim - d - 1))
    return xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d)


def _cum_extreme_scan(xp, x, d: int, is_min: bool):
    """The same indices by a log-depth scan of elementwise ops (for array modules without
    ``accumulate``): each step combines a prefix with the one ``off`` places earlier,
    keeping the later element on ties and any NaN over a number."""
    n = x.shape[d]
    val = xp.moveaxis(x, d, -1)
    idx = xp.broadcast_to(xp.arange(n, dtype=_INT64), val.shape).copy()
    val = val.copy()
    fl = _is_float(x)
    off = 1
    while off < n:
        lv, li = val[..., :-off], idx[..., :-off]
        rv, ri = val[..., off:], idx[..., off:]
        right = (rv <= lv) if is_min else (rv >= lv)
        if fl:
            right = (right & ~xp.isnan(lv)) | xp.isnan(rv)
        nv = xp.where(right, rv, lv)
        ni = xp.where(right, ri, li)
        val[..., off:] = nv
        idx[..., off:] = ni
        off *= 2
    return xp.moveaxis(idx, -1, d)


def _cum_extreme(input: Tensor, dim, name: str, is_min: bool, rt):
    need_tensor(input, name)
    if isinstance(dim, float):
        raise TypeError(f"{name}(): argument 'dim' must be int, not float")
    d = _wrapped_dim(input, dim, name)
    x = input._data
    if x.ndim == 0:
        return _select(input, None, 0, False, rt)
    xp = _xp(input)
    key = _key(x)
    if x.size == 0:
        idx = xp.zeros(x.shape, dtype=_INT64)
    elif xp is np:
        idx = _cum_extreme_accumulate(xp, key, d, is_min)
    else:
        idx = _cum_extreme_scan(xp, key, d, is_min)
    return _select(input, idx, d, False, rt)


def cummax(input: Tensor, dim: int, *, out=None) -> tuple:
    """Running maximum along ``dim`` and the index where it was attained (the last on ties)."""
    return _cum_extreme(input, dim, "cummax", False, _rt_cummax)


def cummin(input: Tensor, dim: int, *, out=None) -> tuple:
    """Running minimum along ``dim`` and the index where it was attained (the last on ties)."""
    return _cum_extreme(input, dim, "cummin", True, _rt_cummin)


# -- unique / unique_consecutive -------------------------------------------------------------------
class _Unique(Op):
    """Unique values (with inverse and counts); like torch, there is no derivative."""

    def forward(self, x):
        return _unique_arrays(self.xp, x, self.dim, self.consecutive)

    def backward(self, *grads):
        raise NotImplementedError(f"the derivative for '{self.fname}' is not implemented.")


def _group_starts(xp, rows):
    """For ``rows`` (n, m): True where a row differs from the one before (and at row 0).

    NaN never equals NaN, so every NaN starts a group of its own (as in torch).
    """
    n = rows.shape[0]
    start = xp.ones((n,), dtype=bool)
    if n > 1:
        diff = rows[1:] != rows[:-1]
        start[1:] = diff.any(axis=1) if rows.ndim == 2 else diff
    return start


def _lex_order(xp, rows):
    """A stable lexicographic order of the rows of ``rows`` (n, m), NaN largest."""
    n, m = rows.shape
    order = xp.arange(n, dtype=_INT64)
    for c in range(m - 1, -1, -1):
        order = order[xp.argsort(rows[order, c], kind="stable")]
    return order


def _unique_arrays(xp, x, dim, consecutive: bool):
    """(values, inverse, counts) of ``x`` (flattened when ``dim`` is None, else rows along dim)."""
    if dim is None:
        flat = x.reshape(-1)
        key = _key(flat)
        rows = key
        inv_shape = x.shape
    else:
        moved = xp.moveaxis(x, dim, 0)
        flat = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:], dtype=np.int64)))
        rows = _key(flat)
        inv_shape = (x.shape[dim],)
    n = flat.shape[0]
    if n == 0:
        vals = flat if dim is None else x
        return (vals.copy(), xp.zeros(inv_shape, dtype=_INT64), xp.zeros((0,), dtype=_INT64))
    if consecutive:
        order = None
        srt = rows
    else:
        order = (xp.argsort(rows, kind="stable") if dim is None else _lex_order(xp, rows))
        srt = rows[order]
    start = _group_starts(xp, srt)
    group = xp.cumsum(start) - 1
    firsts = xp.nonzero(start)[0]
    counts = xp.diff(xp.concatenate([firsts, xp.asarray([n], dtype=firsts.dtype)])).astype(_INT64)
    src = firsts if order is None else order[firsts]
    if order is None:
        inverse = group
    else:
        inverse = xp.empty((n,), dtype=_INT64)
        inverse[order] = group
    if dim is None:
        vals = flat[src]
    else:
        vals = xp.moveaxis(xp.take(xp.moveaxis(x, dim, 0), src, axis=0), 0, dim)
    return vals, inverse.astype(_INT64, copy=False).reshape(inv_shape), counts


def _unique_dim(input: Tensor, dim) -> int | None:
    if dim is None:
        return None
    nd = input._data.ndim
    dim = _int_arg(dim, "unique", "dim")
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, nd)
    shape = input._data.shape
    zeros = sum(1 for s in shape if s == 0)
    if zeros > 1:
        raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied ")
    if zeros == 1 and shape[d] != 0:
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
    return d


def _unique_result(input: Tensor, d, consecutive: bool, fname: str, return_inverse: bool,
                   return_counts: bool):
    vals, inv, counts = _Unique.apply(input, dim=d, consecutive=consecutive, fname=fname)
    if not return_inverse and not return_counts:
        return vals
    out = [vals]
    if return_inverse:
        out.append(inv)
    if return_counts:
        out.append(counts)
    return tuple(out)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The unique elements (sorted), optionally with the inverse indices and the counts."""
    need_tensor(input, "unique")
    d = _unique_dim(input, dim)
    name = "_unique2" if d is None else "unique_dim"
    return _unique_result(input, d, False, name, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Collapse each run of equal consecutive elements (or slices along ``dim``) to one."""
    need_tensor(input, "unique_consecutive")
    d = _unique_dim(input, dim)
    return _unique_result(input, d, True, "unique_consecutive", return_inverse, return_counts)


# -- searchsorted / bucketize ------------------------------------------------------------------------
def _binary_search(xp, seq, vals, right: bool, sorter):
    """torch's lower/upper bound search, vectorised: ``seq`` (B, N), ``vals`` (B, M).

    The comparisons are torch's (``!(mid >= v)`` / ``!(mid > v)``), so NaNs fall where
    torch puts them.
    """
    b, n = seq.shape
    lo = xp.zeros(vals.shape, dtype=_INT64)
    hi = xp.full(vals.shape, n, dtype=_INT64)
    for _ in range(n.bit_length()):
        active = lo < hi
        mid = lo + ((hi - lo) >> 1)
        at = xp.minimum(mid, n - 1)
        if sorter is not None:
            at = xp.take_along_axis(sorter, at, axis=1)
        m = xp.take_along_axis(seq, at, axis=1)
        go = ~(m > vals) if right else ~(m >= vals)
        lo = xp.where(active & go, mid + 1, lo)
        hi = xp.where(active & ~go, mid, hi)
    return lo


def _shape_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, out=None, sorter: Tensor | None = None) -> Tensor:
    """Indices where ``values`` would be inserted into the innermost dim of ``sorted_sequence``."""
    need_tensor(sorted_sequence, "searchsorted", "sorted_sequence", 1)
    seq_t = sorted_sequence
    xp = _xp(seq_t)
    seq = seq_t._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of left "
                "while right was True")
        right = side == "right"
    if isinstance(values, Tensor):
        vals = values._data
        if values._device is not seq_t._device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{seq_t._device} and {values._device}!")
    elif is_scalar(values):
        vals = xp.asarray(values)
    else:
        raise TypeError(
            f"searchsorted(): argument 'input' must be Tensor or Number, not {type(values).__name__}")
    if seq.ndim == 0:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 dimension")
    if seq.ndim > 1:
        if vals.ndim == 0:
            raise RuntimeError(
                "torch.searchsorted(): input value can be a scalar only when boundaries tensor "
                f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and input value's "
                f"dim(0) numel(1)")
        if vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                "dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {_shape_list(seq.shape)} and input value tensor "
                f"{_shape_list(vals.shape)}")
    srt = None
    if sorter is not None:
        need_tensor(sorter, "searchsorted", "sorter", 6)
        s = sorter._data
        if s.dtype != _INT64:
            raise RuntimeError(
                f"torch.searchsorted(): sorter must be a tensor of long dtype but got dtype {_tname(s.dtype)}")
        if s.shape != seq.shape:
            raise RuntimeError(
                "torch.searchsorted(): boundary and sorter must have the same size, but got boundary "
                f"tensor {_shape_list(seq.shape)}and got sorter tensor {_shape_list(s.shape)}")
        n = seq.shape[-1]
        if s.size and bool(((s < 0) | (s >= n)).any()):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        srt = s
    out_dtype = _INT32 if out_int32 else _INT64
    key_seq, key_vals = _key(seq), _key(vals)
    if seq.ndim == 1:
        flat = key_vals.reshape(1, -1)
        if srt is None and (not _is_float(key_seq) or not bool(xp.isnan(key_seq).any())):
            r = xp.searchsorted(key_seq, flat[0], side="right" if right else "left")
        else:
            r = _binary_search(xp, key_seq.reshape(1, -1), flat, right,
                               None if srt is None else srt.reshape(1, -1))[0]
        return _wrap(r.reshape(vals.shape).astype(out_dtype, copy=False), seq_t._device)
    n = seq.shape[-1]
    b = int(np.prod(seq.shape[:-1]))
    r = _binary_search(xp, key_seq.reshape(b, n), key_vals.reshape(b, -1), right,
                       None if srt is None else srt.reshape(b, n))
    return _wrap(r.reshape(vals.shape).astype(out_dtype, copy=False), seq_t._device)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """The bucket of each element of ``input`` given 1-d ``boundaries`` (``searchsorted``)."""
    need_tensor(boundaries, "bucketize", "boundaries", 2)
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# -- bincount / histc / isin ---------------------------------------------------------------------
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Occurrences of each non-negative integer (or the summed ``weights``) in 1-d ``input``."""
    need_tensor(input, "bincount")
    minlength = _int_arg(minlength, "bincount", "minlength", 3)
    x = input._data
    xp = _xp(input)
    if x.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_tname(x.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if x.ndim != 1 or (x.size and bool((x < 0).any())):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        r = xp.bincount(x, minlength=minlength).astype(_INT64, copy=False)
        return _wrap(r, input._device)
    need_tensor(weights, "bincount", "weights", 2)
    w = weights._data
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = _F32 if w.dtype == _F32 else _F64
    r = xp.bincount(x, weights=w.astype(_F64), minlength=minlength)
    return _wrap(r.astype(out_dtype, copy=False), input._device)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0, *, out=None) -> Tensor:
    """Histogram with ``bins`` equal-width bins over [min, max] (the data range when equal)."""
    need_tensor(input, "histc")
    bins = _int_arg(bins, "histc", "bins", 2)
    x = input._data
    xp = _xp(input)
    if not _is_float(x):
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_tname(x.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{_fmt(lo)}, {_fmt(hi)}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    key = _key(x).reshape(-1)
    dt = key.dtype
    left, rightmost = xp.asarray(lo, dtype=dt), xp.asarray(hi, dtype=dt)
    inside = (key >= left) & (key <= rightmost)
    sel = key[inside]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pos = ((sel - left) * bins / (rightmost - left)).astype(_INT64)
    pos = xp.minimum(pos, bins - 1)
    r = xp.bincount(pos, minlength=bins)[:bins]
    return _wrap(r.astype(x.dtype), input._device)


def _fmt(v: float) -> str:
    if v != v:
        return "nan"
    return f"{v:g}"


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (bool, its shape)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(
            f"isin() received an invalid combination of arguments - got ({type(elements).__name__}, "
            f"{type(test_elements).__name__}), but expected one of: (Tensor elements, Tensor "
            "test_elements), (Number element, Tensor test_elements), (Tensor elements, Number "
            "test_element)")
    ref = elements if isinstance(elements, Tensor) else test_elements
    xp = _xp(ref)
    e = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    if isinstance(elements, Tensor) and isinstance(test_elements, Tensor) and (
            elements._device is not test_elements._device):
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{elements._device} and {test_elements._device}!")
    for a in (e, t):
        if a.dtype.kind == "b":
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    e, t = _key(e), _key(t)
    r = xp.isin(e, t.reshape(-1), invert=bool(invert))
    if _is_float(e):  # NaN is in nothing
        nan = xp.isnan(e)
        r = (r | nan) if invert else (r & ~nan)
    return _wrap(xp.asarray(r, dtype=bool), ref._device)


def _install() -> None:
    T = Tensor
    T.sort, T.argsort, T.msort, T.topk, T.kthvalue = sort, argsort, msort, topk, kthvalue
    T.cummax, T.cummin = cummax, cummin
    T.unique, T.unique_consecutive = unique, unique_consecutive
    T.bincount, T.histc = bincount, histc


_install()

__all__ = [
    "argsort", "bincount", "bucketize", "cummax", "cummin", "histc", "isin", "kthvalue", "msort",
    "searchsorted", "sort", "topk", "unique", "unique_consecutive",
]
