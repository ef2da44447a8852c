"""Arithmetic: + - * / // % ** and neg, reciprocal, abs, sign, with broadcasting."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import grad_mode
from ..backend import device as _dev
from ..backend import dtypes
from ._inplace import inplace_method
from ._op import Op
from ._util import binary_operands, cast, is_scalar, result_type, to_tensor


class Add(Op):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Op):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy


class Mul(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a * b

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return (gy * b if na else None), (gy * a if nb else None)


class Div(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a / b

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gy / b if na else None
        gb = -gy * a / (b * b) if nb else None
        return ga, gb


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowScalar(Op):
    """``x ** c`` for a Python number ``c``."""

    def forward(self, x):
        self.retain_inputs(0)
        return x ** self.c

    def backward(self, gy):
        (x,) = self.saved_tensors
        if self.c == 0:
            return gy * 0
        return gy * self.c * x ** (self.c - 1)


class RPowScalar(Op):
    """``c ** x`` for a Python number ``c``."""

    def forward(self, x):
        self.retain_outputs(0)
        return self.xp.asarray(self.c, dtype=x.dtype) ** x

    def backward(self, gy):
        (y,) = self.saved_tensors
        import math

        return gy * y * math.log(self.c) if self.c > 0 else gy * y * float("nan")


class Pow(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return a ** b

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        ga = gy * b * a ** (b - 1) if na else None
        gb = None
        if nb:
            gb = gy * (a ** b) * a.log()
            gb = gb.masked_fill((a == 0) & (b >= 0), 0.0)
        return ga, gb


class Remainder(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.remainder(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return (gy if na else None), (-gy * (a / b).floor() if nb else None)


class FloorDivide(Op):
    differentiable = False

    def forward(self, a, b):
        return self.xp.floor_divide(a, b)


class Abs(Op):
    def forward(self, x):
        self.retain_inputs(0)
        return self.xp.abs(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * x.sign()


class Sign(Op):
    def forward(self, x):
        self.retain_inputs(0)
        return self.xp.sign(x)

    def backward(self, gy):
        return gy * 0


class Reciprocal(Op):
    def forward(self, x):
        self.retain_outputs(0)
        return 1 / x if x.dtype.kind == "f" else (1 / x).astype(dtypes.get_default_dtype().np)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return -gy * y * y


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other``."""
    if alpha != 1:
        other = other * alpha
    return Add.apply(*binary_operands(input, other))


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``."""
    a, b = binary_operands(input, other)
    if a._data.dtype.kind == "b":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if alpha != 1:
        b = b * alpha
    return Sub.apply(a, b)


def rsub(input, other, *, alpha=1) -> Tensor:
    return sub(other, input, alpha=alpha)


def mul(input, other) -> Tensor:
    return Mul.apply(*binary_operands(input, other))


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient."""
    if rounding_mode is None:
        return Div.apply(*binary_operands(input, other, float_result=True))
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = binary_operands(input, other)
        if a._data.dtype.kind == "f":
            return Div.apply(a, b).trunc()
        q = floor_divide(a, b)
        fix = ((a % b) != 0) & ((a < 0) != (b < 0))
        return q + fix.to(q.dtype)
    raise RuntimeError(
        "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


def true_divide(input, other) -> Tensor:
    return div(input, other)


def floor_divide(input, other) -> Tensor:
    return FloorDivide.apply(*binary_operands(input, other))


def remainder(input, other) -> Tensor:
    return Remainder.apply(*binary_operands(input, other))


def fmod(input, other) -> Tensor:
    a, b = binary_operands(input, other)
    return a - (a / b).trunc() * b if a._data.dtype.kind == "f" else a - div(a, b, rounding_mode="trunc") * b


def pow(input, exponent) -> Tensor:
    """``input ** exponent`` with either side a Python number."""
    if isinstance(input, Tensor) and is_scalar(exponent):
        rt = result_type(input, exponent)
        x = cast(input, rt.np)
        if not rt.is_floating_point and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return PowScalar.apply(x, c=exponent)
    if is_scalar(input) and isinstance(exponent, Tensor):
        rt = result_type(input, exponent)
        return RPowScalar.apply(cast(exponent, rt.np), c=input)
    return Pow.apply(*binary_operands(input, to_tensor(exponent, input)))


def neg(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(input)


negative = neg


def reciprocal(input: Tensor) -> Tensor:
    return Reciprocal.apply(input)


def abs(input: Tensor) -> Tensor:  # noqa: A001 - torch's name
    return Abs.apply(input)


absolute = abs


def sign(input: Tensor) -> Tensor:
    return Sign.apply(input)


def _direct_inplace(fn, ufunc_name: str, scales_other: bool):
    """``add_``/``sub_``/``mul_``/``div_``: one ufunc writing into the array when no graph is needed.

    Optimizer updates and running statistics take this path; anything that needs autograd,
    a dtype change, or broadcasting ``self`` falls back to the general in-place machinery.
    """
    general = inplace_method(fn)

    def method(self, other, **kwargs):
        d = self._data
        no_graph = not grad_mode.state.grad_enabled or not (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))
        if no_graph and d.dtype.kind == "f" and d.flags.writeable:
            alpha = kwargs.get("alpha", 1) if scales_other else 1
            if len(kwargs) <= scales_other and (not kwargs or "alpha" in kwargs):
                if type(other) is float or type(other) is int:
                    getattr(self_xp(self), ufunc_name)(d, other * alpha, out=d)
                    self._vc[0] += 1
                    return self
                if (isinstance(other, Tensor) and other._data.dtype == d.dtype
                        and other._device is self._device and other._data.ndim <= d.ndim
                        and _broadcasts_into(other._data.shape, d.shape)):
                    o = other._data if alpha == 1 else other._data * alpha
                    getattr(self_xp(self), ufunc_name)(d, o, out=d)
                    self._vc[0] += 1
                    return self
        return general(self, other, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :meth:`{fn.__name__}`."
    return method


def self_xp(t: Tensor):
    return np if t._device is _dev.CPU else _dev.cupy_module()


def _broadcasts_into(src: tuple, dst: tuple) -> bool:
    for a, b in zip(reversed(src), reversed(dst)):
        if a != b and a != 1:
            return False
    return True


def _install() -> None:
    T = Tensor
    T.add, T.sub, T.mul, T.div, T.pow = add, sub, mul, div, pow
    T.subtract, T.multiply, T.divide, T.true_divide = sub, mul, div, true_divide
    T.floor_divide, T.remainder, T.fmod = floor_divide, remainder, fmod
    T.neg, T.negative, T.reciprocal, T.abs, T.absolute, T.sign = neg, neg, reciprocal, abs, abs, sign
    T.__add__ = T.__radd__ = add
    T.__sub__ = sub
    T.__rsub__ = lambda self, other: sub(other, self)
    T.__mul__ = T.__rmul__ = mul
    T.__truediv__ = div
    T.__rtruediv__ = lambda self, other: div(other, self)
    T.__floordiv__ = floor_divide
    T.__rfloordiv__ = lambda self, other: floor_divide(other, self)
    T.__mod__ = remainder
    T.__rmod__ = lambda self, other: remainder(other, self)
    T.__pow__ = pow
    T.__rpow__ = lambda self, other: pow(other, self)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    for fn in (pow, floor_divide, remainder, fmod, neg, reciprocal, abs, sign, true_divide):
        setattr(T, fn.__name__ + "_", inplace_method(fn))
    T.add_ = _direct_inplace(add, "add", True)
    T.sub_ = _direct_inplace(sub, "subtract", True)
    T.mul_ = _direct_inplace(mul, "multiply", False)
    T.div_ = _direct_inplace(div, "divide", False)
    T.subtract_, T.multiply_, T.divide_, T.negative_, T.absolute_ = (
        T.sub_, T.mul_, T.div_, T.neg_, T.abs_)
    T.__iadd__ = T.add_
    T.__isub__ = T.sub_
    T.__imul__ = T.mul_
    T.__itruediv__ = T.div_
    T.__ifloordiv__ = T.floor_divide_
    T.__imod__ = T.remainder_
    T.__ipow__ = T.pow_


_install()

__all__ = ["abs", "absolute", "add", "div", "floor_divide", "fmod", "mul", "neg", "negative", "pow", "reciprocal", "remainder", "rsub", "sign", "sub", "true_divide"]
