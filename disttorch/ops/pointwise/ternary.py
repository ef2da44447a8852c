"""Ternary ops: lerp, addcmul and addcdiv."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend import dtypes
from .._op import Op
from .._util import cast, is_scalar, need_tensor, result_type
from ._common import _apply_bc, _float_only, _quiet, _select


class Lerp(Op):
    def forward(self, a, b, w):
        self.retain_inputs(0, 1, 2)
        xp = self.xp
        d = b - a
        return _select(xp, xp.abs(w) < 0.5, a + w * d, b - d * (1 - w))

    def backward(self, gy):
        a, b, w = self.saved_tensors
        na, nb, nw = self.needs_input_grad
        return ((gy * (1 - w)) if na else None, (gy * w) if nb else None,
                (gy * (b - a)) if nw else None)


class LerpScalar(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        w = self.w
        if abs(w) < 0.5:
            return a + w * (b - a)
        return b - (b - a) * (1 - w)

    def backward(self, gy):
        na, nb = self.needs_input_grad
        return ((gy * (1 - self.w)) if na else None, (gy * self.w) if nb else None)

    def name(self) -> str:
        return "LerpBackward0"


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """Linear interpolation input + weight * (end - input)."""
    need_tensor(input, "lerp")
    need_tensor(end, "lerp", "end", 2)
    if end._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"expected dtype {_torch_name(input)} for `end` but got dtype {_torch_name(end)}")
    if isinstance(weight, Tensor):
        _float_only(input, "lerp_kernel_tensor", False)
        if weight._data.dtype != input._data.dtype:
            if weight._data.ndim:
                raise RuntimeError(
                    f"expected dtype {_torch_name(input)} for `weight` but got dtype {_torch_name(weight)}")
            weight = cast(weight, input._data.dtype)
        return _apply_bc(Lerp, input, end, weight)
    if not is_scalar(weight):
        raise TypeError(f"lerp(): argument 'weight' must be Number or Tensor, not {type(weight).__name__}")
    _float_only(input, "lerp_kernel_scalar", False)
    return LerpScalar.apply(input, end, w=float(weight))


def _torch_name(t: Tensor) -> str:
    return {"float32": "float", "float64": "double", "float16": "half", "int64": "long",
            "int32": "int", "int16": "short", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "bfloat16": "BFloat16"}[dtypes.from_numpy(t._data.dtype).name]


class Addcmul(Op):
    def forward(self, x, a, b):
        self.retain_inputs(1, 2)
        return x + (self.value * a) * b

    def backward(self, gy):
        a, b = self.saved_tensors
        nx, na, nb = self.needs_input_grad
        v = self.value
        return (gy if nx else None), (gy * b * v if na else None), (gy * a * v if nb else None)


class Addcdiv(Op):
    def forward(self, x, a, b):
        self.retain_inputs(1, 2)
        with _quiet():
            return x + (self.value * a) / b

    def backward(self, gy):
        a, b = self.saved_tensors
        nx, na, nb = self.needs_input_grad
        v = self.value
        ga = gy * v / b if na else None
        gb = -gy * v * a / (b * b) if nb else None
        return (gy if nx else None), ga, gb


def _addc_operands(input, tensor1, tensor2, value, fname):
    need_tensor(input, fname)
    need_tensor(tensor1, fname, "tensor1", 2)
    need_tensor(tensor2, fname, "tensor2", 3)
    dt = input._data.dtype
    if tensor1._data.dtype == dt and tensor2._data.dtype == dt:
        ins = (input, tensor1, tensor2)
        rt = dtypes.from_numpy(dt)
    else:
        rt = result_type(input, tensor1, tensor2)
        ins = (cast(input, rt.np), cast(tensor1, rt.np), cast(tensor2, rt.np))
    if isinstance(value, complex):
        raise RuntimeError(f"value cannot be converted to type {_torch_name(ins[0])} without overflow")
    if not rt.is_floating_point:
        value = int(value)
    return ins, value


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2 (broadcast, promoted)."""
    ins, value = _addc_operands(input, tensor1, tensor2, value, "addcmul")
    return _apply_bc(Addcmul, *ins, value=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (floating inputs only)."""
    if (isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor)
            and tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu"):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
            "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior "
            "can be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) "
            "for integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The "
            "future addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
            "tensor2), for all dtypes.")
    ins, value = _addc_operands(input, tensor1, tensor2, value, "addcdiv")
    return _apply_bc(Addcdiv, *ins, value=value)
