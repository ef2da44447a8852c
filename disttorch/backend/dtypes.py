"""The dtype objects and torch's type-promotion rules, over numpy dtypes."""
from __future__ import annotations

import numpy as np

try:  # bfloat16 for numpy comes from ml_dtypes (the same package JAX uses)
    from ml_dtypes import bfloat16 as _np_bfloat16
except ImportError:  # pragma: no cover - ml_dtypes is a declared dependency
    _np_bfloat16 = None


class dtype:  # noqa: N801 - torch's name
    """A tensor element type, e.g. ``disttorch.float32``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_category")

    def __init__(self, name: str, np_dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        # 0 bool, 1 integer, 2 floating: the axis torch promotes along
        self._category = category
        self.is_floating_point = category == 2
        self.is_signed = name not in ("bool", "uint8")

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"disttorch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return self

    @property
    def legacy_name(self) -> str:
        """torch's scalar-type name used in messages: ``Float`` for float32, ``Long`` for int64."""
        return _LEGACY[self.name]

    @property
    def tensor_type_name(self) -> str:
        """The legacy tensor type name, e.g. ``FloatTensor`` for float32."""
        return _LEGACY[self.name] + "Tensor"


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
bfloat16 = dtype("bfloat16", _np_bfloat16, 2) if _np_bfloat16 is not None else None

ALL: tuple[dtype, ...] = tuple(
    d for d in (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
    if d is not None
)
_LEGACY = {
    "bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
    "int64": "Long", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
    "float64": "Double",
}
_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}
# torch's aliases, all spellings of the same objects
ALIASES = {
    "half": float16, "float": float32, "double": float64, "short": int16,
    "int": int32, "long": int64, "bool": bool_,
}


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy(np_dtype) -> dtype:
    """The dtype for a numpy dtype; TypeError for ones torch has no equivalent of."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        pass
    nd = np.dtype(np_dtype)
    if nd in _BY_NP:
        return _BY_NP[nd]
    raise TypeError(
        f"can't convert np.ndarray of type {nd}. The only supported types are: "
        "float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and bool."
    )


def canonical(d) -> dtype:
    """Accept a dtype, a numpy dtype, a Python type or a name; return a dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return get_default_dtype()
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        name = d.removeprefix("torch.").removeprefix("disttorch.")
        if name in _BY_NAME:
            return _BY_NAME[name]
        if name in ALIASES:
            return ALIASES[name]
        raise TypeError(f"unknown dtype name {d!r}")
    try:
        return from_numpy(d)
    except TypeError:
        raise TypeError(f"{d!r} is not a disttorch dtype") from None


_default = float32


def get_default_dtype() -> dtype:
    return _default


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of Python floats and float factory functions (float32 or float64)."""
    global _default
    d = canonical(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default = d


# Promotion inside one category follows numpy's lattice, except that torch mixes
# bfloat16 and float16 into float32 and uint8 with int8 into int16.
def _promote_same_category(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._category == 2:
        if {a.name, b.name} == {"float16", "bfloat16"}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    if a._category == 0:
        return a
    if {a.name, b.name} == {"uint8", "int8"}:
        return int16
    if a.name == "uint8":
        return b
    if b.name == "uint8":
        return a
    return a if a.itemsize >= b.itemsize else b


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to."""
    if a._category != b._category:
        return a if a._category > b._category else b
    return _promote_same_category(a, b)


def _scalar_category(x) -> int:
    if isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return 1
    return 2


def result_type_of(dims_dtypes, zero_dim_dtypes, scalars) -> dtype:
    """torch.result_type over three priority classes.

    Tensors with dimensions outrank 0-d tensors, which outrank Python scalars; a lower
    class changes the result only when it belongs to a higher category (bool < int <
    float), and then a Python float gives the default dtype.
    """
    result = None
    for d in dims_dtypes:
        result = d if result is None else promote_types(result, d)
    zd = None
    for d in zero_dim_dtypes:
        zd = d if zd is None else promote_types(zd, d)
    if zd is not None:
        if result is None or zd._category > result._category:
            result = zd
    if scalars:
        cat = max(_scalar_category(s) for s in scalars)
        if result is None or cat > result._category:
            result = (bool_, int64, get_default_dtype())[cat]
    return result
