"""Flatten parameters into one vector and back: ``parameters_to_vector``, ``vector_to_parameters``."""
from __future__ import annotations

from collections.abc import Iterable

from ..._tensor import Tensor
from ...ops.movement import cat


def _check_param_device(param: Tensor, old_param_device):
    """The device all parameters share; TypeError when two differ (like torch)."""
    if old_param_device is not None and param.device != old_param_device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def _typename(obj) -> str:
    """torch.typename: ``Tensor.type()`` for tensors, else the (module-qualified) class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = obj if isinstance(obj, type) else type(obj)
    module = getattr(cls, "__module__", "") or ""
    if module in ("", "builtins"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-d tensor with every parameter flattened, in order (differentiable)."""
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's ``.data`` the matching slice of ``vec`` (shares its memory)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param


__all__ = ["parameters_to_vector", "vector_to_parameters"]
