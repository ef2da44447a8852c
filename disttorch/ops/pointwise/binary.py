"""Two-operand ops: max/min, fmax/fmin, atan2, hypot, logaddexp, xlogy, copysign, heaviside, float_power."""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace
from .._op import Op
from .._util import binary_operands, cast, is_scalar, need_tensor, tensor_arg_error
from ..comparison import isnan
from ._common import (
    _F32,
    _F64,
    _LN2,
    _legacy,
    _quiet,
    _select,
    _zeros_like,
)
from .selection import where


class Maximum(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        split = where(a == b, gy / 2, gy)
        ga = where(a < b, 0.0, split) if na else None
        gb = where(a > b, 0.0, split) if nb else None
        return ga, gb


class Minimum(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        split = where(a == b, gy / 2, gy)
        ga = where(a > b, 0.0, split) if na else None
        gb = where(a < b, 0.0, split) if nb else None
        return ga, gb


class Fmax(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.fmax(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        pick_a = (a >= b) | isnan(b)
        return (where(pick_a, gy, 0.0) if na else None), (where(pick_a, 0.0, gy) if nb else None)


class Fmin(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.fmin(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        pick_a = (a <= b) | isnan(b)
        return (where(pick_a, gy, 0.0) if na else None), (where(pick_a, 0.0, gy) if nb else None)


def _tensor_pair(input, other, fname: str):
    need_tensor(input, fname)
    need_tensor(other, fname, "other", 2)
    return binary_operands(input, other)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum (NaN propagates; ties split the gradient equally)."""
    return Maximum.apply(*_tensor_pair(input, other, "maximum"))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum (NaN propagates; ties split the gradient equally)."""
    return Minimum.apply(*_tensor_pair(input, other, "minimum"))


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum ignoring NaN (NaN only where both are NaN)."""
    return Fmax.apply(*_tensor_pair(input, other, "fmax"))


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum ignoring NaN (NaN only where both are NaN)."""
    return Fmin.apply(*_tensor_pair(input, other, "fmin"))


def _float_pair(input, other, fname: str, kernel: str | None = None, scalars: bool = False):
    """Promoted float operands; ints give the default float (or raise for float-only kernels)."""
    if not scalars:
        need_tensor(input, fname)
        need_tensor(other, fname, "other", 2)
    a, b = binary_operands(input, other, float_result=kernel is None)
    if kernel is not None and a._data.dtype.kind not in "fV":
        raise NotImplementedError(f'"{kernel}_{a._device.type}" not implemented for \'{_legacy(a)}\'')
    return a, b


class _Binary(Op):
    """``f(a, b)`` on float arrays, half types computed in float32."""

    _quiet = True

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if a.dtype.itemsize < 4:
            with _quiet():
                return self.f(self.xp, a.astype(_F32), b.astype(_F32)).astype(a.dtype)
        with _quiet():
            return self.f(self.xp, a, b)


class Atan2(_Binary):
    f = staticmethod(lambda xp, a, b: xp.arctan2(a, b))

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        den = a * a + b * b
        zero = den == 0
        r = gy / where(zero, 1.0, den)
        return (where(zero, 0.0, r * b) if na else None), (where(zero, 0.0, r * -a) if nb else None)


class Hypot(_Binary):
    f = staticmethod(lambda xp, a, b: xp.hypot(a, b))

    def forward(self, a, b):
        y = _Binary.forward(self, a, b)
        self.retain_outputs(0)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        na, nb = self.needs_input_grad
        return (gy * a / y if na else None), (gy * b / y if nb else None)


def _logaddexp_arr(xp, a, b):
    m = xp.maximum(a, b)
    r = m + xp.log1p(xp.exp(-xp.abs(a - b)))
    return _select(xp, (a == b) & xp.isinf(a), a, r)


def _logaddexp2_arr(xp, a, b):
    m = xp.maximum(a, b)
    r = m + xp.log1p(xp.exp2(-xp.abs(a - b))) / _LN2
    return _select(xp, (a == b) & xp.isinf(a), a, r)


class Logaddexp(_Binary):
    f = staticmethod(_logaddexp_arr)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return ((gy / ((b - a).exp() + 1)) if na else None), ((gy / ((a - b).exp() + 1)) if nb else None)


class Logaddexp2(_Binary):
    f = staticmethod(_logaddexp2_arr)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return ((gy / ((b - a).exp2() + 1)) if na else None), ((gy / ((a - b).exp2() + 1)) if nb else None)


def _xlogy_arr(xp, x, y):
    r = x * xp.log(y)
    return _select(xp, (x == 0) & ~xp.isnan(y), 0.0, r)


class Xlogy(_Binary):
    f = staticmethod(_xlogy_arr)

    def backward(self, gy):
        x, y = self.saved_tensors
        nx, ny = self.needs_input_grad
        gx = where((x == 0) & (y <= 0), 0.0, Xlogy.apply(gy, y)) if nx else None
        return gx, (gy * x / y if ny else None)


class Copysign(_Binary):
    f = staticmethod(lambda xp, a, b: xp.copysign(a, b))

    def forward(self, a, b):
        y = _Binary.forward(self, a, b)
        self.retain_outputs(0)
        return y

    def backward(self, gy):
        a, _, y = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gy * where(a == 0, 0.0, y / a) if na else None
        return ga, (_zeros_like(gy) if nb else None)


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise arctangent of input / other in the correct quadrant."""
    return Atan2.apply(*_float_pair(input, other, "atan2"))


arctan2 = atan2


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise sqrt(input ** 2 + other ** 2)."""
    return Hypot.apply(*_float_pair(input, other, "hypot", "hypot"))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise log(exp(input) + exp(other)), computed stably."""
    return Logaddexp.apply(*_float_pair(input, other, "logaddexp", "logaddexp"))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise log2(2 ** input + 2 ** other), computed stably."""
    return Logaddexp2.apply(*_float_pair(input, other, "logaddexp2", "logaddexp2"))


def xlogy(input, other) -> Tensor:
    """Elementwise input * log(other), 0 where input is 0 (unless other is NaN)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise tensor_arg_error("xlogy", "input", 1, input)
    return Xlogy.apply(*_float_pair(input, other, "xlogy", scalars=True))


def copysign(input: Tensor, other) -> Tensor:
    """Elementwise magnitude of input with the sign of other."""
    need_tensor(input, "copysign")
    return Copysign.apply(*_float_pair(input, other, "copysign", scalars=True))


class Heaviside(Op):
    differentiable = False

    def forward(self, x, v):
        xp = self.xp
        if x.dtype.kind == "V":
            x32 = x.astype(_F32)
            return xp.where(x32 == 0, v, (x32 > 0).astype(x.dtype))
        return xp.where(x == 0, v, (x > 0).astype(x.dtype))


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """Elementwise step: 0 for x < 0, ``values`` at x == 0, 1 for x > 0."""
    need_tensor(input, "heaviside")
    need_tensor(values, "heaviside", "values", 2)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return Heaviside.apply(input, values)


class FloatPow(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        with _quiet():
            return a ** b

    def backward(self, gy):
        a, b, y = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gy * where(b == 0, 0.0, b * FloatPow.apply(a, b - 1)) if na else None
        gb = gy * where((a == 0) & (b >= 0), 0.0, y * a.log()) if nb else None
        return ga, gb

    def name(self) -> str:
        return "PowBackward1"


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64 (either side may be a Python number)."""
    if isinstance(input, Tensor) and isinstance(exponent, Tensor):
        return FloatPow.apply(cast(input, _F64), cast(exponent, _F64))
    if isinstance(input, Tensor):
        if not is_scalar(exponent):
            raise tensor_arg_error("float_power", "exponent", 2, exponent)
        return cast(input, _F64).pow(float(exponent))
    if isinstance(exponent, Tensor):
        if not is_scalar(input):
            raise tensor_arg_error("float_power", "input", 1, input)
        return float(input) ** cast(exponent, _F64)
    raise tensor_arg_error("float_power", "input", 1, input)


def _float_power_(self: Tensor, exponent) -> Tensor:
    if self._data.dtype != _F64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_legacy(self)} but the operation's result "
            "requires dtype Double")
    return inplace(self, float_power, exponent)
