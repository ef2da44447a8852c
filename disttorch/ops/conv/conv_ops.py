"""Convolution graph ops: the adjoint ``_Conv``/``_ConvT``/``_ConvW``, ``_PadEnd``/``_CropEnd``."""
from __future__ import annotations

from .. import _conv_kernels as K
from .._op import Op
from ._common import _f32_pair


def _spatial_sum_dims(nd: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, nd + 2))


def _bias_view(xp, b, nd: int):
    return b.reshape((-1,) + (1,) * nd)


def _pad_end(xp, a, want: tuple[int, ...]):
    """Zero-pad the spatial dims of ``a`` at the end up to ``want``."""
    have = a.shape[2:]
    if have == want:
        return a
    widths = [(0, 0), (0, 0)] + [(0, w - h) for h, w in zip(have, want)]
    return xp.pad(a, widths)


def _add_bias(xp, y, b):
    """``y`` plus the per-channel bias ``b`` (in place; None adds nothing)."""
    if b is not None:
        y += _bias_view(xp, b, y.ndim - 2).astype(y.dtype, copy=False)
    return y


def _full_out(in_shape, k, stride, padding, dilation) -> tuple[int, ...]:
    cs = K.conv_output_size
    return tuple(
        cs(L, kk, s, p, d) for L, kk, s, p, d in zip(in_shape[2:], k, stride, padding, dilation)
    )


class _ConvOp(Op):
    """Base of the convolution ops: ``stride``, ``padding``, ``dilation``, ``groups``."""

    def _geo(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                "groups": self.groups}


class _Conv(_ConvOp):
    """``y = conv(x, w) (+ b)``; ``trim`` keeps only the leading outputs (or None)."""

    def forward(self, x, w, b=None):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, w, dt = _f32_pair(x, w)
        if x.size == 0 or w.size == 0:
            out = _full_out(x.shape, w.shape[2:], self.stride, self.padding, self.dilation)
            # torch gives an input with no channels an output with no channels
            cout = w.shape[0] if x.shape[1] else 0
            y = xp.zeros((x.shape[0], cout) + out, dtype=x.dtype)
            if not cout:
                b = None
        else:
            y = K.conv_forward(xp, x, w, self.stride, self.padding, self.dilation, self.groups)
        trim = self.trim
        if trim is not None and tuple(y.shape[2:]) != trim:
            y = xp.ascontiguousarray(y[(slice(None), slice(None)) + tuple(slice(0, t) for t in trim)])
        y = _add_bias(xp, y, b)
        return y if dt is None else y.astype(dt)

    def backward(self, gy):
        x, w = self.saved_tensors
        need = self.needs_input_grad
        geo = self._geo()
        gx = _ConvT.apply(gy, w, out_shape=tuple(x.shape), **geo) if need[0] else None
        gw = _ConvW.apply(x, gy, w_shape=tuple(w.shape), **geo) if need[1] else None
        if len(need) == 3:
            gb = None
            if need[2]:
                if gy.shape[1] != w.shape[0]:  # an input without channels: see forward
                    gb = gy.sum().expand(w.shape[0])
                else:
                    gb = gy.sum(dim=_spatial_sum_dims(gy.ndim - 2))
            return gx, gw, gb
        return gx, gw


class _ConvT(_ConvOp):
    """``y = conv_input_grad(x, w) (+ b)`` into ``out_shape``: the gradient of a conv
    wrt its input, which is also the transposed convolution of ``x`` with ``w``."""

    def forward(self, x, w, b=None):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, w, dt = _f32_pair(x, w)
        out_shape = self.out_shape
        if x.size == 0 or w.size == 0:
            y = xp.zeros(out_shape, dtype=x.dtype)
        else:
            full = _full_out(out_shape, w.shape[2:], self.stride, self.padding, self.dilation)
            x = _pad_end(xp, xp.ascontiguousarray(x), full)
            y = K.conv_backward_input(
                xp, x, w, out_shape, self.stride, self.padding, self.dilation, self.groups
            )
        y = _add_bias(xp, y, b)
        return y if dt is None else y.astype(dt)

    def backward(self, gy):
        x, w = self.saved_tensors
        need = self.needs_input_grad
        geo = self._geo()
        gx = _Conv.apply(gy, w, trim=tuple(x.shape[2:]), **geo) if need[0] else None
        gw = _ConvW.apply(gy, x, w_shape=tuple(w.shape), **geo) if need[1] else None
        if len(need) == 3:
            gb = gy.sum(dim=_spatial_sum_dims(gy.ndim - 2)) if need[2] else None
            return gx, gw, gb
        return gx, gw


class _ConvW(_ConvOp):
    """``gw = conv_weight_grad(x, gy)`` of shape ``w_shape``."""

    def forward(self, x, gy):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, gy, dt = _f32_pair(x, gy)
        if x.size == 0 or gy.size == 0:
            gw = xp.zeros(self.w_shape, dtype=x.dtype)
        else:
            full = _full_out(x.shape, self.w_shape[2:], self.stride, self.padding, self.dilation)
            gy = _pad_end(xp, xp.ascontiguousarray(gy), full)
            gw = K.conv_backward_weight(
                xp, xp.ascontiguousarray(x), gy, self.w_shape, self.stride, self.padding,
                self.dilation, self.groups,
            )
        return gw if dt is None else gw.astype(dt)

    def backward(self, ggw):
        x, gy = self.saved_tensors
        nx, ngy = self.needs_input_grad
        geo = self._geo()
        gx = _ConvT.apply(gy, ggw, out_shape=tuple(x.shape), **geo) if nx else None
        ggy = _Conv.apply(x, ggw, trim=tuple(gy.shape[2:]), **geo) if ngy else None
        return gx, ggy


class _PadEnd(Op):
    """Zero padding after the end of each spatial dim (torch's extra right padding for
    ``padding='same'`` with an even effective kernel)."""

    def forward(self, x):
        self.src = tuple(x.shape[2:])
        return self.xp.pad(x, [(0, 0), (0, 0)] + [(0, e) for e in self.extra])

    def backward(self, gy):
        return _CropEnd.apply(gy, size=self.src, extra=self.extra)


class _CropEnd(Op):
    """Keep the leading ``size`` entries of each spatial dim (adjoint of _PadEnd)."""

    def forward(self, x):
        keep = (slice(None), slice(None)) + tuple(slice(0, s) for s in self.size)
        return self.xp.ascontiguousarray(x[keep])

    def backward(self, gy):
        return _PadEnd.apply(gy, extra=self.extra)

