"""``embedding`` (a row lookup with torch's padding, max_norm and frequency options),
``embedding_bag`` (sums, means or maxes of bags of rows) and ``one_hot``."""
from __future__ import annotations

import warnings

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...backend import device as _dev
from ...backend import dtypes
from ...ops._op import Op
from ...ops._util import result_type, tensor_arg_error
from ...ops.movement import _add_at

_CPU = _dev.CPU
_INT64 = np.dtype(np.int64)


def _scatter_rows(xp, n_rows: int, idx, rows):
    """``out[idx[k]] += rows[k]`` into zeros of ``(n_rows,) + rows.shape[1:]``."""
    out = xp.zeros((n_rows,) + rows.shape[1:], dtype=rows.dtype)
    if idx.size == 0:
        return out
    if xp is np:  # sort once and sum runs of equal rows (much faster than numpy's add.at)
        order = np.argsort(idx, kind="stable")
        s = idx[order]
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        out[s[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return out
    _add_at(xp, out, idx, rows)
    return out


def _row_scale(xp, idx, n_rows: int, padding_idx, by_freq: bool, dtype):
    """Per-lookup gradient factors (padding rows get 0, ``1 / count`` by frequency), or None."""
    if padding_idx is None and not by_freq:
        return None
    s = xp.ones(idx.shape, dtype=dtype)
    if by_freq:
        counts = xp.bincount(idx, minlength=n_rows)
        s /= counts[idx].astype(dtype)
    if padding_idx is not None:
        s[idx == padding_idx] = 0
    return s


class Embedding(Op):
    """``weight[idx]`` for the flat int64 index array ``idx``; out shape ``self.shape``."""

    def forward(self, w):
        xp = self.xp
        self.n = w.shape[0]
        return xp.take(w, self.idx, axis=0).reshape(self.shape + w.shape[1:])

    def backward(self, gy):
        xp = self.xp
        s = _row_scale(xp, self.idx, self.n, self.padding_idx, self.by_freq, gy._data.dtype)
        return EmbeddingGrad.apply(gy, idx=self.idx, n=self.n, s=s)


class EmbeddingGrad(Op):
    """The weight gradient: the rows of ``gy`` (times ``s``) summed into their table rows."""

    def forward(self, gy):
        self.gshape = gy.shape
        rows = gy.reshape((self.idx.size, gy.shape[-1]))
        if self.s is not None:
            rows = rows * self.s[:, None]
        return _scatter_rows(self.xp, self.n, self.idx, rows)

    def backward(self, ggw):
        out = Embedding.apply(ggw, idx=self.idx, shape=(self.idx.size,), padding_idx=None,
                              by_freq=False)
        if self.s is not None:
            out = out * _wrap(self.s[:, None], ggw._device)
        return out.reshape(self.gshape)


def _index_error() -> IndexError:
    return IndexError("index out of range in self")


def _renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """torch's embedding_renorm_: rows used by ``idx`` with a norm above ``max_norm`` scaled down."""
    xp = np if weight._device is _CPU else _dev.cupy_module()
    w = weight._data
    rows = xp.unique(idx)
    sel = w[rows]
    p = float(norm_type)
    a = xp.abs(sel)
    if p == 2.0:
        norms = xp.sqrt((a * a).sum(axis=1))
    elif p == 1.0:
        norms = a.sum(axis=1)
    elif p == float("inf"):
        norms = a.max(axis=1)
    elif p == 0.0:
        norms = (a != 0).sum(axis=1).astype(w.dtype)
    else:
        norms = (a ** p).sum(axis=1) ** (1.0 / p)
    big = norms > max_norm
    scale = max_norm / (norms + 1e-7)
    sel = xp.where(big[:, None], sel * scale[:, None].astype(w.dtype), sel)
    w[rows] = sel
    weight._vc[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (output shape ``input.shape + (D,)``)."""
    if not isinstance(input, Tensor):
        raise tensor_arg_error("embedding", "indices", 2, input)
    if not isinstance(weight, Tensor):
        raise tensor_arg_error("embedding", "weight", 1, weight)
    n = weight._data.shape[0] if weight._data.ndim else 0
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = padding_idx + n
    idx = input._data
    if idx.dtype != _INT64 and idx.dtype != np.int32:
        name = dtypes.from_numpy(idx.dtype).legacy_name
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got disttorch.{name}Tensor instead (while checking arguments for "
            "embedding)")
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input._device is not weight._device:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{weight._device} and {input._device}!")
    flat = idx.reshape(-1)
    if flat.size:
        if bool((flat < 0).any()) or bool((flat >= n).any()):
            raise _index_error()
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, flat, float(max_norm), norm_type)
    return Embedding.apply(weight, idx=flat, shape=idx.shape, padding_idx=padding_idx,
                           by_freq=bool(scale_grad_by_freq))


# -- embedding_bag -------------------------------------------------------------------------------

_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def _ufunc_at(xp, name: str, a, idx, v) -> None:
    """``a[idx] = name(a[idx], v)`` along axis 0 with repeated indices combining, on cupy."""
    at = getattr(getattr(xp, name), "at", None)
    if at is not None:
        try:
            at(a, idx, v)
            return
        except NotImplementedError:  # a cupy without this ufunc's scatter kernel
            pass
    import cupyx

    getattr(cupyx, _SCATTER[name])(a, idx, v)


def _segment_reduce(xp, name: str, rows, bag, n_bags: int, fill):
    """Reduce the runs of ``rows`` that share a bag id (``bag`` is non-decreasing).

    Returns the ids of the non-empty bags and one reduced row each.
    """
    first = xp.ones(bag.shape, dtype=bool)
    first[1:] = bag[1:] != bag[:-1]
    starts = xp.flatnonzero(first)
    ids = bag[starts]
    if xp is np:  # the runs are contiguous: one pass of reduceat, no scatter
        return ids, getattr(np, name).reduceat(rows, starts, axis=0)
    dt = rows.dtype
    if dt.itemsize < 4:  # cupy's scatter kernels have no max/min for 16-bit floats
        rows = rows.astype(np.float32)
    out = xp.full((n_bags,) + rows.shape[1:], fill, dtype=rows.dtype)
    _ufunc_at(xp, name, out, bag, rows)
    return ids, out[ids].astype(dt, copy=False)


class EmbeddingBag(Op):
    """Bags of ``weight`` rows reduced by ``mode``; inputs ``(w,)`` or ``(w, per_sample_weights)``.

    Attributes: ``idx`` the kept lookups (padding dropped), ``bag`` the bag of each (non-decreasing),
    ``pos`` its place in the flat input, ``nb`` the number of bags, ``per`` the size of every bag
    when all are equal and back to back (2-D input, no padding) else 0, ``cnt`` lookups per bag,
    ``track`` whether a graph will be recorded (max mode then finds where each max came from),
    ``gs`` per-lookup weight-gradient factors (mean's ``1 / count``, frequency scaling) or None.
    """

    def forward(self, w, psw=None):
        xp = self.xp
        self.n, d = w.shape
        out = xp.zeros((self.nb, d), dtype=w.dtype)
        if psw is not None:
            self.retain_inputs(0, 1)
        if self.idx.size == 0:
            self.src = self.dst = xp.zeros((0,), dtype=_INT64)
            return out
        rows = xp.take(w, self.idx, axis=0)
        if self.mode == "max":
            return self._max(xp, rows, out, d)
        if rows.dtype.itemsize < 4:  # 16-bit floats: sum in float32, not in 16 bits
            rows = rows.astype(np.float32)
        if psw is not None:
            rows *= psw.reshape(-1)[self.pos][:, None].astype(rows.dtype)
        if self.per:  # equal bags back to back: a plain reduction over a reshape
            ids, sums = xp.arange(self.nb, dtype=_INT64), rows.reshape(self.nb, self.per, d).sum(1)
        else:
            ids, sums = _segment_reduce(xp, "add", rows, self.bag, self.nb, 0)
        if self.mode == "mean":
            sums /= self.cnt[ids][:, None].astype(sums.dtype)
        out[ids] = sums.astype(out.dtype)
        return out

    def _max(self, xp, rows, out, d: int):
        m = self.idx.size
        cols = xp.arange(d, dtype=_INT64)
        if self.per:  # equal bags back to back; argmax keeps the first of tied maxes, as torch
            r3 = rows.reshape(self.nb, self.per, d)
            arg = r3.argmax(1)
            out[...] = xp.take_along_axis(r3, arg[:, None, :], axis=1)[:, 0]
            ids = xp.arange(self.nb, dtype=_INT64)
            self.src = (self.idx[arg + ids[:, None] * self.per] * d + cols).reshape(-1)
            self.dst = (ids[:, None] * d + cols).reshape(-1)
            return out
        ids, mx = _segment_reduce(xp, "maximum", rows, self.bag, self.nb, -np.inf)
        out[ids] = mx
        if not self.track:  # no graph will be recorded: the argmax pass is only for backward
            return out
        # which lookup holds each bag's max, per column: the first one on ties (as torch's
        # strict ``>`` scan); a NaN max is matched by the NaN entries (NaN != NaN)
        slot = xp.zeros((self.nb,), dtype=_INT64)
        slot[ids] = xp.arange(ids.size, dtype=_INT64)
        hit = (rows == mx[slot[self.bag]]) | (rows != rows)
        cand = xp.where(hit, xp.arange(m, dtype=_INT64)[:, None], m)
        _, arg = _segment_reduce(xp, "minimum", cand, self.bag, self.nb, m)
        # flat positions: the weight entry each output entry came from, and that output entry
        self.src = (self.idx[arg] * d + cols).reshape(-1)
        self.dst = (ids[:, None] * d + cols).reshape(-1)
        return out

    def backward(self, gy):
        d = gy.shape[1]
        if self.mode == "max":
            g = Embedding.apply(gy.reshape(-1, 1), idx=self.dst, shape=(self.dst.size,),
                                padding_idx=None, by_freq=False)
            return EmbeddingGrad.apply(g, idx=self.src, n=self.n * d, s=None).reshape(self.n, d)
        m = self.idx.size
        # each lookup's upstream row
        gk = Embedding.apply(gy, idx=self.bag, shape=(m,), padding_idx=None, by_freq=False)
        if not self._ri:
            return EmbeddingGrad.apply(gk, idx=self.idx, n=self.n, s=self.gs)
        w, psw = self.saved_tensors
        need_w, need_p = self.needs_input_grad
        gw = gp = None
        if need_w:
            pk = Embedding.apply(psw.reshape(-1, 1), idx=self.pos, shape=(m,), padding_idx=None,
                                 by_freq=False)
            gw = EmbeddingGrad.apply(gk * pk, idx=self.idx, n=self.n, s=self.gs)
        if need_p:
            wk = Embedding.apply(w, idx=self.idx, shape=(m,), padding_idx=None, by_freq=False)
            v = (gk * wk).sum(1, keepdim=True)
            gp = EmbeddingGrad.apply(v, idx=self.pos, n=self.L, s=None).reshape(self.psw_shape)
        return gw, gp


def _type_name(a) -> str:
    return "disttorch." + dtypes.from_numpy(a.dtype).tensor_type_name


def _bags_1d(xp, o, n_input: int, include_last_offset: bool):
    """Check the offsets; return (number of bags, lookups in bags, the bag of each of those)."""
    if include_last_offset and o.size == 0:
        raise RuntimeError("include_last_offset: number of offset should be at least 1")
    if o.size:
        first, last = int(o[0]), int(o[-1])
        if first != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                f"from position 0. However, got {first}")
        if last > n_input:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n_input} but "
                               f"got offsets[-1] of {last}")
        # torch reads out of bounds here (or fails with an internal assert): refuse clearly
        if o.size > 1 and bool((o[1:] < o[:-1]).any()):
            raise RuntimeError("embedding_bag: offsets must be non-decreasing, but got "
                               f"{o.tolist() if xp is np else o.get().tolist()}")
    nb = o.size - 1 if include_last_offset else o.size
    # the last bag runs to the end of the input even when include_last_offset's closing offset
    # stops short of it: torch's general kernels do so (its float32/16 'sum' fast path drops
    # those lookups instead)
    end = n_input if nb else 0
    # a lookup belongs to the last bag starting at or before it (equal offsets: empty bags)
    bag = xp.searchsorted(o[:nb], xp.arange(end, dtype=_INT64), side="right") - 1
    return nb, end, bag.astype(_INT64, copy=False)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxes of bags of ``weight`` rows, shape ``(bags, embedding_dim)``.

    A 2-D ``input`` holds one bag per row; a 1-D ``input`` is cut into bags starting at
    ``offsets``. Rows equal to ``padding_idx`` are left out of their bag; an empty bag gives
    zeros. ``per_sample_weights`` (mode ``"sum"`` only) scale each looked-up row.
    """
    if not isinstance(input, Tensor):
        raise tensor_arg_error("embedding_bag", "input", 1, input)
    if not isinstance(weight, Tensor):
        raise tensor_arg_error("embedding_bag", "weight", 2, weight)
    if weight._data.dtype == _INT64 and input._data.dtype.kind == "f":
        # the pre-1.0 argument order (weight, input): still accepted, as torch does
        warnings.warn("embedding_bag now takes (input, weight, ...); the old order "
                      "(weight, input, ...) is deprecated", UserWarning, stacklevel=2)
        input, weight = weight, input
    psw = per_sample_weights
    if psw is not None:
        if not isinstance(psw, Tensor):
            raise tensor_arg_error("embedding_bag", "per_sample_weights", None, psw)
        if psw.shape != input.shape:
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({psw.shape}) is not None, then it must "
                f"have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    x = input._data
    if x.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                f"of fixed length sequences. However, found offsets of type {type(offsets)}")
        include_last_offset = False
    elif x.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if not isinstance(offsets, Tensor):
            raise tensor_arg_error("embedding_bag", "offsets", 3, offsets)
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {x.ndim}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported "
            f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    if sparse:
        raise NotImplementedError(
            "embedding_bag: sparse=True asks for a sparse weight gradient, and disttorch has no "
            "sparse tensors; use sparse=False (the default) for a dense gradient")
    w = weight._data
    if not dtypes.from_numpy(w.dtype).is_floating_point:
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have one of the following scalar types: "
            f"Half, BFloat16, Float, Double; but got {_type_name(w)} instead (while checking "
            "arguments for embedding_bag)")
    if psw is not None and psw._data.dtype != w.dtype:
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
            f"#1 'per_sample_weights'; but type {_type_name(w)} does not equal "
            f"{_type_name(psw._data)} (while checking arguments for embedding_bag)")
    # torch brings the indices and offsets to one integer type before checking it
    idt = result_type(input, offsets) if offsets is not None else dtypes.from_numpy(x.dtype)
    if idt.np not in (_INT64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
            f"Long, Int; but got disttorch.{idt.tensor_type_name} instead (while checking "
            "arguments for embedding_bag)")
    for t in (input, offsets, psw):
        if t is not None and t._device is not weight._device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{weight._device} and {t._device}!")
    n = w.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, {-n} through "
                               f"{n - 1}, but got {padding_idx}")
        padding_idx = padding_idx % n
    xp = np if weight._device is _CPU else _dev.cupy_module()
    flat = x.reshape(-1).astype(_INT64, copy=False)
    n_input = flat.size
    if x.ndim == 2:
        nb, per = x.shape
        if per == 0:  # torch builds the bag offsets with arange(0, numel, step=0) and fails there
            raise RuntimeError("step must be nonzero")
        end = n_input
        bag = xp.arange(n_input, dtype=_INT64) // per
    else:
        nb, end, bag = _bags_1d(xp, offsets._data.astype(_INT64, copy=False), n_input,
                                include_last_offset)
    if n_input:
        bad = (flat < 0) | (flat >= n)
        if bool(bad.any()):
            k = int(xp.argmax(bad))
            v = int(flat[k])
            if mode == "max" or padding_idx is not None:
                raise RuntimeError("embedding_bag: Expected idx >= 0 && idx < num_embeddings but "
                                   f"found idx to be {v}")
            raise RuntimeError(f"Index {k} of input takes value {v} which is not in the valid "
                               f"range [0, {n})")
    if max_norm is not None:  # torch renormalises every row the input names, bag or not
        with grad_mode.no_grad():
            _renorm_(weight, flat, float(max_norm), norm_type)
    idx = flat[:end]
    pos = xp.arange(end, dtype=_INT64)
    if padding_idx is not None:
        pos = xp.flatnonzero(idx != padding_idx)
        idx, bag = idx[pos], bag[pos]
    cnt = gs = None
    if mode == "mean":
        cnt = xp.bincount(bag, minlength=nb) if idx.size else xp.zeros((nb,), dtype=_INT64)
    if idx.size and (mode == "mean" or scale_grad_by_freq):
        gs = xp.ones(idx.shape, dtype=w.dtype)
        if mode == "mean":
            gs /= cnt[bag].astype(w.dtype)
        if scale_grad_by_freq:  # counted over the whole input, as F.embedding does
            gs /= xp.bincount(flat, minlength=n)[idx].astype(w.dtype)
    ins = (weight,) if psw is None else (weight, psw)
    per = x.shape[1] if x.ndim == 2 and padding_idx is None else 0
    track = grad_mode.state.grad_enabled and weight.requires_grad
    return EmbeddingBag.apply(*ins, idx=idx, bag=bag, pos=pos, nb=nb, per=per, L=n_input,
                              mode=mode, cnt=cnt, gs=gs, psw_shape=tuple(input.shape), track=track)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of the integer ``tensor`` (shape ``tensor.shape + (num_classes,)``)."""
    if not isinstance(tensor, Tensor):
        raise tensor_arg_error("one_hot", "input", 1, tensor)
    a = tensor._data
    if a.dtype != _INT64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = np if tensor._device is _CPU else _dev.cupy_module()
    if a.size == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        if num_classes < -1:
            raise RuntimeError("Class values must be smaller than num_classes.")
        return _wrap(xp.zeros(a.shape + (num_classes,), dtype=_INT64), tensor._device)
    if bool((a < 0).any()):
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(a.max()) + 1
    elif bool((a >= num_classes).any()):
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes, dtype=_INT64)).astype(_INT64)
    return _wrap(out, tensor._device)


__all__ = ["embedding", "embedding_bag", "one_hot"]
