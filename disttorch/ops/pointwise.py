"""Elementwise math: exp/log, trigonometry, activations, rounding, clamp, where, binary ops.

Float functions turn integer and bool inputs into the default float dtype (torch's rule);
``float16``/``bfloat16`` values are computed in float32 and rounded back, as torch's CPU
kernels do. Activations that torch keeps under ``torch.nn.functional`` only (``gelu``,
``silu``, ``leaky_relu``...) live here too but stay out of ``__all__``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor, _wrap
from ..backend import device as _dev
from ..backend import dtypes
from ._inplace import inplace, inplace_method
from ._op import Op
from ._util import binary_operands, cast, is_scalar, result_type, scalar_tensor
from .comparison import isfinite, isnan

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_CPU = _dev.CPU
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_SQRTPI_2 = math.sqrt(math.pi) / 2.0
_ONE_SIXTH_F = float(np.float32(1.0) / np.float32(6.0))  # torch's float constant in backward
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _quiet():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _zeros_like(t: Tensor) -> Tensor:
    return _wrap(_xp(t).zeros(t._data.shape, dtype=t._data.dtype), t._device)


def _legacy(t: Tensor) -> str:
    return dtypes.from_numpy(t._data.dtype).legacy_name


def _type_error(fname: str, arg: str, pos: int, value) -> TypeError:
    return TypeError(
        f"{fname}(): argument '{arg}' (position {pos}) must be Tensor, not {type(value).__name__}"
    )


def _need_tensor(x, fname: str, arg: str = "input", pos: int = 1) -> Tensor:
    if not isinstance(x, Tensor):
        raise _type_error(fname, arg, pos, x)
    return x


def _floating(x, fname: str) -> Tensor:
    """``x`` itself when floating; integer and bool tensors as the default float dtype."""
    try:
        k = x._data.dtype.kind
    except AttributeError:
        raise _type_error(fname, "input", 1, x) from None
    if k == "f" or k == "V":
        return x
    if not isinstance(x, Tensor):
        raise _type_error(fname, "input", 1, x)
    return cast(x, dtypes.get_default_dtype().np)


def _float_only(x, kernel: str, device_suffix: bool = True) -> Tensor:
    """``x`` when floating, else torch's NotImplementedError for the kernel."""
    try:
        k = x._data.dtype.kind
    except AttributeError:
        raise _type_error(kernel.split("_")[0], "input", 1, x) from None
    if k == "f" or k == "V":
        return x
    name = f"{kernel}_{x._device.type}" if device_suffix else kernel
    raise NotImplementedError(f'"{name}" not implemented for \'{_legacy(x)}\'')


def _broadcast_error(shapes) -> RuntimeError:
    n = max(len(s) for s in shapes)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    for i in range(n - 1, -1, -1):
        sizes = [p[i] for p in padded]
        big = [s for s in sizes if s != 1]
        if len(set(big)) > 1:
            a = next(s for s in sizes if s != 1)
            b = next(s for s in sizes if s != 1 and s != a)
            return RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {i}"
            )
    return RuntimeError(f"shapes {[list(s) for s in shapes]} cannot be broadcast together")


def _apply_bc(op: type, *inputs: Tensor, **attrs):
    """``op.apply`` for three operands: numpy's broadcast ValueError as torch's RuntimeError."""
    try:
        return op.apply(*inputs, **attrs)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise _broadcast_error([t._data.shape for t in inputs]) from None


# -- array helpers (numpy and cupy alike, only ``xp`` calls) ---------------------------------------

_BITS = {_F32: np.dtype(np.int32), _F64: np.dtype(np.int64)}


def _select(xp, c, a, b):
    """``xp.where(c, a, b)`` for arrays or numbers of one float dtype.

    numpy's ``where`` branches per element and is ~10x slower than a few passes on a random
    mask, so on the CPU a float32/float64 select is done on the bit patterns instead:
    ``b ^ ((a ^ b) * c)`` in the same-width integer type (exact for every value, NaN too).
    """
    if type(a) is not type(b):  # a number on one side: a 0-d array of the other's dtype
        if isinstance(a, (int, float)):
            a = xp.asarray(a, dtype=b.dtype)
        else:
            b = xp.asarray(b, dtype=a.dtype)
    if xp is np and a.dtype == b.dtype and c.size >= 4096:
        it = _BITS.get(a.dtype)
        if it is not None:
            ai, bi = a.view(it), b.view(it)
            if bi.ndim == 0 and not bi:  # b is +0.0: a's bits where c, zero bits elsewhere
                return np.multiply(ai, c, dtype=it).view(a.dtype)
            r = np.multiply(np.bitwise_xor(ai, bi), c, dtype=it)
            r ^= bi
            return r.view(a.dtype)
    return xp.where(c, a, b)


# -- special functions ----------------------------------------------------------------------------

# Cephes ndtr.c rational approximations (double precision)
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
           6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
           1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)
# Giles, "Approximating the erfinv function" (single precision; refined by Newton steps)
_ERFINV_C = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
             -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_T = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
             -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


# Eigen's float32 erf: x * P(x^2) / Q(x^2) on [-4, 4] (a few ulp; erf is +-1 beyond)
_ERF32_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
            -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
            -1.60960333262415e-02)
_ERF32_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
            -7.37332916720468e-03, -1.42647390514189e-02)


def _polevl(x, coeffs):
    """Horner's rule, in place on one new array."""
    r = x * coeffs[0]
    r += coeffs[1]
    for c in coeffs[2:]:
        r *= x
        r += c
    return r


def _p1evl(x, coeffs):
    """Horner's rule with an implicit leading coefficient 1."""
    r = x + coeffs[0]
    for c in coeffs[1:]:
        r *= x
        r += c
    return r


def _erf_f32(xp, x):
    x = xp.clip(x, -4.0, 4.0)
    x2 = x * x
    p = _polevl(x2, _ERF32_P)
    p *= x
    p /= _polevl(x2, _ERF32_Q)
    return p


def _erf_small(x):
    """erf for |x| <= 1."""
    z = x * x
    r = _polevl(z, _ERF_T)
    r *= x
    r /= _p1evl(z, _ERF_U)
    return r


def _erfc_pos(xp, a):
    """erfc for a >= 1 (a float array of |x|); 0 past underflow, NaN stays NaN."""
    c = xp.minimum(a, 30.0)
    near = _polevl(c, _ERFC_P)
    near /= _p1evl(c, _ERFC_Q)
    far = _polevl(c, _ERFC_R)
    far /= _p1evl(c, _ERFC_S)
    p = _select(xp, c < 8.0, near, far)
    # exp(-a*a) with a split a = m + f, m a multiple of 1/128, so m*m is exact
    m = xp.floor(c * 128.0 + 0.5)
    m *= 1.0 / 128.0
    f = c - m
    p *= xp.exp(-(m * m))
    m *= 2.0
    m += f
    m *= f
    p *= xp.exp(-m)
    return p


def _erf(xp, x):
    if x.dtype != _F64:
        return _erf_f32(xp, x)
    a = xp.abs(x)
    small = _erf_small(xp.clip(x, -1.0, 1.0))
    big = 1.0 - _erfc_pos(xp, xp.maximum(a, 1.0))
    return _select(xp, a < 1.0, small, _select(xp, x < 0, -big, big))


def _erfc(xp, x):
    a = xp.abs(x)
    small = 1.0 - _erf_small(xp.clip(x, -1.0, 1.0))
    big = _erfc_pos(xp, xp.maximum(a, 1.0))
    return _select(xp, a < 1.0, small, _select(xp, x < 0, 2.0 - big, big))


def _erfinv(xp, y):
    """erfinv in float64: Giles' approximation and two Newton steps."""
    a = xp.abs(y)
    w = -(xp.log1p(-a) + xp.log1p(a))
    central = _polevl(w - 2.5, _ERFINV_C)
    tail = _polevl(xp.sqrt(xp.maximum(w, 5.0)) - 3.0, _ERFINV_T)
    x = _select(xp, w < 5.0, central, tail) * a
    near_one = a > 0.5
    one_minus = 1.0 - a  # exact for a > 0.5
    for _ in range(2):
        xc = xp.clip(x, -30.0, 30.0)
        deriv = _2_SQRTPI * xp.exp(-(xc * xc))
        resid = _select(xp, near_one, one_minus - _erfc(xp, xc), _erf(xp, xc) - a)
        x = x - resid / deriv
    x = _select(xp, a == 1.0, math.inf, x)
    return _select(xp, y < 0, -x, x)


# -- unary float ops -------------------------------------------------------------------------------


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


def _softplus_arr(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


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
    _need_tensor(input, "square")
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


# -- activations --------------------------------------------------------------------------------------


class Relu(Op):
    def forward(self, x):
        self.retain_outputs(0)
        return self.xp.maximum(x, 0)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return ReluGrad.apply(gy, y)


class ReluGrad(Op):
    """``gy`` where ``y > 0``, else 0: one compare and one masked multiply (hot in MLPs)."""

    def name(self) -> str:
        return "ThresholdBackwardBackward0"

    def forward(self, gy, y):
        self.retain_inputs(1)
        mask = y > 0
        it = _BITS.get(gy.dtype) if self.xp is np else None
        if it is not None and gy.shape == mask.shape:
            # multiplying the bit pattern by 0/1 keeps gy exactly (NaN, -0.0 included)
            return np.multiply(gy.view(it), mask, dtype=it).view(gy.dtype)
        return self.xp.where(mask, gy, 0).astype(gy.dtype, copy=False)

    def backward(self, ggy):
        (y,) = self.saved_tensors
        return ReluGrad.apply(ggy, y), None


def relu(input: Tensor) -> Tensor:
    """Elementwise max(x, 0); integer dtypes are kept."""
    _need_tensor(input, "relu")
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


class Hardtanh(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.minimum(xp.maximum(x, self.lo), self.hi)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where((x <= self.lo) | (x >= self.hi), 0.0, gy)


def _maybe_inplace(input: Tensor, fn, inplace_: bool, *args):
    if inplace_:
        return inplace(input, fn, *args)
    return fn(input, *args)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Elementwise clamp to [min_val, max_val] with zero gradient outside (and at the ends)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, _hardtanh, inplace, min_val, max_val)


def _hardtanh(input: Tensor, min_val, max_val) -> Tensor:
    _need_tensor(input, "hardtanh")
    k = input._data.dtype.kind
    if k == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if k in "iu":  # torch converts the bounds to the integer type
        min_val, max_val = int(min_val), int(max_val)
    return Hardtanh.apply(input, lo=min_val, hi=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class LeakyRelu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        s = self.slope
        if 0.0 <= s <= 1.0:  # x > 0 ? x : s * x is the larger (the smaller for s > 1) of the two
            return self.xp.maximum(x, x * s)
        if s > 1.0:
            return self.xp.minimum(x, x * s)
        return _select(self.xp, x > 0, x, x * s)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where(x > 0, gy, gy * self.slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Elementwise x for x > 0, negative_slope * x otherwise."""
    return _maybe_inplace(input, _leaky_relu, inplace, negative_slope)


def _leaky_relu(input: Tensor, negative_slope) -> Tensor:
    return LeakyRelu.apply(_float_only(input, "leaky_relu"), slope=float(negative_slope))


class Elu(Op):
    """ELU family: ``x <= 0 ? neg * expm1(x * in_scale) : x * pos`` (elu, selu, celu)."""

    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        h = x.astype(_F32) if x.dtype.itemsize < 4 else x
        neg = self.neg * xp.expm1(xp.minimum(h, 0) * self.in_scale)
        return _select(xp, h <= 0, neg, h * self.pos).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        d = gy * (self.neg * self.in_scale) * (x.clamp(max=0) * self.in_scale).exp()
        return where(x <= 0, d, gy * self.pos)


class Celu(Elu):
    pass


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Elementwise x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _maybe_inplace(input, _elu, inplace, alpha)


def _elu(input: Tensor, alpha) -> Tensor:
    x = _float_only(input, "elu")
    return Elu.apply(x, neg=float(alpha), pos=1.0, in_scale=1.0)


def _selu(input: Tensor) -> Tensor:
    x = _float_only(input, "elu")
    return Elu.apply(x, neg=_SELU_ALPHA * _SELU_SCALE, pos=_SELU_SCALE, in_scale=1.0)


def selu(input: Tensor) -> Tensor:
    """Elementwise scale * elu(x, alpha) with the self-normalizing constants."""
    return _selu(input)


def _celu(input: Tensor, alpha) -> Tensor:
    x = _float_only(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return Celu.apply(x, neg=float(alpha), pos=1.0, in_scale=1.0 / alpha)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """Elementwise max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _celu(input, alpha)


class Gelu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            if self.approximate == "tanh":
                inner = (math.sqrt(2.0 / math.pi)) * (h + 0.044715 * h * h * h)
                y = 0.5 * h * (1.0 + xp.tanh(inner))
            else:
                y = h * 0.5 * (1.0 + _erf(xp, h * _SQRT1_2))
            return y.astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        if self.approximate == "tanh":
            beta = math.sqrt(2.0) * _2_SQRTPI * 0.5
            kappa = 0.044715
            x_sq = x * x
            t = (beta * (x + kappa * x_sq * x)).tanh()
            left_d = 0.5 * (1 + t)
            right_d = 0.5 * x * ((1 - t * t) * beta * (1 + 3 * kappa * x_sq))
            return gy * (left_d + right_d)
        cdf = 0.5 * (1 + (x * _SQRT1_2).erf())
        pdf = (-0.5 * x * x).exp() * (_2_SQRTPI * _SQRT1_2 * 0.5)
        return gy * (cdf + x * pdf)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x) (``approximate='tanh'``: the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(_float_only(input, "GeluKernelImpl"), approximate=approximate)


class Silu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            return (h / (1.0 + xp.exp(-h))).astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        return gy * s * (1 + x * (1 - s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * sigmoid(x) (swish)."""
    return _maybe_inplace(input, _silu, inplace)


def _silu(input: Tensor) -> Tensor:
    return Silu.apply(_float_only(input, "silu"))


class Mish(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            return (h * xp.tanh(_softplus_arr(xp, h))).astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        t = softplus(x).tanh()
        return gy * (t + x * s * (1 - t * t))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * tanh(softplus(x))."""
    return _maybe_inplace(input, _mish, inplace)


def _mish(input: Tensor) -> Tensor:
    return Mish.apply(_float_only(input, "mish"))


class Softplus(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            bx = h * self.beta
            y = _select(xp, bx > self.threshold, h, _softplus_arr(xp, bx) / self.beta)
            return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        bx = x * self.beta
        return where(bx > self.threshold, gy, gy * sigmoid(bx))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Elementwise log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    return Softplus.apply(_float_only(input, "softplus"), beta=float(beta), threshold=float(threshold))


class Hardsigmoid(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where((x > -3) & (x < 3), gy * _ONE_SIXTH_F, 0.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise relu6(x + 3) / 6."""
    return _maybe_inplace(input, _hardsigmoid, inplace)


def _hardsigmoid(input: Tensor) -> Tensor:
    return Hardsigmoid.apply(_float_only(input, "hardsigmoid"))


class Hardswish(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, gy):
        (x,) = self.saved_tensors
        mid = where(x < 3, gy * (x / 3 + 0.5), gy)
        return where(x <= -3, 0.0, mid)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * relu6(x + 3) / 6."""
    return _maybe_inplace(input, _hardswish, inplace)


def _hardswish(input: Tensor) -> Tensor:
    return Hardswish.apply(_float_only(input, "hardswish"))


def softsign(input: Tensor) -> Tensor:
    """Elementwise x / (1 + |x|)."""
    _need_tensor(input, "softsign")
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """Elementwise x - tanh(x)."""
    _need_tensor(input, "tanhshrink")
    return input - tanh(input)


# -- rounding ------------------------------------------------------------------------------------------


class _Rounding(Op):
    def forward(self, x):
        if x.dtype.kind != "f" and x.dtype.kind != "V":
            return x.copy()
        return self.f(self.xp, x)

    def backward(self, gy):
        return _zeros_like(gy)


class Floor(_Rounding):
    f = staticmethod(lambda xp, x: xp.floor(x))


class Ceil(_Rounding):
    f = staticmethod(lambda xp, x: xp.ceil(x))


class Trunc(_Rounding):
    f = staticmethod(lambda xp, x: xp.trunc(x))


class Round(_Rounding):
    f = staticmethod(lambda xp, x: xp.rint(x))


class RoundDecimals(_Rounding):
    def f(self, xp, x):
        h = x.astype(_F32) if x.dtype.itemsize < 4 else x
        d = self.decimals
        if d > 0:
            s = xp.asarray(10.0 ** d, dtype=h.dtype)
            y = xp.rint(h * s) / s
        else:
            s = xp.asarray(10.0 ** -d, dtype=h.dtype)
            y = xp.rint(h / s) * s
        return y.astype(x.dtype)

    def name(self) -> str:
        return "RoundBackward1"


def _rounding(name: str, op: type, doc: str):
    def fn(input: Tensor) -> Tensor:
        _need_tensor(input, name)
        if input._data.dtype.kind == "b":
            raise NotImplementedError(f'"{name}_vml_{input._device.type}" not implemented for \'Bool\'')
        return op.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


floor = _rounding("floor", Floor, "Elementwise largest integer <= x.")
ceil = _rounding("ceil", Ceil, "Elementwise smallest integer >= x.")
trunc = _rounding("trunc", Trunc, "Elementwise integer part, rounded toward zero.")
fix = trunc
_round0 = _rounding("round", Round, "")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - torch's name
    """Elementwise round half to even, to ``decimals`` decimal places."""
    if decimals == 0:
        return _round0(input)
    _need_tensor(input, "round")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"round_{input._device.type}" not implemented for \'{_legacy(input)}\'')
    return RoundDecimals.apply(input, decimals=int(decimals))


# -- clamp -------------------------------------------------------------------------------------------------


class ClampScalar(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        lo, hi = self.lo, self.hi
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def backward(self, gy):
        (x,) = self.saved_tensors
        lo, hi = self.lo, self.hi
        if lo is None:
            mask = x <= hi
        elif hi is None:
            mask = x >= lo
        else:
            mask = (x >= lo) & (x <= hi)
        return where(mask, gy, 0.0)

    def name(self) -> str:
        if self.kind:
            return f"Clamp{self.kind}Backward0"
        return "ClampBackward1"


class ClampTensor(Op):
    """clamp with tensor bounds; inputs are (x, min), (x, max) or (x, min, max)."""

    def forward(self, x, *bounds):
        self.retain_inputs(*range(1 + len(bounds)))
        xp = self.xp
        if self.has_min:
            x = xp.maximum(x, bounds[0])
        if self.has_max:
            x = xp.minimum(x, bounds[-1])
        return x

    def backward(self, gy):
        saved = self.saved_tensors
        needs = self.needs_input_grad
        x = saved[0]
        lo = saved[1] if self.has_min else None
        hi = saved[-1] if self.has_max else None
        out = [None] * len(saved)
        if lo is not None and hi is not None:
            if needs[0]:
                out[0] = where((x >= lo) & (x <= hi), gy, 0.0)
            if needs[1]:
                out[1] = where((x < lo) & ~(hi < lo), gy, 0.0)
            if needs[2]:
                out[2] = where((x > hi) | (hi < lo), gy, 0.0)
        elif lo is not None:
            if needs[0]:
                out[0] = where(x >= lo, gy, 0.0)
            if needs[1]:
                out[1] = where(x < lo, gy, 0.0)
        else:
            if needs[0]:
                out[0] = where(x <= hi, gy, 0.0)
            if needs[1]:
                out[1] = where(x > hi, gy, 0.0)
        return tuple(out)

    def name(self) -> str:
        if self.kind:
            return f"Clamp{self.kind}Backward1"
        return "ClampBackward0"


def _clamp(input: Tensor, min, max, kind: str = "") -> Tensor:
    _need_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tmin, tmax = isinstance(min, Tensor), isinstance(max, Tensor)
    if tmin or tmax:
        if (min is not None and not tmin) or (max is not None and not tmax):
            raise TypeError(
                "clamp() received an invalid combination of arguments - got (Tensor, "
                f"{type(min).__name__}, {type(max).__name__}), but expected one of: "
                "(Tensor input, Tensor min, Tensor max) or (Tensor input, Number min, Number max)")
        bounds = [b for b in (min, max) if b is not None]
        rt = result_type(input, *bounds).np
        ins = [cast(input, rt)] + [cast(b, rt) for b in bounds]
        return _apply_bc(ClampTensor, *ins, has_min=min is not None, has_max=max is not None, kind=kind)
    for b in (min, max):
        if b is not None and not is_scalar(b):
            raise TypeError(
                f"clamp(): argument 'min' must be Number or Tensor, not {type(b).__name__}")
    rt = result_type(input, *[b for b in (min, max) if b is not None])
    if rt is dtypes.bool_:
        which = "clamp_scalar" if min is not None and max is not None else (
            "clamp_min_scalar" if min is not None else "clamp_max_scalar")
        raise NotImplementedError(f'"{which}_{input._device.type}" not implemented for \'Bool\'')
    x = cast(input, rt.np)
    lo, hi = min, max
    if not rt.is_floating_point:
        lo = None if lo is None else int(lo)
        hi = None if hi is None else int(hi)
    return ClampScalar.apply(x, lo=lo, hi=hi, kind=kind)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Elementwise clamp into [min, max]; either bound may be None, a number or a tensor."""
    return _clamp(input, min, max)


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:
    """Elementwise max(x, min)."""
    return _clamp(input, min, None, "Min")


def clamp_max(input: Tensor, max) -> Tensor:
    """Elementwise min(x, max)."""
    return _clamp(input, None, max, "Max")


# -- where ---------------------------------------------------------------------------------------------------


class Where(Op):
    def forward(self, c, a, b):
        self.retain_inputs(0)
        return _select(self.xp, c, a, b)

    def backward(self, gy):
        (c,) = self.saved_tensors
        _, na, nb = self.needs_input_grad
        ga = Where.apply(c, gy, scalar_tensor(0, gy._data.dtype, gy._device)) if na else None
        gb = Where.apply(c, scalar_tensor(0, gy._data.dtype, gy._device), gy) if nb else None
        return None, ga, gb


class NonzeroTuple(Op):
    differentiable = False

    def forward(self, c):
        if c.ndim == 0:
            c = c.reshape(1)
        return tuple(i.astype(np.int64) for i in self.xp.nonzero(c))


def where(condition: Tensor, input=None, other=None):
    """Elementwise ``input`` where ``condition`` holds, else ``other`` (broadcast, promoted).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``.
    """
    _need_tensor(condition, "where", "condition")
    if input is None and other is None:
        return NonzeroTuple.apply(condition)
    k = condition._data.dtype.kind
    if k != "b":
        if condition._data.dtype != np.uint8:
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_legacy(condition)}")
        warnings.warn(
            "where received a uint8 condition tensor. This behavior is deprecated and will be "
            "removed in a future version. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = cast(condition, np.bool_)
    ti, to = isinstance(input, Tensor), isinstance(other, Tensor)
    if ti and to and input._data.dtype == other._data.dtype:
        a, b = input, other
    else:
        for v, name in ((input, "input"), (other, "other")):
            if not isinstance(v, Tensor) and not is_scalar(v):
                raise TypeError(
                    f"where(): argument '{name}' must be Tensor or Number, not {type(v).__name__}")
        rt = result_type(input, other).np
        dev = condition._device
        a = cast(input, rt) if ti else scalar_tensor(input, rt, dev)
        b = cast(other, rt) if to else scalar_tensor(other, rt, dev)
    return _apply_bc(Where, condition, a, b)


# -- binary ops --------------------------------------------------------------------------------------------


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
    _need_tensor(input, fname)
    _need_tensor(other, fname, "other", 2)
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
        _need_tensor(input, fname)
        _need_tensor(other, fname, "other", 2)
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
        raise _type_error("xlogy", "input", 1, input)
    return Xlogy.apply(*_float_pair(input, other, "xlogy", scalars=True))


def copysign(input: Tensor, other) -> Tensor:
    """Elementwise magnitude of input with the sign of other."""
    _need_tensor(input, "copysign")
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
    _need_tensor(input, "heaviside")
    _need_tensor(values, "heaviside", "values", 2)
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
            raise _type_error("float_power", "exponent", 2, exponent)
        return cast(input, _F64).pow(float(exponent))
    if isinstance(exponent, Tensor):
        if not is_scalar(input):
            raise _type_error("float_power", "input", 1, input)
        return float(input) ** cast(exponent, _F64)
    raise _type_error("float_power", "input", 1, input)


def _float_power_(self: Tensor, exponent) -> Tensor:
    if self._data.dtype != _F64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_legacy(self)} but the operation's result "
            "requires dtype Double")
    return inplace(self, float_power, exponent)


# -- ternary ops ----------------------------------------------------------------------------------------


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
    _need_tensor(input, "lerp")
    _need_tensor(end, "lerp", "end", 2)
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
    _need_tensor(input, fname)
    _need_tensor(tensor1, fname, "tensor1", 2)
    _need_tensor(tensor2, fname, "tensor2", 3)
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


# -- nan_to_num ------------------------------------------------------------------------------------------


class NanToNum(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        if x.dtype.kind not in "fV":
            return x.copy()
        h = x.astype(_F32) if x.dtype.kind == "V" else x
        y = _select(xp, xp.isnan(h), self.nan, h)
        y = _select(xp, h == math.inf, self.posinf, y)
        y = _select(xp, h == -math.inf, self.neginf, y)
        return y.astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * isfinite(x)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """Replace NaN, +inf and -inf by finite values (default: 0 and the dtype's extremes)."""
    _need_tensor(input, "nan_to_num")
    dt = input._data.dtype
    if dt.kind in "fV":
        if dt.kind == "V":  # bfloat16 (numpy's finfo does not know it)
            import ml_dtypes

            big = float(ml_dtypes.finfo(dt).max)
        else:
            big = float(np.finfo(dt).max)
        posinf = big if posinf is None else float(posinf)
        neginf = -big if neginf is None else float(neginf)
    return NanToNum.apply(input, nan=float(nan), posinf=posinf, neginf=neginf)


# -- Tensor methods -----------------------------------------------------------------------------------------


def _install() -> None:
    T = Tensor
    methods = (
        exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, square, sin, cos, tan, asin, acos,
        atan, sinh, cosh, tanh, asinh, acosh, atanh, sigmoid, relu, erf, erfc, erfinv, floor, ceil,
        round, trunc, frac, clamp, clamp_min, clamp_max, maximum, minimum, fmax, fmin, lerp,
        addcmul, addcdiv, xlogy, hypot, logaddexp, logaddexp2, nan_to_num, sinc, deg2rad, rad2deg,
        heaviside, copysign, float_power, atan2, logit,
    )
    for fn in methods:
        setattr(T, fn.__name__, fn)
    inplace_fns = (
        exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, square, sin, cos, tan, asin, acos,
        atan, sinh, cosh, tanh, asinh, acosh, atanh, sigmoid, relu, erf, erfc, erfinv, floor, ceil,
        round, trunc, frac, clamp, clamp_min, clamp_max, lerp, addcmul, addcdiv, xlogy, hypot,
        nan_to_num, sinc, deg2rad, rad2deg, heaviside, copysign, atan2, logit,
    )
    for fn in inplace_fns:
        setattr(T, fn.__name__ + "_", inplace_method(fn))
    T.float_power_ = _float_power_
    for alias, name in (("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                        ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"),
                        ("arctan2", "atan2"), ("clip", "clamp"), ("fix", "trunc")):
        setattr(T, alias, getattr(T, name))
        setattr(T, alias + "_", getattr(T, name + "_"))
    T.where = lambda self, condition, y: where(condition, self, y)
    T.where.__doc__ = "``where(condition, self, y)``."


_install()


def _top_level_inplace(fn):
    def f(input: Tensor, *args, **kwargs) -> Tensor:
        return inplace(input, fn, *args, **kwargs)

    f.__name__ = f.__qualname__ = fn.__name__ + "_"
    f.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return f


exp_, exp2_, expm1_ = _top_level_inplace(exp), _top_level_inplace(exp2), _top_level_inplace(expm1)
log_, log2_, log10_ = _top_level_inplace(log), _top_level_inplace(log2), _top_level_inplace(log10)
log1p_, sqrt_, rsqrt_ = _top_level_inplace(log1p), _top_level_inplace(sqrt), _top_level_inplace(rsqrt)
square_, sin_, cos_ = _top_level_inplace(square), _top_level_inplace(sin), _top_level_inplace(cos)
tan_, asin_, acos_ = _top_level_inplace(tan), _top_level_inplace(asin), _top_level_inplace(acos)
atan_, sinh_, cosh_ = _top_level_inplace(atan), _top_level_inplace(sinh), _top_level_inplace(cosh)
tanh_, asinh_, acosh_ = _top_level_inplace(tanh), _top_level_inplace(asinh), _top_level_inplace(acosh)
atanh_, sigmoid_, relu_ = _top_level_inplace(atanh), _top_level_inplace(sigmoid), _top_level_inplace(relu)
selu_, celu_ = _top_level_inplace(selu), _top_level_inplace(celu)
erf_, erfc_ = _top_level_inplace(erf), _top_level_inplace(erfc)
floor_, ceil_, round_ = _top_level_inplace(floor), _top_level_inplace(ceil), _top_level_inplace(round)
trunc_, fix_, frac_ = _top_level_inplace(trunc), _top_level_inplace(trunc), _top_level_inplace(frac)
clamp_, clip_ = _top_level_inplace(clamp), _top_level_inplace(clamp)
clamp_min_, clamp_max_ = _top_level_inplace(clamp_min), _top_level_inplace(clamp_max)
xlogy_, nan_to_num_, sinc_ = _top_level_inplace(xlogy), _top_level_inplace(nan_to_num), _top_level_inplace(sinc)
deg2rad_, rad2deg_, logit_ = _top_level_inplace(deg2rad), _top_level_inplace(rad2deg), _top_level_inplace(logit)
arcsin_, arccos_, arctan_ = asin_, acos_, atan_
arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_
fix_.__name__ = "fix_"
clip_.__name__ = "clip_"

__all__ = [
    "acos", "acos_", "acosh", "acosh_", "addcdiv", "addcmul", "arccos", "arccos_", "arccosh",
    "arccosh_", "arcsin", "arcsin_", "arcsinh", "arcsinh_", "arctan", "arctan2", "arctan_",
    "arctanh", "arctanh_", "asin", "asin_", "asinh", "asinh_", "atan", "atan2", "atan_", "atanh",
    "atanh_", "ceil", "ceil_", "celu", "celu_", "clamp", "clamp_", "clamp_max", "clamp_max_",
    "clamp_min", "clamp_min_", "clip", "clip_", "copysign", "cos", "cos_", "cosh", "cosh_",
    "deg2rad", "deg2rad_", "erf", "erf_", "erfc", "erfc_", "erfinv", "exp", "exp2", "exp2_",
    "exp_", "expm1", "expm1_", "fix", "fix_", "float_power", "floor", "floor_", "fmax", "fmin",
    "frac", "frac_", "heaviside", "hypot", "lerp", "log", "log10", "log10_", "log1p", "log1p_",
    "log2", "log2_", "log_", "logaddexp", "logaddexp2", "logit", "logit_", "maximum", "minimum",
    "nan_to_num", "nan_to_num_", "rad2deg", "rad2deg_", "relu", "relu_", "round", "round_",
    "rsqrt", "rsqrt_", "selu", "selu_", "sigmoid", "sigmoid_", "sin", "sin_", "sinc", "sinc_",
    "sinh", "sinh_", "sqrt", "sqrt_", "square", "square_", "tan", "tan_", "tanh", "tanh_", "trunc",
    "trunc_", "where", "xlogy", "xlogy_",
]
