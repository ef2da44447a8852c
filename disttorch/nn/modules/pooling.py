"""Pooling layers: max/avg/adaptive/power-average pools and max-unpooling (1-3d), with
torch's attributes and repr."""
from __future__ import annotations

from ..._tensor import Tensor
from ..functional import pooling as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


def _ntuple(v, n: int) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) * n


class _WindowPoolNd(Module):
    """Base of the window pools: ``_fn`` is the functional, ``_nd`` (when set) makes
    ``kernel_size``, ``stride`` and ``padding`` ``_nd``-tuples."""

    _fn = None
    _nd = 0

    def _set_window(self, kernel_size, stride, padding) -> None:
        """``kernel_size``, ``stride`` (the kernel size when None) and ``padding``."""
        if stride is None:
            stride = kernel_size
        nd = self._nd
        if nd:
            kernel_size, stride, padding = (_ntuple(v, nd) for v in (kernel_size, stride, padding))
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# -- max pooling -----------------------------------------------------------------------------
class _MaxPoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self._set_window(kernel_size, stride, padding)
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"

    def forward(self, input: Tensor):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                              ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling over (N, C, L) or (C, L); ``return_indices`` also gives the argmax."""

    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling over (N, C, H, W) or (C, H, W); ``return_indices`` also gives the argmax."""

    _fn = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W)."""

    _fn = staticmethod(F.max_pool3d)


# -- average pooling -------------------------------------------------------------------------
class _AvgPoolNd(_WindowPoolNd):
    def _set_avg(self, kernel_size, stride, padding, ceil_mode: bool,
                 count_include_pad: bool) -> None:
        self._set_window(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad


class AvgPool1d(_AvgPoolNd):
    """1-d average pooling over (N, C, L) or (C, L)."""

    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self._set_avg(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _AvgPoolDivisor(_AvgPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self._set_avg(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)


class AvgPool2d(_AvgPoolDivisor):
    """2-d average pooling over (N, C, H, W) or (C, H, W)."""

    _fn = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolDivisor):
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W)."""

    _fn = staticmethod(F.avg_pool3d)


# -- adaptive pooling ------------------------------------------------------------------------
class _AdaptivePoolNd(Module):
    """Base of the adaptive pools: ``_fn(input, output_size)``."""

    _fn = None

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.output_size)


class _AdaptiveAvgPoolNd(_AdaptivePoolNd):
    """Base of the adaptive average pools."""


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-d average pooling to a fixed output length."""

    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-d average pooling to a fixed output size (None keeps an input size)."""

    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-d average pooling to a fixed output size (None keeps an input size)."""

    _fn = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-d max pooling to a fixed output length; ``return_indices`` also gives the argmax."""

    _fn = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-d max pooling to a fixed output size; ``return_indices`` also gives the argmax."""

    _fn = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-d max pooling to a fixed output size; ``return_indices`` also gives the argmax."""

    _fn = staticmethod(F.adaptive_max_pool3d)


# -- power-average pooling -------------------------------------------------------------------
class _LPPoolNd(Module):
    _fn = None

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride,
                              self.ceil_mode)


class LPPool1d(_LPPoolNd):
    """1-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""

    _fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""

    _fn = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""

    _fn = staticmethod(F.lp_pool3d)


# -- max unpooling ---------------------------------------------------------------------------
class _MaxUnpoolNd(_WindowPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self._set_window(kernel_size, stride, padding)

    def forward(self, input: Tensor, indices: Tensor, output_size: list[int] | None = None) -> Tensor:
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: values at their argmax positions, zeros elsewhere."""

    _fn = staticmethod(F.max_unpool1d)
    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: values at their argmax positions, zeros elsewhere."""

    _fn = staticmethod(F.max_unpool2d)
    _nd = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool3d``: values at their argmax positions, zeros elsewhere."""

    _fn = staticmethod(F.max_unpool3d)
    _nd = 3
