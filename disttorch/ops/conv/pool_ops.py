"""Pooling graph ops: max, average and adaptive pools and their gradients, adjoint in pairs."""
from __future__ import annotations

from .. import _conv_kernels as K
from .._op import Op
from ._common import _f32, _f64, _grad_into, _i64, _in_f32


class _ArgMaxPoolOp(Op):
    """``(y, indices)`` of a max pooling; indices are flat per input plane. Subclasses give
    the output shape and the kernel call."""

    def _out_shape(self, x) -> tuple[int, ...]:
        raise NotImplementedError

    def _pool(self, xp, x):
        raise NotImplementedError

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        out_shape = self._out_shape(x)
        if x.size == 0 or 0 in out_shape:
            y = xp.zeros(out_shape, dtype=x.dtype)
            idx = xp.zeros(out_shape, dtype=_i64)
        else:
            y, idx = _in_f32(self._pool, xp, x)
        self.idx = idx
        return y, idx

    def backward(self, gy, _gidx=None):
        return _IndexScatter.apply(gy, idx=self.idx, x_shape=self.x_shape)


class _MaxPool(_ArgMaxPoolOp):
    """Max pooling over windows (``kernel_size``, ``stride``, ``padding``, ``dilation``)."""

    def _out_shape(self, x):
        return self.out_shape

    def _pool(self, xp, x):
        return K.max_pool_forward(xp, x, self.kernel_size, self.stride, self.padding,
                                  self.dilation, self.ceil_mode)


class _AdaptiveMaxPool(_ArgMaxPoolOp):
    """Adaptive max pooling to ``output_size``."""

    def _out_shape(self, x):
        return x.shape[:2] + self.output_size

    def _pool(self, xp, x):
        return K.adaptive_max_pool_forward(xp, x, self.output_size)


class _IndexScatter(Op):
    """Gradient of max pooling: ``gy`` added into each plane at the flat ``idx``."""

    def forward(self, gy):
        return _grad_into(K.max_pool_backward, self.xp, gy, self.x_shape, self.idx, self.x_shape)

    def backward(self, ggx):
        return _IndexGather.apply(ggx, idx=self.idx, x_shape=self.x_shape)


class _IndexGather(Op):
    """Each plane of ``x`` read at the flat ``idx`` (adjoint of _IndexScatter)."""

    def forward(self, x):
        idx = self.idx
        nc = x.shape[0] * x.shape[1]
        if nc == 0 or idx.size == 0:
            return self.xp.zeros(idx.shape, dtype=x.dtype)
        flat = self.xp.ascontiguousarray(x).reshape(nc, -1)
        return self.xp.take_along_axis(flat, idx.reshape(nc, -1), axis=1).reshape(idx.shape)

    def backward(self, gy):
        return _IndexScatter.apply(gy, idx=self.idx, x_shape=self.x_shape)


class _AvgPool(Op):
    """Average pooling (``_avg_args``: kernel_size, stride, padding, ceil_mode,
    count_include_pad, divisor_override)."""

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        if x.size == 0:
            return xp.zeros(self.out_shape, dtype=x.dtype)
        k = x.dtype.kind
        if k == "f" and x.itemsize >= 4:
            return K.avg_pool_forward(xp, x, *self.args)
        if k in "iu":  # torch divides the integer window sum, truncating
            y = K.avg_pool_forward(xp, x.astype(_f64), *self.args)
            return xp.trunc(y).astype(x.dtype)
        return K.avg_pool_forward(xp, x.astype(_f32), *self.args).astype(x.dtype)

    def backward(self, gy):
        return _AvgPoolGrad.apply(gy, x_shape=self.x_shape, out_shape=tuple(gy.shape),
                                  args=self.args)


class _AvgPoolGrad(Op):
    """Gradient of average pooling; its own backward is the pooling again."""

    def forward(self, gy):
        return _grad_into(K.avg_pool_backward, self.xp, gy, self.x_shape, self.x_shape,
                          *self.args)

    def backward(self, ggx):
        return _AvgPool.apply(ggx, out_shape=self.out_shape, args=self.args)


class _AdaptiveAvgPool(Op):
    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        if x.size == 0 or 0 in self.output_size:
            return xp.zeros(x.shape[:2] + self.output_size, dtype=x.dtype)
        return _in_f32(K.adaptive_avg_pool_forward, xp, x, self.output_size)

    def backward(self, gy):
        return _AdaptiveAvgPoolGrad.apply(gy, x_shape=self.x_shape, output_size=self.output_size)


class _AdaptiveAvgPoolGrad(Op):
    def forward(self, gy):
        return _grad_into(K.adaptive_avg_pool_backward, self.xp, gy, self.x_shape, self.x_shape,
                          self.output_size)

    def backward(self, ggx):
        return _AdaptiveAvgPool.apply(ggx, output_size=self.output_size)

