"""A CPU stand-in for the ``cupy`` module, selected with ``DISTTORCH_FAKE_CUDA=1``.

Device arrays are :class:`ndarray` objects wrapping a numpy array. Like cupy's, they
refuse implicit conversion to numpy (``numpy.asarray(x)``, ``numpy.exp(x)``,
``numpy_array + x`` all raise ``TypeError``), and the functions of this module refuse
raw numpy arrays as operands, except the host-to-device entry points ``asarray``,
``array``, ``asanyarray`` and ``ascontiguousarray``. Code that mixes host and device
arrays by accident therefore fails on machines without a GPU, as it would with cupy.

Every other public name is looked up in numpy on first use (module ``__getattr__``)
and wrapped so that stand-in arrays are unwrapped on the way in and numpy results are
wrapped on the way out. Wrapping never copies: views and in-place updates behave
exactly as in numpy.
"""
from __future__ import annotations

import functools as _functools
import operator as _operator
import os as _os
import sys as _sys
import threading as _threading
import types as _types
from collections.abc import Callable as _Callable
from typing import Any as _Any
from typing import Self as _Self

import numpy as _np

IS_STAND_IN = True

_UNSUPPORTED = "Unsupported type {}"
_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)
# cupy accepts host (numpy) arrays only where data is copied to the device.
_HOST_ENTRY = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray"})
_PLAIN = (type(None), bool, int, float, complex, str, bytes, slice, type(Ellipsis))
_RANDOM_SCALARS = (int, float, complex)

_state = _threading.local()


def _current() -> int:
    return getattr(_state, "device", 0)


def _device_count() -> int:
    return int(_os.environ.get("DISTTORCH_FAKE_CUDA_DEVICES", "2"))


# ---------------------------------------------------------------------------
# wrapping and unwrapping


def _refuse(obj: object) -> TypeError:
    return TypeError(_UNSUPPORTED.format(type(obj)))


def _unwrap(obj: _Any, ins: list, host_ok: bool) -> _Any:
    """Replace stand-in arrays (recursively) by their numpy arrays, noting them in ``ins``."""
    t = type(obj)
    if t is ndarray:
        ins.append(obj)
        return obj._a
    if t in _PLAIN:
        return obj
    if t is list or t is tuple:
        return t([_unwrap(o, ins, host_ok) for o in obj])
    if t is dict:
        return {k: _unwrap(v, ins, host_ok) for k, v in obj.items()}
    if isinstance(obj, ndarray):
        ins.append(obj)
        return obj._a
    if isinstance(obj, _np.ndarray):
        if host_ok:
            return obj
        raise _refuse(obj)
    if isinstance(obj, (_ObjectProxy, _UfuncProxy)):
        return obj._obj
    if isinstance(obj, tuple):  # namedtuple
        items = [_unwrap(o, ins, host_ok) for o in obj]
        return t(*items) if hasattr(t, "_fields") else t(items)
    return obj


def _unwrap_call(args: tuple, kwargs: dict, host_ok: bool) -> tuple[list, dict, list]:
    ins: list = []
    a = [_unwrap(o, ins, host_ok) for o in args]
    k = {n: _unwrap(v, ins, host_ok) for n, v in kwargs.items()} if kwargs else kwargs
    return a, k, ins


def _root(a: _Any) -> _Any:
    """The object owning the memory of ``a`` (follows ``base``, also through as_strided)."""
    while True:
        b = getattr(a, "base", None)
        if b is None:
            return a
        a = b


def _new(a: _np.ndarray, dev: int) -> ndarray:
    obj = object.__new__(ndarray)
    obj._a = a
    obj._dev = dev
    return obj


def _wrap_array(res: _np.ndarray, ins: list | tuple) -> ndarray:
    for s in ins:
        if s._a is res:
            return s
    if res.base is not None and ins:
        # A view lives where its memory lives; a fresh result on the current device.
        r = _root(res)
        for s in ins:
            if _root(s._a) is r:
                return _new(res, s._dev)
    return _new(res, _current())


def _wrap(res: _Any, ins: list | tuple = ()) -> _Any:
    """Wrap a numpy result: arrays and numpy scalars become stand-in arrays."""
    t = type(res)
    if t is _np.ndarray:
        return _wrap_array(res, ins)
    if t in _PLAIN:
        return res
    if isinstance(res, _np.generic):
        return _new(_np.asarray(res), _current())  # cupy never returns numpy scalars
    if t is tuple or t is list:
        return t([_wrap(r, ins) for r in res])
    if t is dict:
        return {k: _wrap(v, ins) for k, v in res.items()}
    if isinstance(res, _np.ndarray):
        return _wrap_array(res, ins)
    if isinstance(res, tuple):
        items = [_wrap(r, ins) for r in res]
        return t(*items) if hasattr(t, "_fields") else t(items)
    if isinstance(res, (type, _np.dtype, _np.finfo, _np.iinfo, _types.ModuleType)):
        return res
    if isinstance(res, _np.ufunc):
        return _UfuncProxy(res)
    if t.__module__.startswith("numpy"):
        return _ObjectProxy(res)
    return res


def _wrap_function(fn: _Callable, random: bool = False) -> _Callable:
    """A wrapper for a numpy callable that refuses host arrays and wraps results.

    With ``random``, a Python scalar result (``rng.random()``) becomes a 0-d array too,
    as cupy's random functions always return arrays.
    """

    def wrapper(*args: _Any, **kwargs: _Any) -> _Any:
        a, k, ins = _unwrap_call(args, kwargs, False)
        res = fn(*a, **k)
        if random and type(res) in _RANDOM_SCALARS:
            return _new(_np.asarray(res), _current())
        return _wrap(res, ins)

    _functools.update_wrapper(wrapper, fn, updated=())
    return wrapper


def _wrap_entry(fn: _Callable) -> _Callable:
    """A host-to-device entry point: numpy input is copied, never aliased."""

    def wrapper(obj: _Any, *args: _Any, **kwargs: _Any) -> _Any:
        ins: list = []
        src = _unwrap(obj, ins, True)
        a, k, _ = _unwrap_call(args, kwargs, True)
        res = fn(src, *a, **k)
        if isinstance(src, _np.ndarray) and _np.may_share_memory(res, src):
            on_host = not ins
            elsewhere = bool(ins) and ins[0]._dev != _current()
            if on_host or elsewhere:
                res = res.copy(order="K")
            elif res is src:
                return ins[0]
        return _new(res, _current())

    _functools.update_wrapper(wrapper, fn, updated=())
    return wrapper


def _resolve(value: _Any, name: str, random: bool) -> _Any:
    """What a numpy attribute becomes in the stand-in namespace."""
    if isinstance(value, _types.ModuleType):
        return _ModuleProxy(value)
    if isinstance(value, _np.ufunc):
        return _UfuncProxy(value)
    if isinstance(value, type):
        # numpy.random classes (Generator, RandomState, ...) build proxied objects;
        # other classes (dtypes, finfo, exceptions) are the same objects as in cupy.
        if random and not issubclass(value, BaseException):
            return _wrap_function(value)
        return value
    if callable(value):
        if name in _HOST_ENTRY and value is getattr(_np, name, None):
            return _wrap_entry(value)
        return _wrap_function(value, random)
    return value


class _ModuleProxy:
    """A numpy submodule (``random``, ``linalg``, ``fft``, ``lib``) seen through the stand-in."""

    def __init__(self, module: _types.ModuleType) -> None:
        self._module = module
        self._random = module.__name__.startswith("numpy.random")
        self.__name__ = module.__name__.replace("numpy", __name__, 1)

    def __getattr__(self, name: str) -> _Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = _resolve(getattr(self._module, name), name, self._random)
        setattr(self, name, value)  # cache: later lookups skip __getattr__
        return value

    def __repr__(self) -> str:
        return f"<stand-in module {self.__name__!r}>"


class _UfuncProxy:
    """A numpy ufunc whose call and methods (``at``, ``reduce``, ...) take stand-in arrays."""

    def __init__(self, uf: _np.ufunc) -> None:
        self._obj = uf
        self._call = _wrap_function(uf)
        self.__name__ = uf.__name__
        self.__doc__ = uf.__doc__

    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str) -> _Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._obj, name)
        if callable(value):
            value = _wrap_function(value)
            setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"<stand-in ufunc {self.__name__!r}>"

    def __reduce__(self) -> tuple:
        return (_UfuncProxy, (self._obj,))


class _ObjectProxy:
    """Any other numpy object (``Generator``, ``RandomState``, ...): methods wrap results."""

    __slots__ = ("_methods", "_obj")

    def __init__(self, obj: _Any) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_methods", {})

    def __getattr__(self, name: str) -> _Any:
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._methods.get(name)
        if method is not None:
            return method
        value = getattr(self._obj, name)
        if not callable(value):
            return _wrap(value)
        random = type(self._obj).__module__.startswith("numpy.random")
        method = self._methods[name] = _wrap_function(value, random)
        return method

    def __setattr__(self, name: str, value: _Any) -> None:
        setattr(self._obj, name, _unwrap(value, [], True))

    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        return _wrap_function(self._obj)(*args, **kwargs)

    def __iter__(self) -> _Any:
        return (_wrap(v) for v in self._obj)

    def __len__(self) -> int:
        return len(self._obj)

    def __getitem__(self, key: _Any) -> _Any:
        return _wrap(self._obj[_unwrap(key, [], True)])

    def __repr__(self) -> str:
        return repr(self._obj)

    def __reduce__(self) -> tuple:
        return (_ObjectProxy, (self._obj,))


# ---------------------------------------------------------------------------
# the device array


def _operand(other: _Any) -> _Any:
    t = type(other)
    if t is ndarray:
        return other._a
    if t in _PLAIN:
        return other
    if isinstance(other, ndarray):
        return other._a
    if isinstance(other, _np.ndarray):
        raise _refuse(other)
    if t is list or t is tuple:
        return _unwrap(other, [], False)
    return other


def _index(key: _Any) -> _Any:
    t = type(key)
    if t is ndarray:
        return key._a
    if t is tuple or t is list:
        return t([_index(k) for k in key])
    if isinstance(key, ndarray):
        return key._a
    return key


def _binary(dunder: str) -> _Callable:
    npop = getattr(_np.ndarray, dunder)

    def op(self: ndarray, other: _Any) -> _Any:
        res = npop(self._a, _operand(other))
        if res is NotImplemented:
            return res
        return _wrap(res, (self,))

    op.__name__ = dunder
    return op


def _inplace(dunder: str) -> _Callable:
    npop = getattr(_np.ndarray, dunder)

    def op(self: ndarray, other: _Any) -> _Any:
        if npop(self._a, _operand(other)) is NotImplemented:
            return NotImplemented
        return self

    op.__name__ = dunder
    return op


def _unary(dunder: str) -> _Callable:
    npop = getattr(_np.ndarray, dunder)

    def op(self: ndarray) -> ndarray:
        return _wrap(npop(self._a), (self,))

    op.__name__ = dunder
    return op


def _method(name: str) -> _Callable:
    npmeth = getattr(_np.ndarray, name)

    def method(self: ndarray, *args: _Any, **kwargs: _Any) -> _Any:
        a, k, ins = _unwrap_call(args, kwargs, False)
        ins.append(self)
        return _wrap(npmeth(self._a, *a, **k), ins)

    method.__name__ = name
    method.__doc__ = npmeth.__doc__
    return method


class _MemoryPointer:
    """The slice of ``cupy.cuda.MemoryPointer`` that code reads: ``ptr`` and the device."""

    __slots__ = ("device_id", "ptr")

    def __init__(self, ptr: int, device_id: int) -> None:
        self.ptr = ptr
        self.device_id = device_id

    @property
    def device(self) -> _Device:
        return _Device(self.device_id)


class ndarray:
    """A device array: a numpy array that refuses implicit conversion back to numpy."""

    __slots__ = ("_a", "_dev")
    __array_ufunc__ = None
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: _Any, dtype: _Any = float, memptr: _Any = None,
                 strides: _Any = None, order: str = "C") -> None:
        # cupy's low-level constructor: an uninitialised array of the given shape.
        if memptr is not None or strides is not None:
            raise NotImplementedError("the stand-in ndarray takes no memptr or strides")
        if isinstance(shape, (_np.ndarray, ndarray)):
            raise TypeError("ndarray(shape, dtype): use asarray to convert an array")
        self._a = _np.empty(shape, dtype=dtype, order=order)
        self._dev = _current()

    # -- refusal of implicit conversion -------------------------------------------

    def __array__(self, dtype: _Any = None, copy: _Any = None) -> _np.ndarray:
        raise TypeError(_IMPLICIT)

    def __array_function__(self, func: _Any, types: _Any, args: _Any, kwargs: _Any) -> _Any:
        raise TypeError(
            f"numpy.{getattr(func, '__name__', func)} was called on a device array. {_IMPLICIT}"
        )

    # -- host transfers -------------------------------------------------------------

    def get(self, stream: _Any = None, order: str = "C", out: _Any = None,
            blocking: bool = True) -> _np.ndarray:
        """A numpy copy of this array (device to host)."""
        if out is not None:
            if not isinstance(out, _np.ndarray):
                raise TypeError("out must be a numpy.ndarray")
            _np.copyto(out, self._a)
            return out
        return _np.array(self._a, order=order, copy=True)

    def set(self, arr: _np.ndarray, stream: _Any = None) -> None:
        """Copy the numpy array ``arr`` (same shape) into this array (host to device)."""
        if not isinstance(arr, _np.ndarray):
            raise TypeError(_UNSUPPORTED.format(type(arr)))
        if arr.shape != self._a.shape:
            raise ValueError("Shape mismatch")
        _np.copyto(self._a, arr, casting="unsafe")

    # -- attributes -----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._a.shape

    @shape.setter
    def shape(self, value: _Any) -> None:
        self._a.shape = value

    @property
    def dtype(self) -> _np.dtype:
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def strides(self) -> tuple[int, ...]:
        return self._a.strides

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    @property
    def flags(self) -> _Any:
        return self._a.flags

    @property
    def T(self) -> ndarray:
        return _new(self._a.T, self._dev)

    if hasattr(_np.ndarray, "mT"):

        @property
        def mT(self) -> ndarray:
            return _new(self._a.mT, self._dev)

    @property
    def real(self) -> ndarray:
        return _wrap(self._a.real, (self,))

    @real.setter
    def real(self, value: _Any) -> None:
        self._a.real = _operand(value)

    @property
    def imag(self) -> ndarray:
        return _wrap(self._a.imag, (self,))

    @imag.setter
    def imag(self, value: _Any) -> None:
        self._a.imag = _operand(value)

    @property
    def base(self) -> ndarray | None:
        b = self._a.base
        while b is not None and not isinstance(b, _np.ndarray):
            b = getattr(b, "base", None)
        return None if b is None else _new(b, self._dev)

    @property
    def device(self) -> _Device:
        return _Device(self._dev)

    @property
    def data(self) -> _MemoryPointer:
        return _MemoryPointer(self._a.__array_interface__["data"][0], self._dev)

    # -- indexing and Python protocols -----------------------------------------------

    def __getitem__(self, key: _Any) -> _Any:
        return _wrap(self._a[_index(key)], (self,))

    def __setitem__(self, key: _Any, value: _Any) -> None:
        # A numpy value is a host-to-device copy, which cupy allows here.
        self._a[_index(key)] = _unwrap(value, [], True)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> _Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(v, (self,)) for v in self._a)

    def __contains__(self, value: _Any) -> bool:
        return bool(self._a.__contains__(_operand(value)))

    def __bool__(self) -> bool:
        return bool(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __index__(self) -> int:
        return _operator.index(self._a)

    def __round__(self, ndigits: int | None = None) -> ndarray:
        return _wrap(self._a.round(ndigits or 0), (self,))

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __format__(self, spec: str) -> str:
        return format(self._a, spec)

    def __copy__(self) -> ndarray:
        return _new(self._a.copy(), self._dev)

    def __deepcopy__(self, memo: dict) -> ndarray:
        return _new(self._a.copy(), self._dev)

    def __reduce__(self) -> tuple:
        return (_rebuild, (self._a, self._dev))

    def item(self, *args: _Any) -> _Any:
        """The element as a Python scalar."""
        return self._a.item(*args)

    def tolist(self) -> _Any:
        """The array as nested Python lists."""
        return self._a.tolist()

    def __getattr__(self, name: str) -> _Any:
        # Dunders must not leak numpy's (e.g. __array_interface__ would let
        # numpy.asarray read the memory directly).
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return _functools.partial(_method_call, self, name)
        return _wrap(value, (self,))


def _method_call(self: ndarray, name: str, *args: _Any, **kwargs: _Any) -> _Any:
    a, k, ins = _unwrap_call(args, kwargs, False)
    ins.append(self)
    return _wrap(getattr(self._a, name)(*a, **k), ins)


def _install_operators() -> None:
    names = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
             "and", "or", "xor", "lshift", "rshift"]
    for n in names:
        setattr(ndarray, f"__{n}__", _binary(f"__{n}__"))
        setattr(ndarray, f"__r{n}__", _binary(f"__r{n}__"))
        setattr(ndarray, f"__i{n}__", _inplace(f"__i{n}__"))
    for n in ["divmod", "rdivmod", "lt", "le", "eq", "ne", "gt", "ge"]:
        setattr(ndarray, f"__{n}__", _binary(f"__{n}__"))
    for n in ["neg", "pos", "abs", "invert"]:
        setattr(ndarray, f"__{n}__", _unary(f"__{n}__"))
    for name in dir(_np.ndarray):
        if name.startswith("_") or name in ndarray.__dict__:
            continue
        if callable(getattr(_np.ndarray, name)):
            setattr(ndarray, name, _method(name))


_install_operators()


def _rebuild(a: _np.ndarray, dev: int) -> ndarray:
    return _new(a, dev)


# ---------------------------------------------------------------------------
# cuda namespace


class _CUDARuntimeError(RuntimeError):
    """Raised for an invalid device ordinal, as ``cupy.cuda.runtime.CUDARuntimeError``."""


def _check_device(i: int) -> int:
    if not 0 <= i < _device_count():
        raise _CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    return i


class _Device:
    """``cupy.cuda.Device``: ``Device(i)``, or ``Device()`` for the current device."""

    def __init__(self, device: int | _Device | None = None) -> None:
        if device is None:
            device = _current()
        self.id = int(device.id if isinstance(device, _Device) else device)
        self._previous: list[int] = []

    def use(self) -> None:
        """Make this the current device of the calling thread."""
        _state.device = _check_device(self.id)

    def synchronize(self) -> None:
        """Wait for the device (nothing is ever pending)."""

    @property
    def compute_capability(self) -> str:
        return "90"

    def __enter__(self) -> _Self:
        _check_device(self.id)
        self._previous.append(_current())
        _state.device = self.id
        return self

    def __exit__(self, *exc: object) -> None:
        _state.device = self._previous.pop()

    def __int__(self) -> int:
        return self.id

    def __index__(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class _Stream:
    """``cupy.cuda.Stream``: every operation is already complete, so waiting is a no-op."""

    null: _Stream

    def __init__(self, null: bool = False, non_blocking: bool = False,
                 ptds: bool = False) -> None:
        self.ptr = 0 if null else id(self)
        self.device_id = _current()

    def synchronize(self) -> None:
        """Wait for the stream (nothing is ever pending)."""

    def use(self) -> _Stream:
        """Make this the current stream."""
        _state.stream = self
        return self

    def done(self) -> bool:
        return True

    def __enter__(self) -> _Self:
        prev = getattr(_state, "streams", None)
        if prev is None:
            prev = _state.streams = []
        prev.append(_get_current_stream())
        _state.stream = self
        return self

    def __exit__(self, *exc: object) -> None:
        _state.stream = _state.streams.pop()

    def __repr__(self) -> str:
        return f"<Stream {self.ptr} (device {self.device_id})>"


_Stream.null = _Stream(null=True)


def _get_current_stream() -> _Stream:
    """The current stream (``Stream.null`` unless another is in use)."""
    return getattr(_state, "stream", _Stream.null)


def _get_device() -> int:
    return _current()


def _set_device(i: int) -> None:
    _state.device = _check_device(int(i))


cuda = _types.SimpleNamespace(
    Device=_Device,
    Stream=_Stream,
    get_current_stream=_get_current_stream,
    is_available=lambda: True,
    runtime=_types.SimpleNamespace(
        getDeviceCount=_device_count,
        getDevice=_get_device,
        setDevice=_set_device,
        deviceSynchronize=lambda: None,
        CUDARuntimeError=_CUDARuntimeError,
    ),
)
"""The part of ``cupy.cuda`` the project uses."""


# ---------------------------------------------------------------------------
# module-level helpers and numpy forwarding


def get_array_module(*args: _Any) -> _types.ModuleType:
    """This module if any argument is a stand-in array, else numpy."""
    for a in args:
        if isinstance(a, ndarray):
            return _sys.modules[__name__]
    return _np


def asnumpy(a: _Any, stream: _Any = None, order: str = "C", out: _Any = None,
            blocking: bool = True) -> _np.ndarray:
    """A numpy copy of a stand-in array; other input goes through ``numpy.asarray``."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    if out is not None:
        _np.copyto(out, a)
        return out
    return _np.asarray(a, order=order)


def __getattr__(name: str) -> _Any:
    """``numpy.<name>`` wrapped for stand-in arrays, cached in the module namespace."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = _resolve(value, name, False)
    globals()[name] = value
    return value
