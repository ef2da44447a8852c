"""Array-level convolution and pooling kernels (forward and backward).

Plain arrays in, plain arrays out: no autograd and no Tensor class. Every function
takes the array module ``xp`` (numpy or cupy) first and only calls ``xp.*`` on the
arrays, so the same code runs on CPU and GPU.

Layout follows torch: activations are ``(N, C, *spatial)``, conv weights are
``(C_out, C_in // groups, *kernel)`` and transposed-conv weights are
``(C_in, C_out // groups, *kernel)``. All kernels are N-d generic (1-d, 2-d and 3-d
share the code); spatial parameters are tuples with one entry per spatial dim.

Dtypes are preserved: float32 in gives float32 out and accumulation happens in the
input dtype, like torch's CPU kernels.

Convolution is im2col + GEMM. The im2col matrix is a strided view of the padded
input, copied in ``(C, *kernel, *out)`` order so that a batched ``matmul`` with the
weight lands directly in the ``(N, C_out, *out)`` layout, with no transpose after.
That beat one big GEMM on an ``(N*L, C*K)`` or ``(C*K, N*L)`` matrix and
``tensordot``/``einsum(optimize=True)``, which all pay for transpose copies (see
``bench/bench_conv_kernels.py``). On CPU the batch goes through in chunks of a few
MiB of columns, so the GEMM reads them from cache and peak memory stays bounded.
The input gradient is a GEMM then col2im (strided adds, one per kernel offset, no
scatter), or, for unit stride and wide inputs, a plain conv of the output gradient
with the flipped kernel. Depthwise-style convolutions (one input channel per group)
skip BLAS, whose 1-wide GEMMs waste it, and do one elementwise pass per offset.

Pooling also works per kernel offset on strided views: max pooling takes a running
maximum and then finds the winning offset, average pooling sums separably (one dim
at a time), and adaptive pooling reduces one dim at a time as well.
"""
from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import Any

from disttorch.backend.shims import as_strided, scatter_add

__all__ = [
    "adaptive_avg_pool_backward",
    "adaptive_avg_pool_forward",
    "adaptive_max_pool_backward",
    "adaptive_max_pool_forward",
    "avg_pool_backward",
    "avg_pool_forward",
    "conv_backward_input",
    "conv_backward_weight",
    "conv_forward",
    "conv_output_size",
    "conv_transpose_backward_input",
    "conv_transpose_backward_weight",
    "conv_transpose_forward",
    "conv_transpose_output_size",
    "max_pool_backward",
    "max_pool_forward",
    "pool_output_size",
]

Array = Any
IntTuple = Sequence[int]

# Target size of one im2col chunk on CPU. A few MiB keeps the freshly written
# columns in L2/L3 when the GEMM reads them; measured on the bench shapes, chunking
# is as fast as or faster than one whole-batch buffer, and it bounds peak memory.
_CPU_CHUNK_BYTES = 4 << 20
# On GPU large GEMMs matter more than caches: only chunk to bound memory.
_GPU_CHUNK_BYTES = 512 << 20


# --------------------------------------------------------------------------- helpers


def _tup(v: int | IntTuple, nd: int, name: str) -> tuple[int, ...]:
    """Normalise an int or a length-``nd`` sequence of ints to a tuple of ints."""
    try:
        return (operator.index(v),) * nd
    except TypeError:
        pass
    t = tuple(operator.index(i) for i in v)
    if len(t) != nd:
        raise ValueError(f"{name} must have {nd} entries for {nd}-d input, got {t}")
    return t


def _is_cpu(xp: Any) -> bool:
    return getattr(xp, "__name__", "") == "numpy"


def _chunk(xp: Any, n: int, bytes_per_sample: int) -> int:
    """How many samples to process at once so one chunk stays near the target size."""
    target = _CPU_CHUNK_BYTES if _is_cpu(xp) else _GPU_CHUNK_BYTES
    return max(1, min(n, target // max(1, bytes_per_sample)))


def _pad(xp: Any, x: Array, lo: IntTuple, hi: IntTuple, value: float = 0.0) -> Array:
    """Pad the spatial dims of ``x`` (N, C, *spatial); no copy when nothing to pad."""
    if not any(lo) and not any(hi):
        return x
    widths = [(0, 0), (0, 0)] + [(a, b) for a, b in zip(lo, hi)]
    if value == 0.0:
        return xp.pad(x, widths)
    return xp.pad(x, widths, mode="constant", constant_values=value)


def _offset_slices(
    offset: IntTuple, out: IntTuple, stride: IntTuple, dilation: IntTuple
) -> tuple[slice, ...]:
    """Spatial slices that pick, for every output position, the input element at
    kernel ``offset`` (in padded coordinates)."""
    return tuple(
        slice(j * d, j * d + s * (o - 1) + 1, s)
        for j, o, s, d in zip(offset, out, stride, dilation)
    )


def conv_output_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a convolution along one dim (torch's formula)."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_output_size(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """Output length of a transposed convolution along one dim (torch's formula)."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def pool_output_size(L: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:  # noqa: N803
    """Output length of a pooling window along one dim, torch's rule.

    With ``ceil_mode`` the last window may hang over the right edge, but it must
    start inside the input or the left padding, else it is dropped.
    """
    eff = d * (k - 1) + 1
    num = L + 2 * p - eff + ((s - 1) if ceil_mode else 0)
    out = num // s + 1  # floor division, like torch's div_rtn
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _check_out(out: IntTuple, what: str, **shapes: Any) -> None:
    if any(o <= 0 for o in out):
        desc = ", ".join(f"{k}={tuple(v) if isinstance(v, tuple) else v}" for k, v in shapes.items())
        raise ValueError(f"{what}: computed output size {tuple(out)} is not positive ({desc})")


def _conv_geometry(
    x_shape: IntTuple,
    w_shape: IntTuple,
    stride: int | IntTuple,
    padding: int | IntTuple,
    dilation: int | IntTuple,
    groups: int,
    what: str,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    nd = len(x_shape) - 2
    stride = _tup(stride, nd, "stride")
    padding = _tup(padding, nd, "padding")
    dilation = _tup(dilation, nd, "dilation")
    k = tuple(w_shape[2:])
    out = tuple(
        conv_output_size(L, kk, s, p, d)
        for L, kk, s, p, d in zip(x_shape[2:], k, stride, padding, dilation)
    )
    _check_out(
        out, what, input=tuple(x_shape), weight=tuple(w_shape), stride=stride,
        padding=padding, dilation=dilation, groups=groups,
    )
    return stride, padding, dilation, k, out


def _im2col(
    xp: Any, xpad: Array, k: IntTuple, out: IntTuple, stride: IntTuple, dilation: IntTuple
) -> Array:
    """Strided view (N, C, *k, *out) of the padded input: no copy yet."""
    sp_strides = xpad.strides[2:]
    shape = tuple(xpad.shape[:2]) + tuple(k) + tuple(out)
    strides = (
        tuple(xpad.strides[:2])
        + tuple(st * d for st, d in zip(sp_strides, dilation))
        + tuple(st * s for st, s in zip(sp_strides, stride))
    )
    return as_strided(xp, xpad, shape, strides)


class _Shifts:
    """Per-kernel-offset views of a padded spatial buffer, one element per output.

    Serves the loops that do one elementwise pass per kernel offset: the depthwise
    paths (reading the input) and col2im (adding gradients back). With unit strides
    in 2-d and up, the buffer is the flattened padded plane and every offset is a
    plain 1-d slice of it over a "wide" output grid ``(out[0], *padded[1:])``, so
    the elementwise loops run over long contiguous runs instead of rows of a few
    elements (about 2x faster on 14x14 maps). The extra grid columns hold junk that
    :meth:`to_out` drops; :meth:`from_out` zero-fills them so they add nothing when
    reduced or scattered. Otherwise the views are strided slices over ``out``.
    """

    def __init__(
        self,
        xp: Any,
        spatial: IntTuple,
        k: IntTuple,
        out: IntTuple,
        stride: IntTuple,
        padding: IntTuple,
        dilation: IntTuple,
    ) -> None:
        self.xp, self.spatial, self.out = xp, tuple(spatial), tuple(out)
        self.padding = tuple(padding)
        offsets = list(itertools.product(*map(range, k)))
        nd = len(k)
        padded = tuple(s + 2 * p for s, p in zip(spatial, padding))
        self.wide = nd >= 2 and all(s == 1 for s in stride)
        if self.wide:
            # One extra row at the end of the first spatial dim: the last run of a
            # plane overshoots the padded plane by less than a row.
            self.hi = (padding[0] + 1,) + self.padding[1:]
            self.buf_spatial = (padded[0] + 1,) + padded[1:]
            plane_strides = [math.prod(self.buf_spatial[i + 1:]) for i in range(nd)]
            self.length = out[0] * plane_strides[0]
            self.starts = [
                sum(j * d * st for j, d, st in zip(off, dilation, plane_strides))
                for off in offsets
            ]
        else:
            self.hi = self.padding
            self.buf_spatial = padded
            self.slices = [_offset_slices(off, out, stride, dilation) for off in offsets]

    @property
    def grid_nd(self) -> int:
        return 1 if self.wide else len(self.out)

    def buffer(self, x: Array) -> Array:
        """The padded input ``x`` laid out for :meth:`view`."""
        xpad = _pad(self.xp, x, self.padding, self.hi)
        if self.wide:
            return self.xp.ascontiguousarray(xpad).reshape(x.shape[0], x.shape[1], -1)
        return xpad

    def zeros(self, n: int, c: int, dtype: Any) -> Array:
        """A zero buffer to accumulate into through :meth:`view`."""
        shape = (math.prod(self.buf_spatial),) if self.wide else self.buf_spatial
        return self.xp.zeros((n, c) + shape, dtype=dtype)

    def view(self, buf: Array, i: int) -> Array:
        """(N, C, *grid) view of ``buf`` at the positions kernel offset ``i`` reads."""
        if self.wide:
            s = self.starts[i]
            return buf[:, :, s:s + self.length]
        return buf[(slice(None), slice(None)) + self.slices[i]]

    def crop(self, buf: Array) -> Array:
        """Buffer -> contiguous (N, C, *spatial), dropping padding (and the extra row)."""
        if not self.wide and not any(self.padding):
            return buf
        buf = buf.reshape(buf.shape[:2] + self.buf_spatial)
        keep = tuple(slice(p, p + s) for s, p in zip(self.spatial, self.padding))
        return self.xp.ascontiguousarray(buf[(slice(None), slice(None)) + keep])

    def to_out(self, a: Array) -> Array:
        """(..., *grid) -> contiguous (..., *out)."""
        if not self.wide:
            return a
        lead = a.shape[:-1]
        a = a.reshape(lead + (self.out[0],) + self.buf_spatial[1:])
        keep = (slice(None),) * (len(lead) + 1) + tuple(slice(0, o) for o in self.out[1:])
        return self.xp.ascontiguousarray(a[keep])

    def from_out(self, a: Array) -> Array:
        """(..., *out) -> (..., *grid), zeros in the junk columns."""
        if not self.wide:
            return a
        lead = a.shape[: a.ndim - len(self.out)]
        g = self.xp.zeros(lead + (self.out[0],) + self.buf_spatial[1:], dtype=a.dtype)
        g[(Ellipsis,) + tuple(slice(0, o) for o in self.out[1:])] = a
        return g.reshape(lead + (self.length,))


def _flipped_weight(xp: Any, w: Array, groups: int) -> Array:
    """Weight of the conv that maps gy back to gx for unit stride: channels swapped
    within each group and the kernel reversed, (C_in, C_out // groups, *k)."""
    Cout, Cg = w.shape[:2]
    k = tuple(w.shape[2:])
    G = groups
    wt = w.reshape((G, Cout // G, Cg) + k).swapaxes(1, 2).reshape((G * Cg, Cout // G) + k)
    return xp.ascontiguousarray(wt[(slice(None), slice(None)) + (slice(None, None, -1),) * len(k)])


# Input gradient via a flipped-kernel conv pays off once the GEMM's output side
# (C_in) is wide: measured better for C_in >= C_out and C_in >= 16, worse for
# thin inputs such as an RGB first layer.
_FLIP_MIN_CHANNELS = 16


# ----------------------------------------------------------------------- convolution


def conv_forward(
    xp: Any,
    x: Array,
    w: Array,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """N-d cross-correlation like ``torch.nn.functional.conv{1,2,3}d`` without bias.

    x: (N, C_in, *spatial), w: (C_out, C_in // groups, *k) -> (N, C_out, *out).
    """
    stride, padding, dilation, k, out = _conv_geometry(
        x.shape, w.shape, stride, padding, dilation, groups, "conv_forward"
    )
    N, C = x.shape[:2]
    Cout = w.shape[0]
    G = groups
    Cg, Cog = C // G, Cout // G
    K = math.prod(k)
    L = math.prod(out)

    if Cg == 1 and G > 1:
        # Depthwise: y[n, g, o] = sum_k w[g, o, k] * x[n, g, shifted by k]. (A plain
        # one-channel conv goes to the GEMM below, which is far faster for many outputs.)
        sh = _Shifts(xp, x.shape[2:], k, out, stride, padding, dilation)
        buf = sh.buffer(x)
        wv = w.reshape((G, Cog, K) + (1,) * sh.grid_nd)
        acc = tmp = None
        for i in range(K):
            v = sh.view(buf, i)[:, :, None]
            if acc is None:
                acc = v * wv[:, :, i]
            else:
                if tmp is None:
                    tmp = xp.empty_like(acc)
                xp.multiply(v, wv[:, :, i], out=tmp)
                acc += tmp
        return sh.to_out(acc).reshape((N, Cout) + out)

    xpad = _pad(xp, x, padding, padding)
    y = xp.empty((N, Cout) + out, dtype=x.dtype)
    wg = w.reshape(G, Cog, Cg * K)
    yv = y.reshape(N, G, Cog, L)
    cols_all = _im2col(xp, xpad, k, out, stride, dilation)
    step = _chunk(xp, N, C * K * L * x.itemsize)
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        # The reshape of the strided view is the im2col copy.
        cols = cols_all[n0:n1].reshape(n1 - n0, G, Cg * K, L)
        xp.matmul(wg, cols, out=yv[n0:n1])
    return y


def conv_backward_input(
    xp: Any,
    gy: Array,
    w: Array,
    x_shape: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """Gradient of :func:`conv_forward` wrt its input (also conv_transpose's forward).

    gy: (N, C_out, *out), w: (C_out, C_in // groups, *k) -> gx of shape ``x_shape``.
    Input positions that no window touches (when the stride does not divide the
    size) get zero gradient.
    """
    x_shape = tuple(int(s) for s in x_shape)
    stride, padding, dilation, k, out = _conv_geometry(
        x_shape, w.shape, stride, padding, dilation, groups, "conv_backward_input"
    )
    if tuple(gy.shape[2:]) != out or gy.shape[1] != w.shape[0]:
        raise ValueError(
            f"conv_backward_input: grad_output shape {tuple(gy.shape)} does not match "
            f"input shape {x_shape} and weight shape {tuple(w.shape)} (expected spatial {out})"
        )
    N, C = x_shape[:2]
    Cout = w.shape[0]
    G = groups
    Cg, Cog = C // G, Cout // G
    K = math.prod(k)

    # Unit stride: gx is a "full" conv of gy with the flipped kernel. Its padding
    # d*(k-1) - p must not be negative, and it only wins where noted above.
    full_pad = tuple(d * (kk - 1) - p for kk, p, d in zip(k, padding, dilation))
    if (
        all(s == 1 for s in stride)
        and min(full_pad) >= 0
        and ((Cg == 1 and Cog == 1) or (Cg >= _FLIP_MIN_CHANNELS and Cg >= Cog))
    ):
        return conv_forward(xp, gy, _flipped_weight(xp, w, G), stride, full_pad, dilation, G)

    sh = _Shifts(xp, x_shape[2:], k, out, stride, padding, dilation)
    gbuf = sh.zeros(N, C, gy.dtype)
    gyg = sh.from_out(gy.reshape((N, G, Cog) + out))
    if Cg == 1:
        wv = w.reshape((G, Cog, K) + (1,) * sh.grid_nd)
        for i in range(K):
            term = (wv[:, :, i] * gyg).sum(axis=2) if Cog > 1 else wv[:, 0, i] * gyg[:, :, 0]
            sh.view(gbuf, i)[...] += term
    else:
        # dcols = W^T @ gy per group, then col2im: every kernel offset adds its slab
        # back at the input positions it was read from (no scatter needed).
        wgT = w.reshape(G, Cog, Cg * K).transpose(0, 2, 1)
        gyg = gyg.reshape(N, G, Cog, -1)
        grid = tuple(gyg.shape[3:]) if sh.wide else out
        step = _chunk(xp, N, C * K * gyg.shape[-1] * gy.itemsize)
        for n0 in range(0, N, step):
            n1 = min(N, n0 + step)
            dcols = xp.matmul(wgT, gyg[n0:n1]).reshape((n1 - n0, C, K) + grid)
            dst = gbuf[n0:n1]
            for i in range(K):
                sh.view(dst, i)[...] += dcols[:, :, i]
    return sh.crop(gbuf)


def conv_backward_weight(
    xp: Any,
    x: Array,
    gy: Array,
    w_shape: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """Gradient of :func:`conv_forward` wrt its weight.

    x: (N, C_in, *spatial), gy: (N, C_out, *out) -> gw of shape ``w_shape``.
    """
    w_shape = tuple(int(s) for s in w_shape)
    stride, padding, dilation, k, out = _conv_geometry(
        x.shape, w_shape, stride, padding, dilation, groups, "conv_backward_weight"
    )
    if tuple(gy.shape[2:]) != out or gy.shape[1] != w_shape[0]:
        raise ValueError(
            f"conv_backward_weight: grad_output shape {tuple(gy.shape)} does not match "
            f"input shape {tuple(x.shape)} and weight shape {w_shape} (expected spatial {out})"
        )
    N, C = x.shape[:2]
    Cout = w_shape[0]
    G = groups
    Cg, Cog = C // G, Cout // G
    K = math.prod(k)
    L = math.prod(out)

    if Cg == 1:
        # gw[g, o, k] = sum over batch and positions of gy * (input shifted by k);
        # einsum does the multiply and the reduction in one pass.
        sh = _Shifts(xp, x.shape[2:], k, out, stride, padding, dilation)
        buf = sh.buffer(x)
        gyg = sh.from_out(gy.reshape((N, G, Cog) + out))
        sp = "".join(chr(ord("p") + i) for i in range(sh.grid_nd))
        spec = f"ngo{sp},ng{sp}->go"
        gw = xp.empty((G, Cog, K), dtype=x.dtype)
        for i in range(K):
            gw[:, :, i] = xp.einsum(spec, gyg, sh.view(buf, i))
        return gw.reshape(w_shape)

    # gw[g]^T = sum_n cols[n, g] @ gy[n, g]^T: one GEMM per sample with inner dim L,
    # summed over the chunk. The transposed gy view goes to BLAS as-is (no copy).
    # This orientation measured 5-25% faster than gy @ cols^T, most with AVX-512
    # GEMM kernels; a single GEMM over the whole chunk (after transposing gy) was
    # no faster.
    xpad = _pad(xp, x, padding, padding)
    gwT = xp.zeros((G, Cg * K, Cog), dtype=x.dtype)
    gyT = gy.reshape(N, G, Cog, L).transpose(0, 1, 3, 2)
    cols_all = _im2col(xp, xpad, k, out, stride, dilation)
    step = _chunk(xp, N, C * K * L * x.itemsize)
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        cols = cols_all[n0:n1].reshape(n1 - n0, G, Cg * K, L)
        gwT += xp.matmul(cols, gyT[n0:n1]).sum(axis=0)
    return xp.ascontiguousarray(gwT.transpose(0, 2, 1)).reshape(w_shape)


def conv_transpose_forward(
    xp: Any,
    x: Array,
    w: Array,
    stride: IntTuple,
    padding: IntTuple,
    output_padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """Like ``torch.nn.functional.conv_transpose{1,2,3}d`` without bias.

    x: (N, C_in, *spatial), w: (C_in, C_out // groups, *k) -> (N, C_out, *out).
    A transposed conv is the input-gradient of the conv whose weight is ``w``.
    """
    nd = x.ndim - 2
    stride = _tup(stride, nd, "stride")
    padding = _tup(padding, nd, "padding")
    output_padding = _tup(output_padding, nd, "output_padding")
    dilation = _tup(dilation, nd, "dilation")
    k = tuple(w.shape[2:])
    out = tuple(
        conv_transpose_output_size(L, kk, s, p, op, d)
        for L, kk, s, p, op, d in zip(x.shape[2:], k, stride, padding, output_padding, dilation)
    )
    _check_out(
        out, "conv_transpose_forward", input=tuple(x.shape), weight=tuple(w.shape),
        stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
    )
    y_shape = (x.shape[0], w.shape[1] * groups) + out
    return conv_backward_input(xp, x, w, y_shape, stride, padding, dilation, groups)


def conv_transpose_backward_input(
    xp: Any,
    gy: Array,
    w: Array,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """Gradient of :func:`conv_transpose_forward` wrt its input: a plain conv of gy.

    ``output_padding`` is not needed: it only adds trailing outputs that the conv
    ignores.
    """
    return conv_forward(xp, gy, w, stride, padding, dilation, groups)


def conv_transpose_backward_weight(
    xp: Any,
    x: Array,
    gy: Array,
    w_shape: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    groups: int,
) -> Array:
    """Gradient of :func:`conv_transpose_forward` wrt its weight (C_in, C_out // g, *k).

    The roles of input and output swap: it is the weight gradient of the conv that
    maps gy (the transposed conv's output) to x.
    """
    return conv_backward_weight(xp, gy, x, w_shape, stride, padding, dilation, groups)


# ------------------------------------------------------------------------ max pooling


def _lowest(xp: Any, dtype: Any) -> float | int:
    if dtype.kind == "f":
        return -float("inf")
    return int(xp.iinfo(dtype).min)


def _grid(xp: Any, per_dim: Sequence[Array], combine: str = "add") -> Array:
    """Broadcast per-dim vectors over the output grid (shape ``(len(v0), len(v1), ...)``)
    and add them (``combine="add"``) or AND them (``"and"``)."""
    nd = len(per_dim)
    res = None
    for i, v in enumerate(per_dim):
        shape = [1] * nd
        shape[i] = -1
        v = v.reshape(shape)
        if res is None:
            res = v
        else:
            res = res + v if combine == "add" else res & v
    return res


def _window_max(
    xp: Any, views: Sequence[Array], valid: Sequence[Array] | None
) -> tuple[Array, Array]:
    """Max over ``views`` (one per window offset) and the offset that holds it.

    Matches torch's scan ``if (val > max || isnan(val))``: the first maximum in
    window order wins, a NaN wins over everything and the last NaN is reported.
    Offsets where ``valid`` is False (padding) never win; a window of only -inf
    then reports its first valid element, as torch does.

    Two passes of cheap elementwise ops (max, then compare against the max)
    measured ~4x faster than carrying value/index with ``where`` in one pass.
    """
    y = views[0].copy()
    for v in views[1:]:
        xp.maximum(y, v, out=y)  # propagates NaN
    n = len(views)
    kidx = xp.zeros(y.shape, dtype=xp.int16 if n < 2**15 else xp.int32)
    # Walk backwards so the earliest matching offset is written last.
    for i in range(n - 1, -1, -1):
        hit = views[i] == y
        if valid is not None:
            hit &= valid[i]
        kidx -= (kidx - i) * hit
    if y.dtype.kind == "f" and bool(xp.isnan(y).any()):
        for i in range(n):  # forwards: the last NaN wins
            kidx -= (kidx - i) * xp.isnan(views[i])
    return y, kidx


def max_pool_forward(
    xp: Any,
    x: Array,
    kernel_size: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    dilation: IntTuple,
    ceil_mode: bool,
) -> tuple[Array, Array]:
    """Like ``torch.nn.functional.max_pool{1,2,3}d(..., return_indices=True)``.

    Returns ``(y, indices)``; indices are int64 flat positions within each input
    spatial plane. NaN propagates, and ties resolve like torch (first maximum in
    window order; for NaN the last NaN).
    """
    nd = x.ndim - 2
    k = _tup(kernel_size, nd, "kernel_size")
    stride = _tup(stride, nd, "stride")
    padding = _tup(padding, nd, "padding")
    dilation = _tup(dilation, nd, "dilation")
    sizes = tuple(x.shape[2:])
    out = tuple(
        pool_output_size(n, kk, s, p, d, ceil_mode)
        for n, kk, s, p, d in zip(sizes, k, stride, padding, dilation)
    )
    _check_out(out, "max_pool_forward", input=tuple(x.shape), kernel_size=k, stride=stride,
               padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    # Right padding also covers ceil_mode windows that hang over the end.
    hi = tuple(
        max(p, (o - 1) * s + d * (kk - 1) + 1 - n - p)
        for n, kk, s, p, d, o in zip(sizes, k, stride, padding, dilation, out)
    )
    xpad = _pad(xp, x, padding, hi, value=_lowest(xp, x.dtype))
    offsets = list(itertools.product(*map(range, k)))
    lead = (slice(None), slice(None))
    views = [xpad[lead + _offset_slices(off, out, stride, dilation)] for off in offsets]

    starts = [xp.arange(o, dtype=xp.int64) * s - p for o, s, p in zip(out, stride, padding)]
    valid = None
    if any(padding) or any(h > 0 for h in hi):
        valid = []
        for off in offsets:
            pos = [st + j * d for st, j, d in zip(starts, off, dilation)]
            valid.append(_grid(xp, [(q >= 0) & (q < n) for q, n in zip(pos, sizes)], "and"))
    y, kidx = _window_max(xp, views, valid)

    # Flat index = window start + the chosen offset's displacement, both in the
    # unpadded plane.
    plane_strides = [math.prod(sizes[i + 1:]) for i in range(nd)]
    base = _grid(xp, [st * ps for st, ps in zip(starts, plane_strides)])
    delta = xp.asarray(
        [sum(j * d * ps for j, d, ps in zip(off, dilation, plane_strides)) for off in offsets],
        dtype=xp.int64,
    )
    idx = xp.take(delta, kidx) + base
    return y, idx


def max_pool_backward(xp: Any, gy: Array, indices: Array, x_shape: IntTuple) -> Array:
    """Gradient of :func:`max_pool_forward` (and adaptive max pool) wrt the input.

    Scatter-adds ``gy`` into the positions named by ``indices``; overlapping windows
    that picked the same element accumulate.
    """
    x_shape = tuple(int(s) for s in x_shape)
    NC = x_shape[0] * x_shape[1]
    plane = math.prod(x_shape[2:])
    gx = xp.zeros(NC * plane, dtype=gy.dtype)
    base = (xp.arange(NC, dtype=xp.int64) * plane).reshape(NC, 1)
    flat = (indices.reshape(NC, -1) + base).reshape(-1)
    scatter_add(xp, gx, flat, gy.reshape(-1))
    return gx.reshape(x_shape)


# ------------------------------------------------------------------------ avg pooling


def _window_sum(xp: Any, a: Array, axis: int, k: int, s: int, out: int) -> Array:
    """Sum ``k`` consecutive elements along ``axis`` at stride ``s`` (``out`` windows).

    Average pooling is separable, so an N-d window sum is N passes of this, costing
    sum(k) rather than prod(k) passes over the data.
    """
    def sl(j: int) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(j, j + s * (out - 1) + 1, s),)

    acc = a[sl(0)].copy()
    for j in range(1, k):
        acc += a[sl(j)]
    return acc


def _window_sum_t(xp: Any, g: Array, axis: int, k: int, s: int, length: int) -> Array:
    """Transpose of :func:`_window_sum`: spread each window value over its ``k`` slots."""
    out = g.shape[axis]
    shape = list(g.shape)
    shape[axis] = length
    acc = xp.zeros(shape, dtype=g.dtype)
    for j in range(k):
        acc[(slice(None),) * axis + (slice(j, j + s * (out - 1) + 1, s),)] += g
    return acc


def _avg_geometry(
    x_shape: IntTuple,
    kernel_size: IntTuple,
    stride: IntTuple | None,
    padding: IntTuple,
    ceil_mode: bool,
    what: str,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    nd = len(x_shape) - 2
    k = _tup(kernel_size, nd, "kernel_size")
    # torch's convention: no stride (None or empty) means stride = kernel_size.
    stride = k if stride is None or stride == () or stride == [] else _tup(stride, nd, "stride")
    padding = _tup(padding, nd, "padding")
    sizes = tuple(x_shape[2:])
    out = tuple(
        pool_output_size(L, kk, s, p, 1, ceil_mode)
        for L, kk, s, p in zip(sizes, k, stride, padding)
    )
    _check_out(out, what, input=tuple(x_shape), kernel_size=k, stride=stride,
               padding=padding, ceil_mode=ceil_mode)
    return k, stride, padding, sizes, out


def _avg_divisor(
    xp: Any,
    dtype: Any,
    sizes: IntTuple,
    k: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    out: IntTuple,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Array | float:
    """Per-output divisor, torch's rule: windows are clipped to the padded input
    (count_include_pad) or to the input itself; ``divisor_override`` wins outright."""
    if divisor_override:
        return float(divisor_override)
    nd = len(k)
    div = None
    for i, (L, kk, s, p, o) in enumerate(zip(sizes, k, stride, padding, out)):
        start = xp.arange(o, dtype=xp.int64) * s - p
        end = xp.minimum(start + kk, L + p)
        if count_include_pad:
            cnt = end - start
        else:
            cnt = xp.minimum(end, L) - xp.maximum(start, 0)
        shape = [1] * nd
        shape[i] = -1
        cnt = cnt.astype(dtype).reshape(shape)
        div = cnt if div is None else div * cnt
    return div


def avg_pool_forward(
    xp: Any,
    x: Array,
    kernel_size: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Array:
    """Like ``torch.nn.functional.avg_pool{1,2,3}d``; ``stride=None`` means kernel_size."""
    k, stride, padding, sizes, out = _avg_geometry(
        x.shape, kernel_size, stride, padding, ceil_mode, "avg_pool_forward"
    )
    hi = tuple(max(p, (o - 1) * s + kk - L - p) for L, kk, s, p, o in zip(sizes, k, stride, padding, out))
    a = _pad(xp, x, padding, hi)
    for i in range(len(k)):
        a = _window_sum(xp, a, 2 + i, k[i], stride[i], out[i])
    div = _avg_divisor(xp, x.dtype, sizes, k, stride, padding, out, count_include_pad,
                       divisor_override)
    a /= div
    return a


def avg_pool_backward(
    xp: Any,
    gy: Array,
    x_shape: IntTuple,
    kernel_size: IntTuple,
    stride: IntTuple,
    padding: IntTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Array:
    """Gradient of :func:`avg_pool_forward` wrt its input."""
    x_shape = tuple(int(s) for s in x_shape)
    k, stride, padding, sizes, out = _avg_geometry(
        x_shape, kernel_size, stride, padding, ceil_mode, "avg_pool_backward"
    )
    div = _avg_divisor(xp, gy.dtype, sizes, k, stride, padding, out, count_include_pad,
                       divisor_override)
    g = gy / div
    for i in range(len(k)):
        L, kk, s, p, o = sizes[i], k[i], stride[i], padding[i], out[i]
        length = max(L + 2 * p, (o - 1) * s + kk)
        g = _window_sum_t(xp, g, 2 + i, kk, s, length)
    crop = tuple(slice(p, p + L) for L, p in zip(sizes, padding))
    return xp.ascontiguousarray(g[(slice(None), slice(None)) + crop])


# ------------------------------------------------------------------- adaptive pooling


def _adaptive_bounds(size: int, out: int) -> tuple[list[int], list[int]]:
    """torch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-((-(i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _adaptive_matrix(xp: Any, size: int, out: int, dtype: Any) -> Array:
    """(out, size) averaging matrix: row i holds 1/len over window i."""
    starts, ends = _adaptive_bounds(size, out)
    j = xp.arange(size).reshape(1, size)
    s = xp.asarray(starts).reshape(out, 1)
    e = xp.asarray(ends).reshape(out, 1)
    inside = (j >= s) & (j < e)
    return xp.where(inside, 1.0 / (e - s), 0.0).astype(dtype)


def _adaptive_sizes(x_shape: IntTuple, output_size: IntTuple, what: str) -> tuple[int, ...]:
    """Resolve ``output_size`` (an int, or a tuple whose None entries keep the input
    size, as in torch) to a tuple of ints."""
    nd = len(x_shape) - 2
    if output_size is None or isinstance(output_size, int) or hasattr(output_size, "__index__"):
        output_size = (output_size,) * nd
    sizes = tuple(output_size)
    if len(sizes) != nd:
        raise ValueError(f"{what}: output_size must have {nd} entries, got {sizes}")
    out = tuple(int(x_shape[2 + i]) if o is None else operator.index(o) for i, o in enumerate(sizes))
    _check_out(out, what, input=tuple(x_shape), output_size=out)
    if any(n <= 0 for n in x_shape[2:]):
        raise ValueError(f"{what}: input spatial size must be positive, got {tuple(x_shape)}")
    return out


def adaptive_avg_pool_forward(xp: Any, x: Array, output_size: IntTuple) -> Array:
    """Like ``torch.nn.functional.adaptive_avg_pool{1,2,3}d``.

    Separable: each spatial dim is reduced on its own, by a reshape-sum when the
    windows are uniform, else by a GEMM with the (O, L) averaging matrix.
    """
    out = _adaptive_sizes(x.shape, output_size, "adaptive_avg_pool_forward")
    a = x
    for i, O in enumerate(out):
        ax = 2 + i
        L = a.shape[ax]
        if O == L:
            continue
        pre = math.prod(a.shape[:ax])
        post = math.prod(a.shape[ax + 1:])
        if L % O == 0:
            r = L // O
            red = a.reshape(pre, O, r, post).sum(axis=2) / r
        else:
            A = _adaptive_matrix(xp, L, O, x.dtype)
            red = xp.matmul(A, a.reshape(pre, L, post))
        a = red.reshape(a.shape[:ax] + (O,) + a.shape[ax + 1:])
    return xp.ascontiguousarray(a) if a is not x else a.copy()


def adaptive_avg_pool_backward(
    xp: Any, gy: Array, x_shape: IntTuple, output_size: IntTuple
) -> Array:
    """Gradient of :func:`adaptive_avg_pool_forward` wrt its input."""
    x_shape = tuple(int(s) for s in x_shape)
    out = _adaptive_sizes(x_shape, output_size, "adaptive_avg_pool_backward")
    g = gy
    for i, O in enumerate(out):
        ax = 2 + i
        L = x_shape[ax]
        if O == L:
            continue
        pre = math.prod(g.shape[:ax])
        post = math.prod(g.shape[ax + 1:])
        if L % O == 0:
            r = L // O
            g3 = (g.reshape(pre, O, 1, post) / r)
            exp = xp.broadcast_to(g3, (pre, O, r, post)).reshape(pre, L, post)
        else:
            A = _adaptive_matrix(xp, L, O, gy.dtype)
            exp = xp.matmul(A.T, g.reshape(pre, O, post))
        g = exp.reshape(g.shape[:ax] + (L,) + g.shape[ax + 1:])
    return xp.ascontiguousarray(g) if g is not gy else g.copy()


# Windows up to this long are reduced by the offset loop of cheap elementwise
# passes; longer ones (global pooling, say) by argmax.
_ADAPTIVE_MAX_LOOP = 16


def adaptive_max_pool_forward(xp: Any, x: Array, output_size: IntTuple) -> tuple[Array, Array]:
    """Like ``torch.nn.functional.adaptive_max_pool{1,2,3}d(..., return_indices=True)``.

    Max is separable, so the dims are reduced one at a time, last first; carrying
    the flat index along keeps torch's choice (the first maximum in row-major window
    order, or the last NaN). Windows shorter than the longest repeat their last
    element, which changes neither. Indices are flat per input plane (int64).
    """
    out = _adaptive_sizes(x.shape, output_size, "adaptive_max_pool_forward")
    sizes = tuple(x.shape[2:])
    nd = len(out)
    a, fidx = x, None
    for i in range(nd - 1, -1, -1):
        ax = 2 + i
        st, en = _adaptive_bounds(sizes[i], out[i])
        km = max(e - s for s, e in zip(st, en))
        s_ = xp.asarray(st, dtype=xp.int64).reshape(-1, 1)
        e_ = xp.asarray(en, dtype=xp.int64).reshape(-1, 1)
        table = xp.minimum(s_ + xp.arange(km, dtype=xp.int64).reshape(1, km), e_ - 1).reshape(-1)
        # Gather the windows along this axis: (..., out_i, km, ...).
        wshape = a.shape[:ax] + (out[i], km) + a.shape[ax + 1:]
        win = xp.take(a, table, axis=ax).reshape(wshape)
        pick = (slice(None),) * (ax + 1)
        if km <= _ADAPTIVE_MAX_LOOP:
            y, kidx = _window_max(xp, [win[pick + (j,)] for j in range(km)], None)
            kidx = kidx.astype(xp.int64)
        else:
            kidx = xp.argmax(win, axis=ax + 1)  # first maximum, or first NaN
            y = xp.take_along_axis(win, xp.expand_dims(kidx, ax + 1), axis=ax + 1)
            y = y.reshape(kidx.shape)
            if x.dtype.kind == "f" and bool(xp.isnan(y).any()):
                # torch reports the last NaN of a window.
                rev = xp.argmax(xp.isnan(xp.flip(win, axis=ax + 1)), axis=ax + 1)
                kidx = xp.where(xp.isnan(y), (km - 1) - rev, kidx)
        o = xp.arange(out[i], dtype=xp.int64).reshape((-1,) + (1,) * (a.ndim - ax - 1))
        pos = xp.take(table, o * km + kidx) * math.prod(sizes[i + 1:])
        if fidx is not None:
            fwin = xp.take(fidx, table, axis=ax).reshape(wshape)
            pos = pos + xp.take_along_axis(fwin, xp.expand_dims(kidx, ax + 1), axis=ax + 1).reshape(
                kidx.shape
            )
        a, fidx = y, pos
    if fidx is None:  # no spatial dims
        fidx = xp.zeros(x.shape[:2], dtype=xp.int64)
    return xp.ascontiguousarray(a), fidx


def adaptive_max_pool_backward(xp: Any, gy: Array, indices: Array, x_shape: IntTuple) -> Array:
    """Gradient of :func:`adaptive_max_pool_forward` wrt its input."""
    return max_pool_backward(xp, gy, indices, x_shape)
