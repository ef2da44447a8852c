"""The pointwise ops as Tensor methods (installed on import) and the top-level in-place forms."""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace, inplace_method
from .activations import celu, relu, selu
from .binary import (
    _float_power_,
    atan2,
    copysign,
    float_power,
    fmax,
    fmin,
    heaviside,
    hypot,
    logaddexp,
    logaddexp2,
    maximum,
    minimum,
    xlogy,
)
from .clamping import clamp, clamp_max, clamp_min, nan_to_num
from .rounding import ceil, floor, round, trunc  # noqa: A004
from .selection import where
from .ternary import addcdiv, addcmul, lerp
from .unary import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    cos,
    cosh,
    deg2rad,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    frac,
    log,
    log1p,
    log2,
    log10,
    logit,
    rad2deg,
    rsqrt,
    sigmoid,
    sin,
    sinc,
    sinh,
    sqrt,
    square,
    tan,
    tanh,
)


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
