"""Comparisons, closeness, float classification, logical and bitwise ops (no gradients).

``== != < <= > >=`` promote their operands like arithmetic and give bool tensors;
``& | ^ ~`` work on bool and integer tensors (the in-place and reflected forms too).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ._inplace import check_castable, inplace, inplace_method
from ._op import Op
from ._util import binary_operands, cast, is_scalar, need_tensor, result_type

_F32 = np.dtype(np.float32)
_from_np = dtypes.from_numpy


def _legacy(t: Tensor) -> str:
    return _from_np(t._data.dtype).legacy_name


class _NoGrad(Op):
    differentiable = False


def _bf16_safe(a, b):
    # ml_dtypes' bfloat16 comparisons warn on NaN; compare in float32 (exact)
    if a.dtype.kind == "V":
        return a.astype(_F32), b.astype(_F32)
    return a, b


class Eq(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a == b


class Ne(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a != b


class Lt(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a < b


class Le(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a <= b


class Gt(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a > b


class Ge(_NoGrad):
    def forward(self, a, b):
        if a.dtype.kind == "V":
            a, b = _bf16_safe(a, b)
        return a >= b


_INT_RANGE = {np.dtype(d): (int(np.iinfo(d).min), int(np.iinfo(d).max))
              for d in (np.uint8, np.int8, np.int16, np.int32, np.int64)}


def _wrap_int(t: Tensor, value):
    """A Python int out of ``t``'s integer range, wrapped as torch's C cast does (-1 -> 255)."""
    rng = _INT_RANGE.get(t._data.dtype)
    if rng is not None and not rng[0] <= value <= rng[1]:
        return int(np.array(value & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).astype(t._data.dtype))
    return value


def _cmp_operands(input, other, fname: str):
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{fname}() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}), but expected one of: "
            "(Tensor input, Tensor other) or (Tensor input, Number other)"
        )
    if not isinstance(other, Tensor) and not is_scalar(other):
        raise TypeError(
            f"{fname}() received an invalid combination of arguments - got "
            f"(Tensor, {type(other).__name__}), but expected one of: "
            "(Tensor input, Tensor other) or (Tensor input, Number other)"
        )
    if type(other) is int:
        other = _wrap_int(input, other)
    return binary_operands(input, other)


def eq(input: Tensor, other) -> Tensor:
    """Elementwise ``input == other`` as a bool tensor."""
    return Eq.apply(*_cmp_operands(input, other, "eq"))


def ne(input: Tensor, other) -> Tensor:
    """Elementwise ``input != other`` as a bool tensor."""
    return Ne.apply(*_cmp_operands(input, other, "ne"))


def lt(input: Tensor, other) -> Tensor:
    """Elementwise ``input < other`` as a bool tensor."""
    return Lt.apply(*_cmp_operands(input, other, "lt"))


def le(input: Tensor, other) -> Tensor:
    """Elementwise ``input <= other`` as a bool tensor."""
    return Le.apply(*_cmp_operands(input, other, "le"))


def gt(input: Tensor, other) -> Tensor:
    """Elementwise ``input > other`` as a bool tensor."""
    return Gt.apply(*_cmp_operands(input, other, "gt"))


def ge(input: Tensor, other) -> Tensor:
    """Elementwise ``input >= other`` as a bool tensor."""
    return Ge.apply(*_cmp_operands(input, other, "ge"))


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same size and the same elements."""
    need_tensor(input, "equal")
    need_tensor(other, "equal", "other", 2)
    if input._data.shape != other._data.shape:
        return False
    a, b = binary_operands(input, other)
    return bool(Eq.apply(a, b)._data.all())


# -- closeness ----------------------------------------------------------------------------


class IsClose(_NoGrad):
    def forward(self, a, b):
        xp = self.xp
        if a.dtype.kind == "V":
            a, b = a.astype(_F32), b.astype(_F32)
        close = a == b
        floating = a.dtype.kind == "f"
        if self.equal_nan and floating:
            close |= xp.isnan(a) & xp.isnan(b)
        if self.rtol == 0 and self.atol == 0:
            return close
        if not floating:  # integers: exact differences, no wrap-around
            a, b = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            allowed = self.atol + xp.abs(self.rtol * b)
            actual = xp.abs(a - b)
            close |= xp.isfinite(actual) & (actual <= allowed)
        return close


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (equal infinities count as close)."""
    need_tensor(input, "isclose")
    need_tensor(other, "isclose", "other", 2)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"{_legacy(input)} did not match {_legacy(other)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    return IsClose.apply(input, other, rtol=float(rtol), atol=float(atol), equal_nan=bool(equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element of ``input`` is close to ``other`` (see :func:`isclose`)."""
    need_tensor(input, "allclose")
    need_tensor(other, "allclose", "other", 2)
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


# -- float classification -------------------------------------------------------------------


def _classify(fname: str, fn_float, int_value: bool):
    class Classify(_NoGrad):
        def forward(self, x):
            if x.dtype.kind in "fV":
                if x.dtype.kind == "V":
                    x = x.astype(_F32)
                return fn_float(self.xp, x)
            return self.xp.full(x.shape, int_value, dtype=np.bool_)

    Classify.__name__ = Classify.__qualname__ = "".join(p.capitalize() for p in fname.split("_"))

    def fn(input: Tensor) -> Tensor:
        return Classify.apply(need_tensor(input, fname))

    fn.__name__ = fn.__qualname__ = fname
    return fn


isnan = _classify("isnan", lambda xp, x: xp.isnan(x), False)
isnan.__doc__ = "Elementwise: is the value NaN."
isinf = _classify("isinf", lambda xp, x: xp.isinf(x), False)
isinf.__doc__ = "Elementwise: is the value +inf or -inf."
isposinf = _classify("isposinf", lambda xp, x: xp.isinf(x) & (x > 0), False)
isposinf.__doc__ = "Elementwise: is the value +inf."
isneginf = _classify("isneginf", lambda xp, x: xp.isinf(x) & (x < 0), False)
isneginf.__doc__ = "Elementwise: is the value -inf."
isfinite = _classify("isfinite", lambda xp, x: xp.isfinite(x), True)
isfinite.__doc__ = "Elementwise: is the value neither infinite nor NaN."


class Signbit(_NoGrad):
    def forward(self, x):
        k = x.dtype.kind
        if k == "f":
            return self.xp.signbit(x)
        if k == "V":
            return self.xp.signbit(x.astype(_F32))
        if k == "i":
            return x < 0
        return self.xp.zeros(x.shape, dtype=np.bool_)


def signbit(input: Tensor) -> Tensor:
    """Elementwise: is the sign bit set (true for -0.0)."""
    return Signbit.apply(need_tensor(input, "signbit"))


# -- logical ---------------------------------------------------------------------------------


def _truth(x):
    return x.astype(_F32) if x.dtype.kind == "V" else x


class LogicalAnd(_NoGrad):
    def forward(self, a, b):
        return self.xp.logical_and(_truth(a), _truth(b))


class LogicalOr(_NoGrad):
    def forward(self, a, b):
        return self.xp.logical_or(_truth(a), _truth(b))


class LogicalXor(_NoGrad):
    def forward(self, a, b):
        return self.xp.logical_xor(_truth(a), _truth(b))


class LogicalNot(_NoGrad):
    def forward(self, x):
        return self.xp.logical_not(_truth(x))


def logical_and(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise logical AND of the truth values (non-zero is true); a bool tensor."""
    need_tensor(input, "logical_and")
    return LogicalAnd.apply(input, need_tensor(other, "logical_and", "other", 2))


def logical_or(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise logical OR of the truth values (non-zero is true); a bool tensor."""
    need_tensor(input, "logical_or")
    return LogicalOr.apply(input, need_tensor(other, "logical_or", "other", 2))


def logical_xor(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise logical XOR of the truth values (non-zero is true); a bool tensor."""
    need_tensor(input, "logical_xor")
    return LogicalXor.apply(input, need_tensor(other, "logical_xor", "other", 2))


def logical_not(input: Tensor) -> Tensor:
    """Elementwise logical NOT (zero becomes True); a bool tensor."""
    return LogicalNot.apply(need_tensor(input, "logical_not"))


# -- bitwise ---------------------------------------------------------------------------------


class BitwiseAnd(_NoGrad):
    def forward(self, a, b):
        return a & b


class BitwiseOr(_NoGrad):
    def forward(self, a, b):
        return a | b


class BitwiseXor(_NoGrad):
    def forward(self, a, b):
        return a ^ b


class BitwiseNot(_NoGrad):
    def forward(self, x):
        return ~x


def _not_implemented(kernel: str, t: Tensor) -> NotImplementedError:
    return NotImplementedError(f'"{kernel}_{t._device.type}" not implemented for \'{_legacy(t)}\'')


def _bitwise_operands(input, other, name: str):
    if type(other) is int and isinstance(input, Tensor):
        a, b = binary_operands(input, _wrap_int(input, other))
    elif type(input) is int and isinstance(other, Tensor):
        a, b = binary_operands(_wrap_int(other, input), other)
    else:
        a, b = binary_operands(input, other)
    if a._data.dtype.kind not in "biu":
        raise _not_implemented(name, a)
    return a, b


def bitwise_and(input, other) -> Tensor:
    """Elementwise bitwise AND of bool or integer tensors (logical AND for bool)."""
    return BitwiseAnd.apply(*_bitwise_operands(input, other, "bitwise_and"))


def bitwise_or(input, other) -> Tensor:
    """Elementwise bitwise OR of bool or integer tensors (logical OR for bool)."""
    return BitwiseOr.apply(*_bitwise_operands(input, other, "bitwise_or"))


def bitwise_xor(input, other) -> Tensor:
    """Elementwise bitwise XOR of bool or integer tensors (logical XOR for bool)."""
    return BitwiseXor.apply(*_bitwise_operands(input, other, "bitwise_xor"))


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise bitwise NOT of a bool or integer tensor (logical NOT for bool)."""
    need_tensor(input, "bitwise_not")
    if input._data.dtype.kind not in "biu":
        raise _not_implemented("bitwise_not", input)
    return BitwiseNot.apply(input)


def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return BitwiseNot.apply(self)


# -- operators and methods ---------------------------------------------------------------------


def _operator(fn, reflected: bool = False):
    """``Tensor.__op__``: NotImplemented for operands that are neither tensors nor numbers."""
    if reflected:
        def op(self, other):
            if isinstance(other, Tensor) or is_scalar(other):
                return fn(other, self)
            return NotImplemented
    else:
        def op(self, other):
            if isinstance(other, Tensor) or is_scalar(other):
                return fn(self, other)
            return NotImplemented
    op.__name__ = fn.__name__
    return op


def _cast_inplace(fn):
    """In-place comparison / logical ops write 0/1 in ``self``'s dtype."""
    method = inplace_method(lambda self, *args: cast(fn(self, *args), self._data.dtype))
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :meth:`{fn.__name__}`."
    return method


def _bitwise_inplace(fn):
    """``self &= other``: the result dtype must fit ``self`` before the kernel is looked up."""

    def method(self: Tensor, other) -> Tensor:
        if isinstance(other, Tensor) or is_scalar(other):
            check_castable(result_type(self, other).np, self._data.dtype)
        return inplace(self, fn, other)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :meth:`{fn.__name__}`."
    return method


def _install() -> None:
    T = Tensor
    for fn in (eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not):
        setattr(T, fn.__name__, fn)
        setattr(T, fn.__name__ + "_", _cast_inplace(fn))
    for alias, fn in (("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
                      ("not_equal", ne)):
        setattr(T, alias, fn)
        setattr(T, alias + "_", _cast_inplace(fn))
    T.equal, T.allclose, T.isclose, T.signbit = equal, allclose, isclose, signbit
    T.isnan, T.isinf, T.isposinf, T.isneginf, T.isfinite = isnan, isinf, isposinf, isneginf, isfinite
    for fn in (bitwise_and, bitwise_or, bitwise_xor):
        setattr(T, fn.__name__, fn)
        setattr(T, fn.__name__ + "_", _bitwise_inplace(fn))
    T.bitwise_not = bitwise_not
    T.bitwise_not_ = inplace_method(bitwise_not)
    T.__eq__ = _operator(eq)
    T.__ne__ = _operator(ne)
    T.__lt__ = _operator(lt)
    T.__le__ = _operator(le)
    T.__gt__ = _operator(gt)
    T.__ge__ = _operator(ge)
    T.__hash__ = object.__hash__  # setting __eq__ must not make tensors unhashable
    T.__and__ = _operator(bitwise_and)
    T.__or__ = _operator(bitwise_or)
    T.__xor__ = _operator(bitwise_xor)
    T.__rand__ = _operator(bitwise_and, reflected=True)
    T.__ror__ = _operator(bitwise_or, reflected=True)
    T.__rxor__ = _operator(bitwise_xor, reflected=True)
    T.__iand__ = T.bitwise_and_
    T.__ior__ = T.bitwise_or_
    T.__ixor__ = T.bitwise_xor_
    T.__invert__ = _invert


_install()

__all__ = [
    "allclose", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "eq", "equal", "ge",
    "greater", "greater_equal", "gt", "isclose", "isfinite", "isinf", "isnan", "isneginf",
    "isposinf", "le", "less", "less_equal", "logical_and", "logical_not", "logical_or",
    "logical_xor", "lt", "ne", "not_equal", "signbit",
]
