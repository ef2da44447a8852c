"""Resampling and patch ops: ``interpolate``, ``pad``, ``pixel_shuffle``, ``unfold``/``fold``.

``interpolate`` is separable: each spatial dim is resampled in turn by one op that gathers
a few taps along that dim and sums them with per-position weights (1 tap for nearest, 2
for linear, 4 for cubic, a window for area). The taps and weights follow torch's index
rules, computed in the input's float precision as torch's CPU kernels do. The gradient of
a resampling is its transpose (a scatter-add of the taps), itself differentiable.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..._tensor import Tensor
from ...backend import device as _dev
from ...backend import dtypes
from ...ops._op import Op
from ...ops._util import tensor_arg_error
from ...ops.movement import _add_at, pad

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_DIM_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


# -- separable resampling ops --------------------------------------------------------------------


class _Taps:
    """Host-side plan for one dim: per tap an index array (nondecreasing) and weights."""

    __slots__ = ("idx", "w", "n_in", "runs", "dev_idx", "dev_w")

    def __init__(self, idx: list, w: list | None, n_in: int) -> None:
        self.idx, self.w, self.n_in = idx, w, n_in
        # runs of equal indices (for the scatter-add of the transpose): starts and values
        self.runs = []
        for a in idx:
            if a.size:
                starts = np.flatnonzero(np.concatenate(([True], a[1:] != a[:-1])))
                self.runs.append((starts, a[starts]))
            else:
                self.runs.append((np.zeros(0, np.int64), np.zeros(0, np.int64)))
        self.dev_idx = self.dev_w = None

    def on(self, xp, dtype):
        """Index and weight arrays on ``xp``'s device (weights in ``dtype``)."""
        if self.dev_idx is None or (self.dev_w is not None and self.dev_w[0].dtype != dtype):
            if xp is np:
                self.dev_idx = self.idx
                self.dev_w = None if self.w is None else [w.astype(dtype) for w in self.w]
            else:
                self.dev_idx = [xp.asarray(a) for a in self.idx]
                self.dev_w = None if self.w is None else [xp.asarray(w.astype(dtype)) for w in self.w]
        return self.dev_idx, self.dev_w


def _work_dtype(x):
    return _F32 if x.dtype.itemsize < 4 or x.dtype.kind != "f" else x.dtype


class Resample(Op):
    """Along ``self.axis``: ``y = sum_t take(x, idx[t]) * w[t]``."""

    def forward(self, x):
        xp = self.xp
        ax = self.axis
        low = x.dtype.kind == "V" or x.dtype == np.float16
        xw = x.astype(_F32) if low else x
        idx, w = self.taps.on(xp, _work_dtype(xw))
        tail = (1,) * (x.ndim - ax - 1)
        y = xp.take(xw, idx[0], axis=ax)
        if w is not None:
            y *= w[0].reshape(w[0].shape + tail)
            for i, wt in zip(idx[1:], w[1:]):
                t = xp.take(xw, i, axis=ax)
                t *= wt.reshape(wt.shape + tail)
                y += t
        return y.astype(x.dtype) if low else y

    def backward(self, gy):
        return ResampleT.apply(gy, axis=self.axis, taps=self.taps)


class ResampleT(Op):
    """The transpose of :class:`Resample`: each tap's weighted values added back at its indices."""

    def forward(self, g):
        xp = self.xp
        ax = self.axis
        taps = self.taps
        low = g.dtype.kind == "V" or g.dtype == np.float16
        gw_ = g.astype(_F32) if low else g
        idx, w = taps.on(xp, _work_dtype(gw_))
        shape = list(g.shape)
        shape[ax] = taps.n_in
        out = xp.zeros(tuple(shape), dtype=gw_.dtype)
        tail = (1,) * (g.ndim - ax - 1)
        lead = (slice(None),) * ax
        for t in range(len(idx)):
            v = gw_ if w is None else gw_ * w[t].reshape(w[t].shape + tail)
            if v.shape[ax] == 0:
                continue
            if xp is np:
                starts, vals = taps.runs[t]
                out[lead + (vals,)] += np.add.reduceat(v, starts, axis=ax)
            else:
                mv = xp.moveaxis(out, ax, 0)
                _add_at(xp, mv, idx[t], xp.moveaxis(v, ax, 0))
        return out.astype(g.dtype) if low else out

    def backward(self, gg):
        return Resample.apply(gg, axis=self.axis, taps=self.taps)


# -- torch's index rules -------------------------------------------------------------------------


def _scale_value(scale, n_in: int, n_out: int, ct):
    """torch's compute_scales_value: 1 / scale_factor when given, else in / out (in ``ct``)."""
    if scale is not None and scale > 0:
        return ct(1.0 / scale)
    return ct(n_in) / ct(n_out)


def _nearest_taps(n_in, n_out, scale, exact: bool, plain: bool) -> _Taps:
    """``plain``: out == in copies and out == 2 * in halves the index (whatever the scale)."""
    o = np.arange(n_out, dtype=np.int64)
    if not exact and plain and n_out == n_in:
        idx = o
    elif not exact and plain and n_out == 2 * n_in:
        idx = o >> 1
    else:
        s = _scale_value(scale, n_in, n_out, np.float32)
        of = o.astype(np.float32)
        if exact:
            of = of + np.float32(0.5)
        idx = np.minimum(np.floor(of * s).astype(np.int64), n_in - 1)
    return _Taps([idx], None, n_in)


def _linear_taps(n_in, n_out, scale, align_corners: bool, ct) -> _Taps:
    o = np.arange(n_out)
    if n_out == n_in:
        return _Taps([o.astype(np.int64)], None, n_in)
    if align_corners:
        s = ct(n_in - 1) / ct(n_out - 1) if n_out > 1 else ct(0)
        src = o.astype(ct) * s
    else:
        s = _scale_value(scale, n_in, n_out, ct)
        src = np.maximum(s * (o.astype(ct) + ct(0.5)) - ct(0.5), ct(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(ct), ct(0), ct(1)).astype(ct)
    i1 = i0 + (i0 < n_in - 1)
    return _Taps([i0, i1], [(ct(1) - lam).astype(ct), lam], n_in)


def _cubic_taps(n_in, n_out, scale, align_corners: bool, ct) -> _Taps:
    o = np.arange(n_out)
    if align_corners:
        s = ct(n_in - 1) / ct(n_out - 1) if n_out > 1 else ct(0)
        src = o.astype(ct) * s
    else:
        s = _scale_value(scale, n_in, n_out, ct)
        src = (s * (o.astype(ct) + ct(0.5)) - ct(0.5)).astype(ct)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - i0.astype(ct), ct(0), ct(1)).astype(ct)
    a = ct(-0.75)

    def conv1(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def conv2(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    ws = [conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)]
    idx = [np.clip(i0 - 1 + k, 0, n_in - 1) for k in range(4)]
    return _Taps(idx, [w.astype(ct) for w in ws], n_in)


def _area_taps(n_in, n_out, ct) -> _Taps:
    o = np.arange(n_out, dtype=np.int64)
    start = (o * n_in) // n_out
    end = ((o + 1) * n_in + n_out - 1) // n_out
    length = end - start
    if n_out == 0:
        return _Taps([o], [np.zeros(0, ct)], n_in)
    k = int(length.max())
    inv = (ct(1) / length.astype(ct)).astype(ct)
    idx, ws = [], []
    for t in range(k):
        idx.append(np.minimum(start + t, end - 1))
        ws.append(np.where(t < length, inv, ct(0)).astype(ct))
    return _Taps(idx, ws, n_in)


_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_NEED = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
_KERNEL = {"nearest": "compute_indices_weights_nearest", "nearest-exact": "compute_indices_weights_nearest",
           "linear": "compute_indices_weights_linear", "bilinear": "compute_indices_weights_linear",
           "trilinear": "compute_indices_weights_linear", "bicubic": "compute_indices_weights_cubic"}


def _as_list(v, n: int, what: str, x: Tensor):
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            spatial = list(x._data.shape[2:])
            fmt = "o1, o2, ...,oK" if what == "output size" else "s1, s2, ...,sK"
            name = "output" if what == "output size" else "scale_factor"
            raise ValueError(
                f"Input and {name} must have the same number of spatial dimensions, but got input "
                f"with spatial dimensions of {spatial} and {what} of {tuple(v) if isinstance(v, list) else v}. "
                f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and {what} in "
                f"({fmt}) format.")
        return list(v)
    return [v] * n


def _kernel_dtype_error(mode: str, x: Tensor, nd: int) -> NotImplementedError:
    name = dtypes.from_numpy(x._data.dtype).legacy_name
    if mode == "area":
        kernel = "adaptive_avg_pool3d_cpu" if nd == 5 else "adaptive_avg_pool2d"
    else:
        kernel = _KERNEL[mode]
    return NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of an (N, C, ...) input by ``size`` or ``scale_factor``."""
    if not isinstance(input, Tensor):
        raise tensor_arg_error("interpolate", "input", None, input)
    nd = input._data.ndim
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    n_sp = nd - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if nd < 3 or nd > 5 or mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {nd}D) for the modes: "
            "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact "
            f"(got {mode})")
    if mode in _LINEAR_NEED and nd != _LINEAR_NEED[mode]:
        raise NotImplementedError(f"Got {nd}D input, but {mode} mode needs {_LINEAR_NEED[mode]}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    in_sizes = list(input._data.shape[2:])
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = [int(s) for s in _as_list(size, n_sp, "output size", input)]
        scales = [None] * n_sp
    else:
        sf = [float(s) for s in _as_list(scale_factor, n_sp, "scale_factor", input)]
        sizes = [int(math.floor(float(n) * s)) for n, s in zip(in_sizes, sf)]
        scales = [None] * n_sp if recompute_scale_factor else sf
    if any(s < 0 or (s == 0 and mode != "area") for s in sizes) or any(s <= 0 for s in in_sizes):
        names = _DIM_NAMES[n_sp]
        i_s = ", ".join(f"{a}: {b}" for a, b in zip(names, in_sizes))
        o_s = ", ".join(f"{a}: {b}" for a, b in zip(names, sizes))
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input ({i_s}) and output ({o_s})")
    dt = input._data.dtype
    floating = dt.kind == "f" or dt.kind == "V"
    if not floating and not (dt == np.uint8 and mode in ("nearest", "nearest-exact")):
        raise _kernel_dtype_error(mode, input, nd)
    ct = np.float64 if dt == _F64 else np.float32
    y = input
    for k in range(n_sp):
        n_in, n_out = in_sizes[k], sizes[k]
        if mode == "nearest" or mode == "nearest-exact":
            # torch's 2-d nearest kernel takes these shortcuts even with a scale factor given
            plain = scales[k] is None or nd == 4
            if n_in == n_out and mode == "nearest" and plain:
                continue
            taps = _nearest_taps(n_in, n_out, scales[k], mode == "nearest-exact", plain)
        elif mode == "area":
            if n_in == n_out:
                continue
            taps = _area_taps(n_in, n_out, ct)
        elif mode == "bicubic":
            taps = _cubic_taps(n_in, n_out, scales[k], align_corners, ct)
        else:
            if n_in == n_out:
                continue
            taps = _linear_taps(n_in, n_out, scales[k], align_corners, ct)
        y = Resample.apply(y, axis=2 + k, taps=taps)
    if y is input:
        y = input.clone()
    return y


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- pixel shuffle ------------------------------------------------------------------------------


def _int_factor(v, fname: str, what: str) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        raise TypeError(f"{fname}(): argument '{what}' (position 2) must be int, not {type(v).__name__}")
    return int(v)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    r = _int_factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    s = input._data.shape
    if len(s) < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {len(s)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = s[-3:]
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    lead = tuple(s[:-3])
    n = len(lead)
    oc = c // (r * r)
    y = input.reshape(lead + (oc, r, r, h, w))
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(lead + (oc, h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W)."""
    r = _int_factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    s = input._data.shape
    if len(s) < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with {len(s)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = s[-3:]
    if h % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)={h} "
            f"is not divisible by {r}")
    if w % r:
        raise RuntimeError(
            f"pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)={w} "
            f"is not divisible by {r}")
    if input._data.size == 0:  # torch hands an empty input back unchanged in shape
        return input.clone()
    lead = tuple(s[:-3])
    n = len(lead)
    y = input.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(lead + (c * r * r, h // r, w // r))


# -- unfold / fold (im2col / col2im) --------------------------------------------------------------


def _pair(v, what: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise RuntimeError(f"It is expected {what} equals to 2, but got size {len(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _check_params(k, d, p, s) -> None:
    if k[0] <= 0 or k[1] <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kernel_height: {k[0]} kernel_width: {k[1]}")
    if d[0] <= 0 or d[1] <= 0:
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilation_height: {d[0]} dilation_width: {d[1]}")
    if p[0] < 0 or p[1] < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} pad_width: {p[1]}")
    if s[0] <= 0 or s[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} stride_width: {s[1]}")


def _blocks(size, k, d, p, s) -> tuple:
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))


class Unfold(Op):
    """(N, C, H, W) -> (N, C * kh * kw, L): every sliding block as a column."""

    def forward(self, x):
        xp = self.xp
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = self.k, self.d, self.p, self.s
        oh, ow = self.blocks
        n, c, h, w = x.shape
        if ph or pw:
            xpad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
            xpad[:, :, ph:ph + h, pw:pw + w] = x
        else:
            xpad = x
        out = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
        for i in range(kh):
            r0 = i * dh
            for j in range(kw):
                c0 = j * dw
                out[:, :, i, j] = xpad[:, :, r0:r0 + sh * (oh - 1) + 1:sh, c0:c0 + sw * (ow - 1) + 1:sw]
        return out.reshape(n, c * kh * kw, oh * ow)

    def backward(self, gy):
        return Fold.apply(gy, k=self.k, d=self.d, p=self.p, s=self.s, blocks=self.blocks,
                          size=self.size)


class Fold(Op):
    """(N, C * kh * kw, L) -> (N, C, H, W): the columns summed back into their blocks."""

    def forward(self, cols):
        xp = self.xp
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = self.k, self.d, self.p, self.s
        oh, ow = self.blocks
        h, w = self.size
        n = cols.shape[0]
        c = cols.shape[1] // (kh * kw)
        v = cols.reshape(n, c, kh, kw, oh, ow)
        out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
        for i in range(kh):
            r0 = i * dh
            for j in range(kw):
                c0 = j * dw
                out[:, :, r0:r0 + sh * (oh - 1) + 1:sh, c0:c0 + sw * (ow - 1) + 1:sw] += v[:, :, i, j]
        if ph or pw:
            out = out[:, :, ph:ph + h, pw:pw + w].copy()
        return out

    def backward(self, gy):
        return Unfold.apply(gy, k=self.k, d=self.d, p=self.p, s=self.s, blocks=self.blocks,
                            size=self.size)


def _float_kernel(x: Tensor, kernel: str) -> None:
    if x._data.dtype.kind not in "fV":
        name = dtypes.from_numpy(x._data.dtype).legacy_name
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks: (N, C, H, W) -> (N, C * prod(kernel_size), L)."""
    k, d = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    p, s = _pair(padding, "padding"), _pair(stride, "stride")
    shape = input._data.shape
    nd = len(shape)
    if nd not in (3, 4) or (nd == 3 and 0 in shape) or (nd == 4 and 0 in shape[1:]):
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(shape)}")
    _check_params(k, d, p, s)
    size = shape[-2:]
    blocks = _blocks(size, k, d, p, s)
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(
            f"Given input with spatial size ({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), "
            f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of "
            f"sliding blocks as ({blocks[0]}, {blocks[1]}), but its components must be at least one.")
    _float_kernel(input, f"im2col_out_{input._device.type}")
    x = input.unsqueeze(0) if nd == 3 else input
    y = Unfold.apply(x, k=k, d=d, p=p, s=s, blocks=blocks, size=tuple(size))
    return y.squeeze(0) if nd == 3 else y


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks: (N, C * prod(kernel_size), L) -> (N, C, *output_size)."""
    o = _pair(output_size, "output_size")
    k, d = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    p, s = _pair(padding, "padding"), _pair(stride, "stride")
    shape = input._data.shape
    nd = len(shape)
    if nd not in (2, 3) or (nd == 2 and 0 in shape) or (nd == 3 and 0 in shape[1:]):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
            f"dimensions for input, but got: {list(shape)}")
    _check_params(k, d, p, s)
    if o[0] <= 0 or o[1] <= 0:
        raise RuntimeError(
            f"output_size should be greater than zero, but got output_height: {o[0]} output_width: {o[1]}")
    cdim = shape[-2]
    if cdim % (k[0] * k[1]):
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
            f"got input.size(1)={cdim} and kernel_size=({k[0]}, {k[1]}).")
    blocks = _blocks(o, k, d, p, s)
    if blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != shape[-1]:
        raise RuntimeError(
            f"Given output_size=({o[0]}, {o[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, "
            f"{d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={shape[-1]}.")
    _float_kernel(input, f"col2im_out_{input._device.type}")
    x = input.unsqueeze(0) if nd == 2 else input
    y = Fold.apply(x, k=k, d=d, p=p, s=s, blocks=blocks, size=o)
    return y.squeeze(0) if nd == 2 else y


__all__ = [
    "fold", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold", "upsample",
    "upsample_bilinear", "upsample_nearest",
]
