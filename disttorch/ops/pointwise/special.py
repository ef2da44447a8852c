"""Array kernels for erf, erfc and erfinv (Cephes, Eigen and Giles approximations)."""
from __future__ import annotations

import math

from ._common import _2_SQRTPI, _F64, _select

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
