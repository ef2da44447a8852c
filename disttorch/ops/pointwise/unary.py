"""Unary float ops (exp/log, trigonometry, sigmoid, erf, ...) built on one ``_Unary`` Op."""
from __future__ import annotations

import math

from ..._tensor import Tensor
from .._op import Op
from .._util import need_tensor
from ._common import _2_SQRTPI, _F32, _F64, _LN2, _float_only, _floating, _quiet, _select
from .selection import where
from .special import _erf, _erfc, _erfinv

_LN10 = math.log(10.0)
_SQRTPI_2 = math.sqrt(math.pi) / 2.0


class _Unary(Op):
    """``y = f(x)`` on a float array; subclasses set ``f``, ``df`` and what backward needs.

    ``_keep`` is "x", "y" or "xy": the tensors handed to ``df(gy, ...)`` in that order.
    """

    _keep = "x"
    _quiet = False

    def forward(self, x):
        s = self._keep
        if s == "x":
            self.retain_inputs(0)
        elif s == "y":
            self.retain_outputs(0)
        elif s:
            self.retain_inputs(0)
            self.retain_outputs(0)
        if x.dtype.itemsize < 4:  # float16 / bfloat16: compute in float32, round once
            with _quiet():
                return self.f(self.xp, x.astype(_F32)).astype(x.dtype)
        if self._quiet:
            with _quiet():
                return self.f(self.xp, x)
        return self.f(self.xp, x)

    def backward(self, gy):
        return self.df(gy, *self.saved_tensors)


def _op(name: str, f, df, save: str = "x", quiet: bool = False) -> type:
    return type(name, (_Unary,), {"f": staticmethod(f), "df": staticmethod(df), "_keep": save,
                                  "_quiet": quiet, "__module__": __name__})


def _sigmoid_arr(xp, x):
    # torch's formula: exp(-x) overflowing to inf gives exactly 0, as in torch
    return 1.0 / (1.0 + xp.exp(-x))


Exp = _op("Exp", lambda xp, x: xp.exp(x), lambda gy, y: gy * y, "y", True)
Exp2 = _op("Exp2", lambda xp, x: xp.exp2(x), lambda gy, y: gy * y * _LN2, "y", True)
Expm1 = _op("Expm1", lambda xp, x: xp.expm1(x), lambda gy, y: gy * (y + 1), "y", True)
Log = _op("Log", lambda xp, x: xp.log(x), lambda gy, x: gy / x, "x", True)
Log2 = _op("Log2", lambda xp, x: xp.log2(x), lambda gy, x: gy / (x * _LN2), "x", True)
Log10 = _op("Log10", lambda xp, x: xp.log10(x), lambda gy, x: gy / (x * _LN10), "x", True)
Log1p = _op("Log1P", lambda xp, x: xp.log1p(x), lambda gy, x: gy / (x + 1), "x", True)
Sqrt = _op("Sqrt", lambda xp, x: xp.sqrt(x), lambda gy, y: gy / (2 * y), "y", True)
Rsqrt = _op("Rsqrt", lambda xp, x: 1.0 / xp.sqrt(x), lambda gy, y: -0.5 * gy * y * y * y, "y", True)
Sin = _op("Sin", lambda xp, x: xp.sin(x), lambda gy, x: gy * x.cos(), "x", True)
Cos = _op("Cos", lambda xp, x: xp.cos(x), lambda gy, x: gy * -x.sin(), "x", True)
Tan = _op("Tan", lambda xp, x: xp.tan(x), lambda gy, y: gy * (1 + y * y), "y", True)
Asin = _op("Asin", lambda xp, x: xp.arcsin(x), lambda gy, x: gy * (1 - x * x).rsqrt(), "x", True)
Acos = _op("Acos", lambda xp, x: xp.arccos(x), lambda gy, x: gy * -((1 - x * x).rsqrt()), "x", True)
Atan = _op("Atan", lambda xp, x: xp.arctan(x), lambda gy, x: gy / (x * x + 1))
Sinh = _op("Sinh", lambda xp, x: xp.sinh(x), lambda gy, x: gy * x.cosh(), "x", True)
Cosh = _op("Cosh", lambda xp, x: xp.cosh(x), lambda gy, x: gy * x.sinh(), "x", True)
Tanh = _op("Tanh", lambda xp, x: xp.tanh(x), lambda gy, y: gy * (1 - y * y), "y")
Asinh = _op("Asinh", lambda xp, x: xp.arcsinh(x), lambda gy, x: gy * (x * x + 1).rsqrt())
Acosh = _op("Acosh", lambda xp, x: xp.arccosh(x), lambda gy, x: gy * (x * x - 1).rsqrt(), "x", True)
Atanh = _op("Atanh", lambda xp, x: xp.arctanh(x), lambda gy, x: gy / (1 - x * x), "x", True)
Sigmoid = _op("Sigmoid", _sigmoid_arr, lambda gy, y: gy * (1 - y) * y, "y", True)
LogSigmoid = _op("LogSigmoid",
                 lambda xp, x: xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x))),
                 lambda gy, x: gy * sigmoid(-x))
Erf = _op("Erf", _erf, lambda gy, x: gy * _2_SQRTPI * (-(x * x)).exp(), "x", True)
Erfc = _op("Erfc", _erfc, lambda gy, x: gy * -_2_SQRTPI * (-(x * x)).exp(), "x", True)
Erfinv = _op("Erfinv", lambda xp, x: _erfinv(xp, x.astype(_F64)).astype(x.dtype),
             lambda gy, y: gy * _SQRTPI_2 * (y * y).exp(), "y", True)
Frac = _op("Frac", lambda xp, x: x - xp.trunc(x), lambda gy: gy, "", True)
Deg2rad = _op("Deg2Rad", lambda xp, x: x * (math.pi / 180.0), lambda gy: gy * (math.pi / 180.0), "")
Rad2deg = _op("Rad2Deg", lambda xp, x: x * (180.0 / math.pi), lambda gy: gy * (180.0 / math.pi), "")


def _sinc_arr(xp, x):
    p = x * math.pi
    return _select(xp, x == 0, 1.0, xp.sin(p) / p)


def _sinc_grad(gy, x):
    p = x * math.pi
    d = (p * p.cos() - p.sin()) / (p * x)
    return gy * where(x == 0, 0.0, d)


Sinc = _op("Sinc", _sinc_arr, _sinc_grad, "x", True)


def _unary(name: str, op: type, doc: str):
    def fn(input: Tensor) -> Tensor:
        return op.apply(_floating(input, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


exp = _unary("exp", Exp, "Elementwise e ** x.")
exp2 = _unary("exp2", Exp2, "Elementwise 2 ** x.")
expm1 = _unary("expm1", Expm1, "Elementwise e ** x - 1, accurate near 0.")
log = _unary("log", Log, "Elementwise natural logarithm.")
log2 = _unary("log2", Log2, "Elementwise base-2 logarithm.")
log10 = _unary("log10", Log10, "Elementwise base-10 logarithm.")
log1p = _unary("log1p", Log1p, "Elementwise log(1 + x), accurate near 0.")
sqrt = _unary("sqrt", Sqrt, "Elementwise square root.")
rsqrt = _unary("rsqrt", Rsqrt, "Elementwise reciprocal square root 1 / sqrt(x).")
sin = _unary("sin", Sin, "Elementwise sine.")
cos = _unary("cos", Cos, "Elementwise cosine.")
tan = _unary("tan", Tan, "Elementwise tangent.")
asin = _unary("asin", Asin, "Elementwise arcsine.")
acos = _unary("acos", Acos, "Elementwise arccosine.")
atan = _unary("atan", Atan, "Elementwise arctangent.")
sinh = _unary("sinh", Sinh, "Elementwise hyperbolic sine.")
cosh = _unary("cosh", Cosh, "Elementwise hyperbolic cosine.")
tanh = _unary("tanh", Tanh, "Elementwise hyperbolic tangent.")
asinh = _unary("asinh", Asinh, "Elementwise inverse hyperbolic sine.")
acosh = _unary("acosh", Acosh, "Elementwise inverse hyperbolic cosine.")
atanh = _unary("atanh", Atanh, "Elementwise inverse hyperbolic tangent.")
sigmoid = _unary("sigmoid", Sigmoid, "Elementwise logistic sigmoid 1 / (1 + exp(-x)).")
erf = _unary("erf", Erf, "Elementwise Gauss error function.")
erfc = _unary("erfc", Erfc, "Elementwise complementary error function 1 - erf(x).")
erfinv = _unary("erfinv", Erfinv, "Elementwise inverse error function.")
sinc = _unary("sinc", Sinc, "Elementwise normalized sinc sin(pi x) / (pi x), 1 at 0.")
deg2rad = _unary("deg2rad", Deg2rad, "Degrees to radians.")
rad2deg = _unary("rad2deg", Rad2deg, "Radians to degrees.")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def square(input: Tensor) -> Tensor:
    """Elementwise x * x (integers stay integers, bool becomes int64)."""
    need_tensor(input, "square")
    return input.pow(2)


def logsigmoid(input: Tensor) -> Tensor:
    """Elementwise log(sigmoid(x)), computed stably."""
    return LogSigmoid.apply(_float_only(input, "log_sigmoid"))


_logsigmoid = logsigmoid


def frac(input: Tensor) -> Tensor:
    """Elementwise fractional part x - trunc(x)."""
    return Frac.apply(_float_only(input, "frac"))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """Elementwise log(x / (1 - x)), with x clamped to [eps, 1 - eps] when eps is given."""
    x = _floating(input, "logit")
    return Logit.apply(x, eps=None if eps is None else float(eps))


class Logit(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            if self.eps is not None:
                h = xp.clip(h, self.eps, 1.0 - self.eps)
            return xp.log(h / (1 - h)).astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        g = gy / (x * (1 - x))
        if self.eps is None:
            return g
        return where((x < self.eps) | (x > 1 - self.eps), 0.0, g)
