"""``embedding`` (a row lookup with torch's padding, max_norm and frequency options) and ``one_hot``."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...backend import device as _dev
from ...backend import dtypes
from ...ops._op import Op
from ...ops._util import tensor_arg_error
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


__all__ = ["embedding", "one_hot"]
