"""``Parameter``: a tensor that a ``Module`` registers as one of its parameters."""
from __future__ import annotations

from .._tensor import Tensor, _new


def _make_subclass(cls, t: Tensor, requires_grad: bool | None = None):
    """An instance of ``cls`` sharing ``t``'s data and version counter (a leaf)."""
    p = _new(cls)
    p._data = t._data
    p._device = t._device
    p._requires_grad = t._requires_grad if requires_grad is None else bool(requires_grad)
    p.grad = None
    p.grad_fn = None
    p._output_nr = 0
    p._vc = t._vc
    p._base = None
    p._extra = None
    return p


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by ``Module.__setattr__``."""

    _make_subclass = staticmethod(_make_subclass)

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return _make_subclass(cls, data.detach(), requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self._requires_grad))


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    _make_subclass = staticmethod(_make_subclass)

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        b = _make_subclass(cls, data.detach(), data.requires_grad)
        b.persistent = persistent
        return b
